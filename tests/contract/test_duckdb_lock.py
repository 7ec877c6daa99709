"""DuckDB lock discipline, with real processes holding the file.

DuckDB's rules: one read-write process excludes every other process; several read-only
processes share the file, and any one of them keeps a writer out. ``DuckDBWarehouse``
opens a connection per operation and closes it right after, waits a bounded time for a
lock held elsewhere, then raises ``WarehouseLocked`` naming the holder.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
from nunis_ingest.core.transform import to_row
from nunis_ingest.errors import WarehouseLocked, WarehouseTransientError
from nunis_ingest.ports import WriteResult

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
ME = 1513

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print("ready", flush=True)
deadline = time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline:
    time.sleep(0.02)
con.close()
print("released", flush=True)
"""

OPEN_RW = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print(con.execute("SELECT count(*) FROM activities").fetchone()[0])
con.close()
"""


@contextmanager
def holder(path: Path, mode: str, seconds: float = 20.0) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``path`` open (``mode`` "rw" or "ro") for up to ``seconds``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), mode, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def rows(ids: list[int], name: str = "Run") -> list[dict[str, object]]:
    return [to_row({"id": i, "name": name}, athlete_id=ME, run_id="r", seen_at=T0) for i in ids]


def commit(wh: DuckDBWarehouse, batch_rows: list[dict[str, object]]) -> WriteResult:
    batch = wh.stage(ME, "r")
    batch.add(batch_rows)
    return batch.commit(replace=False)


@pytest.fixture
def wh(tmp_path: Path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb", stage_dir=tmp_path, lock_wait=1.0)
    warehouse.ensure_schema()
    commit(warehouse, rows([1, 2]))
    return warehouse


def test_write_waits_then_names_the_read_write_holder(wh: DuckDBWarehouse) -> None:
    before = wh.fetch_activity_hashes(ME)
    with holder(wh.path, "rw") as proc:
        started = time.monotonic()
        with pytest.raises(WarehouseLocked) as info:
            commit(wh, rows([1, 3], name="edited"))
        waited = time.monotonic() - started
        text = str(info.value)
        assert 0.9 <= waited < 5, waited
        assert f"PID {proc.pid}" in text
        assert str(wh.path) in text
        assert "close the other program" in text
        assert isinstance(info.value, WarehouseTransientError)
        assert info.value.retriable
        with pytest.raises(WarehouseLocked):  # reads too: a writer excludes everyone
            wh.count_activities(ME)
    assert wh.fetch_activity_hashes(ME) == before  # nothing was written


def test_a_read_only_holder_keeps_writes_out_but_not_reads(wh: DuckDBWarehouse) -> None:
    with holder(wh.path, "ro") as proc:
        assert wh.count_activities(ME) == 2  # readers share the file
        assert sorted(wh.fetch_activity_hashes(ME)) == [1, 2]
        with pytest.raises(WarehouseLocked, match=f"PID {proc.pid}"):
            commit(wh, rows([3]))
    assert wh.count_activities(ME) == 2


def test_a_write_waits_for_a_holder_that_lets_go(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "w.duckdb", stage_dir=tmp_path, lock_wait=15.0)
    wh.ensure_schema()
    with holder(wh.path, "rw", seconds=1.0) as proc:
        started = time.monotonic()
        assert commit(wh, rows([1, 2, 3])) == WriteResult(inserted=3)
        assert time.monotonic() - started >= 0.5  # it did wait for the lock
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "released"
    assert wh.count_activities(ME) == 3


def test_no_lock_is_held_between_operations(wh: DuckDBWarehouse) -> None:
    """The webhook-serve / warm-function case: the warehouse object stays alive."""
    commit(wh, rows([3]))
    wh.record_run(
        {
            "run_id": "r",
            "athlete_id": ME,
            "mode": "new",
            "started_at": T0.isoformat(),
            "finished_at": T0.isoformat(),
            "outcome": "success",
        }
    )
    assert wh.count_activities(ME) == 3
    started = time.monotonic()
    other = subprocess.run(
        [sys.executable, "-c", OPEN_RW, str(wh.path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert other.returncode == 0, other.stderr[-500:]
    assert other.stdout.strip() == "3"
    assert time.monotonic() - started < 10
    with wh.reader() as con:  # the inspection helper is read-only and closes on exit
        assert con.execute("SELECT count(*) FROM activities").fetchone() == (3,)
    assert (
        subprocess.run([sys.executable, "-c", OPEN_RW, str(wh.path)], check=False).returncode == 0
    )
    assert commit(wh, rows([4])) == WriteResult(inserted=1)  # and the object still works
