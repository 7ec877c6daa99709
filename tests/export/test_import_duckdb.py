"""A generated export imported into DuckDB, compared with the sandbox's truth."""

import time

import duckdb
import pytest

from nunis_ingest.bulk_export.files import parse_file
from nunis_ingest.bulk_export.importer import Importer
from nunis_ingest.bulk_export.source import open_source
from nunis_ingest.stores.localfs import LocalObjectStore
from nunis_ingest.warehouses.duckdb import DuckDBWarehouse
from strava_sandbox.data import generate_dataset
from strava_sandbox.detail import streams
from strava_sandbox.export import fit_bytes, gpx_bytes, tcx_bytes, write_export

ANCHOR = 1_790_000_000


@pytest.fixture(params=["en", "de"])
def export(tmp_path, request):
    path = tmp_path / "export.zip"
    athlete = write_export(path, activities=30, anchor=ANCHOR, language=request.param)
    return path, athlete


def _truth():
    return generate_dataset(7, 1, 30, ANCHOR).athletes[0].activities


def _import(tmp_path, path, athlete):
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    store = LocalObjectStore(tmp_path / "data")
    with open_source(str(path)) as source:
        return wh, store, Importer(wh, store, athlete).run(source)


def test_import_matches_truth_and_twice_changes_nothing(tmp_path, export):
    path, athlete = export
    wh, store, report = _import(tmp_path, path, athlete)
    truth = {a.id: a.summary for a in _truth()}
    assert report.activities == len(truth)
    assert {p[0] for p in report.problems}
    assert all("gzip" in p[1] for p in report.problems)
    hashes = wh.fetch_activity_hashes(athlete)
    assert set(hashes) == set(truth)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as db:
        rows = db.execute(
            "select id, name, sport_type, epoch(start_date)::bigint, distance, moving_time,"
            " elapsed_time, manual, raw->>'_source' from activities"
        ).fetchall()
    for id_, name, sport, start, distance, moving, elapsed, manual, marker in rows:
        s = truth[id_]
        assert (name, sport, moving, elapsed) == (
            s["name"],
            s["sport_type"],
            s["moving_time"],
            s["elapsed_time"],
        )
        assert distance == pytest.approx(s["distance"])
        assert manual == bool(s["manual"])
        assert marker == "export"
        assert start == next(a.start for a in _truth() if a.id == id_)
    assert report.points > 0
    assert wh.count_rows("activity_streams", athlete) == report.points
    assert any(k for k in store.list("archive/strava/athlete="))
    again = _import(tmp_path, path, athlete)[2]
    assert (again.inserted, again.points, again.laps) == (0, 0, 0)
    assert wh.fetch_activity_hashes(athlete) == hashes


@pytest.mark.parametrize("make", [fit_bytes, gpx_bytes, tcx_bytes])
def test_each_format_carries_the_stream(make):
    activity = next(a for a in _truth() if a.summary.get("start_latlng"))
    track = parse_file(
        {fit_bytes: "x.fit", gpx_bytes: "x.gpx", tcx_bytes: "x.tcx"}[make], make(activity)
    )
    truth = streams(activity, ["latlng", "time"], True)
    assert len(track.points) == len(truth["time"]["data"])
    lat, lng = truth["latlng"]["data"][3]
    assert track.points[3].lat == pytest.approx(lat, abs=1e-5)
    assert track.points[3].lng == pytest.approx(lng, abs=1e-5)
    assert (
        int((track.points[-1].time - track.points[0].time).total_seconds())
        == truth["time"]["data"][-1]
    )


def test_no_credentials_needed(tmp_path, export, monkeypatch):
    for name in ("STRAVA_CLIENT_ID", "STRAVA_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert _import(tmp_path, *export)[2].inserted > 0
    assert time.time() > 0
