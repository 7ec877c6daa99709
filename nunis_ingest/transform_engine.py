"""Pure: an activity as one NDJSON line the warehouse types itself, when that is exact.

``transform.to_row`` types ~60 columns one Python object at a time (~50 µs an activity).
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
from typing import Any

import orjson

from nunis_ingest.schema import ACTIVITIES, Column

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DERIVED = frozenset({"athlete_id", "raw", "content_hash", "first_seen_at", "updated_at", "run_id"})
"""Columns the line must not carry as members: the warehouse derives them."""

_STAMP = re.compile(r"\d{4}-[01]\d-[0-3]\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ?", re.ASCII)
Check = Callable[[Any], bool]
"""A value -> whether the reader's cast equals ``to_row``'s encoding of it."""


def _int(v: Any) -> bool:
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


def _scalar_check(column: Column, kind: type) -> Check | None | bool:
    """For a value of Python type ``kind`` in ``column``: ``True`` (always exact),
    a check to run on the value, or ``False`` (never: use ``to_row``)."""
    if kind is type(None):
        return True
    table: dict[tuple[str, type], Check | bool] = {
        ("INT64", int): _int,
        ("INT64", float): _integral,
        ("FLOAT64", float): True,
        ("FLOAT64", int): _int,
        ("STRING", str): True,
        ("BOOL", bool): True,
        ("TIMESTAMP", str): _stamp,
        ("DATETIME", str): _stamp,
    }
    return table.get((column.type, kind), False)


def _value_check(column: Column) -> Check:
    """The whole check of one value of ``column`` (structs and lists included)."""
    if column.repeated:
        single = Column(column.name, column.type)

        item = _value_check(single)

        def items(v: Any) -> bool:
            return type(v) is list and None not in v and all(map(item, v))

        return items
    if column.type == "STRUCT":
        fields = tuple((f.name, _value_check(f)) for f in column.fields)

        def struct(v: Any) -> bool:
            return type(v) is dict and all(check(v.get(name)) for name, check in fields)

        return struct

    def scalar(v: Any) -> bool:
        verdict = _scalar_check(column, type(v))
        return verdict if isinstance(verdict, bool) else verdict(v)

    return scalar


_COLUMNS: dict[str, Column] = {c.name: c for c in ACTIVITIES}
_VALUE_CHECKS: dict[str, Check] = {c.name: _value_check(c) for c in ACTIVITIES}
Plan = tuple[tuple[str, Check], ...]
_PLANS: dict[tuple[tuple[str, ...], tuple[type, ...]], Plan | None] = {}
_PLANS_MAX = 512


def _plan(keys: tuple[str, ...], kinds: tuple[type, ...]) -> Plan | None:
    """The value checks an activity of this shape needs, or ``None`` if it never fits."""
    checks: list[tuple[str, Check]] = []
    for key, kind in zip(keys, kinds, strict=True):
        if key in DERIVED:
            return None
        column = _COLUMNS.get(key)
        if column is None or kind is type(None):
            continue  # not a column (kept in raw only), or null
        if column.repeated or column.type == "STRUCT":
            checks.append((key, _VALUE_CHECKS[key]))
            continue
        verdict = _scalar_check(column, kind)
        if verdict is False:
            return None
        if verdict is not True:
            checks.append((key, verdict))  # type: ignore[arg-type]
    return tuple(checks)


def engine_line(activity: Mapping[str, Any], digest: str) -> bytes | None:
    """The activity's NDJSON line for the warehouse to type (see the module docstring),
    or ``None`` when only ``transform.to_row`` gives its exact row."""
    if type(activity) is not dict:
        return None
    shape = (tuple(activity), tuple(map(type, activity.values())))
    plan = _PLANS.get(shape, False)
    if plan is False:
        if len(_PLANS) >= _PLANS_MAX:
            _PLANS.clear()
        plan = _PLANS[shape] = _plan(*shape)
    if plan is None:
        return None
    for key, check in plan:
        if not check(activity[key]):
            return None
    try:
        body = orjson.dumps(activity)
    except TypeError:  # a lone surrogate, an integer beyond 64 bits: to_row repairs it
        return None
    if len(body) < 3:
        return None  # {} : no id; to_row explains
    return b'{"content_hash":"%s","raw":%s,%s\n' % (digest.encode(), body, body[1:])
