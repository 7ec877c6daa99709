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
- ``content_hash`` encodes lone surrogates (possible in JSON ``"\\ud800"``) with
  ``surrogatepass`` so hashing never raises; for all other text it is plain UTF-8.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from nunis_ingest.schema import ACTIVITIES, Column

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidActivity(ValueError):
    """An item of an activity listing that cannot become a row (no usable integer id)."""


def content_hash(activity: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of ``activity`` (sorted keys, compact, UTF-8)."""
    plain = activity if isinstance(activity, dict) else dict(activity)
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


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


# --- rows ----------------------------------------------------------------------------


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


def to_row(
    activity: Mapping[str, Any], *, athlete_id: int, run_id: str, seen_at: datetime
) -> dict[str, Any]:
    """One ``activities`` row: every column of ``schema.ACTIVITIES``, encoded.

    ``athlete_id`` comes from the argument (the token's owner), not the payload.
    ``first_seen_at`` and ``updated_at`` are ``seen_at``; the warehouse keeps the
    stored ``first_seen_at`` on update. Raises ``InvalidActivity`` for an item without a
    usable id and ``ValueError`` for a naive ``seen_at`` or a bad ``athlete_id``.
    """
    act_id = activity_id(activity)
    if seen_at.tzinfo is None or seen_at.utcoffset() is None:
        raise ValueError("seen_at must be timezone-aware")
    if isinstance(athlete_id, bool) or not isinstance(athlete_id, int):
        raise ValueError(f"athlete_id must be an int, got {type(athlete_id).__name__}")
    if not 1 <= athlete_id <= INT64_MAX:
        raise ValueError(f"athlete_id {athlete_id} is not in 1..2^63-1")
    seen = encode_timestamp(seen_at)
    derived: dict[str, Any] = {
        "athlete_id": athlete_id,
        "raw": dict(activity),
        "content_hash": content_hash(activity),
        "first_seen_at": seen,
        "updated_at": seen,
        "run_id": run_id,
    }
    row: dict[str, Any] = {}
    for column in ACTIVITIES:
        if column.name in derived:
            row[column.name] = derived[column.name]
        else:
            row[column.name] = encode_value(column, activity.get(column.name))
    row["id"] = act_id
    return row


def start_epoch(activity: Mapping[str, Any]) -> int | None:
    """``start_date`` as whole epoch seconds (floored), or ``None`` if missing/unparseable."""
    parsed = parse_timestamp(activity.get("start_date"))
    if parsed is None:
        return None
    return (parsed - _EPOCH) // timedelta(seconds=1)
