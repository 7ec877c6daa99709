"""Checks of a ``ports.DetailRows`` before any warehouse sees it (pure, both adapters).

Two kinds of problem, two answers:

- **Misuse** (a caller's bug, ``ValueError``, nothing written): a table name that is not
  in ``schema_detail``, a row for a table not listed in ``tables``, a column the table
  does not have, a row of another athlete or of an activity not in ``activity_ids``, two
  rows with one key.
- **Content the warehouse would reject** (a value that does not fit its column type, a
  required value missing; the same rules as ``validate.py`` for ``activities``): the
  whole activity is set aside for the ``quarantine`` table, in every table of the call,
  so its stored rows stay as they were and no table holds half of it; the other
  activities of the call load. Rows built by the detail transform always pass: this is
  the safety net (a future encoder bug, a hand-made row, schema drift).

The content check is ``row_check.RowCheck`` (about a microsecond a row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from nunis_ingest.adapters.warehouses.row_check import RowCheck
from nunis_ingest.core import schema, schema_detail
from nunis_ingest.ports import DetailRows

WRITE_ORDER: tuple[str, ...] = tuple(t.name for t in reversed(schema_detail.DETAIL_TABLES))
"""Streams first, ``activity_details`` last: a failure part-way never leaves a details
row claiming a detail that is not all there."""
COUNTABLE: frozenset[str] = frozenset(
    {schema.ACTIVITIES_TABLE, schema.RUNS_TABLE, schema.QUARANTINE_TABLE, *schema_detail.BY_NAME}
)
"""Every table ``count_rows`` may name (each has an ``athlete_id`` column)."""


def detail_table(name: str) -> schema_detail.DetailTable:
    """The detail table called ``name``; ``ValueError`` for any other name."""
    table = schema_detail.BY_NAME.get(name)
    if table is None:
        raise ValueError(f"{name!r} is not a detail table; see schema_detail.DETAIL_TABLES")
    return table


def countable(name: str) -> str:
    """``name`` if ``count_rows`` may read it, else ``ValueError`` (never interpolated)."""
    if name not in COUNTABLE:
        raise ValueError(f"{name!r} is not a warehouse table; known: {sorted(COUNTABLE)}")
    return name


_CHECKS = {t.name: RowCheck(t.columns) for t in schema_detail.DETAIL_TABLES}
_NAMES = {t.name: frozenset(schema.column_names(t.columns)) for t in schema_detail.DETAIL_TABLES}
_KEYS = {t.name: itemgetter("activity_id", *t.key) for t in schema_detail.DETAIL_TABLES}
"""``row -> key`` (a bare activity id for ``activity_details``, a tuple for the others)."""


@dataclass
class Checked:
    """What ``check`` found: the activities to write and those set aside."""

    ids: tuple[int, ...]
    """``activity_ids`` minus the activities set aside, in the caller's order."""
    tables: tuple[str, ...]
    """The tables to write, in ``WRITE_ORDER``."""
    set_aside: dict[int, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    """Activity id -> (reason naming table and column, the first row that did not fit)."""

    def rows(self, write: DetailRows, table: str) -> Sequence[Mapping[str, Any]]:
        """The rows of ``table`` to write (the caller's rows, not copies)."""
        rows = write.rows.get(table, ())
        if not self.set_aside:
            return rows
        return [r for r in rows if r["activity_id"] not in self.set_aside]


def check(athlete_id: int, write: DetailRows) -> Checked:
    """Refuse misuse (``ValueError``); find the activities whose rows would be rejected."""
    for name in (*write.tables, *write.rows):
        detail_table(name)
    stray = sorted(set(write.rows) - set(write.tables))
    if stray:
        raise ValueError(f"rows given for {stray}, which are not in DetailRows.tables")
    ids = tuple(int(i) for i in write.activity_ids)
    wanted = set(ids)
    set_aside: dict[int, tuple[str, Mapping[str, Any]]] = {}
    for name in write.tables:
        _check_table(athlete_id, detail_table(name), write.rows.get(name, ()), wanted, set_aside)
    return Checked(
        ids=tuple(i for i in ids if i not in set_aside),
        tables=tuple(t for t in WRITE_ORDER if t in set(write.tables)),
        set_aside=set_aside,
    )


def _check_table(
    athlete_id: int,
    table: schema_detail.DetailTable,
    rows: Sequence[Mapping[str, Any]],
    wanted: set[int],
    set_aside: dict[int, tuple[str, Mapping[str, Any]]],
) -> None:
    if not _plausible(athlete_id, table, rows, wanted):
        _refuse_misuse(athlete_id, table, rows, wanted)
    content = _CHECKS[table.name]
    for row in rows:
        reason = content(row)
        if reason is not None:
            set_aside.setdefault(row["activity_id"], (f"{table.name}.{reason}", row))


def _plausible(
    athlete_id: int,
    table: schema_detail.DetailTable,
    rows: Sequence[Mapping[str, Any]],
    wanted: set[int],
) -> bool:
    """True when no row misuses the call; a few passes in C-speed comprehensions."""
    names = _NAMES[table.name]
    try:
        return (
            all(row.keys() <= names for row in rows)
            and {row["athlete_id"] for row in rows} <= {athlete_id}
            and {row["activity_id"] for row in rows} <= wanted
            and len(set(map(_KEYS[table.name], rows))) == len(rows)
        )
    except (KeyError, TypeError):  # a key column missing or unhashable: look closer
        return False


def _refuse_misuse(
    athlete_id: int,
    table: schema_detail.DetailTable,
    rows: Sequence[Mapping[str, Any]],
    wanted: set[int],
) -> None:
    """Row by row: raise ``ValueError`` for the first misuse (or return if none)."""
    names = _NAMES[table.name]
    seen: set[tuple[Any, ...]] = set()
    for row in rows:
        if not row.keys() <= names:
            extra = sorted(set(row) - names)
            raise ValueError(f"{table.name} has no column(s) {extra}; see schema_detail")
        activity = row.get("activity_id")
        if row.get("athlete_id") != athlete_id:
            raise ValueError(
                f"{table.name}: a row of activity {activity} belongs to athlete "
                f"{row.get('athlete_id')}, not {athlete_id}; nothing was written"
            )
        if activity not in wanted:
            raise ValueError(
                f"{table.name}: a row of activity {activity}, which is not in "
                "DetailRows.activity_ids; nothing was written"
            )
        ident = (activity, *(row.get(k) for k in table.key))
        try:
            duplicate = ident in seen
            seen.add(ident)
        except TypeError:  # an unhashable key value: the content check explains it
            duplicate = False
        if duplicate:
            raise ValueError(f"{table.name}: two rows with key {ident}; nothing was written")
