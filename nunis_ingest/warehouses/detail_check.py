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

The type checks are compiled once per table and grouped by type, as in ``validate.py``
(a 10,000-point stream is checked in a few milliseconds per thousand rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

from nunis_ingest import schema, schema_detail
from nunis_ingest.ports import DetailRows
from nunis_ingest.warehouses.validate import INT64_MAX, INT64_MIN, Check, _compile

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


class TableCheck:
    """The content check of one table's rows: ``None`` if a row fits, else the reason."""

    def __init__(self, columns: tuple[schema.Column, ...]) -> None:
        plain = [c for c in columns if not c.repeated]
        self.names = frozenset(c.name for c in columns)
        self.required = tuple(c.name for c in columns if c.required)
        self.ints = tuple(c.name for c in plain if c.type == "INT64")
        self.floats = tuple(c.name for c in plain if c.type == "FLOAT64")
        self.strings = tuple(c.name for c in plain if c.type == "STRING")
        self.bools = tuple(c.name for c in plain if c.type == "BOOL")
        simple = {"INT64", "FLOAT64", "STRING", "BOOL"}
        self.other: tuple[tuple[str, Check], ...] = tuple(
            (c.name, _compile(c)) for c in columns if c.repeated or c.type not in simple
        )
        self.full = {c.name: _compile(c) for c in columns}

    def __call__(self, row: Mapping[str, Any]) -> str | None:
        get = row.get
        for name in self.required:
            if get(name) is None:
                return f"{name}: is required"
        for name in self.ints:
            v = get(name)
            if v is not None and (type(v) is not int or not INT64_MIN <= v <= INT64_MAX):
                return self._explain(name, v)
        for name in self.floats:
            v = get(name)
            if v is not None and (type(v) is not float or not isfinite(v)) and self.full[name](v):
                return self._explain(name, v)
        for name in self.strings:
            v = get(name)
            if v is not None and type(v) is not str:
                return self._explain(name, v)
        for name in self.bools:
            v = get(name)
            if v is not None and type(v) is not bool:
                return self._explain(name, v)
        for name, check in self.other:
            reason = check(get(name))
            if reason is not None:
                return f"{name}: {reason}"
        return None

    def _explain(self, name: str, value: Any) -> str:
        return f"{name}: {self.full[name](value)}"


_CHECKS = {t.name: TableCheck(t.columns) for t in schema_detail.DETAIL_TABLES}


@dataclass
class Checked:
    """What ``check`` found: the activities to write and those set aside."""

    ids: tuple[int, ...]
    """``activity_ids`` minus the activities set aside, in the caller's order."""
    tables: tuple[str, ...]
    """The tables to write, in ``WRITE_ORDER``."""
    set_aside: dict[int, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    """Activity id -> (reason naming table and column, the first row that did not fit)."""

    def rows(self, write: DetailRows, table: str) -> list[Mapping[str, Any]]:
        """The rows of ``table`` to write (references, not copies)."""
        rows = write.rows.get(table, ())
        if not self.set_aside:
            return list(rows)
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
    content = _CHECKS[table.name]
    names, key = content.names, table.key
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
        ident = (activity, *(row.get(k) for k in key))
        try:
            duplicate = ident in seen
            seen.add(ident)
        except TypeError:  # an unhashable key value: the content check explains it
            duplicate = False
        if duplicate:
            raise ValueError(f"{table.name}: two rows with key {ident}; nothing was written")
        if activity in set_aside:
            continue
        reason = content(row)
        if reason is not None:
            set_aside[activity] = (f"{table.name}.{reason}", row)
