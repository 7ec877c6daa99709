"""Deauthorization events are unsigned: only a Strava that really refuses the athlete's
access purges anything. Real HTTP to the sandbox, real DuckDB and local store."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from nunis_ingest.adapters.queues import LocalQueue
from nunis_ingest.core.token import Token
from nunis_ingest.drivers.webhook.worker import Worker
from nunis_ingest.errors import StravaServerError, StravaUnavailable, TokenMismatch
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.webhook.process import process
from tests.reliability.conftest import assert_token_works, register, warehouse_rows
from tests.webhook.helpers import deauthorization, event_context, poll

ATHLETE = "/api/v3/athlete"


def _loaded_athlete(sandbox: Any, rt: Runtime) -> tuple[int, dict[str, Any]]:
    athlete = sandbox.athletes()[0]
    athlete_id = register(rt, athlete)
    poll(rt, sandbox, athlete_id, "all")
    return athlete_id, athlete


def _snapshot(rt: Runtime, athlete_id: int) -> dict[str, Any]:
    state = rt.store.get(f"athletes/{athlete_id}/state.json")
    return {
        "rows": warehouse_rows(rt, athlete_id),
        "archive": list(rt.store.list(f"archive/strava/athlete={athlete_id}/")),
        "state": state.data if state else None,
        "enabled": AthleteRepo(rt.store).load_config(athlete_id).enabled,
    }


def _no_secret(text: str, athlete: dict[str, Any], sandbox: Any) -> None:
    live = {int(a["id"]): a for a in sandbox.athletes()}[int(athlete["id"])]
    secrets = {athlete["access_token"], athlete["refresh_token"]}
    secrets |= {live["access_token"], live["refresh_token"], sandbox.app()["client_secret"]}
    for secret in secrets - {None}:
        assert secret not in text


def test_a_forged_deauthorization_with_one_spurious_401_purges_nothing(
    sandbox, hook_rt, caplog
) -> None:
    a, athlete = _loaded_athlete(sandbox, hook_rt)
    before = _snapshot(hook_rt, a)
    assert before["rows"]
    assert before["archive"]
    assert before["state"]
    sandbox.add_fault(kind="status", method="GET", path=ATHLETE, status=401, times=1)
    caplog.set_level(logging.INFO)

    outcomes = process([deauthorization(a, int(sandbox.clock()))], event_context(hook_rt, sandbox))

    assert [o.action for o in outcomes] == ["ignored"]
    assert sandbox.faults()[0]["fired"] == 1, "the 401 really happened"
    assert _snapshot(hook_rt, a) == before
    assert_token_works(hook_rt, sandbox, a)
    assert poll(hook_rt, sandbox, a).outcome == "success"  # the athlete still syncs
    _no_secret(caplog.text + repr(outcomes), athlete, sandbox)


def test_a_real_deauthorization_still_purges_everything(sandbox, hook_rt, caplog) -> None:
    a, athlete = _loaded_athlete(sandbox, hook_rt)
    sandbox.revoke(a)
    caplog.set_level(logging.INFO)

    outcomes = process([deauthorization(a, int(sandbox.clock()))], event_context(hook_rt, sandbox))

    assert [o.action for o in outcomes] == ["purged"]
    assert warehouse_rows(hook_rt, a) == []
    assert list(hook_rt.store.list(f"archive/strava/athlete={a}/")) == []
    assert list(hook_rt.store.list(f"athletes/{a}/")) == [f"athletes/{a}/config.json"]
    assert AthleteRepo(hook_rt.store).load_config(a).enabled is False
    _no_secret(caplog.text + repr(outcomes), athlete, sandbox)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"kind": "status", "status": 503}, StravaServerError),
        ({"kind": "drop"}, StravaUnavailable),
    ],
)
def test_a_deauthorization_that_cannot_reach_strava_comes_back_and_purges_nothing(
    sandbox, hook_rt, tmp_path, fault, error
) -> None:
    """One 401 on GET /athlete, then the token refresh meets a 5xx or a dropped
    connection: no verdict, so the worker (errors.decide) keeps the event for a retry."""
    a, _ = _loaded_athlete(sandbox, hook_rt)
    before = _snapshot(hook_rt, a)
    sandbox.add_fault(kind="status", method="GET", path=ATHLETE, status=401, times=1)
    sandbox.add_fault(method="POST", path="/oauth/token", **fault)
    with pytest.raises(error):
        process([deauthorization(a, int(sandbox.clock()))], event_context(hook_rt, sandbox))
    assert _snapshot(hook_rt, a) == before

    now = [1000.0]
    queue = LocalQueue(tmp_path / "events.sqlite", clock=lambda: now[0])
    queue.put(deauthorization(a, int(sandbox.clock())).to_bytes())
    now[0] += 10
    worker = Worker(
        hook_rt, queue, context=lambda: event_context(hook_rt, sandbox), reconcile_polls=False
    )
    sandbox.add_fault(kind="status", method="GET", path=ATHLETE, status=401, times=1)
    assert worker.run_once() == 1
    assert queue.depth() == (1, 0), "the event is kept for a retry, not acknowledged"
    assert queue.claim(min_age=0) == [], "and comes back only after a backoff"
    assert _snapshot(hook_rt, a) == before
    sandbox.clear_faults()
    assert_token_works(hook_rt, sandbox, a)


def test_a_token_that_answers_for_another_athlete_is_not_a_revocation(sandbox, hook_rt) -> None:
    a, _ = _loaded_athlete(sandbox, hook_rt)
    other = sandbox.athletes()[1]
    before = _snapshot(hook_rt, a)
    token = Token(other["access_token"], other["refresh_token"], int(other["expires_at"]))
    AthleteRepo(hook_rt.store).save_token(a, token)  # a mix-up: no owner recorded

    with pytest.raises(TokenMismatch) as raised:
        process([deauthorization(a, int(sandbox.clock()))], event_context(hook_rt, sandbox))

    assert str(other["id"]) in str(raised.value)
    assert other["access_token"] not in str(raised.value)
    assert _snapshot(hook_rt, a) == before
