"""One scheduled message for every athlete: fan out to one message per athlete.

Cloud Scheduler bills per job past three, so one job publishing ``{"mode": "new"}`` (no
athlete) beats one job per athlete. The function answers such a message by publishing
``{"athlete_id": <id>, "mode": ..., "force": ...}`` for each configured, enabled athlete
to its own trigger topic (``NUNIS_INGEST_TOPIC``). Each athlete's sync then runs in its
own invocation, with its own lease, retries and time budget; a failing athlete never
holds up the others. ``max-instances`` bounds how many run at once.

With ``choose`` (``budget/planner.py``: the scheduler, for a ``new`` tick) only the
athletes it picks are published, most urgent first, so the tick spends what the app's
shared read budget allows (rules in ``budget/schedule.py``).

Every message says its ``kind``: ``reconcile`` when a live webhook subscription carries
the freshness (the listing only catches what events do not report), else ``poll``. The
athlete's run then spends the read budget as that kind (``fetch.py``), so reconciliation
never eats the share that polling or webhook events need.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

from nunis_ingest.core.events import SyncRequest
from nunis_ingest.errors import NunisError
from nunis_ingest.ports import ObjectStore, Queue
from nunis_ingest.usecases.athletes import AthleteRepo

log = logging.getLogger(__name__)


def tick_kind(store: ObjectStore, subscription_id: int | None) -> str:
    """``reconcile`` with a live webhook subscription, else ``poll``."""
    from nunis_ingest.usecases.webhook import subscription

    return "poll" if subscription.live_id(store, subscription_id) is None else "reconcile"


def fan_out(
    request: SyncRequest,
    repo: AthleteRepo,
    topic: Queue,
    choose: Callable[[Sequence[int]], list[int]] | None = None,
    *,
    kind: str = "poll",
) -> list[int]:
    """Publish one message per enabled athlete; return their ids (disabled ones skipped).

    An athlete whose ``config.json`` cannot be read is still published: its own
    invocation then fails with a message naming the file and the fix, in that athlete's
    logs and status, while everyone after it is polled as usual. A publish that fails
    raises, so Pub/Sub redelivers the whole fan-out; the athletes already published then
    get a second message, which their leases and idempotent upserts make harmless.
    """
    enabled = []
    for athlete_id in repo.list_ids():
        try:
            wanted = repo.load_config(athlete_id).enabled
        except NunisError as exc:  # a broken athlete never stops the others
            log.error(
                "fan-out: athlete %d has an unreadable config.json; publishing anyway so its "
                "own run reports it: %s",
                athlete_id,
                exc,
                extra={
                    "json_fields": {"athlete_id": athlete_id, "error_class": type(exc).__name__}
                },
            )
            wanted = True
        if wanted:
            enabled.append(athlete_id)
    published = []
    for athlete_id in enabled if choose is None else choose(enabled):
        body = {
            "athlete_id": athlete_id,
            "mode": request.mode,
            "force": request.force,
            "kind": kind,
        }
        if request.details:
            body["details"] = True
        topic.put(json.dumps(body).encode(), attributes={"athlete_id": str(athlete_id)})
        published.append(athlete_id)
    return published
