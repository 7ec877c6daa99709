"""Contract: every ``ports.Warehouse`` adapter behaves the same (see conftest.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nunis_ingest.core import schema
from nunis_ingest.core.transform import to_row
from nunis_ingest.errors import MassDeleteRefused, WarehouseRejected
from nunis_ingest.ports import Warehouse, WriteResult

FIXTURE = Path(__file__).parents[1] / "fixtures" / "strava" / "activity.3.json"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
ME, OTHER = 1513, 2042
BIG = 2**40  # Strava ids exceed 2^31


def activity(activity_id: int, athlete_id: int = ME, **fields: Any) -> dict[str, Any]:
    """A Strava SummaryActivity-like payload with lists, structs and zone-less local time."""
    base: dict[str, Any] = json.loads(FIXTURE.read_text())
    for heavy in ("best_efforts", "splits_metric", "splits_standard", "laps", "segment_efforts"):
        base.pop(heavy, None)
    base.update(id=activity_id, athlete={"id": athlete_id, "resource_state": 1})
    base.update(fields)
    return base


def rows(ids: list[int], athlete_id: int = ME, seen: datetime = T0, run: str = "r1", **kw: Any):
    return [
        to_row(activity(i, athlete_id, **kw), athlete_id=athlete_id, run_id=run, seen_at=seen)
        for i in ids
    ]


def commit(
    wh: Warehouse,
    batch_rows: list[dict[str, Any]],
    *,
    athlete_id: int = ME,
    replace: bool = False,
    max_delete_share: float | None = None,
    run: str = "r1",
) -> WriteResult:
    batch = wh.stage(athlete_id, run)
    for start in range(0, len(batch_rows), 3):  # several pages
        batch.add(batch_rows[start : start + 3])
    return batch.commit(replace=replace, max_delete_share=max_delete_share)


def test_ensure_schema_is_idempotent(warehouse: Warehouse) -> None:
    commit(warehouse, rows([BIG + 1]))
    warehouse.ensure_schema()
    warehouse.ensure_schema()
    assert list(warehouse.fetch_activity_hashes(ME)) == [BIG + 1]


def test_insert_then_same_rows_are_unchanged_without_dml(warehouse: Warehouse) -> None:
    ids = [BIG + i for i in range(7)]
    assert commit(warehouse, rows(ids)) == WriteResult(inserted=7)
    dml = warehouse.operations["dml"]
    later = rows(ids, seen=T0 + timedelta(days=1), run="r2")
    assert commit(warehouse, later, replace=True, max_delete_share=0.1) == WriteResult(unchanged=7)
    assert warehouse.operations["dml"] == dml


def test_edited_row_is_updated_and_keeps_first_seen_at(
    warehouse: Warehouse, read_activity: Callable[[int], Any]
) -> None:
    commit(warehouse, rows([BIG, BIG + 1]))
    edited = rows([BIG], seen=T0 + timedelta(days=2), run="r2", name="Renamed")
    same = rows([BIG + 1], seen=T0 + timedelta(days=2), run="r2")
    result = commit(warehouse, edited + same, run="r2")
    assert result == WriteResult(updated=1, unchanged=1)
    stored = read_activity(BIG)
    assert stored["name"] == "Renamed"
    assert stored["content_hash"] == edited[0]["content_hash"]
    assert stored["first_seen_at"] == T0.isoformat()
    assert stored["updated_at"] == (T0 + timedelta(days=2)).isoformat()
    assert stored["run_id"] == "r2"
    assert read_activity(BIG + 1)["run_id"] == "r1"  # unchanged rows are not rewritten


def test_replace_deletes_missing_ids_of_that_athlete_only(warehouse: Warehouse) -> None:
    commit(warehouse, rows([1, 2, 3]))
    commit(warehouse, rows([10, 11], athlete_id=OTHER), athlete_id=OTHER)
    result = commit(warehouse, rows([1, 2, 4]), replace=True, max_delete_share=0.5)
    assert result == WriteResult(inserted=1, deleted=1, unchanged=2)
    assert sorted(warehouse.fetch_activity_hashes(ME)) == [1, 2, 4]
    assert sorted(warehouse.fetch_activity_hashes(OTHER)) == [10, 11]


def test_count_activities_counts_one_athlete(warehouse: Warehouse) -> None:
    assert warehouse.count_activities(ME) == 0
    commit(warehouse, rows([1, 2, 3]))
    commit(warehouse, rows([10, 11], athlete_id=OTHER), athlete_id=OTHER)
    assert warehouse.count_activities(ME) == 3
    assert warehouse.count_activities(OTHER) == 2


def test_mass_delete_guard_refuses_and_leaves_data_intact(warehouse: Warehouse) -> None:
    commit(warehouse, rows(list(range(1, 11))))
    before = warehouse.fetch_activity_hashes(ME)
    newer = rows([1, 2, 99], name="changed")
    with pytest.raises(MassDeleteRefused, match=r"8 of 10") as info:
        commit(warehouse, newer, replace=True, max_delete_share=0.5)
    assert type(info.value) is MassDeleteRefused  # the exact class, in every adapter
    assert "NUNIS_MAX_DELETE_SHARE" in str(info.value)
    assert warehouse.fetch_activity_hashes(ME) == before
    forced = commit(warehouse, newer, replace=True, max_delete_share=None)
    assert forced == WriteResult(inserted=1, updated=2, deleted=8)
    assert sorted(warehouse.fetch_activity_hashes(ME)) == [1, 2, 99]


def test_empty_replace_batch_is_refused_by_the_guard(warehouse: Warehouse) -> None:
    commit(warehouse, rows([1, 2]))
    commit(warehouse, rows([5], athlete_id=OTHER), athlete_id=OTHER)
    with pytest.raises(MassDeleteRefused):
        commit(warehouse, [], replace=True, max_delete_share=0.9)
    assert sorted(warehouse.fetch_activity_hashes(ME)) == [1, 2]
    assert commit(warehouse, [], replace=True) == WriteResult(deleted=2)
    assert warehouse.fetch_activity_hashes(ME) == {}
    assert list(warehouse.fetch_activity_hashes(OTHER)) == [5]


def test_empty_replace_of_an_empty_athlete_is_allowed(warehouse: Warehouse) -> None:
    assert commit(warehouse, [], replace=True, max_delete_share=0.0) == WriteResult()


def test_duplicate_ids_in_one_batch_keep_the_last(warehouse: Warehouse) -> None:
    old, new = rows([BIG], name="old")[0], rows([BIG], name="new")[0]
    batch = warehouse.stage(ME, "r1")
    batch.add([old, *rows([BIG + 1])])
    batch.add([new])  # the listing shifted: same activity on the next page
    assert batch.commit(replace=False) == WriteResult(inserted=2)
    assert warehouse.fetch_activity_hashes(ME)[BIG] == new["content_hash"]


def test_raw_keeps_unknown_fields(
    warehouse: Warehouse, read_activity: Callable[[int], Any]
) -> None:
    payload = activity(BIG, brand_new_field={"nested": [1, 2.5, None, "é"]}, big_number=2**62)
    commit(warehouse, [to_row(payload, athlete_id=ME, run_id="r1", seen_at=T0)])
    assert read_activity(BIG)["raw"] == payload


def test_types_round_trip(warehouse: Warehouse, read_activity: Callable[[int], Any]) -> None:
    payload = activity(
        2**53 + 7,
        start_date="2024-06-01T05:30:00Z",
        start_date_local="2024-06-01T07:30:00Z",  # Strava's "Z" on a local time is a lie
        start_latlng=[52.52, 13.405],
        end_latlng=[],
        map={"id": "a1", "summary_polyline": "abc\\def", "resource_state": 2},
        upload_id=2**62,
        utc_offset=7200.0,
    )
    row = to_row(payload, athlete_id=ME, run_id="r1", seen_at=T0)
    commit(warehouse, [row])
    stored = read_activity(2**53 + 7)
    assert stored == row
    assert stored["start_date_local"] == "2024-06-01T07:30:00"
    assert stored["start_date"] == "2024-06-01T05:30:00+00:00"
    assert stored["start_latlng"] == [52.52, 13.405]
    assert stored["end_latlng"] == []
    assert stored["map"]["summary_polyline"] == "abc\\def"
    assert stored["athlete"] == {"id": ME, "resource_state": 1}


def test_record_and_fetch_runs(warehouse: Warehouse) -> None:
    def run(run_id: str, minute: int, athlete_id: int = ME) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "athlete_id": athlete_id,
            "mode": "all",
            "trigger": "cli",
            "message_id": None,
            "started_at": (T0 + timedelta(minutes=minute)).isoformat(),
            "finished_at": (T0 + timedelta(minutes=minute, seconds=3)).isoformat(),
            "outcome": "success",
            "pages": 2,
            "requests": 3,
            "inserted": 5,
            "error_class": None,
        }

    ops = warehouse.operations["dml"]
    for run_id, minute in (("a", 1), ("c", 3), ("b", 2)):
        warehouse.record_run(run(run_id, minute))
    warehouse.record_run(run("other", 9, athlete_id=OTHER))
    assert warehouse.operations["dml"] == ops + 4
    fetched = warehouse.fetch_runs(ME)
    assert [r["run_id"] for r in fetched] == ["c", "b", "a"]
    assert {k: fetched[0][k] for k in run("c", 3)} == run("c", 3)
    assert fetched[0]["deleted"] is None
    assert [r["run_id"] for r in warehouse.fetch_runs(ME, limit=1)] == ["c"]


def test_purge_athlete(warehouse: Warehouse) -> None:
    commit(warehouse, rows([1, 2, 3]))
    commit(warehouse, rows([7], athlete_id=OTHER), athlete_id=OTHER)
    assert warehouse.purge_athlete(ME) == 3
    assert warehouse.fetch_activity_hashes(ME) == {}
    assert list(warehouse.fetch_activity_hashes(OTHER)) == [7]
    assert warehouse.purge_athlete(ME) == 0


def test_delete_activities_only_touches_that_athlete(warehouse: Warehouse) -> None:
    commit(warehouse, rows([1, 2, 3]))
    commit(warehouse, rows([7], athlete_id=OTHER), athlete_id=OTHER)
    assert warehouse.delete_activities(ME, [1, 7, 404]) == 1
    assert sorted(warehouse.fetch_activity_hashes(ME)) == [2, 3]
    assert list(warehouse.fetch_activity_hashes(OTHER)) == [7]
    assert warehouse.delete_activities(ME, []) == 0


def test_operation_counters(warehouse: Warehouse) -> None:
    start = dict(warehouse.operations)
    assert commit(warehouse, []) == WriteResult()  # idle: no warehouse work at all
    warehouse.stage(ME, "r0").discard()
    assert warehouse.operations == start
    commit(warehouse, rows([1, 2]))
    assert warehouse.operations["load"] == start["load"] + 1
    assert warehouse.operations["dml"] > start["dml"]


def test_batch_cannot_be_reused(warehouse: Warehouse) -> None:
    batch = warehouse.stage(ME, "r1")
    batch.add(rows([1]))
    batch.commit(replace=False)
    batch.discard()  # idempotent after commit
    with pytest.raises(RuntimeError):
        batch.commit(replace=False)


def test_rows_of_another_athlete_are_refused(warehouse: Warehouse) -> None:
    commit(warehouse, rows([7], athlete_id=OTHER), athlete_id=OTHER)
    with pytest.raises(ValueError, match=r"another|other"):
        commit(warehouse, rows([1, 7]))  # id 7 is OTHER's
    assert warehouse.fetch_activity_hashes(ME) == {}


def test_bad_rows_are_quarantined_and_every_other_row_loads(
    warehouse: Warehouse, read_quarantine: Callable[[], list[dict[str, Any]]]
) -> None:
    commit(warehouse, rows([1, 2, 3]))
    before = warehouse.fetch_activity_hashes(ME)
    bad: dict[int, dict[str, Any]] = {
        i: copy.deepcopy(rows([i], run="r2")[0]) for i in (3, 4, 9, 10, 11)
    }
    bad[3]["distance"] = "not a number"  # a new, unloadable version of a stored activity
    bad[4]["distance"] = "not a number"
    bad[9]["raw"] = None  # violates NOT NULL
    bad[10]["upload_id"] = 2**64  # beyond INT64 in a typed column
    bad[11]["start_date"] = "9999-12-31T23:30:00-05:00"  # year 10000 in UTC
    good = rows([1], name="edited", run="r2") + rows([2, 5], run="r2")
    result = commit(warehouse, [*good, *bad.values()], replace=True, max_delete_share=0.1, run="r2")
    assert result == WriteResult(inserted=1, updated=1, unchanged=1, quarantined=5)
    hashes = warehouse.fetch_activity_hashes(ME)
    assert sorted(hashes) == [1, 2, 3, 5]  # 3 kept as it was, not deleted by replace
    assert hashes[3] == before[3]
    assert hashes[1] == good[0]["content_hash"]
    held = read_quarantine()
    assert [(q["athlete_id"], q["activity_id"], q["run_id"]) for q in held] == [
        (ME, i, "r2") for i in (3, 4, 9, 10, 11)
    ]
    reasons = [q["reason"] for q in held]
    assert reasons[0].startswith("distance")
    assert reasons[2].startswith("raw")
    assert reasons[3].startswith("upload_id")
    assert reasons[4].startswith("start_date")
    assert json.loads(held[1]["raw"])["id"] == 4  # the activity as received, as JSON text
    later = commit(warehouse, rows([4], run="r3"), run="r3")  # arrives valid: loads normally
    assert later == WriteResult(inserted=1)
    assert len(read_quarantine()) == 5  # the log keeps its history


def test_a_batch_of_only_bad_rows_writes_the_quarantine_and_nothing_else(
    warehouse: Warehouse, read_quarantine: Callable[[], list[dict[str, Any]]]
) -> None:
    bad = rows([7])[0] | {"trainer": "yes"}
    assert commit(warehouse, [bad]) == WriteResult(quarantined=1)
    assert warehouse.fetch_activity_hashes(ME) == {}
    assert [q["reason"] for q in read_quarantine()] == ["trainer: str is not a boolean"]


def test_a_table_deleted_under_us_is_rejected_not_retried(
    warehouse: Warehouse, drop_table: Callable[[str], None]
) -> None:
    commit(warehouse, rows([1, 2]))
    drop_table(schema.ACTIVITIES_TABLE)
    with pytest.raises(WarehouseRejected, match=r"(?i)missing") as info:
        commit(warehouse, rows([3]))
    assert type(info.value) is WarehouseRejected
    assert not info.value.retriable
    assert "Fix:" in str(info.value)
    with pytest.raises(WarehouseRejected):
        warehouse.fetch_activity_hashes(ME)
    with pytest.raises(WarehouseRejected):
        warehouse.count_activities(ME)
    warehouse.ensure_schema()  # what the next start does
    assert commit(warehouse, rows([3])) == WriteResult(inserted=1)


def test_unknown_column_is_a_caller_bug(warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match="no column"):
        commit(warehouse, [rows([1])[0] | {"no_such_column": 1}])
    assert warehouse.fetch_activity_hashes(ME) == {}
