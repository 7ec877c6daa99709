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
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core import schema_detail as sd
from nunis_ingest.core.keys import archive_prefix
from nunis_ingest.core.representation import summary_of
from nunis_ingest.core.state import SyncState
from nunis_ingest.core.transform import InvalidActivity, activity_id, to_row
from nunis_ingest.core.transform_detail import detail_rows, stream_rows, summary_fingerprint
from nunis_ingest.errors import ArchiveDamaged
from nunis_ingest.ports import DetailRows, ObjectStore, Warehouse, WriteResult
from nunis_ingest.usecases import archived

log = logging.getLogger("nunis_ingest.replay")

_RUN = re.compile(
    r"^date=(\d{4}-\d{2}-\d{2})/(\d{8}T\d{6}Z)-[0-9a-f]+/(page|activity|deleted)-(\d+)\.json$"
)
_ENRICH = re.compile(r"^date=(\d{4}-\d{2}-\d{2})/enrich-(\d+)/(detail|streams)-(\d+)\.json$")
BATCH_ACTIVITIES = 200
BATCH_POINTS = 50_000


@dataclass(frozen=True, order=True)
class Entry:
    """One archived object: when it was received (sort key) and what it holds."""

    at: float
    seq: int
    key: str
    kind: str  # page | activity | deleted | detail | streams
    number: int  # page number, or the activity id
    day: str = ""


def parse_key(prefix: str, key: str) -> Entry | None:
    """The archive object ``key`` as an ``Entry`` (None: not something replay reads)."""
    rest = key[len(prefix) :] if key.startswith(prefix) else None
    if rest is None:
        return None
    if m := _RUN.match(rest):
        day, stamp, kind, number = m.groups()
        at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        seq = int(number) if kind == "page" else 0
        return Entry(at, seq, key, kind, int(number), day)
    if m := _ENRICH.match(rest):
        day, stamp, kind, number = m.groups()
        return Entry(float(stamp), 0, key, kind, int(number), day)
    return None


@dataclass
class Replayed:
    activities: int = 0
    deleted: int = 0
    objects: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    result: WriteResult = field(default_factory=WriteResult)
    kept: int = 0  # warehouse rows no archived object holds: kept, never deleted here


@dataclass
class _Winners:
    summary: dict[int, tuple[Entry, int]] = field(default_factory=dict)  # id -> (entry, index)
    first_seen: dict[int, float] = field(default_factory=dict)
    tombstone: dict[int, float] = field(default_factory=dict)
    detail: dict[int, Entry] = field(default_factory=dict)
    streams: dict[int, Entry] = field(default_factory=dict)

    def saw(self, aid: int, entry: Entry, index: int) -> None:
        self.summary[aid] = (entry, index)  # entries come in time order: the last wins
        self.first_seen.setdefault(aid, entry.at)

    def tombstoned(self) -> set[int]:
        return set(self.tombstone)

    def alive(self) -> dict[int, tuple[Entry, int]]:
        return {
            aid: won
            for aid, won in self.summary.items()
            if self.tombstone.get(aid, float("-inf")) <= won[0].at
        }


def entries(store: ObjectStore, athlete_id: int, since: str | None = None) -> list[Entry]:
    prefix = archive_prefix(athlete_id)
    found = [e for key in store.list(prefix) if (e := parse_key(prefix, key)) is not None]
    if since is not None:
        found = [e for e in found if e.day >= since]
    return sorted(found)


def read(store: ObjectStore, entry: Entry, athlete_id: int) -> Any:
    """One archived object, validated for its kind (``archived.py``): a page's items, a
    response's object, a tombstone's time. Raises ``ArchiveDamaged`` naming it."""
    stored = store.get(entry.key)
    data = stored.data if stored is not None else None
    if entry.kind == "page":
        return archived.page_items(entry.key, data, athlete_id)
    if entry.kind in ("activity", "detail"):
        return archived.activity_object(entry.key, data, athlete_id)
    if entry.kind == "deleted":
        return archived.tombstone(entry.key, data, entry.number)
    return archived.json_object(entry.key, data)


def _items(store: ObjectStore, entry: Entry, athlete_id: int) -> list[Any]:
    data = read(store, entry, athlete_id)
    items: list[Any] = data if entry.kind == "page" else [summary_of(data)]
    return items


def scan(store: ObjectStore, found: list[Entry], athlete_id: int) -> _Winners:
    """Pass one: where each activity's winning version is (reads and validates every
    object once). Raises ``ArchiveDamaged`` for the first damaged object, after reading
    them all, with how many there are."""
    won = _Winners()
    damaged: list[ArchiveDamaged] = []
    for entry in found:
        try:
            data = read(store, entry, athlete_id)
        except ArchiveDamaged as exc:
            damaged.append(exc)
            continue
        if entry.kind == "deleted":
            won.tombstone[entry.number] = max(won.tombstone.get(entry.number, 0.0), entry.at)
        elif entry.kind in ("page", "activity"):
            items = data if entry.kind == "page" else [summary_of(data)]
            for index, item in enumerate(items):
                try:
                    won.saw(activity_id(item), entry, index)
                except InvalidActivity:
                    continue
            if entry.kind == "activity":
                won.detail[entry.number] = entry
        elif entry.kind == "detail":
            won.detail[entry.number] = entry
        elif entry.kind == "streams":
            won.streams[entry.number] = entry
    if damaged:
        raise _stopped(damaged, athlete_id)
    return won


def _stopped(damaged: list[ArchiveDamaged], athlete_id: int) -> ArchiveDamaged:
    first = damaged[0]
    more = f"; {len(damaged) - 1} more damaged object(s)" if len(damaged) > 1 else ""
    return ArchiveDamaged(
        first.key,
        f"{first.why}{more}",
        action=(
            "replay wrote nothing. Restore the object from a copy if you have one; otherwise "
            f"run `nunis-ingest sync --athlete {athlete_id} --mode all` (it archives every "
            "activity Strava still serves again), then move the object out of the archive "
            "(to quarantine/ in the same store) and replay again."
        ),
    )


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
        for index, item in enumerate(_items(store, entry, athlete_id)):
            if index in wanted and isinstance(item, dict):
                yield item, entry


def _detail_batches(
    store: ObjectStore,
    athlete_id: int,
    won: _Winners,
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
