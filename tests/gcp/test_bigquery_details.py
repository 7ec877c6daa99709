"""The BigQuery layout and costs of the detail tables, on local-bigquery (no mocks)."""

from __future__ import annotations

from typing import Any

import pytest

from nunis_ingest.adapters.warehouses.bigquery import BigQueryWarehouse
from nunis_ingest.core import schema, schema_detail
from nunis_ingest.ports import DetailRows
from tests.contract.test_details import ALL, STREAMS, full, write

pytestmark = pytest.mark.gcp
ME = 1513


@pytest.fixture
def wh(bigquery_client: Any, bigquery_dataset: str) -> BigQueryWarehouse:
    w = BigQueryWarehouse(bigquery_client, bigquery_dataset)
    w.ensure_schema()
    return w


def test_detail_tables_are_clustered_and_streams_partitioned_by_month(
    wh: BigQueryWarehouse, bigquery_client: Any
) -> None:
    alias = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}
    for table in schema_detail.DETAIL_TABLES:
        got = bigquery_client.get_table(wh.table_id(table.name))
        assert got.clustering_fields == ["athlete_id", "activity_id"]
        declared = schema.bigquery_fields(table.columns)
        assert [(f.name, alias.get(f.field_type, f.field_type), f.mode) for f in got.schema] == [
            (f["name"], f["type"], f["mode"]) for f in declared
        ]
        if table.name == STREAMS:
            assert got.time_partitioning.type_ == "MONTH"
            assert got.time_partitioning.field == "start_date"
        else:
            assert got.time_partitioning is None


def test_one_call_is_one_load_one_merge_per_table_and_leaves_no_staging(
    wh: BigQueryWarehouse, bigquery_client: Any
) -> None:
    before = dict(wh.operations)
    given = write(*((i, full(i, ME)) for i in (1, 2, 3)))
    wh.replace_details(ME, given)
    assert wh.operations == {"load": before["load"] + 1, "dml": before["dml"] + len(ALL)}
    names = {t.table_id for t in bigquery_client.list_tables(wh.dataset)}
    assert not [n for n in names if n.startswith("_stage")]
    only_deletes = DetailRows((1, 2), ALL, {})
    assert wh.replace_details(ME, only_deletes) == dict.fromkeys(ALL, 0)
    assert wh.operations["load"] == before["load"] + 1  # nothing to load: DELETEs only
    assert wh.count_rows(STREAMS, ME) == 5
