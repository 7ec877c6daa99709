"""Apply webhook events through the same ports, lease and tokens as polling.

Per athlete, under its lease: deauthorization first (verify, disable, drop the token,
purge when NUNIS_PURGE_ON_DEAUTH); otherwise one fetch per activity settles the truth:
200 -> archive the body and upsert (replace=False), 404 (deleted, or hidden from this
token's scope) -> delete the row and leave a tombstone. Event bodies are never trusted:
an activity another athlete owns is not loaded, and a deauthorization is only acted on
when the athlete's token really stopped working.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.athletes import AthleteRepo, athlete_key
from nunis_ingest.errors import AthleteNotConfigured, StravaAuthError, StravaNotFound
from nunis_ingest.lease import Lease
from nunis_ingest.strava.client import StravaClient
from nunis_ingest.sync import SyncContext, new_run_id
from nunis_ingest.tokens import fresh_token
from nunis_ingest.transform import to_row
from nunis_ingest.webhook.marks import MARKS_NAME, Marks, load_marks, save_marks
from nunis_ingest.webhook.model import QueuedEvent

log = logging.getLogger("nunis_ingest.webhook")

LEASE_TTL_SECONDS = 300.0


@dataclass
class Outcome:
    athlete_id: int
    action: str  # loaded | deleted | skipped | dropped | purged | disabled | ignored
    activity_id: int | None = None
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def process(
    events: Sequence[QueuedEvent], ctx: SyncContext, wall: Callable[[], float] = time.time
) -> list[Outcome]:
    """Apply a batch; raises the first NunisError after finishing its athlete's other work."""
    by_athlete: dict[int, list[QueuedEvent]] = {}
    for item in events:
        by_athlete.setdefault(item.event.owner_id, []).append(item)
    outcomes: list[Outcome] = []
    for athlete_id, items in by_athlete.items():
        outcomes += _athlete(athlete_id, items, ctx, wall)
    for outcome in outcomes:
        log.info(
            "webhook event: athlete %s %s %s %s",
            outcome.athlete_id,
            outcome.action,
            outcome.activity_id or "",
            outcome.detail,
            extra={
                "json_fields": {"athlete_id": outcome.athlete_id, "action": outcome.action}
                | ({"activity_id": outcome.activity_id} if outcome.activity_id else {})
                | outcome.counts
            },
        )
    return outcomes


def _athlete(
    athlete_id: int, items: list[QueuedEvent], ctx: SyncContext, wall: Callable[[], float]
) -> list[Outcome]:
    repo = AthleteRepo(ctx.store)
    try:
        config = repo.load_config(athlete_id)
    except AthleteNotConfigured:
        return [Outcome(athlete_id, "dropped", detail="unknown athlete")]
    deauth = [i for i in items if i.event.is_deauthorization and i.event.object_id == athlete_id]
    run_id = new_run_id(ctx.now())
    if deauth:
        with Lease(ctx.store, athlete_id, run_id, ctx.now(), LEASE_TTL_SECONDS):
            return [_deauthorize(athlete_id, repo, ctx, run_id)]
    state, _ = repo.load_state(athlete_id)
    if not config.enabled or state.needs_reauth:
        why = "disabled" if not config.enabled else "needs re-authorisation"
        return [Outcome(athlete_id, "dropped", detail=why)]
    per_activity: dict[int, list[QueuedEvent]] = {}
    for item in items:
        if item.event.object_type == "activity":
            per_activity.setdefault(item.event.object_id, []).append(item)
    with Lease(ctx.store, athlete_id, run_id, ctx.now(), LEASE_TTL_SECONDS):
        marks = load_marks(ctx.store, athlete_id)
        try:
            return _activities(athlete_id, per_activity, ctx, repo, marks, run_id, wall)
        finally:
            marks.prune(ctx.now(), wall())
            save_marks(ctx.store, athlete_id, marks)


