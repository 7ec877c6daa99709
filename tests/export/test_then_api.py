"""An export imported first, then a `new` sync over the sandbox's API (real HTTP) on top."""

from nunis_ingest.bulk_export.importer import Importer
from nunis_ingest.bulk_export.source import open_source
from nunis_ingest.transform import start_epoch
from strava_sandbox.data import generate_dataset
from strava_sandbox.export import write_export
from tests.conftest import SANDBOX_ACTIVITIES, SANDBOX_ATHLETES, SANDBOX_SEED
from tests.e2e.conftest import register, truth


def test_api_sync_upgrades_export_rows_without_duplicates_or_losing_streams(
    tmp_path, rt, sandbox, sync
):
    athlete = sandbox.athletes()[0]
    aid = int(athlete["id"])
    served = truth(sandbox, aid)
    probe = generate_dataset(SANDBOX_SEED, SANDBOX_ATHLETES, SANDBOX_ACTIVITIES, 10**9)
    first = probe.athletes[0].activities[0]
    anchor = 10**9 + start_epoch(served[first.id]) - first.start  # the server's anchor
    folder = tmp_path / "export"
    folder.mkdir()
    write_export(
        folder,
        seed=SANDBOX_SEED,
        athletes=SANDBOX_ATHLETES,
        activities=SANDBOX_ACTIVITIES,
        anchor=anchor,
    )
    with open_source(str(folder)) as source:
        report = Importer(rt.warehouse, rt.store, aid).run(source)
    assert report.inserted == len(served)
    exported = rt.warehouse.fetch_activity_hashes(aid)
    assert set(exported) == set(served)
    points = rt.warehouse.count_rows("activity_streams", aid)
    assert points > 0

    register(rt, athlete)
    sync(aid, "new")
    after = rt.warehouse.fetch_activity_hashes(aid)
    assert set(after) == set(served)  # no duplicates, nothing lost
    assert rt.warehouse.count_activities(aid) == len(served)
    assert all(after[i] != exported[i] for i in served)  # every row upgraded to the API's
    assert rt.warehouse.count_rows("activity_streams", aid) == points  # streams kept

    with open_source(str(folder)) as source:  # the export again: the API rows win
        again = Importer(rt.warehouse, rt.store, aid).run(source)
    assert again.inserted == 0
    assert rt.warehouse.fetch_activity_hashes(aid) == after
