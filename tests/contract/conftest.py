"""Adapter fixtures for the contract suites, keyed by adapter name.

Every suite in this folder takes ``object_store`` or ``warehouse`` and so runs once per
adapter. To add an adapter, add a factory ``(request, tmp_path) -> adapter`` below (it
may call ``request.getfixturevalue(...)`` for stand-ins it needs) and, if it needs
marks such as ``pytest.mark.gcp``, list them in ``ADAPTER_MARKS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.core import schema
from nunis_ingest.ports import ObjectStore, Warehouse
from tests.gcp.adapters import bigquery_warehouse, gcs_store, read_bigquery_activity

Factory = Callable[[pytest.FixtureRequest, Path], Any]


def _duckdb(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(tmp_path / "warehouse.duckdb", stage_dir=tmp_path)


STORE_FACTORIES: dict[str, Factory] = {
    "localfs": lambda request, tmp_path: LocalObjectStore(tmp_path / "store"),
    "gcs": gcs_store,
}
WAREHOUSE_FACTORIES: dict[str, Factory] = {
    "duckdb": _duckdb,
    "bigquery": bigquery_warehouse,
}
ADAPTER_MARKS: dict[str, list[pytest.MarkDecorator]] = {
    "gcs": [pytest.mark.gcp],
    "bigquery": [pytest.mark.gcp],
}
"""Marks per adapter name, e.g. ``{"gcs": [pytest.mark.gcp]}``."""


def _params(factories: dict[str, Factory]) -> list[Any]:
    return [pytest.param(name, marks=ADAPTER_MARKS.get(name, [])) for name in factories]


def _close(adapter: object) -> None:
    close = getattr(adapter, "close", None)
    if callable(close):
        close()


@pytest.fixture(params=_params(STORE_FACTORIES))
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    store = STORE_FACTORIES[request.param](request, tmp_path)
    yield store
    _close(store)


@pytest.fixture(params=_params(WAREHOUSE_FACTORIES))
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    wh = WAREHOUSE_FACTORIES[request.param](request, tmp_path)
    wh.ensure_schema()
    yield wh
    _close(wh)


# --- reading whole activity rows back (the port has no such read; tests need one) ------

ActivityReader = Callable[[Any, int], "dict[str, Any] | None"]


def _read_duckdb_activity(warehouse: Any, activity_id: int) -> dict[str, Any] | None:
    """One ``activities`` row in schema.py's JSON-ready encoding."""
    import json

    names = schema.column_names(schema.ACTIVITIES)
    select = ", ".join(
        f'CAST("{c.name}" AS VARCHAR)' if c.type in ("TIMESTAMP", "JSON") else f'"{c.name}"'
        for c in schema.ACTIVITIES
    )
    with warehouse.reader() as con:
        sql = f"SELECT {select} FROM activities WHERE id = ?"  # noqa: S608 (schema names)
        row = con.execute(sql, [activity_id]).fetchone()
    if row is None:
        return None
    out = dict(zip(names, row, strict=True))
    for c in schema.ACTIVITIES:
        value = out[c.name]
        if value is None:
            continue
        if c.type == "JSON":
            out[c.name] = json.loads(value)
        elif c.type in ("TIMESTAMP", "DATETIME"):
            out[c.name] = datetime.fromisoformat(str(value)).isoformat()
    return out


ACTIVITY_READERS: dict[str, ActivityReader] = {
    "duckdb": _read_duckdb_activity,
    "bigquery": read_bigquery_activity,
}


@pytest.fixture
def read_activity(request: pytest.FixtureRequest, warehouse: Warehouse) -> Callable[[int], Any]:
    name = request.node.callspec.params["warehouse"]
    reader = ACTIVITY_READERS[name]
    return lambda activity_id: reader(warehouse, activity_id)


# --- what the port does not expose: the quarantine log, and a table dropped under us ------


def _duckdb_quarantine(warehouse: Any) -> list[dict[str, Any]]:
    with warehouse.reader() as con:
        cur = con.execute(
            "SELECT athlete_id, activity_id, run_id, reason, raw FROM quarantine "
            "ORDER BY activity_id NULLS LAST, reason"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _bigquery_quarantine(warehouse: Any) -> list[dict[str, Any]]:
    table = warehouse.sql_table(schema.QUARANTINE_TABLE)
    return warehouse.rows(  # type: ignore[no-any-return]
        f"SELECT athlete_id, activity_id, run_id, reason, raw FROM {table} "  # noqa: S608
        "ORDER BY activity_id NULLS LAST, reason"
    )


def _duckdb_drop(warehouse: Any, table: str) -> None:
    import duckdb

    con = duckdb.connect(str(warehouse.path))  # what a notebook user might do
    con.execute(f'DROP TABLE "{table}"')
    con.close()


def _bigquery_drop(warehouse: Any, table: str) -> None:
    warehouse.client.delete_table(warehouse.table_id(table))


QUARANTINE_READERS: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    "duckdb": _duckdb_quarantine,
    "bigquery": _bigquery_quarantine,
}
DROPPERS: dict[str, Callable[[Any, str], None]] = {
    "duckdb": _duckdb_drop,
    "bigquery": _bigquery_drop,
}


@pytest.fixture
def read_quarantine(
    request: pytest.FixtureRequest, warehouse: Warehouse
) -> Callable[[], list[dict[str, Any]]]:
    reader = QUARANTINE_READERS[request.node.callspec.params["warehouse"]]
    return lambda: reader(warehouse)


@pytest.fixture
def drop_table(request: pytest.FixtureRequest, warehouse: Warehouse) -> Callable[[str], None]:
    dropper = DROPPERS[request.node.callspec.params["warehouse"]]
    return lambda table: dropper(warehouse, table)
