"""The `nunis-ingest` CLI as a user drives it: auth, athlete add/list/remove, sync, status."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests
from click.testing import CliRunner

from nunis_ingest.drivers.cli.authflow import run_authorization
from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.errors import StravaScopeError
from nunis_ingest.usecases.athletes import AthleteRepo
from tests.e2e.conftest import loaded, truth


def _run(app_env: dict[str, str], *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=app_env, input=input, catch_exceptions=False)


def _authorize(rt, sandbox, extra: str = "") -> tuple[Any, BaseException | None]:
    """Run the flow in a thread; play the browser: open the printed URL, follow redirects."""
    urls: list[str] = []
    result: dict[str, Any] = {}

    def flow() -> None:
        try:
            result["value"] = run_authorization(
                rt, open_browser=False, timeout=20, echo=lambda text: urls.append(text)
            )
        except BaseException as exc:  # surfaced to the test below
            result["error"] = exc

    thread = threading.Thread(target=flow)
    thread.start()
    for _ in range(100):
        if urls:
            break
        threading.Event().wait(0.05)
    url = urls[0].split()[-1] + extra
    assert "scope=read%2Cactivity%3Aread_all" in url or "scope=read,activity:read_all" in url
    assert requests.get(url, timeout=10).status_code == 200  # the redirect reached our server
    thread.join(20)
    return result.get("value"), result.get("error")


def test_auth_flow_saves_a_working_token(sandbox, rt):
    (token, athlete), error = _authorize(rt, sandbox)
    assert error is None
    assert "activity:read_all" in (token.scope or "")
    assert int(athlete["id"]) == int(sandbox.athletes()[0]["id"])
    current = {int(a["id"]): a for a in sandbox.athletes()}[int(athlete["id"])]
    assert token.refresh_token == current["refresh_token"]


def test_auth_refuses_a_grant_without_private_activities(sandbox, rt):
    value, error = _authorize(rt, sandbox, extra="&accept_scope=read,activity:read")
    assert value is None
    assert isinstance(error, StravaScopeError)
    assert "activity:read_all" in str(error)


def test_athlete_add_sync_status_remove(sandbox, rt, app_env):
    athlete = sandbox.create_athlete(activities=230)
    aid = str(athlete["id"])
    added = _run(
        app_env, "athlete", "add", aid, "--label", "Ada", input=athlete["refresh_token"] + "\n"
    )
    assert added.exit_code == 0, added.output
    assert athlete["refresh_token"] not in added.output
    assert aid in _run(app_env, "athlete", "list").output

    synced = _run(app_env, "sync", "--athlete", aid, "--mode", "all", "--no-progress")
    assert synced.exit_code == 0, synced.output
    assert "inserted=230" in synced.output
    assert "pages=2" in synced.output
    assert loaded(rt, int(aid)) == set(truth(sandbox, int(aid)))

    status = json.loads(_run(app_env, "status", "--json").output)
    mine = next(s for s in status if s["athlete_id"] == int(aid))
    assert mine["activities"] == 230
    assert mine["health"] == "ok"
    assert mine["read_usage"]["read_usage_15min"] >= 3
    # details are on by default: the newest got theirs within the enrichment share, the
    # rest wait in the queue, one request each, and status says so
    details = rt.warehouse.count_rows("activity_details", int(aid))
    assert 0 < details < 230
    assert mine["enrich_queue"] == mine["enrich_requests"] == 230 - details
    assert "details on, streams off (1 request per new activity)" in mine["enrichment"]
    assert f"{details} activities with details" in mine["detail_rows"]

    archived = len(list(rt.store.list(f"archive/strava/athlete={aid}/")))
    assert archived == 2 + details  # two listing pages and one response per detail
    rt.warehouse.close()  # type: ignore[attr-defined]
    removed = _run(app_env, "athlete", "remove", aid, "--purge", "--yes")
    assert removed.exit_code == 0, removed.output
    assert f"Purged 230 warehouse rows and {archived} archive objects" in removed.output
    assert AthleteRepo(rt.store).list_ids() == []
    assert list(rt.store.list(f"archive/strava/athlete={aid}/")) == []
