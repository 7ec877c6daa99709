"""Other platforms' files (no activities.csv): Garmin Connect's export with nested part
zips and non-activity FIT files, Wahoo, COROS and Suunto folders, a watch's folder; and
the same activities also from Strava (export or API): one activity kept, Strava's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.core.file_ids import (
    TWIN_SECONDS,
    Start,
    StartIndex,
    file_activity_id,
    twins,
)
from nunis_ingest.errors import ExportError
from strava_sandbox.data import generate_dataset
from strava_sandbox.export import write_export
from strava_sandbox.export_platforms import garmin_export, watch_folder
from tests.e2e.conftest import register, truth
from tests.export.helpers import ANCHOR, Duck, export_of_served

ATHLETE = 1_000_000
FIT_SPORTS = {"Run", "TrailRun", "Ride", "VirtualRide", "Walk"}


def recorded(count: int, seed: int = 7, athlete: int = 0, n: int = 40) -> list:
    acts = generate_dataset(seed, athlete + 1, n, ANCHOR).athletes[athlete].activities
    return [a for a in acts if not a.summary.get("manual") and a.summary.get("distance")][:count]


def file_rows(duck: Duck) -> dict[int, tuple]:
    got = duck.rows(
        "SELECT id, epoch(start_date)::BIGINT, distance, sport_type, raw->>'_source' "
        "FROM activities WHERE id < 0"
    )
    return {r[0]: r[1:] for r in got}


def test_garmin_connect_export_loads_every_recording_and_skips_the_rest(tmp_path):
    activities = recorded(9)
    made = garmin_export(tmp_path / "garmin.zip", activities, shift=2, scale=1.01)
    duck = Duck(tmp_path / "wh")
    report = duck.run(tmp_path / "garmin.zip", athlete_id=ATHLETE)
    assert report.kind == "files"
    assert report.inserted == len(made.recordings) == 8
    assert report.skipped == len(made.not_activities)
    assert [name for name, _r in report.problems] == made.damaged
    rows = file_rows(duck)
    assert len(rows) == 8
    starts = {a.start + 2 for a in made.recordings.values()}
    assert {r[0] for r in rows.values()} == starts
    for start, distance, sport, source in rows.values():
        activity = next(a for a in made.recordings.values() if a.start + 2 == start)
        assert distance == pytest.approx(activity.summary["distance"] * 1.01, abs=0.5)
        assert source == "garmin"
        written = activity.summary["sport_type"]  # as the FIT file says it (sport, sub-sport)
        expected = {"Hike": "Walk"}.get(written, written)
        assert sport == (expected if expected in FIT_SPORTS else "Workout")
    assert set(duck.points(ATHLETE)) == set(rows)
    sources = duck.rows("SELECT DISTINCT source FROM activity_streams")
    assert sources == [("garmin",)]
    again = duck.run(tmp_path / "garmin.zip", athlete_id=ATHLETE)
    assert (again.inserted, again.unchanged, again.points) == (0, 8, 0)
    assert file_rows(duck) == rows  # stable ids


@pytest.mark.parametrize(
    ("platform", "source"),
    [("wahoo_fitness", "wahoo"), ("coros", "coros"), ("suunto", "suunto"), ("garmin", "garmin")],
)
def test_a_folder_of_one_platforms_files(tmp_path, platform, source):
    folder = tmp_path / "files"
    made = watch_folder(folder, recorded(6), platform=platform)
    duck = Duck(tmp_path / "wh")
    report = duck.run(folder, athlete_id=ATHLETE)
    assert report.problem_count == 0
    assert report.inserted == len(made.recordings)
    assert {r[3] for r in file_rows(duck).values()} == {source}


def test_files_need_an_athlete_and_a_folder_of_nothing_is_not_an_export(tmp_path):
    folder = tmp_path / "files"
    watch_folder(folder, recorded(2))
    duck = Duck(tmp_path / "wh")
    with pytest.raises(ExportError, match="--athlete"):
        duck.run(folder)
    empty = tmp_path / "empty"
    (empty / "photos").mkdir(parents=True)
    (empty / "photos" / "a.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ExportError, match=r"no activities\.csv and no FIT, GPX or TCX"):
        duck.run(empty, athlete_id=ATHLETE)


def test_strava_export_first_then_garmin_twins_are_not_loaded(tmp_path):
    strava = write_export(tmp_path / "strava.zip", activities=40, anchor=ANCHOR, damage=False)
    duck = Duck(tmp_path / "wh")
    duck.run(tmp_path / "strava.zip")
    twins_ = recorded(5)
    others = recorded(3, seed=99)
    garmin_export(tmp_path / "g.zip", [*twins_, *others], damaged=0, shift=3, scale=1.02)
    report = duck.run(tmp_path / "g.zip", athlete_id=strava.athlete_id)
    assert report.duplicates == len(twins_)
    assert report.inserted == len(others)
    assert len(duck.activities(strava.athlete_id)) == len(strava.activities) + len(others)


def test_garmin_first_then_the_strava_export_replaces_its_twins(tmp_path):
    duck = Duck(tmp_path / "wh")
    twins_, others = recorded(5), recorded(3, seed=99)
    garmin_export(tmp_path / "g.zip", [*twins_, *others], damaged=0, shift=-20, scale=0.97)
    assert duck.run(tmp_path / "g.zip", athlete_id=ATHLETE).inserted == 8
    strava = write_export(tmp_path / "strava.zip", activities=40, anchor=ANCHOR, damage=False)
    report = duck.run(tmp_path / "strava.zip")
    assert report.replaced_files == len(twins_)
    loaded = duck.activities(strava.athlete_id)
    assert set(loaded) >= set(strava.activities)
    assert len(loaded) == len(strava.activities) + len(others)


def test_garmin_first_then_the_api_keeps_one_activity_each_and_never_asks_strava_for_files(
    tmp_path, rt, sandbox, sync
):
    athlete = sandbox.athletes()[0]
    aid = register(rt, athlete)
    served = truth(sandbox, aid)
    probe = export_of_served(tmp_path / "probe", sandbox, damage=False)  # the served starts
    twins_ = [a for a in probe.activities.values() if a.id in probe.files][:6]
    others = recorded(3, seed=99)
    garmin_export(tmp_path / "g.zip", [*twins_, *others], damaged=0, shift=5, scale=1.01)
    report = run_files(tmp_path / "g.zip", rt, aid)
    assert report.inserted == len(twins_) + len(others)
    sandbox.clear_requests()
    sync(aid, "all")
    ids = set(rt.warehouse.fetch_activity_hashes(aid))
    assert {i for i in ids if i > 0} == set(served)
    assert len([i for i in ids if i < 0]) == len(others)  # the twins went, the others stay
    sync(aid, "all")  # a second full refresh deletes nothing of the files' activities
    assert set(rt.warehouse.fetch_activity_hashes(aid)) == ids
    paths = sandbox.requests_log()["requests"]
    assert paths
    assert not [r for r in paths if "/activities/-" in str(r)]


def run_files(path, rt, aid):
    from nunis_ingest.usecases.bulk_export.importer import run_import

    return run_import(str(path), rt.warehouse, rt.store, athlete_id=aid)


@given(st.text(max_size=40))
def test_file_ids_are_negative_so_never_strava_ids(identity):
    assert -(2**63) <= file_activity_id(identity) < 0


@given(
    start=st.integers(1_000_000_000, 2_000_000_000),
    dt=st.integers(-200, 200),
    distance=st.floats(0, 300_000),
    ratio=st.floats(0.9, 1.1),
)
def test_twins_start_within_a_minute_and_are_within_a_few_percent(start, dt, distance, ratio):
    a, b = Start(1, start, distance), Start(-5, start + dt, distance * ratio)
    found = StartIndex([a]).twin(b)
    assert (found is not None) == twins(a, b)
    if abs(dt) > TWIN_SECONDS:
        assert found is None
    if abs(dt) <= TWIN_SECONDS and distance >= 100 and abs(ratio - 1) <= 0.04:
        assert found == a


def test_a_webhook_create_of_a_files_twin_removes_the_file_copy(tmp_path, rt, sandbox, sync):
    """The activity was recorded on a watch, imported from its file, and uploaded to
    Strava later: the webhook's create loads Strava's row and the file copy goes."""
    import datetime as dt

    from nunis_ingest.usecases.webhook.process import process
    from tests.webhook.helpers import event_context, event_of

    athlete = sandbox.athletes()[0]
    aid = register(rt, athlete)
    sync(aid, "all")
    [ride] = recorded(1, seed=99)
    watch_folder(tmp_path / "watch", [ride], platform="wahoo_fitness")
    assert run_files(tmp_path / "watch", rt, aid).inserted == 1
    assert len([i for i in rt.warehouse.fetch_activity_hashes(aid) if i < 0]) == 1
    start = dt.datetime.fromtimestamp(ride.start + 4, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    made = sandbox.add_activity(aid, start_date=start, distance=ride.summary["distance"] * 0.99,
                                name="Uploaded later")  # fmt: skip
    event = event_of("create", int(made["id"]), aid, int(sandbox.clock()))
    [outcome] = process([event], event_context(rt, sandbox))
    assert outcome.action == "loaded"
    ids = set(rt.warehouse.fetch_activity_hashes(aid))
    assert int(made["id"]) in ids
    assert not [i for i in ids if i < 0]
