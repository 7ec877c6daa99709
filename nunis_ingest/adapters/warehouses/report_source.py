"""The report's ``Source`` (``usecases/reporting/query.py``) on each warehouse.

DuckDB reads through ``DuckDBWarehouse.reader()``: one read-only connection for the
whole report (other readers may share the file; a sync waits for it to close).
BigQuery runs each query as one job through ``BigQueryWarehouse.rows``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any, Literal

Row = dict[str, Any]
Params = Mapping[str, int | float | str | date]
_PARAM = re.compile(r"@(\w+)")


def used_params(sql: str, params: Params) -> dict[str, Any]:
    """Only the parameters ``sql`` names (DuckDB refuses extra ones), each one present."""
    names = set(_PARAM.findall(sql))
    missing = sorted(names - set(params))
    if missing:
        raise ValueError(f"query needs parameter(s) {missing}")
    return {n: params[n] for n in names}


def plain(value: Any) -> Any:
    """One engine value as a plain Python value: a ``Decimal`` (HUGEINT sums, NUMERIC)
    becomes an int or float; the rest is already plain."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class DuckDBSource:
    """Queries over one read-only DuckDB connection (from ``DuckDBWarehouse.reader``)."""

    engine: Literal["duckdb"] = "duckdb"
    dataset = ""

    def __init__(self, connection: Any) -> None:
        self.con = connection
        self._tables: set[str] | None = None

    def tables(self) -> set[str]:
        if self._tables is None:
            sql = "SELECT table_name FROM information_schema.tables"
            self._tables = {str(r[0]) for r in self.con.execute(sql).fetchall()}
        return self._tables

    def rows(self, sql: str, params: Params) -> list[Row]:
        values = used_params(sql, params)
        cur = self.con.execute(_PARAM.sub(r"$\1", sql), values)
        names = [d[0] for d in cur.description]
        return [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]


_BQ_TYPES: tuple[tuple[type, str], ...] = ((bool, "BOOL"), (int, "INT64"), (float, "FLOAT64"))


class BigQuerySource:
    """Queries as BigQuery jobs through a ``BigQueryWarehouse`` (its client and dataset)."""

    engine: Literal["bigquery"] = "bigquery"

    def __init__(self, warehouse: Any) -> None:
        self.warehouse = warehouse
        self.dataset: str = warehouse.dataset
        self._tables: set[str] | None = None

    def tables(self) -> set[str]:
        if self._tables is None:
            from nunis_ingest.adapters.warehouses.bigquery_jobs import bq_errors

            with bq_errors("listing tables"):
                listed = self.warehouse.client.list_tables(self.warehouse.dataset)
                self._tables = {t.table_id for t in listed}
        return self._tables

    def rows(self, sql: str, params: Params) -> list[Row]:
        from google.cloud import bigquery

        typed = []
        for name, value in used_params(sql, params).items():
            kind = next((k for t, k in _BQ_TYPES if type(value) is t), None)
            if kind is None:
                kind = "DATE" if isinstance(value, date) else "STRING"
            typed.append(bigquery.ScalarQueryParameter(name, kind, value))
        return [{k: plain(v) for k, v in r.items()} for r in self.warehouse.rows(sql, typed)]


@contextmanager
def open_source(warehouse: Any) -> Iterator[DuckDBSource | BigQuerySource]:
    """A Source over the runtime's warehouse: DuckDB (read-only) or BigQuery."""
    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse

    if isinstance(warehouse, DuckDBWarehouse):
        with warehouse.reader() as con:
            yield DuckDBSource(con)
        return
    yield BigQuerySource(warehouse)
