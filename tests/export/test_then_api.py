"""An export and the API on one warehouse (real HTTP to the sandbox): the API's row always
wins, whichever comes first and whenever either commits; import and sync share the lease."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from nunis_ingest.core.keys import athlete_key
from nunis_ingest.core.transform import to_row
from nunis_ingest.errors import LeaseHeld
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.bulk_export.importer import run_import
from nunis_ingest.usecases.lease import Lease
from tests.e2e.conftest import register, truth
from tests.export.helpers import export_of_served


def _api_hashes(sandbox, tmp_path, app_env, athlete) -> dict[int, str]:
    """What a sync alone loads: the reference every API row must equal."""
    from nunis_ingest.core.events import SyncRequest
    from nunis_ingest.usecases.sync import run_sync

    rt = Runtime(load_settings(dict(app_env, NUNIS_DATA_DIR=str(tmp_path / "api-only"))))
    aid = register(rt, athlete)
    ctx = rt.context()
    ctx.now = sandbox.clock
    run_sync(SyncRequest(athlete_id=aid, mode="all", trigger="test"), ctx)
    return rt.warehouse.fetch_activity_hashes(aid)


def test_api_sync_upgrades_export_rows_and_the_export_again_changes_nothing(
    tmp_path, rt, sandbox, sync
):
    athlete = sandbox.athletes()[0]
    aid = int(athlete["id"])
    export_of_served(tmp_path / "export", sandbox, damage=False)
    report = run_import(str(tmp_path / "export"), rt.warehouse, rt.store)
    served = truth(sandbox, aid)
    assert report.inserted == len(served)
    exported = rt.warehouse.fetch_activity_hashes(aid)
    points = rt.warehouse.count_rows("activity_streams", aid)
    assert points > 0

    register(rt, athlete)
    sync(aid, "new")
    after = rt.warehouse.fetch_activity_hashes(aid)
    assert set(after) == set(served)  # no duplicates, nothing lost
    assert all(after[i] != exported[i] for i in served)  # every row upgraded to the API's
    assert rt.warehouse.count_rows("activity_streams", aid) == points  # streams kept

    again = run_import(str(tmp_path / "export"), rt.warehouse, rt.store)
    assert again.inserted == 0
    assert again.unchanged == len(served)
    assert rt.warehouse.fetch_activity_hashes(aid) == after


def test_a_sync_all_during_an_import_finds_the_lease_held_and_the_api_wins_after(
    tmp_path, rt, sandbox, sync, app_env
):
    athlete = sandbox.athletes()[0]
    aid = register(rt, athlete)
    export_of_served(tmp_path / "export", sandbox, damage=False)
    outcome: list[Any] = []

    def sync_meanwhile() -> None:  # a real `sync --mode all`, from another thread
        try:
            outcome.append(sync(aid, "all"))
        except LeaseHeld as held:
            outcome.append(held)

    def on_file() -> None:
        if not outcome:
            worker = threading.Thread(target=sync_meanwhile)
            worker.start()
            worker.join()

    report = run_import(str(tmp_path / "export"), rt.warehouse, rt.store, on_file=on_file)
    assert isinstance(outcome[0], LeaseHeld)  # the sync did nothing: the import held the lease
    assert report.inserted == len(truth(sandbox, aid))
    sync(aid, "all")  # the next run
    assert rt.warehouse.fetch_activity_hashes(aid) == _api_hashes(sandbox, tmp_path, app_env,
                                                                  athlete)  # fmt: skip


def test_an_import_during_a_sync_all_waits_and_keeps_every_api_row(
    tmp_path, rt, sandbox, sync, app_env
):
    athlete = sandbox.athletes()[0]
    aid = register(rt, athlete)
    export_of_served(tmp_path / "export", sandbox, damage=False)
    sandbox.add_fault(kind="delay", method="GET", path="/api/v3/athlete/activities", delay=0.7)
    worker = threading.Thread(target=sync, args=(aid, "all"))
    worker.start()
    lease_key = athlete_key(aid, "lease.json")
    while rt.store.get(lease_key) is None:
        assert worker.is_alive()
    report = run_import(str(tmp_path / "export"), rt.warehouse, rt.store, wait=120)
    worker.join()
    sandbox.clear_faults()
    assert report.inserted == 0
    assert report.unchanged == len(truth(sandbox, aid))
    assert rt.warehouse.fetch_activity_hashes(aid) == _api_hashes(sandbox, tmp_path, app_env,
                                                                  athlete)  # fmt: skip


def test_an_api_row_committed_while_the_import_runs_is_never_replaced(tmp_path, rt, sandbox):
    """Whatever the lease says: a row written between the import's reads and its commit
    (here, straight through the warehouse port) is kept by the import's commit."""
    athlete = sandbox.athletes()[0]
    aid = int(athlete["id"])
    export_of_served(tmp_path / "export", sandbox, damage=False)
    served = truth(sandbox, aid)
    from datetime import UTC, datetime

    written: dict[int, str] = {}

    def on_file() -> None:
        if written:
            return
        batch = rt.warehouse.stage(aid, "api-run")
        rows = [to_row(a, athlete_id=aid, run_id="api-run", seen_at=datetime.now(UTC))
                for a in served.values()]  # fmt: skip
        batch.add(rows)
        batch.commit(replace=False)
        written.update(rt.warehouse.fetch_activity_hashes(aid))

    report = run_import(str(tmp_path / "export"), rt.warehouse, rt.store, on_file=on_file)
    assert report.inserted == 0
    assert rt.warehouse.fetch_activity_hashes(aid) == written


def test_an_import_that_lost_its_lease_stops_before_writing(tmp_path, rt, sandbox):
    athlete = sandbox.athletes()[0]
    aid = int(athlete["id"])
    export_of_served(tmp_path / "export", sandbox, damage=False)
    clock = [1_800_000_000.0]

    def on_file() -> None:  # the import stalls past its lease; another run takes it over
        if clock[0] < 1_800_005_000:
            clock[0] += 5000
            Lease(rt.store, aid, "another-run", clock[0], 600).acquire()

    with pytest.raises(LeaseHeld, match="lost its lease"):
        run_import(str(tmp_path / "export"), rt.warehouse, rt.store, on_file=on_file,
                   now=lambda: clock[0])  # fmt: skip
    assert rt.warehouse.count_activities(aid) == 0


def test_an_import_that_cannot_get_the_lease_says_so_in_one_line(tmp_path, rt, sandbox):
    from nunis_ingest.errors import ExportError

    athlete = sandbox.athletes()[0]
    aid = int(athlete["id"])
    export_of_served(tmp_path / "export", sandbox, damage=False)
    Lease(rt.store, aid, "a-long-sync", time.time(), 600).acquire()
    with pytest.raises(ExportError) as failed:
        run_import(str(tmp_path / "export"), rt.warehouse, rt.store, wait=0.3)
    text = str(failed.value)
    assert "a-long-sync" in text
    assert text.count("Fix:") == 1
    assert "run the import again once that run has finished" in text
    assert rt.warehouse.count_activities(aid) == 0
