"""Ordinary trouble, not planned faults: each of these lost or froze data before.

Real HTTP against strava_sandbox, real DuckDB, the real pipeline (``run_sync``).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from nunis_ingest.core.token import Token
from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.errors import TokenMismatch
from nunis_ingest.usecases.athletes import AthleteRepo
from tests.reliability.conftest import (
    LISTING,
    Pipeline,
    assert_converged,
    assert_token_works,
    new_athlete,
    state_of,
    warehouse_rows,
)

DAY = 86400


def test_one_spurious_401_on_the_listing_refreshes_retries_and_marks_nothing(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 50)
    pipe.run(aid, "all")
    sandbox.add_activity(aid, start_date=int(sandbox.clock()) - 3600, name="new one")
    sandbox.add_fault(kind="status", method="GET", path=LISTING, status=401, times=1)
    outcome = pipe.run(aid, "new")
    assert outcome.decision == "ack"
    assert outcome.report.outcome == "success"
    assert outcome.report.result.inserted == 1
    state = state_of(rt, aid)
    assert not state.needs_reauth, "one 401 must not mark the athlete revoked"
    assert pipe.run(aid, "new").report.outcome == "success", "later polls are not skipped"
    assert_converged(rt, sandbox, aid)
    assert_token_works(rt, sandbox, aid)


def test_a_backlog_larger_than_one_runs_budget_drains_in_new_run_after_run(
    sandbox, make_rt
) -> None:
    aid = new_athlete(sandbox, make_rt(), 10)
    Pipeline(make_rt(), sandbox).run(aid, "all")
    rt = make_rt(NUNIS_READ_HEADROOM_15MIN="99")  # of 100: each run may list one page
    pipe = Pipeline(rt, sandbox)
    now = int(sandbox.clock())
    for i in range(650):  # a watch synced a backlog: 4 pages of 200, all inside the window
        sandbox.add_activity(aid, start_date=now - 5 * DAY + i * 60, name=f"backlog {i}")
    runs = []
    for _ in range(8):
        sandbox.advance_clock(15 * 60)
        report = pipe.run(aid, "new").report
        runs.append((report.outcome, report.result.inserted))
        if report.outcome == "success":
            break
    assert runs[-1][0] == "success", f"the backlog never drained: {runs}"
    assert sum(inserted for _, inserted in runs) == 650
    assert len(runs) <= 5, runs
    assert state_of(rt, aid).pending is None
    assert_converged(rt, sandbox, aid)


def test_an_activity_dated_years_ahead_does_not_freeze_new(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 20)
    pipe.run(aid, "all")
    now = int(sandbox.clock())
    sandbox.add_activity(aid, start_date=now + 5 * 365 * DAY, name="device clock in 2031")
    assert pipe.run(aid, "new").report.result.inserted == 1
    sandbox.advance_clock(3600)
    sandbox.add_activity(aid, start_date=now + 600, name="a real run today")
    later = pipe.run(aid, "new").report
    assert later.result.inserted == 1, "the real run was never listed"
    assert_converged(rt, sandbox, aid)


def test_a_deleted_duckdb_file_is_noticed_and_healed(sandbox, rt, pipe):
    aid = new_athlete(sandbox, rt, 120)
    pipe.run(aid, "all")
    assert state_of(rt, aid).rows == 120
    rt.warehouse.close()
    Path(rt.settings.duckdb_file).unlink()  # a user "cleans up" the warehouse file
    rt.__dict__.pop("warehouse", None)
    status = CliRunner().invoke(
        cli,
        ["status", "--json"],
        env={"NUNIS_BACKEND": "local", "NUNIS_DATA_DIR": str(rt.settings.data_dir)},
    )
    shown = next(a for a in json.loads(status.output) if a["athlete_id"] == aid)
    assert (shown["activities"], shown["expected_rows"]) == (0, 120)
    assert "heals it" in shown["health"]
    rt.__dict__.pop("warehouse", None)
    sandbox.advance_clock(7 * 3600)  # past the verification interval
    report = pipe.run(aid, "new").report
    assert report.mode == "all", "the disagreement must trigger a full load"
    assert report.result.inserted == 120
    assert state_of(rt, aid).rows == 120
    assert_converged(rt, sandbox, aid)


def test_a_token_registered_under_the_wrong_athlete_loads_nothing(sandbox, rt, pipe):
    mine = new_athlete(sandbox, rt, 5)
    other = sandbox.create_athlete(activities=7)
    repo = AthleteRepo(rt.store)
    repo.save_token(
        mine,
        Token(
            access_token=other["access_token"],
            refresh_token=other["refresh_token"],
            expires_at=int(other["expires_at"]),
            scope=other.get("scope"),
        ),
    )
    outcome = pipe.run(mine, "all")
    assert outcome.decision == "ack"
    assert isinstance(outcome.error, TokenMismatch)
    assert str(other["id"]) in str(outcome.error)
    assert warehouse_rows(rt, mine) == []
