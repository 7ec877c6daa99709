"""Pure: an activity as one NDJSON line the warehouse types itself, when that is exact.

``transform.to_row`` types ~60 columns one Python object at a time (~30 µs an activity).
Most activities need none of its repairs: every value already has its column's JSON
type. For those, ``engine_line`` writes the activity once, with its content hash, as::

    {"content_hash":"<sha256>","raw":{<activity>},<activity's members>}

and DuckDB's ``read_json`` with the explicit column types of ``schema.ACTIVITIES`` types
the members in C++ (unknown members and struct fields are ignored, as ``to_row`` ignores
them). The warehouse fills ``athlete_id``, ``first_seen_at``, ``updated_at`` and
``run_id`` from the batch, and ``[]`` for a missing repeated column.

``engine_line`` returns ``None`` (the caller uses ``to_row``) unless the reader's cast
gives exactly ``to_row``'s value for every column, which it checks per *shape*: the
activity's keys and the Python types of its values select a plan made once (a listing
repeats a handful of shapes), and only what types cannot tell is checked per activity:
integers within INT64 (a float in an INT64 column must be integral), timestamps in
Strava's own form ``YYYY-MM-DDTHH:MM:SS[Z]`` naming a real date, struct fields and list
items by the same rules. NaN and infinities are written as ``null`` by orjson, which
``to_row`` maps to ``None`` too; a lone surrogate or an integer beyond 64 bits makes
orjson refuse the activity: ``None``, and ``to_row`` repairs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson

from nunis_ingest.core.schema import ACTIVITIES, Column

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DERIVED = frozenset({"athlete_id", "raw", "content_hash", "first_seen_at", "updated_at", "run_id"})
"""Columns the line must not carry as members: the warehouse derives them."""

_STAMP = re.compile(r"\d{4}-[01]\d-[0-3]\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ?", re.ASCII)
Check = Callable[[Any], bool]
"""A value -> whether the reader's cast equals ``to_row``'s encoding of it."""


def _int(v: int) -> bool:
    return INT64_MIN <= v <= INT64_MAX


def _integral(v: float) -> bool:
    return v.is_integer() and INT64_MIN <= v < 2.0**63


def _stamp(v: str) -> bool:
    if not _STAMP.fullmatch(v):
        return False
    try:
        datetime.fromisoformat(v[:19])
    except ValueError:  # 30 February, year 0
        return False
    return True


_VERDICTS: dict[tuple[str, type], Check | bool] = {
    ("INT64", int): _int,
    ("INT64", float): _integral,
    ("FLOAT64", float): True,
    ("FLOAT64", int): _int,
    ("STRING", str): True,
    ("BOOL", bool): True,
    ("TIMESTAMP", str): _stamp,
    ("DATETIME", str): _stamp,
}
"""(column type, Python type of the value) -> always exact (True), a check, or never."""


def _scalar_check(column: Column, kind: type) -> Check | bool:
    """For a value of Python type ``kind`` in ``column``: ``True`` (always exact), a
    check to run on the value, or ``False`` (never: ``to_row`` types it)."""
    if kind is type(None):
        return True
    return _VERDICTS.get((column.type, kind), False)


def _value_check(column: Column) -> Check:
    """The whole check of one value of ``column`` (structs and lists included)."""
    if column.repeated:
        item = _value_check(Column(column.name, column.type))

        def items(v: Any) -> bool:
            return type(v) is list and None not in v and all(map(item, v))

        return items
    if column.type == "STRUCT":
        fields = tuple((f.name, _value_check(f)) for f in column.fields)

        def struct(v: Any) -> bool:
            if type(v) is not dict:
                return False
            get = v.get
            return all([check(get(name)) for name, check in fields])

        return struct
    verdicts = {kind: verdict for (t, kind), verdict in _VERDICTS.items() if t == column.type}
    verdicts[type(None)] = True

    def scalar(v: Any) -> bool:
        verdict = verdicts.get(type(v), False)
        return verdict if verdict is True or verdict is False else verdict(v)

    return scalar


_COLUMNS: dict[str, Column] = {c.name: c for c in ACTIVITIES}
_VALUE_CHECKS: dict[str, Check] = {c.name: _value_check(c) for c in ACTIVITIES}
Plan = tuple[Callable[[Mapping[str, Any]], Any] | None, tuple[tuple[str, Check], ...]]
"""A getter of the shape's INT64-checked integers (or None), and per-key value checks."""
_PLANS: dict[tuple[tuple[str, ...], tuple[type, ...]], Plan | None] = {}
_PLANS_MAX = 512


def _plan(keys: tuple[str, ...], kinds: tuple[type, ...]) -> Plan | None:
    """The checks an activity of this shape needs, or ``None`` if it never fits."""
    ints: list[str] = []
    checks: list[tuple[str, Check]] = []
    for key, kind in zip(keys, kinds, strict=True):
        if key in DERIVED:
            return None
        column = _COLUMNS.get(key)
        if column is None or kind is type(None):
            continue  # not a column (kept in raw only), or null
        if column.repeated or column.type == "STRUCT":
            check = _VALUE_CHECKS[key]
        else:
            verdict = _scalar_check(column, kind)
            if verdict is False:
                return None
            if verdict is True:
                continue
            if verdict is _int:
                ints.append(key)  # checked together, below
                continue
            check = verdict
        checks.append((key, check))
    getter = None
    if ints:
        getter = itemgetter(*ints) if len(ints) > 1 else (lambda a, k=ints[0]: (a[k],))
    return getter, tuple(checks)


def engine_line(activity: Mapping[str, Any], digest: str) -> bytes | None:
    """The activity's NDJSON line for the warehouse to type (see the module docstring),
    or ``None`` when only ``transform.to_row`` gives its exact row."""
    if type(activity) is not dict:
        return None
    shape = (tuple(activity), tuple(map(type, activity.values())))
    if shape in _PLANS:
        plan = _PLANS[shape]
    else:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        plan = _PLANS[shape] = _plan(*shape)
    if plan is None:
        return None
    getter, checks = plan
    if getter is not None:
        ints = getter(activity)
        if min(ints) < INT64_MIN or max(ints) > INT64_MAX:
            return None
    for key, check in checks:
        if not check(activity[key]):
            return None
    try:
        body = orjson.dumps(activity)
    except TypeError:  # a lone surrogate, an integer beyond 64 bits: to_row repairs it
        return None
    if len(body) < 3:
        return None  # {} : no id; to_row explains
    return b'{"content_hash":"%s","raw":%s,%s\n' % (digest.encode(), body, body[1:])
