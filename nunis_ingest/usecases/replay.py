"""Rebuild an athlete's tables from the archive alone: not one Strava request.

Every response a run received is archived byte for byte before anything is derived from
it (``keys.py``), and every confirmed deletion leaves a tombstone (``tombstones.py``), so
``activities`` and every detail table are a function of the archive:

- ``activities``: the newest archived version of each activity wins, whichever response
  carried it (a listing page, or a ``GET /activities/{id}`` of a webhook event or a
  deletion check, reduced to the summary the listing serves: ``representation``); a
  tombstone newer than that version removes the activity, an older one does not (the
  activity came back);
- detail tables: the newest archived ``GET /activities/{id}`` (enrichment or webhook)
  and the newest streams response of each live activity.

Time order is the archive's: a run's objects sort by the run's start (run ids begin with
it), pages by number; an enrichment response by its queue stamp. Two passes keep memory
flat in the number of activities (a few small tuples each), never in the archive's
size: the first reads every object once and keeps, per activity, where its winning
version is; the second reads only the winning objects and writes them in batches,
upserted by id in one commit.

**A replay never removes a row the archive does not say is gone.** Only a tombstone
deletes. A warehouse row that no readable object holds (an archive pruned by retention,
or damage no parser can see: a page cut to fewer valid items, items replaced by
garbage) is kept and counted (``Replayed.kept``, a warning with the fix): the archive
is a source of rows, not a licence to drop them; a full refresh (``sync --mode all``)
confirms each missing activity with Strava before it deletes one.

The archive is read back through ``archived.py``: every object is validated in pass one
(a page is a list of this athlete's activities, a response an object, a tombstone names
the id in its key). A damaged object stops the replay **before anything is written**
(``errors.ArchiveDamaged`` naming it and the fix): a rebuild that skipped it would drop
every activity only that object held, and with them their detail rows. Rows are staged
before the stale ones are deleted, so a failure while reading leaves the tables as they
were.
After a replay the caller forgets the state's ``known`` hashes (``forget_loaded``), so a
``new`` poll rewrites anything inside its window that the replay did not restore.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.representation import summary_of
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.transform import to_row
from nunis_ingest.core.transform_detail import detail_rows, stream_rows, summary_fingerprint
from nunis_ingest.ports import DetailRows, ObjectStore, Warehouse, WriteResult
from nunis_ingest.usecases.replay_scan import Entry, Winners, entries, items_of, read, scan

log = logging.getLogger("nunis_ingest.replay")

BATCH_ACTIVITIES = 200
BATCH_POINTS = 50_000


@dataclass
class Replayed:
    activities: int = 0
    deleted: int = 0
    objects: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    result: WriteResult = field(default_factory=WriteResult)
    kept: int = 0  # warehouse rows no archived object holds: kept, never deleted here


def forget_loaded(state: SyncState) -> SyncState:
    """The state after a replay: ``known`` forgotten (a ``new`` poll rewrites its window,
    restoring anything the replay did not) and the row count re-verified next run."""
    return replace(state, known={}, rows=None, verified_at=None)


def replay(
    store: ObjectStore,
    warehouse: Warehouse,
    athlete_id: int,
    *,
    run_id: str,
    since: str | None = None,
    details: bool = True,
    streams: bool = True,
    rewrite: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> Replayed:
    """Rebuild the athlete's tables from the archive (see the module docstring).
    ``details``/``streams``: the athlete's config (a webhook's archived detail does not
    become detail rows for an athlete who has details off, as on the API path).

    ``rewrite`` (a schema change, ``nunis-ingest replay``): rows whose content hash is
    already stored are rewritten too, because their typed columns may be stale. The
    upsert skips those, so the rows of the activities it restores are deleted first and
    loaded again (rows it does not restore are kept): for the seconds that takes, readers
    miss those activities, and a crash in between is
    repaired by running it again (the archive is unchanged; a schema rebuild is marked done
    in ``state.json`` only afterwards)."""
    found = entries(store, athlete_id, since)
    won = scan(store, found, athlete_id)
    alive = won.alive()
    out = Replayed(objects=len(found), activities=len(alive))
    out.deleted = len(set(won.summary) - set(alive))
    if not details:
        won.detail.clear()
    if not streams:
        won.streams.clear()
    starts: dict[int, str | None] = {}
    batch = warehouse.stage(athlete_id, run_id)
    try:
        for summary, entry in _winning_summaries(store, alive, athlete_id):
            if isinstance(summary.get("start_date"), str):
                starts[int(summary["id"])] = summary["start_date"]
            seen = datetime.fromtimestamp(entry.at, UTC)
            row = to_row(summary, athlete_id=athlete_id, run_id=run_id, seen_at=seen)
            first = won.first_seen.get(row["id"], entry.at)
            row["first_seen_at"] = datetime.fromtimestamp(first, UTC).isoformat()
            batch.add([row])
        if rewrite:  # every row is staged: only now may the stale ones go
            warehouse.delete_activities(athlete_id, sorted(alive))
        out.result = batch.commit(replace=False)
    finally:
        batch.discard()
    gone = sorted(won.tombstoned() - set(alive))
    if gone:
        deleted = warehouse.delete_activities(athlete_id, gone)
        out.result = replace(out.result, deleted=out.result.deleted + deleted)
    if since is None:
        out.kept = max(0, warehouse.count_rows("activities", athlete_id) - len(alive))
        if out.kept:
            log.warning(
                "athlete %d: %d activities in the warehouse are in no readable archive "
                "object: kept (only a tombstone deletes). If Strava no longer serves them, "
                "`nunis-ingest sync --athlete %d --mode all` confirms and removes them",
                athlete_id,
                out.kept,
                athlete_id,
            )
    done = 0
    for rows in _detail_batches(store, athlete_id, won, alive, starts, run_id):
        for table, count in warehouse.replace_details(athlete_id, rows).items():
            out.rows[table] = out.rows.get(table, 0) + count
        done += len(rows.activity_ids)
        if on_progress:
            on_progress(done, len(alive))
    return out


def _winning_summaries(
    store: ObjectStore, alive: dict[int, tuple[Entry, int]], athlete_id: int
) -> Iterator[tuple[dict[str, Any], Entry]]:
    """Pass two for ``activities``: read each winning object once, in archive order."""
    by_key: dict[str, tuple[Entry, set[int]]] = {}
    for entry, index in alive.values():
        by_key.setdefault(entry.key, (entry, set()))[1].add(index)
    for key in sorted(by_key, key=lambda k: by_key[k][0]):
        entry, wanted = by_key[key]
        for index, item in enumerate(items_of(store, entry, athlete_id)):
            if index in wanted and isinstance(item, dict):
                yield item, entry


def _detail_batches(
    store: ObjectStore,
    athlete_id: int,
    won: Winners,
    alive: dict[int, tuple[Entry, int]],
    starts: dict[int, str | None],
    run_id: str,
) -> Iterator[DetailRows]:
    detail_tables = tuple(t.name for t in sd.FROM_DETAIL)
    rows: dict[str, list[dict[str, Any]]] = {}
    ids: list[int] = []
    for aid in sorted(a for a in won.detail if a in alive):
        entry = won.detail[aid]
        data = read(store, entry, athlete_id)
        summary = summary_of(data)
        for table, items in detail_rows(
            data,
            athlete_id=athlete_id,
            activity_id=aid,
            run_id=run_id,
            loaded_at=entry.at,
            fingerprint=summary_fingerprint(summary),
        ).items():
            rows.setdefault(table, []).extend(items)
        ids.append(aid)
        if len(ids) >= BATCH_ACTIVITIES:
            yield DetailRows(tuple(ids), detail_tables, rows)
            rows, ids = {}, []
    if ids:
        yield DetailRows(tuple(ids), detail_tables, rows)
    points: list[dict[str, Any]] = []
    ids = []
    for aid in sorted(a for a in won.streams if a in alive):
        entry = won.streams[aid]
        data = read(store, entry, athlete_id)
        points.extend(
            stream_rows(
                data,
                athlete_id=athlete_id,
                activity_id=aid,
                start_date=starts.get(aid),
                run_id=run_id,
                loaded_at=entry.at,
            )
        )
        ids.append(aid)
        if len(points) >= BATCH_POINTS:
            yield DetailRows(tuple(ids), (sd.STREAMS.name,), {sd.STREAMS.name: points})
            points, ids = [], []
    if ids:
        yield DetailRows(tuple(ids), (sd.STREAMS.name,), {sd.STREAMS.name: points})
