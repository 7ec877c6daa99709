"""Run the report's queries (``figures.QUERIES``) on DuckDB or BigQuery; plain rows back.

A ``Source`` (the port this use case reads through; ``adapters/warehouses/report_source``
holds one per engine) answers three things: its engine, which tables exist, and the rows
of one query with its parameters. Rows are dicts of plain Python values (int, float,
str, ``date``, None) whatever the engine, so charts and tests see the same thing from
both.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Protocol

from nunis_ingest.usecases.reporting.figures import (
    QUERIES,
    Dialect,
    Query,
    bigquery_dialect,
    duckdb_dialect,
)

Row = dict[str, Any]
Params = Mapping[str, int | float | str | date]


class Source(Protocol):
    @property
    def engine(self) -> str:
        """``duckdb`` or ``bigquery``: which SQL dialect its queries are written in."""
        ...

    @property
    def dataset(self) -> str:
        """BigQuery's dataset (``""`` on DuckDB)."""
        ...

    def tables(self) -> set[str]:
        """Names of the tables that exist (in the DuckDB file or the dataset)."""
        ...

    def rows(self, sql: str, params: Params) -> list[Row]:
        """The rows of ``sql`` (``@name`` parameters, only those it names), values plain."""
        ...


def dialect_of(source: Source) -> Dialect:
    return bigquery_dialect(source.dataset) if source.engine == "bigquery" else duckdb_dialect()


def run(source: Source, query: Query | str, params: Params) -> list[Row] | None:
    """The rows of one query, or None when a table it reads does not exist."""
    q = QUERIES[query] if isinstance(query, str) else query
    if not set(q.tables) <= source.tables():
        return None
    return source.rows(q.sql(dialect_of(source)), params)
