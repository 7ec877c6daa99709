"""When Strava's copy of an activity arrives after another platform's file of it.

The import leaves a marker (``athletes/<id>/file_activities.json``) once it has loaded an
activity from another platform's file. A sync or webhook batch that inserted rows calls
``drop_file_twins``: with no marker (every athlete who never imported such a file) it
costs one object read and nothing else; with one, it reads the athlete's starts and
deletes each file activity that now has a Strava twin (``ids.twins``), so the warehouse
keeps one activity, Strava's. Its laps and streams go with it; the API's come with
enrichment (or a Strava export import).
"""

from __future__ import annotations

import json
import logging

from nunis_ingest.core.file_ids import split_starts
from nunis_ingest.core.keys import athlete_key
from nunis_ingest.ports import ObjectStore, Warehouse

log = logging.getLogger("nunis_ingest.import")

MARKER = "file_activities.json"


def mark(store: ObjectStore, athlete_id: int, sources: list[str]) -> None:
    """Say (once) that this athlete has activities loaded from other platforms' files."""
    key = athlete_key(athlete_id, MARKER)
    if store.get(key) is None:
        store.put(key, json.dumps({"sources": sorted(set(sources))}).encode())


def drop_file_twins(store: ObjectStore, warehouse: Warehouse, athlete_id: int) -> int:
    """Delete the athlete's file activities that have a Strava twin; return how many."""
    if store.get(athlete_key(athlete_id, MARKER)) is None:
        return 0
    strava, files = split_starts(warehouse.fetch_activity_starts(athlete_id))
    gone = sorted({f.activity_id for f in files.items if strava.twin(f) is not None})
    if not gone:
        return 0
    deleted = warehouse.delete_activities(athlete_id, gone)
    log.info(
        "athlete %d: %d activity(ies) from other platforms' files now also came from "
        "Strava; Strava's rows were kept, the file copies removed",
        athlete_id,
        deleted,
    )
    return deleted
