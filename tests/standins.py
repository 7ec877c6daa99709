"""Pytest fixtures for the real local Google Cloud stand-ins (shared/facts/LOCAL_GCP.md).

Registered from tests/conftest.py with ``pytest_plugins = ["tests.standins"]``.

Endpoints come from STORAGE_EMULATOR_HOST / BIGQUERY_EMULATOR_HOST / PUBSUB_EMULATOR_HOST
when set (``make test`` starts the stand-ins once via scripts/local_gcp.py). Otherwise a
fixture starts its stand-in itself on a free 127.0.0.1 port and stops it by PID at the end
of the session, and exports the env var for code that builds default clients.

A stand-in that is missing or fails to start makes the test SKIP with the reason, or FAIL
when NUNIS_REQUIRE_GCP=1 (make test and CI): a green CI must not hide an untested adapter.
The Pub/Sub emulator only exists where gcloud does (the Debian 12 image has it): without
gcloud, pubsub tests skip in a plain pytest run and fail under NUNIS_REQUIRE_GCP=1.

Google libraries are imported inside fixtures: registering this plugin must not break a
test session on an install without the ``gcp`` extra.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

PROJECT = "test-project"
_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "local_gcp.py"


def local_gcp() -> ModuleType:
    """scripts/local_gcp.py as a module (scripts/ is not a package)."""
    name = "nunis_local_gcp"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _SCRIPT)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _unavailable(reason: str) -> None:
    if os.environ.get("NUNIS_REQUIRE_GCP") == "1":
        pytest.fail(f"{reason} (NUNIS_REQUIRE_GCP=1)", pytrace=False)
    pytest.skip(reason)


def _endpoint(service: str, env_var: str) -> Iterator[str]:
    """Yield an endpoint for ``service``: from the env, or a stand-in we start and stop."""
    if os.environ.get(env_var):
        yield os.environ[env_var]
        return
    lg = local_gcp()
    try:
        info = lg.start_service(service, gcs_endpoint=os.environ.get("STORAGE_EMULATOR_HOST"))
    except lg.StandInError as exc:
        _unavailable(f"{service} stand-in unavailable: {exc}")
        return
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(env_var, info["endpoint"])
            yield str(info["endpoint"])
    finally:
        lg.stop_service(info)


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    """fake-gcs-server URL, e.g. ``http://127.0.0.1:4443``."""
    yield from _endpoint("gcs", "STORAGE_EMULATOR_HOST")


@pytest.fixture(scope="session")
def bigquery_endpoint() -> Iterator[str]:
    """local-bigquery URL, e.g. ``http://127.0.0.1:9050``."""
    if not os.environ.get("BIGQUERY_EMULATOR_HOST") and not local_gcp().bq_installed():
        _unavailable(
            "local-bigquery is not installed: run .venv/bin/python scripts/local_gcp.py install"
        )
    yield from _endpoint("bigquery", "BIGQUERY_EMULATOR_HOST")


@pytest.fixture(scope="session")
def pubsub_endpoint() -> Iterator[str]:
    """Pub/Sub emulator ``host:port`` (no scheme, as PUBSUB_EMULATOR_HOST wants)."""
    if not os.environ.get("PUBSUB_EMULATOR_HOST") and local_gcp().pubsub_emulator() is None:
        _unavailable("gcloud's Pub/Sub emulator is not installed on this machine (no gcloud)")
    yield from _endpoint("pubsub", "PUBSUB_EMULATOR_HOST")


@pytest.fixture(scope="session")
def gcs_client(gcs_endpoint: str) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": gcs_endpoint},
    )


@pytest.fixture(scope="session")
def bigquery_client(bigquery_endpoint: str) -> Any:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=bigquery_endpoint),
    )


@pytest.fixture
def gcs_bucket(gcs_client: Any) -> Iterator[str]:
    """A fresh, empty bucket name; the bucket and its objects go afterwards."""
    name = f"nunis-test-{uuid.uuid4().hex[:16]}"
    bucket = gcs_client.create_bucket(name)
    yield name
    for blob in gcs_client.list_blobs(name):
        blob.delete()
    bucket.delete()


@pytest.fixture
def bigquery_dataset(bigquery_client: Any) -> Iterator[str]:
    """A fresh dataset id (without project); dropped with its tables afterwards."""
    name = f"nunis_test_{uuid.uuid4().hex[:16]}"
    bigquery_client.create_dataset(name)
    yield name
    bigquery_client.delete_dataset(name, delete_contents=True, not_found_ok=True)
