"""Logs: structured JSON for Cloud Logging, and never a token or the client secret."""

from __future__ import annotations

import json
import logging

import pytest

from nunis_ingest.usecases.athletes import AthleteRepo
from tests.e2e.conftest import register
from tests.e2e.test_main import publish


@pytest.fixture
def json_function(app_env, monkeypatch):
    from functions_framework import create_app

    from tests.e2e.test_main import ROOT

    for key, value in app_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NUNIS_LOG_FORMAT", "json")
    yield create_app(
        target="ingest", source=str(ROOT / "main.py"), signature_type="cloudevent"
    ).test_client()
    logging.getLogger().handlers.clear()  # the next test configures its own


def _secrets(sandbox, rt, aid: int, before: dict) -> set[str]:
    after = AthleteRepo(rt.store).load_token(aid)
    values = {
        before["access_token"],
        before["refresh_token"],
        after.access_token,
        after.refresh_token,
        str(sandbox.app()["client_secret"]),
    }
    return {v for v in values if v}


def test_json_logs_carry_run_fields_and_no_secret_across_a_rotation(
    sandbox, rt, json_function, capfd
):
    athlete = sandbox.create_athlete(activities=40)
    aid = register(rt, athlete)
    rt.warehouse.close()  # type: ignore[attr-defined]
    sandbox.advance_clock(5.5 * 3600)  # the token is in its last hour: a refresh rotates it
    # the function uses the wall clock, so make its token look due as well
    repo = AthleteRepo(rt.store)
    token = repo.load_token(aid)
    from dataclasses import replace

    repo.save_token(aid, replace(token, expires_at=0))
    sandbox.add_fault(
        kind="status", method="GET", path="/api/v3/athlete/activities", status=500, times=1
    )  # one retried failure: its warning is logged too
    assert publish(json_function, json.dumps({"athlete_id": aid, "mode": "all"})).status_code == 200
    assert publish(json_function, '{"athlete_id": "x"}').status_code == 200  # a rejected one

    out = capfd.readouterr()
    text = out.out + out.err
    secrets = _secrets(sandbox, rt, aid, athlete)
    assert AthleteRepo(rt.store).load_token(aid).refresh_token != athlete["refresh_token"]
    for secret in secrets:
        assert secret not in text, "a token or the client secret reached the logs"

    records = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    summary = [r for r in records if r.get("outcome") == "success"]
    assert summary, f"no structured run summary in {records!r}"
    run = summary[-1]
    assert run["severity"] == "INFO"
    assert run["athlete_id"] == aid
    assert run["mode"] == "all"
    assert run["inserted"] == 40
    assert run["run_id"]
    assert run["message_id"]
    rejected = [r for r in records if r.get("severity") == "ERROR"]
    assert rejected
    assert "athlete_id" in rejected[-1]["message"]


def test_archive_keys_and_state_hold_no_secret(sandbox, rt, sync):
    athlete = sandbox.create_athlete(activities=30)
    aid = register(rt, athlete)
    sandbox.advance_clock(5.5 * 3600)
    sync(aid, "all")
    secrets = _secrets(sandbox, rt, aid, athlete)
    keys = list(rt.store.list(""))
    assert any(k.startswith("archive/") for k in keys)
    for key in keys:
        assert not any(s in key for s in secrets)
        if not key.endswith("token.json"):
            data = rt.store.get(key).data.decode("utf-8", "replace")
            assert not any(s in data for s in secrets), key
