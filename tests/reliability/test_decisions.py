"""The ack/retry mapping in main.ingest, and what `nunis-ingest status` shows afterwards."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from functions_framework import create_app

from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.usecases.lease import Lease
from tests.e2e.test_main import publish
from tests.reliability.conftest import LISTING, register

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(rt: Any, sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    app = sandbox.app()
    values = {
        "NUNIS_BACKEND": "local",
        "NUNIS_DATA_DIR": str(rt.settings.data_dir),
        "NUNIS_STRAVA_BASE_URL": sandbox.base_url,
        "STRAVA_CLIENT_ID": str(app["client_id"]),
        "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
        "NUNIS_LOG_FORMAT": "console",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def function(env: dict[str, str]) -> Any:
    app = create_app(target="ingest", source=str(ROOT / "main.py"), signature_type="cloudevent")
    return app.test_client()


def _status(aid: int) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["status", "--json"])
    assert result.exit_code == 0, result.output
    return next(a for a in json.loads(result.output) if a["athlete_id"] == aid)


def test_a_held_lease_is_retried_and_touches_nothing(sandbox, rt, function):
    aid = register(rt, sandbox.create_athlete(activities=5))
    rt.warehouse.close()
    Lease(rt.store, aid, "other-run", time.time(), 600).acquire()
    sandbox.clear_requests()
    response = publish(function, json.dumps({"athlete_id": aid, "mode": "all"}))
    assert response.status_code == 500, "lease contention must raise so Pub/Sub redelivers"
    assert sandbox.requests_log()["counts"]["total"] == 0


def test_a_new_poll_behind_a_held_lease_is_acknowledged_not_dead_lettered(
    sandbox, rt, function, caplog
):
    """A `new` poll that meets a running `all` is covered by it (or by the next poll):
    retrying it behind a long refresh would only burn delivery attempts."""
    aid = register(rt, sandbox.create_athlete(activities=5))
    rt.warehouse.close()
    Lease(rt.store, aid, "a-running-all", time.time(), 600).acquire()
    sandbox.clear_requests()
    with caplog.at_level(logging.INFO):
        response = publish(function, json.dumps({"athlete_id": aid, "mode": "new"}))
    assert response.status_code == 200
    assert sandbox.requests_log()["counts"]["total"] == 0
    assert any("next poll covers" in r.getMessage() for r in caplog.records)


def test_revoked_athlete_is_acked_once_with_an_actionable_line_then_skipped(
    sandbox, rt, function, caplog
):
    aid = register(rt, sandbox.create_athlete(activities=5))
    rt.warehouse.close()
    sandbox.revoke(aid)
    with caplog.at_level(logging.INFO):
        response = publish(function, json.dumps({"athlete_id": aid, "mode": "new"}))
    assert response.status_code == 200, "a permanent failure must be acknowledged"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert str(aid) in errors[0] or "Athlete" in errors[0]
    assert "nunis-ingest auth" in errors[0]
    sandbox.clear_requests()
    assert publish(function, json.dumps({"athlete_id": aid, "mode": "new"})).status_code == 200
    assert sandbox.requests_log()["counts"]["total"] == 0
    health = _status(aid)
    assert health["needs_reauth"] is True
    assert "re-authorisation" in health["health"]
    assert health["last_error"].startswith("StravaAuthError")


def test_status_shows_last_success_and_rate_limit_usage_of_the_last_run(sandbox, rt, function, env):
    aid = register(rt, sandbox.create_athlete(activities=700))
    rt.warehouse.close()
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=429, after=1, times=1)
    assert publish(function, json.dumps({"athlete_id": aid, "mode": "all"})).status_code == 200
    paused = _status(aid)
    assert paused["health"].startswith("full refresh in progress")
    assert paused["last_error"].startswith("RateLimitStop")
    assert paused["last_success_at"] is None
    assert publish(function, json.dumps({"athlete_id": aid, "mode": "new"})).status_code == 200
    done = _status(aid)
    assert done["health"] == "ok"
    assert done["last_success_at"]
    assert done["read_usage"]["read_usage_15min"] >= 4
    assert done["activities"] == 700
