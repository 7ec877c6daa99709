"""Pass one of a replay: which archived object holds the winning version of each
activity, its detail and its streams (``replay.py`` has the whole story).

Every object is read once and validated for its kind through ``archived.py``; a damaged
one is remembered, and after the pass the first is raised (``ArchiveDamaged``, with how
many more there are and the fix) before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core.keys import archive_prefix
from nunis_ingest.core.representation import summary_of
from nunis_ingest.core.transform import InvalidActivity, activity_id
from nunis_ingest.errors import ArchiveDamaged
from nunis_ingest.ports import ObjectStore
from nunis_ingest.usecases import archived

_RUN = re.compile(
    r"^date=(\d{4}-\d{2}-\d{2})/(\d{8}T\d{6}Z)-[0-9a-f]+/(page|activity|deleted)-(\d+)\.json$"
)
_ENRICH = re.compile(r"^date=(\d{4}-\d{2}-\d{2})/enrich-(\d+)/(detail|streams)-(\d+)\.json$")


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
class Winners:
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
        return archived.activity_object(entry.key, data, athlete_id, entry.number)
    if entry.kind == "deleted":
        return archived.tombstone(entry.key, data, entry.number)
    return archived.json_object(entry.key, data)


def items_of(store: ObjectStore, entry: Entry, athlete_id: int) -> list[Any]:
    data = read(store, entry, athlete_id)
    items: list[Any] = data if entry.kind == "page" else [summary_of(data)]
    return items


def scan(store: ObjectStore, found: list[Entry], athlete_id: int) -> Winners:
    """Pass one: where each activity's winning version is (reads and validates every
    object once). Raises ``ArchiveDamaged`` for the first damaged object, after reading
    them all, with how many there are."""
    won = Winners()
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
