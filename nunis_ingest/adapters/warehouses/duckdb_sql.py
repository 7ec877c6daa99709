"""DuckDB SQL text helpers (pure: no database import): quoting and typed NDJSON reads.

Staged files are always read with every column's type given (``read_json_sql``): no
auto-detection, so a sample of odd rows can never change a column's type. The lines
``transform_engine`` writes are read the same way: DuckDB's reader types the
activity's members itself.
"""

from __future__ import annotations

from pathlib import Path

from nunis_ingest.core import schema


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
