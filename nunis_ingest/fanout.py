"""One scheduled message for every athlete: fan out to one message per athlete.

Cloud Scheduler bills per job past three, so one job publishing ``{"mode": "new"}`` (no
athlete) beats one job per athlete. The function answers such a message by publishing
``{"athlete_id": <id>, "mode": ..., "force": ...}`` for each configured, enabled athlete
to its own trigger topic (``NUNIS_INGEST_TOPIC``). Each athlete's sync then runs in its
own invocation, with its own lease, retries and time budget; a failing athlete never
holds up the others. ``max-instances`` bounds how many run at once.
"""

from __future__ import annotations

import json

from nunis_ingest.athletes import AthleteRepo
from nunis_ingest.events import SyncRequest
from nunis_ingest.ports import Queue


def fan_out(request: SyncRequest, repo: AthleteRepo, topic: Queue) -> list[int]:
    """Publish one message per enabled athlete; return their ids (disabled ones skipped).

    A publish that fails raises, so Pub/Sub redelivers the whole fan-out; the athletes
    already published then get a second message, which their leases and idempotent
    upserts make harmless.
    """
    published = []
    for athlete_id in repo.list_ids():
        if not repo.load_config(athlete_id).enabled:
            continue
        body = {"athlete_id": athlete_id, "mode": request.mode, "force": request.force}
        topic.put(json.dumps(body).encode(), attributes={"athlete_id": str(athlete_id)})
        published.append(athlete_id)
    return published
