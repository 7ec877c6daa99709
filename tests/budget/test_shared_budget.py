"""The shared budget end to end: real runs over HTTP against the sandbox, real DuckDB."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from nunis_ingest.core import budget_rules as rules
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.keys import BUDGET_KEY
from nunis_ingest.core.stops import Stop
from nunis_ingest.drivers.cli import main as cli
from nunis_ingest.drivers.cli import status as cli_status
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.sync import RunReport, run_sync
from tests.e2e.conftest import register

WINDOW = 900


@pytest.fixture
def env(app_env: dict[str, str]) -> dict[str, str]:
    return app_env | {"NUNIS_READ_HEADROOM_15MIN": "0"}


def process(env: dict[str, str]) -> Runtime:
    """A new process of the app (its own in-memory view), sharing the data folder."""
    return Runtime(load_settings(env))


def run(rt: Runtime, sandbox: Any, athlete_id: int, mode: str = "new") -> RunReport:
    ctx = rt.context()
    ctx.now = sandbox.clock
    request = SyncRequest(athlete_id=athlete_id, mode=mode, trigger="test")  # type: ignore[arg-type]
    return run_sync(request, ctx)


def start_of_window(sandbox: Any) -> None:
    now = sandbox.clock()
    sandbox.set_clock((now // WINDOW + 1) * WINDOW + 10)


def listing_requests(sandbox: Any) -> dict[str, int]:
    return {k: v for k, v in sandbox.requests_log()["counts"]["by_athlete"].items() if v}


def test_an_idle_poll_over_the_shared_budget_makes_no_request(sandbox, env):
    first = process(env)
    a, b = (register(first, athlete) for athlete in sandbox.athletes()[:2])
    assert run(first, sandbox, a, "all").outcome == "success"
    assert run(first, sandbox, b, "all").outcome == "success"
    start_of_window(sandbox)
    sandbox.set_rate_limits(read_15min=1)
    assert run(first, sandbox, a).requests == 1  # spends this window's only read
    sandbox.clear_requests()

    other = process(env)  # another function instance: it knows only the ledger
    report = run(other, sandbox, b)

    assert sandbox.requests_log()["counts"]["total"] == 0, "no request at all, not even a 429"
    assert (report.outcome, report.stop, report.requests) == ("partial", Stop.BUDGET_DEFERRED, 0)
    assert "deferred until" in report.reason
    row = other.warehouse.fetch_runs(b, limit=1)[0]
    assert (row["outcome"], row["error_class"]) == ("partial", "BudgetDeferred")
    status = CliRunner().invoke(cli.cli, ["status"], env=env)
    assert "waiting for the app's shared read budget" in status.output
    assert "read budget (whole app):" in status.output
    line = cli_status.budget_line(other, sandbox.clock())  # status, on the sandbox's clock
    assert line.startswith("read budget (whole app): 1/1 this 15 min (resets ")

    ledger = other.store.get(BUDGET_KEY)
    assert ledger is not None
    for athlete in sandbox.athletes()[:2]:  # counts and ids only: never a token
        for secret in (athlete["access_token"], athlete["refresh_token"]):
            assert secret.encode() not in ledger.data
            assert secret not in report.reason
    sandbox.advance_clock(WINDOW)  # the window resets: the deferred poll goes through
    later = run(other, sandbox, b)
    assert (later.outcome, later.requests) == ("success", 1)
    for rt in (first, other):
        rt.warehouse.close()  # type: ignore[attr-defined]


def test_two_athletes_sharing_the_app_draw_fairly(sandbox, env):
    rt = process(env)
    a = register(rt, sandbox.create_athlete(activities=1500))  # 8 pages and an empty one
    b = register(rt, sandbox.create_athlete(activities=1500))
    start_of_window(sandbox)
    sandbox.set_rate_limits(read_15min=6)

    first_a, first_b = run(rt, sandbox, a, "all"), run(rt, sandbox, b, "all")
    assert first_a.requests == 6, "alone, an athlete may take the whole window"
    assert (first_b.requests, first_b.stop) == (0, Stop.BUDGET_DEFERRED)

    sandbox.advance_clock(WINDOW)
    sandbox.clear_requests()
    second_a, second_b = run(rt, sandbox, a, "all"), run(rt, sandbox, b, "all")
    assert (second_a.requests, second_b.requests) == (3, 3), "b waited: the window is halved"
    assert listing_requests(sandbox) == {str(a): 3, str(b): 3}
    statuses = sandbox.requests_log()["counts"]["by_status"]
    assert "429" not in statuses, statuses
    rt.warehouse.close()  # type: ignore[attr-defined]


def test_sync_with_no_athlete_asks_the_scheduler(sandbox, env):
    rt = process(env)
    ids = [register(rt, athlete) for athlete in sandbox.athletes()[:2]]
    rt.warehouse.close()  # type: ignore[attr-defined]
    runner = CliRunner()
    first = runner.invoke(cli.cli, ["sync", "--no-progress"], env=env)
    assert first.exit_code == 0, first.output
    assert "2 athletes: 2 ok, 0 failed" in first.output  # few athletes: all, every tick
    for athlete_id in ids:
        assert f"athlete {athlete_id}: success" in first.output


def test_a_deferred_deletion_check_keeps_the_listing_and_the_suspect(sandbox, env):
    rt = process(env)
    a, b = (register(rt, athlete) for athlete in sandbox.athletes()[:2])
    assert run(rt, sandbox, a, "all").outcome == "success"
    gone = sandbox.truth(a)[0]["id"]
    sandbox.delete_activity(gone)  # no event: only a full listing finds it missing
    start_of_window(sandbox)
    sandbox.set_rate_limits(read_15min=4)
    now = sandbox.clock()
    waiting = rules.turned_away(rules.fresh(now), b, now)  # b wants reads: a's share is 2
    rt.store.put(BUDGET_KEY, rules.dump(waiting))

    report = run(process(env), sandbox, a, "all")  # two pages, then the check is deferred

    assert report.requests == 2
    # the listing was complete, but its count does not reconcile until the check is made
    assert report.outcome == "partial"
    assert report.stop is Stop.UNVERIFIED_LISTING
    state, _ = AthleteRepo(rt.store).load_state(a)
    assert gone in state.suspects, "checked by a later run, never deleted unconfirmed"
    assert gone in rt.warehouse.fetch_activity_hashes(a)
    rt.warehouse.close()  # type: ignore[attr-defined]
