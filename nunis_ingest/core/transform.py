"""Pure: one raw Strava activity (a JSON object) -> one ``activities`` warehouse row.

The row is driven by ``schema.ACTIVITIES``: every column is encoded by a small encoder
for its type (see the encoding table in ``schema``'s docstring). Strava treats every
field as optional and flips numbers between integer and float form, so encoders never
raise: a value of the wrong shape becomes ``None`` (``[]`` for repeated columns) and the
untouched payload survives in ``raw``, from which rows can be rebuilt.

Decisions:

- ``id`` must be a JSON integer (not a bool, not a float) in ``1 .. 2**63-1``; anything
  else raises ``InvalidActivity``, because the id is the upsert key.
- INT64 accepts integral floats (``-25200.0`` -> ``-25200``) and yields ``None`` outside
  the signed 64-bit range (Strava's example ``upload_id`` 987654321234567891234).
- FLOAT64 yields ``None`` for NaN, infinities and ints too large for a float.
- TIMESTAMP parses ISO 8601 with ``Z`` or an offset; a zone-less value is read as UTC
  (Strava's ``start_date`` is UTC by definition). Years that fall outside 1..9999 once
  converted to UTC yield ``None``.
- DATETIME (``start_date_local``) keeps the wall-clock digits as given and drops any
  ``Z`` or offset without converting.
- A repeated FLOAT64 value that is not a list of numbers becomes ``[]`` (no partial lists).
- Lone surrogates (valid JSON ``"Run \\ud83d"``, an emoji cut in half, but not encodable
  as UTF-8, so no warehouse loads them) are replaced by U+FFFD in every string of the row,
  ``raw`` included, keys too (``repair``); the raw archive keeps Strava's exact bytes.
- ``content_hash`` is computed over that repaired activity, so it always equals the hash
  of the stored ``raw`` (a row rebuilt from ``raw`` gets the same hash) and is the same on
  every run for the same input. Two payloads that differ only in which lone surrogate
  they hold hash alike: the stored rows are identical too.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from nunis_ingest.core import canonical
from nunis_ingest.core.canonical import _canonical, _needs_repair, repair
from nunis_ingest.core.canonical import content_hash as content_hash  # re-exported: sync, tests
from nunis_ingest.core.canonical import repair_text as repair_text  # re-exported: staging
from nunis_ingest.core.schema import ACTIVITIES, Column

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidActivity(ValueError):
    """An item of an activity listing that cannot become a row (no usable integer id)."""


# --- scalar encoders -----------------------------------------------------------------


def encode_int64(value: object) -> int | None:
    """An int (or integral float) within signed 64-bit range; otherwise ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
        return value
    return None


def encode_float64(value: object) -> float | None:
    """A finite float from an int or float (not a bool); otherwise ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def encode_string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def encode_bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string (``Z``, offset, or none = UTC)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def encode_timestamp(value: object) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`` in UTC, or ``None``."""
    parsed = parse_timestamp(value)
    return parsed.isoformat() if parsed is not None else None


def encode_datetime(value: object) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]``: the wall-clock digits, zone dropped, not converted."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=None).isoformat()


def encode_json(value: object) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


_SCALAR: dict[str, Callable[[object], Any]] = {
    "INT64": encode_int64,
    "FLOAT64": encode_float64,
    "STRING": encode_string,
    "BOOL": encode_bool,
    "TIMESTAMP": encode_timestamp,
    "DATETIME": encode_datetime,
    "JSON": encode_json,
}


def encode_value(column: Column, value: object) -> Any:
    """Encode one value for ``column``, per the table in ``schema``'s docstring."""
    if column.repeated:
        if not isinstance(value, list):
            return []
        single = Column(column.name, column.type, fields=column.fields)
        items = [encode_value(single, item) for item in value]
        return [] if any(item is None for item in items) else items
    if column.type == "STRUCT":
        if not isinstance(value, Mapping):
            return None
        return {f.name: encode_value(f, value.get(f.name)) for f in column.fields}
    return _SCALAR[column.type](value)


