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

from nunis_ingest.ports import ObjectStore, Warehouse
from nunis_ingest.stores.localfs import LocalObjectStore
from tests.gcp.adapters import bigquery_warehouse, gcs_store, read_bigquery_activity

Factory = Callable[[pytest.FixtureRequest, Path], Any]


def _duckdb(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    from nunis_ingest.warehouses.duckdb import DuckDBWarehouse

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

    from nunis_ingest import schema

    names = schema.column_names(schema.ACTIVITIES)
    select = ", ".join(
        f'CAST("{c.name}" AS VARCHAR)' if c.type in ("TIMESTAMP", "JSON") else f'"{c.name}"'
        for c in schema.ACTIVITIES
    )
    with warehouse._connection() as con:
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
