"""Factories and a row reader that plug the GCP adapters into tests/contract.

``tests/contract/conftest.py`` imports these (see the lead's entries there); the
factories take ``(request, tmp_path)`` and pull the stand-in fixtures from tests/standins.py.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from nunis_ingest.core import schema


def gcs_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A GCSObjectStore in a fresh bucket on fake-gcs-server."""
    from nunis_ingest.adapters.stores.gcs import GCSObjectStore

    client = request.getfixturevalue("gcs_client")
    return GCSObjectStore(client, request.getfixturevalue("gcs_bucket"), prefix="contract")


def bigquery_warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A BigQueryWarehouse in a fresh dataset on local-bigquery."""
    from nunis_ingest.adapters.warehouses.bigquery import BigQueryWarehouse

    client = request.getfixturevalue("bigquery_client")
    return BigQueryWarehouse(client, request.getfixturevalue("bigquery_dataset"))


def read_bigquery_activity(warehouse: Any, activity_id: int) -> dict[str, Any] | None:
    """One ``activities`` row in schema.py's JSON-ready encoding (like the DuckDB reader)."""
    from google.cloud import bigquery

    sql = f"SELECT * FROM {warehouse.sql_table(schema.ACTIVITIES_TABLE)} WHERE id = @id"  # noqa: S608
    rows = warehouse.rows(sql, [bigquery.ScalarQueryParameter("id", "INT64", activity_id)])
    if not rows:
        return None
    out = dict(rows[0])
    for name, value in out.items():
        if isinstance(value, datetime | date):
            out[name] = value.isoformat()
    return out