def activity_id(activity: object) -> int:
    """The activity's id, or ``InvalidActivity`` saying why there is none."""
    if not isinstance(activity, Mapping):
        raise InvalidActivity(f"activity must be a JSON object, got {type(activity).__name__}")
    if "id" not in activity:
        raise InvalidActivity("activity has no 'id'")
    value = activity["id"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidActivity(f"activity 'id' must be an integer, got {type(value).__name__}")
    if not 1 <= value <= INT64_MAX:
        raise InvalidActivity(f"activity 'id' {value!r:.40} is not in 1..2^63-1")
    return value


# --- rows ----------------------------------------------------------------------------
#
# ``to_row`` runs once per activity (50,000 for a long history), so the schema is compiled
# once into a plan of (column name, encoder, repeated) and each encoder takes the exact-type
# fast path before falling back to the general one above. Results are identical to
# ``encode_value`` (tests/unit/test_transform_fast.py checks that).

_Encoder = Callable[[Any], Any]


_isfinite = math.isfinite


def _fast_int64(value: Any) -> int | None:
    if type(value) is int:
        return value if INT64_MIN <= value <= INT64_MAX else None
    return encode_int64(value)


def _fast_float64(value: Any) -> float | None:
    if type(value) is float:
        return value if _isfinite(value) else None
    return encode_float64(value)


def _fast_string(value: Any) -> str | None:
    return value if type(value) is str else encode_string(value)


def _fast_bool(value: Any) -> bool | None:
    return value if type(value) is bool else None


_FAST: dict[str, _Encoder] = {
    **_SCALAR,
    "INT64": _fast_int64,
    "FLOAT64": _fast_float64,
    "STRING": _fast_string,
    "BOOL": _fast_bool,
}


def _compile(column: Column) -> _Encoder:
    """An encoder equal to ``encode_value(column, ·)``, with the dispatch done once."""
    if column.repeated:
        item = _compile(Column(column.name, column.type, fields=column.fields))

        def repeated(value: Any) -> list[Any]:
            if not isinstance(value, list):
                return []
            items = [item(v) for v in value]
            return [] if None in items else items

        return repeated
    if column.type == "STRUCT":
        fields = tuple((f.name, _compile(f)) for f in column.fields)

        def struct(value: Any) -> dict[str, Any] | None:
            if type(value) is not dict and not isinstance(value, Mapping):
                return None
            return {name: encode(value.get(name)) for name, encode in fields}

        return struct
    return _FAST[column.type]


_DERIVED = frozenset(
    {"id", "athlete_id", "raw", "content_hash", "first_seen_at", "updated_at", "run_id"}
)
_PLAN: tuple[tuple[str, _Encoder | None, bool], ...] = tuple(
    (c.name, None if c.name in _DERIVED else _compile(c), c.repeated) for c in ACTIVITIES
)
"""Per column in schema order: name, encoder (None = derived, not from the payload), repeated."""


@functools.lru_cache(maxsize=16)
def _seen_text(seen_at: datetime) -> str | None:
    return encode_timestamp(seen_at)


def to_row(
    activity: Mapping[str, Any],
    *,
    athlete_id: int,
    run_id: str,
    seen_at: datetime,
    digest: str | None = None,
) -> dict[str, Any]:
    """One ``activities`` row: every column of ``schema.ACTIVITIES``, encoded.

    ``athlete_id`` comes from the argument (the token's owner), not the payload.
    ``first_seen_at`` and ``updated_at`` are ``seen_at``; the warehouse keeps the
    stored ``first_seen_at`` on update. ``digest`` is ``content_hash(activity)`` when the
    caller has computed it already (hashing is a third of this function's cost). Every
    string holding a lone surrogate is repaired (see the module docstring).
    Raises ``InvalidActivity`` for an item without a usable id and ``ValueError`` for a
    naive ``seen_at`` or a bad ``athlete_id``.
    """
    act_id = activity_id(activity)
    if seen_at.tzinfo is None or seen_at.utcoffset() is None:
        raise ValueError("seen_at must be timezone-aware")
    if isinstance(athlete_id, bool) or not isinstance(athlete_id, int):
        raise ValueError(f"athlete_id must be an int, got {type(athlete_id).__name__}")
    if not 1 <= athlete_id <= INT64_MAX:
        raise ValueError(f"athlete_id {athlete_id} is not in 1..2^63-1")
    seen = _seen_text(seen_at)
    if digest is None:
        data, activity = _canonical(activity)
        digest = hashlib.sha256(data).hexdigest()
    elif canonical._last_clean[0] is not activity and _needs_repair(activity):
        activity = repair(activity)
    derived: dict[str, Any] = {
        "id": act_id,
        "athlete_id": athlete_id,
        "raw": dict(activity),
        "content_hash": digest,
        "first_seen_at": seen,
        "updated_at": seen,
        "run_id": run_id,
    }
    get = activity.get
    row: dict[str, Any] = {}
    for name, encode, repeated in _PLAN:
        if encode is None:
            row[name] = derived[name]
        else:
            value = get(name)
            if value is None:
                row[name] = [] if repeated else None
            else:
                row[name] = encode(value)
    return row


def start_epoch(activity: Mapping[str, Any]) -> int | None:
    """``start_date`` as whole epoch seconds (floored), or ``None`` if missing/unparseable."""
    parsed = parse_timestamp(activity.get("start_date"))
    if parsed is None:
        return None
    return (parsed - _EPOCH) // timedelta(seconds=1)
