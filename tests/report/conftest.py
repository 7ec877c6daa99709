"""A warehouse per engine (DuckDB file, BigQuery stand-in) holding synthetic report rows.

The rows come from ``bench.report_data.synthetic`` (two years for one athlete, best
efforts, heart-rate streams); tests compute what each figure should show from the same
rows in Python.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from bench.report_data import Rows, load_bigquery, load_duckdb, synthetic

ATHLETE = 4242
FIRST, LAST = date(2024, 1, 1), date(2025, 12, 31)
SINCE, UNTIL = date(2025, 1, 15), date(2025, 12, 31)


@pytest.fixture(scope="session")
def report_rows() -> Rows:
    rows = synthetic(ATHLETE, FIRST, LAST, stream_step=60)
    other = synthetic(ATHLETE + 1, FIRST, LAST, seed=99, stream_step=120)  # must not leak in
    return {table: rows[table] + other.get(table, []) for table in rows}


@pytest.fixture(scope="session")
def duckdb_report(tmp_path_factory: pytest.TempPathFactory, report_rows: Rows) -> Any:
    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse

    path = tmp_path_factory.mktemp("report") / "report.duckdb"
    load_duckdb(path, report_rows)
    return DuckDBWarehouse(path)


@pytest.fixture(scope="session")
def bigquery_report(bigquery_client: Any, report_rows: Rows) -> Iterator[Any]:
    from nunis_ingest.adapters.warehouses.bigquery import BigQueryWarehouse

    name = f"nunis_report_{uuid.uuid4().hex[:12]}"
    bigquery_client.create_dataset(name)
    warehouse = BigQueryWarehouse(bigquery_client, name)
    load_bigquery(warehouse, report_rows)
    yield warehouse
    bigquery_client.delete_dataset(name, delete_contents=True, not_found_ok=True)


@pytest.fixture(params=["duckdb", pytest.param("bigquery", marks=pytest.mark.gcp)], scope="session")
def report_warehouse(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{request.param}_report")
