# SQL text is built only from schema.py identifiers (quoted by q) and file paths (quoted by
# lit); values are bound parameters.
# ruff: noqa: S608
"""DuckDB SQL text, built from ``schema`` (pure: no database import).

``typed_activities`` is ``transform.to_row`` in SQL: from an activity's JSON (as the
stage holds it, re-serialised by orjson from the parsed page) to every typed column of
``schema.ACTIVITIES``, in DuckDB's C++ instead of one Python object per field. It gives
the same values as ``to_row`` for every activity the fetch sends this way
(``transform.engine_line``: no lone surrogate, no integer beyond 64 bits, timestamps in
Strava's own ``YYYY-MM-DDTHH:MM:SSZ`` form); every other activity is typed by ``to_row``
in Python. The rules, per column type (``transform``'s docstring):

- INT64: a JSON integer in the signed 64-bit range, or an integral float within it;
- FLOAT64: any JSON number (NaN and infinities never reach here: orjson writes null);
- STRING, BOOL: a JSON string, a JSON boolean;
- TIMESTAMP, DATETIME: a JSON string, cast (an impossible date, e.g. 30 February, is NULL);
- STRUCT: a JSON object, its declared fields only; repeated FLOAT64: a JSON array of
  numbers, else ``[]`` (no partial lists);
- anything of another JSON type is NULL (``[]`` for repeated columns), as in ``to_row``.
"""

from __future__ import annotations

from pathlib import Path

from nunis_ingest import schema


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_json_sql(path: Path, columns: tuple[schema.Column, ...]) -> str:
    """``read_json`` of an NDJSON file with every column's type given explicitly."""
    spec = ", ".join(f"{lit(c.name)}: {lit(schema.duckdb_type(c))}" for c in columns)
    return (
        f"read_json({lit(str(path))}, format='newline_delimited', "
        f"columns={{{spec}}}, auto_detect=false)"
    )


ENGINE_COLUMNS = (
    schema.Column("id", "INT64", required=True),
    schema.Column("content_hash", "STRING", required=True),
    schema.Column("raw", "JSON", required=True),
)
"""The columns of a line ``transform.engine_line`` writes."""


def _value(column: schema.Column, v: str) -> str:
    """SQL typing the JSON value ``v`` (SQL NULL when the key is missing) for ``column``."""
    kind = f"json_type({v})"
    if column.repeated:
        item = _value(schema.Column(column.name, column.type), "x")
        items = f"list_transform(TRY_CAST({v} AS JSON[]), x -> {item})"
        return (
            f"CASE WHEN {kind} = 'ARRAY' AND list_count({items}) = json_array_length({v}) "
            f"THEN {items} ELSE [] END"
        )
    if column.type == "STRUCT":
        fields = ", ".join(
            f"{q(f.name)} := {_value(f, _member(v, f.name))}" for f in column.fields
        )
        return f"CASE WHEN {kind} = 'OBJECT' THEN struct_pack({fields}) END"
    number = f"CAST({v} AS DOUBLE)"
    typed = {
        "INT64": f"CASE {kind} WHEN 'BIGINT' THEN CAST({v} AS BIGINT) "
        f"WHEN 'UBIGINT' THEN TRY_CAST({v} AS BIGINT) WHEN 'DOUBLE' THEN "
        f"CASE WHEN {number} = trunc({number}) THEN TRY_CAST({number} AS BIGINT) END END",
        "FLOAT64": f"CASE WHEN {kind} IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN {number} END",
        "STRING": f"CASE WHEN {kind} = 'VARCHAR' THEN {v} ->> '$' END",
        "BOOL": f"CASE WHEN {kind} = 'BOOLEAN' THEN CAST({v} AS BOOLEAN) END",
        "TIMESTAMP": f"CASE WHEN {kind} = 'VARCHAR' THEN TRY_CAST({v} ->> '$' AS TIMESTAMPTZ) END",
        "DATETIME": f"CASE WHEN {kind} = 'VARCHAR' "
        f"THEN TRY_CAST(left({v} ->> '$', 19) AS TIMESTAMP) END",
    }
    return typed[column.type]


def _member(v: str, name: str) -> str:
    return f"json_extract({v}, {lit('$.' + name)})"


DERIVED = frozenset(
    {"id", "athlete_id", "raw", "content_hash", "first_seen_at", "updated_at", "run_id"}
)


def typed_activities(source: str) -> str:
    """``SELECT`` every ``activities`` column, in schema order, from ``source``: a relation
    of ``ENGINE_COLUMNS`` plus ``athlete_id``, ``seen_at`` and ``run_id``. Each activity's
    JSON is parsed once, into one JSON value per top-level field (``f``)."""
    payload = [c for c in schema.ACTIVITIES if c.name not in DERIVED]
    spec = ", ".join(f'"{c.name}": "JSON"' for c in payload)
    derived = {
        "id": "s.id",
        "athlete_id": "s.athlete_id",
        "raw": "s.raw",
        "content_hash": "s.content_hash",
        "first_seen_at": "s.seen_at",
        "updated_at": "s.seen_at",
        "run_id": "s.run_id",
    }
    columns = ",\n  ".join(
        f"{derived[c.name]} AS {q(c.name)}"
        if c.name in DERIVED
        else f"{_value(c, f's.f.{q(c.name)}')} AS {q(c.name)}"
        for c in schema.ACTIVITIES
    )
    return (
        f"SELECT\n  {columns}\nFROM (SELECT *, json_transform(raw, {lit('{' + spec + '}')}) AS f "
        f"FROM {source}) AS s"
    )
