"""``Warehouse.presence``: the free signal a run compares with the state (``plan.verify_due``).

On both adapters: stable while the warehouse is the same one (commits do not change it),
``missing`` once its ``activities`` table (DuckDB: the file) is gone, and a re-created
warehouse is told apart. BigQuery reads table metadata only (``tables.get``): no query.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nunis_ingest.core.plan import verify_due
from nunis_ingest.core.state import SyncState
from nunis_ingest.ports import Warehouse
from tests.contract.test_warehouse import ME, commit, rows

NOW = 1_800_000_000


def _drop(warehouse: Any) -> None:
    """The warehouse is lost: the DuckDB file deleted, the BigQuery table dropped."""
    path = getattr(warehouse, "path", None)
    if isinstance(path, Path):
        warehouse.close()
        path.unlink()
        return
    warehouse.client.delete_table(warehouse.table_id("activities"))


def test_presence_is_stable_across_commits_and_counts_at_least_what_was_written(
    warehouse: Warehouse,
) -> None:
    before = warehouse.presence()
    assert not before.missing
    commit(warehouse, rows([1, 2, 3]))
    after = warehouse.presence()
    assert not after.missing
    assert after.identity == before.identity
    if after.total_rows is not None:
        assert after.total_rows >= warehouse.count_activities(ME) == 3


def test_a_lost_warehouse_is_missing_and_a_recreated_one_is_told_apart(
    warehouse: Warehouse,
) -> None:
    commit(warehouse, rows([1, 2]))
    first = warehouse.presence()
    _drop(warehouse)
    assert warehouse.presence().missing
    warehouse.ensure_schema()
    again = warehouse.presence()
    assert not again.missing
    assert again.total_rows in (None, 0)
    assert warehouse.count_activities(ME) == 0
    known = SyncState(
        cursor=1, rows=2, verified_at=NOW, warehouse_id=first.identity, warehouse_size=first.size
    )
    assert verify_due(known, "new", NOW, again), "the next run would not notice"
    assert not verify_due(known, "new", NOW, first)
