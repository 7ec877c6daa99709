"""Environment of a function process running the gcp backend against the local stand-ins."""

from __future__ import annotations

import os

import pytest

from tests.standins import PROJECT


@pytest.fixture
def gcp_env(
    sandbox, gcs_endpoint, bigquery_endpoint, gcs_bucket, bigquery_dataset
) -> dict[str, str]:
    app = sandbox.app()
    return dict(
        os.environ,
        NUNIS_BACKEND="gcp",
        NUNIS_BUCKET=gcs_bucket,
        NUNIS_DATASET=bigquery_dataset,
        NUNIS_PROJECT=PROJECT,
        STORAGE_EMULATOR_HOST=gcs_endpoint,
        BIGQUERY_EMULATOR_HOST=bigquery_endpoint,
        NUNIS_STRAVA_BASE_URL=sandbox.base_url,
        STRAVA_CLIENT_ID=str(app["client_id"]),
        STRAVA_CLIENT_SECRET=str(app["client_secret"]),
    )
