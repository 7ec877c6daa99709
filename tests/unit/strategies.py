"""Shared hypothesis strategies and the row checker for the pure-core unit tests."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from hypothesis import strategies as st

from nunis_ingest.core.schema import ACTIVITIES, Column

INT64_MAX = 2**63 - 1

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)

# Values that look like what Strava sends, so the encoders see realistic shapes too.
strava_like = json_values | st.sampled_from(
    [
        "2018-05-02T12:15:09Z",
        "2018-05-02T05:15:09Z",
        "2018-05-02T05:15:09.123456-07:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        -25200.0,
        987654321234567891234,
        [37.83, -122.26],
        [],
        {"id": "a1", "summary_polyline": "", "resource_state": 2},
        {"id": 1513, "resource_state": 1},
    ]
)
column_names = [c.name for c in ACTIVITIES]
activity_ids = st.integers(min_value=1, max_value=INT64_MAX)


@st.composite
def activities(draw: st.DrawFn) -> dict[str, Any]:
    """Arbitrary JSON objects with a valid id, hitting schema column names often."""
    body = draw(json_objects)
    body.update(draw(st.dictionaries(st.sampled_from(column_names), strava_like, max_size=20)))
    body["id"] = draw(activity_ids)
    return body


TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$")


def check_value(column: Column, value: object, *, element: bool = False) -> None:
    """Assert ``value`` is encoded as schema.py's table says for ``column``."""
    where = column.name
    if column.repeated and not element:
        assert isinstance(value, list), f"{where}: repeated must be a list, got {value!r}"
        for item in value:
            assert item is not None, f"{where}: None inside a repeated column"
            check_value(column, item, element=True)
        return
    if value is None:
        assert not column.required, f"{where}: required column is None"
        return
    kind = column.type
    if kind == "STRUCT":
        assert isinstance(value, dict), f"{where}: struct must be a dict"
        assert list(value) == [f.name for f in column.fields], f"{where}: struct keys {value}"
        for f in column.fields:
            check_value(f, value[f.name])
    elif kind == "INT64":
        assert type(value) is int, f"{where}: {value!r} is not an int"
        assert -(2**63) <= value <= INT64_MAX, f"{where}: {value} outside INT64"
    elif kind == "FLOAT64":
        assert type(value) is float, f"{where}: {value!r}"
        assert math.isfinite(value), f"{where}: {value!r}"
    elif kind == "STRING":
        assert type(value) is str, f"{where}: {value!r}"
    elif kind == "BOOL":
        assert type(value) is bool, f"{where}: {value!r}"
    elif kind == "TIMESTAMP":
        assert isinstance(value, str), f"{where}: {value!r}"
        assert TIMESTAMP_RE.match(value), f"{where}: {value!r}"
    elif kind == "DATETIME":
        assert isinstance(value, str), f"{where}: {value!r}"
        assert DATETIME_RE.match(value), f"{where}: {value!r}"
    elif kind == "JSON":
        assert isinstance(value, dict | list | str | int | float | bool), f"{where}: {value!r}"
    else:  # pragma: no cover - a new schema type needs a rule here
        raise AssertionError(f"{where}: no rule for type {kind}")


def check_row(row: dict[str, Any]) -> None:
    assert list(row) == [c.name for c in ACTIVITIES]
    for column in ACTIVITIES:
        check_value(column, row[column.name])


# Bytes as they may come back from storage or a payload: JSON of any shape (ours or not),
# torn JSON, noise and a few hostile classics (deep nesting, non-finite numbers, BOMs).
json_bytes = json_values.map(lambda v: json.dumps(v).encode())
torn_bytes = json_bytes.flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n]))
hostile_bytes = st.sampled_from(
    [b"[" * 5_000, b'{"a":' * 3_000, b"\xff\xfe", b"NaN", b"Infinity", b"1e999", b"-0", b""]
)
stored_bytes = json_bytes | torn_bytes | st.binary(max_size=200) | hostile_bytes
