"""The root conftest's autouse isolation: what one test changes, the next does not see.

The tests run in file order: the first leaves everything dirty, the second checks that it
was put back (env vars, loggers, the cached Runtime and the registered secrets)."""

from __future__ import annotations

import logging
import os

from nunis_ingest import logs, runtime

LEAKED = "leaked-secret-value-0123456789"
REQUIRE_GCP = os.environ.get("NUNIS_REQUIRE_GCP")  # as `make test` set it


def test_a_leaves_env_logging_and_caches_dirty(tmp_path):
    os.environ["NUNIS_DATA_DIR"] = str(tmp_path)
    os.environ["STRAVA_CLIENT_SECRET"] = LEAKED
    os.environ["PUBSUB_EMULATOR_HOST"] = "127.0.0.1:1"
    os.environ.pop("NUNIS_REQUIRE_GCP", None)
    logging.getLogger("nunis_ingest").addHandler(logging.NullHandler())
    logging.getLogger("nunis_ingest").setLevel(logging.CRITICAL)
    rt = runtime.get_runtime()  # also installs the console handler on the root logger
    rt.warehouse.count_activities(1)  # opens the DuckDB file
    assert LEAKED in logs._secrets


def test_b_sees_none_of_it(tmp_path_factory):
    assert os.environ.get("STRAVA_CLIENT_SECRET") != LEAKED
    assert "PUBSUB_EMULATOR_HOST" not in os.environ or os.environ["PUBSUB_EMULATOR_HOST"] != (
        "127.0.0.1:1"
    )
    assert not os.environ.get("NUNIS_DATA_DIR", "").startswith(str(tmp_path_factory.getbasetemp()))
    assert os.environ.get("NUNIS_REQUIRE_GCP") == REQUIRE_GCP  # set before the test: kept
    assert runtime._cached is None
    assert LEAKED not in logs._secrets
    ours = logging.getLogger("nunis_ingest")
    assert not any(isinstance(h, logging.NullHandler) for h in ours.handlers)
    assert ours.level != logging.CRITICAL
    assert not any(getattr(h, "_nunis", False) for h in logging.getLogger().handlers)