def _activities(
    athlete_id: int,
    per_activity: dict[int, list[QueuedEvent]],
    ctx: SyncContext,
    repo: AthleteRepo,
    marks: Marks,
    run_id: str,
    wall: Callable[[], float],
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    client: StravaClient | None = None
    for activity_id, items in per_activity.items():
        pending = [i for i in items if not marks.covered(activity_id, i.event, i.received_at)]
        if not pending:
            why = marks.covered(activity_id, items[0].event, items[0].received_at)
            outcomes.append(Outcome(athlete_id, "skipped", activity_id, f"already {why}"))
            continue
        if client is None:
            client = _client(ctx, repo, athlete_id)
        fetch_started = wall()
        newest = max(i.event.event_time for i in pending)
        try:
            body, data = client.get_activity(activity_id)
        except StravaNotFound:
            gone = ctx.warehouse.delete_activities(athlete_id, [activity_id])
            marks.record_delete(activity_id, newest)
            outcomes.append(Outcome(athlete_id, "deleted", activity_id, counts={"rows": gone}))
            continue
        owner = (data.get("athlete") or {}).get("id")
        if owner is not None and owner != athlete_id:
            outcomes.append(Outcome(athlete_id, "ignored", activity_id, f"owned by {owner}"))
            continue
        _upsert(ctx, athlete_id, run_id, activity_id, body, data)
        marks.deleted.pop(activity_id, None)
        marks.record_fetch(activity_id, fetch_started, [i.event for i in pending])
        outcomes.append(Outcome(athlete_id, "loaded", activity_id))
    return outcomes


def _client(ctx: SyncContext, repo: AthleteRepo, athlete_id: int) -> StravaClient:
    token = fresh_token(ctx.session, ctx.settings, repo, athlete_id, ctx.now())
    return StravaClient(
        ctx.session,
        base_url=ctx.settings.strava_base_url,
        access_token=token.access_token,
        timeout=ctx.settings.http_timeout_seconds,
        max_attempts=2,
        sleep=ctx.sleep,
        clock=ctx.monotonic,
    )


def _upsert(
    ctx: SyncContext,
    athlete_id: int,
    run_id: str,
    activity_id: int,
    body: bytes,
    data: dict[str, Any],
) -> None:
    now = ctx.now()
    day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
    key = f"archive/strava/athlete={athlete_id}/date={day}/{run_id}/activity-{activity_id}.json"
    ctx.store.put(key, body)
    seen_at = datetime.fromtimestamp(now, UTC)
    batch = ctx.warehouse.stage(athlete_id, run_id)
    try:
        batch.add([to_row(data, athlete_id=athlete_id, run_id=run_id, seen_at=seen_at)])
        batch.commit(replace=False)
    finally:
        batch.discard()


def _deauthorize(athlete_id: int, repo: AthleteRepo, ctx: SyncContext, run_id: str) -> Outcome:
    """Unsigned payloads: act only if the athlete's token really stopped working."""
    try:
        _client(ctx, repo, athlete_id).get_athlete()
    except (StravaAuthError, AthleteNotConfigured):
        pass  # revoked (or the token is already gone): go on
    else:
        return Outcome(athlete_id, "ignored", detail="deauthorization not confirmed: token works")
    config = repo.load_config(athlete_id)
    repo.save_config(replace(config, enabled=False))
    counts = {"tokens": int(repo.delete_token(athlete_id))}
    if not ctx.settings.purge_on_deauth:
        return Outcome(athlete_id, "disabled", detail="purge off", counts=counts)
    counts["warehouse_rows"] = ctx.warehouse.purge_athlete(athlete_id)
    archive = list(ctx.store.list(f"archive/strava/athlete={athlete_id}/"))
    for key in archive:
        ctx.store.delete(key)
    counts["archive_objects"] = len(archive)
    state = 0
    for name in ("state.json", MARKS_NAME):
        state += int(ctx.store.delete(athlete_key(athlete_id, name)))
    counts["state_objects"] = state
    return Outcome(athlete_id, "purged", detail="deauthorized", counts=counts)
