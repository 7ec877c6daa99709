"""What the alerts see: main.ingest as the function runs it (functions-framework), with the
log records the log-based metrics count (deployment-guide.md step 10).

* a `new` poll that meets a held lease is acknowledged at INFO: the failed-runs metric
  (severity >= ERROR with an error_class) does not count it;
* fan-out messages say their kind, and a `reconcile` message's run is recorded and spent as
  reconciliation;
* a tick logs one `stale_athlete` WARNING per athlete without a successful run for a day.
"""

from __future__ import annotations

import base64
import json
import logging
import time

from nunis_ingest.adapters.queues import LocalQueue
from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.core.budget_schedule import Signals
from nunis_ingest.core.events import SyncRequest, parse_pubsub
from nunis_ingest.usecases import budget_planner as planner
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.fanout import fan_out, tick_kind
from nunis_ingest.usecases.lease import Lease
from nunis_ingest.usecases.webhook import subscription
from tests.e2e.conftest import app_env, register, rt  # noqa: F401  (fixtures)
from tests.e2e.test_main import function, publish  # noqa: F401  (fixture)


def _counted_as_failed(records: list[logging.LogRecord]) -> list[str]:
    """The records the nunis-failed-runs metric would count."""
    found = []
    for record in records:
        fields = getattr(record, "json_fields", {}) or {}
        if fields.get("outcome") == "failed" or (
            record.levelno >= logging.ERROR and "error_class" in fields
        ):
            found.append(record.getMessage())
    return found


def test_a_new_poll_meeting_a_held_lease_fires_no_failed_run(
    sandbox,
    rt,  # noqa: F811
    function,  # noqa: F811
    caplog,
) -> None:
    caplog.set_level(logging.INFO)
    aid = register(rt, sandbox.create_athlete(activities=5))
    Lease(rt.store, aid, "another-run", time.time(), 600).acquire()
    answer = publish(function, json.dumps({"athlete_id": aid, "mode": "new"}))
    assert answer.status_code == 200  # acknowledged, not retried
    assert _counted_as_failed(caplog.records) == []
    held = [r for r in caplog.records if "LeaseHeld" in str(getattr(r, "json_fields", {}))]
    assert [r.levelname for r in held] == ["INFO"]
    # the same meeting in an `all` is retried (the function answers 500), at WARNING
    caplog.clear()
    answer = publish(function, json.dumps({"athlete_id": aid, "mode": "all"}))
    assert answer.status_code == 500
    assert _counted_as_failed(caplog.records) == []


def test_the_rule_above_can_fail_a_permanent_failure_is_counted(
    rt,  # noqa: F811
    function,  # noqa: F811
    caplog,
) -> None:
    caplog.set_level(logging.INFO)
    answer = publish(function, json.dumps({"athlete_id": 424242, "mode": "new"}))
    assert answer.status_code == 200
    assert _counted_as_failed(caplog.records)  # AthleteNotConfigured: an ERROR with a class


def _bodies(queue: LocalQueue) -> list[dict[str, object]]:
    return [json.loads(c.body) for c in queue.claim()]


def test_fan_out_messages_say_their_kind(tmp_path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    repo = AthleteRepo(store)
    from nunis_ingest.usecases.athletes import AthleteConfig

    repo.save_config(AthleteConfig(11))
    queue = LocalQueue(tmp_path / "queue.sqlite3")
    assert tick_kind(store, None) == "poll"
    fan_out(SyncRequest(None, "new"), repo, queue, kind=tick_kind(store, None))
    subscription.save(store, 777, "https://example.test/hook", time.time())
    assert tick_kind(store, None) == "reconcile"
    fan_out(SyncRequest(None, "new"), repo, queue, kind=tick_kind(store, None))
    bodies = _bodies(queue)
    assert [b["kind"] for b in bodies] == ["poll", "reconcile"]
    parsed = [
        parse_pubsub({"message": {"data": base64.b64encode(json.dumps(b).encode()).decode()}})
        for b in bodies
    ]
    assert [p.trigger for p in parsed] == ["pubsub", "reconcile"]


def test_a_reconcile_message_runs_and_is_recorded_as_reconciliation(
    sandbox,
    rt,  # noqa: F811
    function,  # noqa: F811
) -> None:
    aid = register(rt, sandbox.create_athlete(activities=20))
    rt.warehouse.close()
    body = {"athlete_id": aid, "mode": "all", "kind": "reconcile"}
    assert publish(function, json.dumps(body)).status_code == 200
    runs = rt.warehouse.fetch_runs(aid, limit=10)
    assert [r["trigger"] for r in runs] == ["reconcile"]


def _signals(athlete_id: int, hours_ago: float | None, now: float) -> Signals:
    listed = None if hours_ago is None else now - hours_ago * 3600
    return Signals(
        athlete_id=athlete_id,
        last_listed_at=listed,
        pending=False,
        events_24h=0,
        missed=0,
        start_hours=(),
    )


def test_a_tick_names_each_athlete_without_a_successful_run_for_a_day(caplog) -> None:
    caplog.set_level(logging.WARNING)
    now = 1_800_000_000.0
    known = [_signals(1, 2, now), _signals(2, 25, now), _signals(3, None, now)]
    assert planner.report_stale(known, now, planner.STALE_HOURS) == [2]
    [line] = [r for r in caplog.records if getattr(r, "json_fields", {}).get("kind")]
    assert line.json_fields == {"athlete_id": 2, "kind": "stale_athlete", "stale_hours": 25.0}  # type: ignore[attr-defined]
    assert line.levelname == "WARNING"
    assert planner.report_stale(known, now, 48) == []  # with a live subscription: two days
