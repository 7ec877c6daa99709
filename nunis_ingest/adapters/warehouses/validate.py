"""Cheap checks that a row fits ``schema.ACTIVITIES``, shared by every warehouse adapter.

A row that would make the warehouse's bulk load fail (a value that does not fit its column
type, a required value missing) must not block the other rows of the batch: ``check_row``
says why it does not fit, and the stage sets it aside for the ``quarantine`` table
(``quarantine.py``). Rows built by ``transform.to_row`` always pass; the checks guard
against everything else (a future encoder bug, a hand-made row, schema drift).

The rules are the intersection of what DuckDB's ``read_json`` with explicit types and a
BigQuery NDJSON load accept: INT64 is a JSON integer in the signed 64-bit range, FLOAT64 a
finite number, TIMESTAMP an ISO 8601 text with a zone whose UTC year is 1..9999, DATETIME
the same without zone, STRUCT an object of its declared fields only, a repeated column a
list without nulls. The schema is compiled once into one small check per column (a row is
checked in a few microseconds).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from nunis_ingest.core import schema

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Check = Callable[[Any], str | None]
"""A value -> None if it fits, else a short reason."""

_TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:\d\d(:\d\d)?)?"
)
_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d{1,6})?)?")


def _int64(value: Any) -> str | None:
    if type(value) is int:
        return None if INT64_MIN <= value <= INT64_MAX else f"{value} is beyond INT64"
    return f"{type(value).__name__} is not an integer"


def _fits_int(value: Any) -> bool:
    return type(value) is int and INT64_MIN <= value <= INT64_MAX


def _float64(value: Any) -> str | None:
    if type(value) is float:
        return None if math.isfinite(value) else f"{value} is not a finite number"
    if type(value) is int:
        return None if INT64_MIN <= value <= INT64_MAX else f"{value} is beyond FLOAT64 range"
    return f"{type(value).__name__} is not a number"


def _string(value: Any) -> str | None:
    return None if type(value) is str else f"{type(value).__name__} is not a string"


def _bool(value: Any) -> str | None:
    return None if type(value) is bool else f"{type(value).__name__} is not a boolean"


def _timestamp(value: Any) -> str | None:
    if type(value) is not str or not _TIMESTAMP.fullmatch(value):
        return f"{value!r:.60} is not an ISO 8601 timestamp"
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return f"{value!r:.60} is not a valid timestamp in years 1..9999"
    return None


def _datetime(value: Any) -> str | None:
    if type(value) is not str or not _DATETIME.fullmatch(value):
        return f"{value!r:.60} is not an ISO 8601 date-time without zone"
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return f"{value!r:.60} is not a valid date-time"
    return None


def _json(value: Any) -> str | None:
    return None  # any JSON value; what cannot be serialised is caught when it is encoded


_SCALAR: dict[str, Check] = {
    "INT64": _int64,
    "FLOAT64": _float64,
    "STRING": _string,
    "BOOL": _bool,
    "TIMESTAMP": _timestamp,
    "DATETIME": _datetime,
    "JSON": _json,
}


def _compile(column: schema.Column) -> Check:
    """The check of one value of ``column``, ``None`` included."""
    if column.repeated:
        item = _compile(schema.Column(column.name, column.type, True, fields=column.fields))

        def repeated(value: Any) -> str | None:
            if value is None:
                return None  # loads as an empty list in both warehouses
            if type(value) is not list:
                return f"{type(value).__name__} is not a list"
            for element in value:
                reason = item(element)
                if reason is not None:
                    return f"item: {reason}"
            return None

        return repeated
    if column.type == "STRUCT":
        fields = {f.name: _compile(f) for f in column.fields}

        names = frozenset(fields)
        simple = tuple(
            (f.name, f.type)
            for f in column.fields
            if f.type in ("INT64", "STRING") and not f.repeated
        )
        fast = len(simple) == len(fields)

        def struct(value: Any) -> str | None:
            if value is None:
                return None if not column.required else "is required"
            if fast and type(value) is dict and value.keys() <= names:
                for name, kind in simple:  # the common case, inlined
                    v = value.get(name)
                    if v is None or (type(v) is str if kind == "STRING" else _fits_int(v)):
                        continue
                    break
                else:
                    return None
            if not isinstance(value, Mapping):
                return f"{type(value).__name__} is not an object"
            extra = set(value) - set(fields)
            if extra:
                return f"has no field(s) {sorted(extra)}"
            for name, check in fields.items():
                reason = check(value.get(name))
                if reason is not None:
                    return f"{name}: {reason}"
            return None

        return struct
    scalar = _SCALAR[column.type]
    required = column.required

    def nullable(value: Any) -> str | None:
        if value is None:
            return "is required" if required else None
        return scalar(value)

    return nullable


_NAMES = frozenset(schema.column_names(schema.ACTIVITIES))
_INT64 = tuple(c.name for c in schema.ACTIVITIES if c.type == "INT64" and not c.repeated)
_FLOAT64 = tuple(c.name for c in schema.ACTIVITIES if c.type == "FLOAT64" and not c.repeated)
_STRING = tuple(c.name for c in schema.ACTIVITIES if c.type == "STRING" and not c.repeated)
_BOOL = tuple(c.name for c in schema.ACTIVITIES if c.type == "BOOL" and not c.repeated)
_REQUIRED = tuple(c.name for c in schema.ACTIVITIES if c.required)
_OTHER: tuple[tuple[str, Check, bool], ...] = tuple(
    (c.name, _compile(c), c.type == "TIMESTAMP" and not c.repeated)
    for c in schema.ACTIVITIES
    if c.repeated or c.type not in ("INT64", "FLOAT64", "STRING", "BOOL")
)
"""Timestamps, structs, lists, JSON: one compiled check each (the rest is inlined)."""
_timestamp_ok = functools.lru_cache(maxsize=64)(_timestamp)  # seen_at repeats on every row


def unknown_columns(row: Mapping[str, Any]) -> list[str]:
    """Keys of ``row`` that ``activities`` does not have (a caller's bug, not bad content)."""
    keys = row.keys()
    return [] if keys <= _NAMES else sorted(set(keys) - _NAMES)


def check_row(row: Mapping[str, Any]) -> str | None:
    """``None`` if ``row`` fits ``schema.ACTIVITIES``; else which column does not, and why.

    The common scalar types are checked inline, grouped by type (a function call per
    column would triple the cost); the first failure is explained by the full check.
    """
    get = row.get
    for name in _REQUIRED:
        if get(name) is None:
            return f"{name}: is required"
    for name in _INT64:
        v = get(name)
        if v is not None and (type(v) is not int or not INT64_MIN <= v <= INT64_MAX):
            return f"{name}: {_int64(v)}"
    for name in _FLOAT64:
        v = get(name)
        if v is not None and (type(v) is not float or not _isfinite(v)) and _float64(v):
            return f"{name}: {_float64(v)}"
    for name in _STRING:
        v = get(name)
        if v is not None and type(v) is not str:
            return f"{name}: {_string(v)}"
    for name in _BOOL:
        v = get(name)
        if v is not None and type(v) is not bool:
            return f"{name}: {_bool(v)}"
    for name, check, stamp in _OTHER:
        v = get(name)
        reason = _timestamp_ok(v) if stamp and type(v) is str else check(v)
        if reason is not None:
            return f"{name}: {reason}"
    return None


_isfinite = math.isfinite
