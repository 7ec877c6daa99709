"""Webhook events and polls agree: one representation, the sync state kept in step, and
a row leaves only when Strava confirms the activity is gone. Real HTTP to the sandbox,
real DuckDB, the real poll (`run_sync`)."""

from __future__ import annotations

from typing import Any

from nunis_ingest.core.transform import content_hash, start_epoch
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases.webhook.marks import load_marks
from nunis_ingest.usecases.webhook.process import process
from tests.reliability.conftest import register, state_of, warehouse_rows
from tests.webhook.helpers import activity_fetches, event_context, event_of, poll, raw_of


def _loaded(sandbox: Any, rt: Runtime) -> tuple[int, dict[str, Any]]:
    """A fully loaded athlete and its newest activity (inside the poll's window)."""
    athlete_id = register(rt, sandbox.athletes()[0])
    poll(rt, sandbox, athlete_id, "all")
    newest = max(sandbox.truth(athlete_id), key=lambda a: start_epoch(a) or 0)
    return athlete_id, newest


def _apply(sandbox: Any, rt: Runtime, aspect: str, activity_id: int, athlete_id: int) -> str:
    event = event_of(aspect, activity_id, athlete_id, int(sandbox.clock()), title="x")
    [outcome] = process([event], event_context(rt, sandbox))
    return outcome.action


def _summary_shape(raw: dict[str, Any] | None) -> bool:
    return raw is not None and raw["resource_state"] == 2 and "laps" not in raw


def test_a_poll_after_a_webhook_update_writes_nothing(sandbox, hook_rt) -> None:
    a, target = _loaded(sandbox, hook_rt)
    edited = sandbox.patch_activity(target["id"], name="Renamed on Strava")
    assert _apply(sandbox, hook_rt, "update", target["id"], a) == "loaded"
    after_event = raw_of(hook_rt, target["id"])
    assert _summary_shape(after_event)
    assert after_event == edited  # the row is what the listing serves
    operations = dict(hook_rt.warehouse.operations)

    report = poll(hook_rt, sandbox, a)

    assert report.outcome == "success"
    assert (report.result.inserted, report.result.updated) == (0, 0)
    assert hook_rt.warehouse.operations == operations, "the poll did warehouse work"
    assert raw_of(hook_rt, target["id"]) == after_event
    assert dict(warehouse_rows(hook_rt, a))[target["id"]] == content_hash(edited)


def test_a_webhook_create_of_a_new_activity_keeps_the_next_poll_idle(sandbox, hook_rt) -> None:
    """An activity newer than the cursor: known, so the poll writes nothing; the cursor
    is moved by that poll, not by the event."""
    a, _ = _loaded(sandbox, hook_rt)
    cursor = state_of(hook_rt, a).cursor
    new = sandbox.add_activity(a, name="After the last poll", start_date=cursor + 3600)
    assert _apply(sandbox, hook_rt, "create", new["id"], a) == "loaded"
    assert state_of(hook_rt, a).cursor == cursor
    operations = dict(hook_rt.warehouse.operations)

    report = poll(hook_rt, sandbox, a)

    assert (report.result.inserted, report.result.updated) == (0, 0)
    assert hook_rt.warehouse.operations == operations
    assert state_of(hook_rt, a).cursor == cursor + 3600
    assert _summary_shape(raw_of(hook_rt, new["id"]))


def test_one_transient_404_keeps_the_row(sandbox, hook_rt) -> None:
    a, target = _loaded(sandbox, hook_rt)
    path = f"/api/v3/activities/{target['id']}"
    sandbox.add_fault(kind="status", method="GET", path=path, status=404, times=1)
    sandbox.clear_requests()

    assert _apply(sandbox, hook_rt, "update", target["id"], a) == "loaded"

    assert activity_fetches(sandbox, target["id"]) == 2  # the one extra request
    assert dict(warehouse_rows(hook_rt, a))[target["id"]] == content_hash(target)
    assert target["id"] not in load_marks(hook_rt.store, a).deleted
    assert poll(hook_rt, sandbox, a).result.inserted == 0


def test_a_confirmed_404_deletes_and_a_later_listing_restores(sandbox, hook_rt) -> None:
    """Both GETs say 404 (here a fault, as a Strava glitch would): the row goes, and
    the state forgets it, so the next poll, which lists it, writes it back."""
    a, target = _loaded(sandbox, hook_rt)
    path = f"/api/v3/activities/{target['id']}"
    sandbox.add_fault(kind="status", method="GET", path=path, status=404, times=2)

    assert _apply(sandbox, hook_rt, "update", target["id"], a) == "deleted"
    assert target["id"] not in dict(warehouse_rows(hook_rt, a))
    assert target["id"] not in state_of(hook_rt, a).known
    assert target["id"] in load_marks(hook_rt.store, a).deleted  # the tombstone stays

    report = poll(hook_rt, sandbox, a)

    assert report.result.inserted == 1
    assert dict(warehouse_rows(hook_rt, a))[target["id"]] == content_hash(target)
    assert _summary_shape(raw_of(hook_rt, target["id"]))


def test_a_real_delete_stays_deleted_through_the_next_poll(sandbox, hook_rt) -> None:
    a, target = _loaded(sandbox, hook_rt)
    sandbox.delete_activity(target["id"])
    assert _apply(sandbox, hook_rt, "delete", target["id"], a) == "deleted"
    report = poll(hook_rt, sandbox, a)
    assert (report.result.inserted, report.result.updated) == (0, 0)
    assert target["id"] not in dict(warehouse_rows(hook_rt, a))


def test_webhook_creates_and_deletes_keep_the_expected_row_count(sandbox, hook_rt) -> None:
    """The warehouse check every few hours must not mistake webhook writes for data loss."""
    a, _ = _loaded(sandbox, hook_rt)
    rows = state_of(hook_rt, a).rows
    assert rows is not None
    cursor = state_of(hook_rt, a).cursor
    new = sandbox.add_activity(a, name="From an event", start_date=cursor + 60)
    assert _apply(sandbox, hook_rt, "create", new["id"], a) == "loaded"
    older = sorted(sandbox.truth(a), key=lambda x: start_epoch(x) or 0)[:2]
    for gone in older:
        sandbox.delete_activity(gone["id"])
        assert _apply(sandbox, hook_rt, "delete", gone["id"], a) == "deleted"
    assert state_of(hook_rt, a).rows == rows - 1 == len(warehouse_rows(hook_rt, a))
    sandbox.advance_clock(7 * 3600)  # the next poll verifies the warehouse

    report = poll(hook_rt, sandbox, a)

    assert report.mode == "new", "a webhook write was taken for a lost warehouse"
    assert state_of(hook_rt, a).verified_at is not None
