"""Confirmed deletions, archived: the archive alone must say what is gone.

The archive keeps every response Strava sent; a deletion is the absence of one, so each
confirmed deletion (a poll's two-404 check or a webhook's) leaves a small JSON object,
``{"id": ..., "confirmed_at": ...}``, under the run's archive prefix before the rows go
(``keys.archive_deleted_key``). A rebuild from the archive honours it unless a later
response shows the activity again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from nunis_ingest.core.keys import archive_deleted_key
from nunis_ingest.ports import ObjectStore


def record_deletions(
    store: ObjectStore,
    athlete_id: int,
    run_id: str,
    started: float,
    activity_ids: Iterable[int],
    now: float,
) -> None:
    for activity_id in activity_ids:
        body = json.dumps({"id": int(activity_id), "confirmed_at": int(now)}).encode()
        store.put(archive_deleted_key(athlete_id, run_id, started, activity_id), body)
