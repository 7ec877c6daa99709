"""Values a file cannot mean, and exports that are not what they look like.

The rules come from outside the importer: a position is on the globe (WGS 84: latitude
-90..90, longitude -180..180 degrees; FIT stores them as semicircles, 2^31 to 180 degrees,
with 0x7FFFFFFF for "invalid"); no point of the Earth's surface lies below the Dead Sea
shore (about -430 m) or above Everest (8,849 m); a Strava export's ``routes/``, ``media/``
and ``clubs/`` folders hold planned routes and images, not activities; the README promises
that a 1 MB zip never makes the import inflate 1 GB.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nunis_ingest.errors import ExportError
from nunis_ingest.usecases.bulk_export.files import UnreadableFile, parse_stream
from nunis_ingest.usecases.bulk_export.source import open_source
from strava_sandbox.export import write_export
from strava_sandbox.fit_writer import FitWriter, Point
from tests.export.helpers import ANCHOR, Duck
from tests.export.test_hostile import csv_for

EARTH_RADIUS = 6_371_000.0
LOWEST_LAND, HIGHEST_LAND = -430.0, 8_849.0  # the Dead Sea shore, the top of Everest
SEMICIRCLES = 2**31 / 180
FIT_INVALID_SINT32 = 0x7FFFFFFF
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
T0 = 1_714_521_600  # 2024-05-01T00:00:00Z


def on_globe(lat: float | None, lng: float | None) -> bool:
    return (
        lat is not None
        and lng is not None
        and math.isfinite(lat)
        and math.isfinite(lng)
        and abs(lat) <= 90
        and abs(lng) <= 180
    )


def number(text: str | None) -> float | None:
    """The test's own reading of a coordinate text: a plain decimal number or nothing."""
    return float(text) if text is not None and NUMBER.fullmatch(text) else None


def iso(second: int) -> str:
    return f"2024-05-01T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"


coordinate_text = st.one_of(
    st.floats(-200, 200, allow_nan=False).map(repr),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["91", "-90.0000001", "180", "-180", "200", "90", "0", "4,8", "x48.1",
                     "1_0", "", "nan", "inf", "-Infinity", "1e308", "48.1.2", ".5", "5."]),
)  # fmt: skip
elevation_text = st.one_of(
    st.none(),
    st.floats(-1000, 10_000, allow_nan=False).map(repr),
    st.sampled_from(["1e308", "-1e308", "nan", "inf", "12,5", "x", "8849", "-430"]),
)
gpx_points = st.lists(
    st.tuples(coordinate_text, coordinate_text, elevation_text), min_size=1, max_size=12
)


def gpx(points: list[tuple[str, str, str | None]]) -> bytes:
    body = "".join(
        f'<trkpt lat="{lat}" lon="{lng}">'
        + ("" if ele is None else f"<ele>{ele}</ele>")
        + f"<time>{iso(i)}</time></trkpt>"
        for i, (lat, lng, ele) in enumerate(points)
    )
    return (
        '<?xml version="1.0"?><gpx version="1.1" creator="test" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        f"{body}</trkseg></trk></gpx>"
    ).encode()


def tcx(points: list[tuple[str, str, str | None]]) -> bytes:
    body = "".join(
        f"<Trackpoint><Time>{iso(i)}</Time><Position><LatitudeDegrees>{lat}</LatitudeDegrees>"
        f"<LongitudeDegrees>{lng}</LongitudeDegrees></Position>"
        + ("" if ele is None else f"<AltitudeMeters>{ele}</AltitudeMeters>")
        + "</Trackpoint>"
        for i, (lat, lng, ele) in enumerate(points)
    )
    return (
        '  <?xml version="1.0"?><TrainingCenterDatabase><Activities><Activity Sport="Running">'
        f'<Id>{iso(0)}</Id><Lap StartTime="{iso(0)}"><Track>{body}</Track></Lap></Activity>'
        "</Activities></TrainingCenterDatabase>"
    ).encode()


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    )
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(h)))


def check_track(track, given_pairs, given_elevations, given) -> None:
    """Every point is kept (time and all); a position is kept only as the pair given and
    only on the globe; elevations only finite and plausible; distance only from kept
    positions; dropped positions (``given``: the file wrote a position, readable or not)
    counted."""
    cols = track.columns
    assert len(track) == len(given_pairs)
    kept, dropped = [], 0
    for i, (lat, lng) in enumerate(given_pairs):
        stored = (cols["lat"][i], cols["lng"][i])
        assert cols["time"][i] == T0 + i
        if on_globe(lat, lng):
            assert stored == pytest.approx((lat, lng), abs=1e-6)
            kept.append(stored)
        else:
            assert math.isnan(stored[0]), (lat, lng, stored)
            assert math.isnan(stored[1]), (lat, lng, stored)
            dropped += given[i]
        height, ele = cols["altitude"][i], given_elevations[i]
        if not math.isnan(height):
            assert -500 <= height <= 9_000
            assert height == pytest.approx(ele)
        if ele is not None and LOWEST_LAND <= ele <= HIGHEST_LAND:
            assert height == pytest.approx(ele)  # every real elevation is kept
    assert track.dropped_positions == dropped
    assert track.latlng() == (list(kept[0]) if kept else None)
    total = track.total_distance() or 0.0
    assert math.isfinite(total)
    assert total <= sum(haversine(a, b) for a, b in itertools.pairwise(kept)) + 1


TEXT_FORMATS = {
    "x.gpx": (gpx, lambda lat, lng: True),  # lat and lon are attributes, always written
    "x.tcx": (tcx, lambda lat, lng: bool(lat or lng)),  # an empty element says nothing
}


@pytest.mark.parametrize("name", sorted(TEXT_FORMATS))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=gpx_points)
def test_a_text_track_position_is_kept_as_a_pair_on_the_globe_or_not_at_all(name, points):
    render, written = TEXT_FORMATS[name]
    track = parse_stream(name, io.BytesIO(render(points)))
    check_track(
        track,
        [(number(lat), number(lng)) for lat, lng, _e in points],
        [number(e) for *_p, e in points],
        [written(lat, lng) for lat, lng, _e in points],
    )


semicircle = st.one_of(
    st.none(),  # written as FIT's invalid marker, 0x7FFFFFFF
    st.integers(-(2**31), 2**31 - 2),
    st.sampled_from([2**30, 2**30 + 1, -(2**30) - 1, 2**31 - 2, -(2**31), 0]),
)
fit_altitude = st.one_of(st.none(), st.floats(-500, 12_000, allow_nan=False))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points=st.lists(st.tuples(semicircle, semicircle, fit_altitude), min_size=1, max_size=12))
def test_a_fit_position_in_semicircles_is_kept_on_the_globe_or_not_at_all(points):
    writer = FitWriter()
    writer.file_id(kind=4, manufacturer=1, product=1, serial=7, created=T0)
    writer.records(
        [
            Point(
                T0 + i,
                lat=None if lat is None else lat / SEMICIRCLES,
                lng=None if lng is None else lng / SEMICIRCLES,
                altitude=ele,
            )
            for i, (lat, lng, ele) in enumerate(points)
        ]
    )
    track = parse_stream("x.fit", io.BytesIO(writer.to_bytes()))
    degrees = [
        (None if a is None else a / SEMICIRCLES, None if b is None else b / SEMICIRCLES)
        for a, b, _e in points
    ]
    heights = [None if e is None else round((e + 500) * 5) / 5 - 500 for *_p, e in points]
    check_track(track, degrees, heights, [a is not None or b is not None for a, b in degrees])


def test_the_fit_invalid_marker_drops_the_pair():
    writer = FitWriter()
    writer.file_id(kind=4, manufacturer=1, product=1, serial=7, created=T0)
    writer.records([Point(T0, lat=None, lng=11.5), Point(T0 + 1, lat=48.1, lng=11.5)])
    data = bytearray(writer.to_bytes())
    assert FIT_INVALID_SINT32.to_bytes(4, "little") in data
    track = parse_stream("x.fit", io.BytesIO(bytes(data)))
    assert math.isnan(track.columns["lng"][0])
    assert track.latlng() == pytest.approx([48.1, 11.5])
    assert track.dropped_positions == 1


def test_an_import_stores_no_impossible_position_and_says_how_many_it_dropped(tmp_path):
    points = [("91", "200", "1e308"), ("4,8", "11.5", None), ("48.1", "11.5", "520"),
              ("48.1009", "11.5", "521"), ("x48.1", "11.6", None)]  # fmt: skip
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as z:
        z.writestr("activities.csv", csv_for([(101, "activities/1.gpx")]))
        z.writestr("activities/1.gpx", gpx(points))
    duck = Duck(tmp_path / "wh")
    report = duck.run(export, athlete_id=777)
    assert report.problem_count == 0
    assert report.dropped_positions == 3
    assert "3 impossible positions" in report.summary()
    [(start, distance)] = duck.rows("SELECT start_latlng, distance FROM activities WHERE id = 101")
    assert [float(x) for x in start] == [48.1, 11.5]
    assert distance == pytest.approx(haversine((48.1, 11.5), (48.1009, 11.5)), abs=1)
    stored = duck.rows("SELECT lat, lng, altitude FROM activity_streams ORDER BY point")
    assert len(stored) == len(points)  # every point kept, with its time
    for lat, lng, altitude in stored:
        assert (lat is None) == (lng is None)
        assert lat is None or (abs(lat) <= 90 and abs(lng) <= 180)
        assert altitude is None or LOWEST_LAND <= altitude <= HIGHEST_LAND


# --- a Strava export without its activities.csv ----------------------------------------

TIMED_ROUTE = gpx([("48.1", "11.5", None), ("48.2", "11.6", None)]).replace(
    b'creator="test"', b'creator="StravaGPX"'
)
TIMELESS_ROUTE = re.sub(rb"<time>[^<]*</time>", b"", TIMED_ROUTE)


def strava_export_without_csv(folder: Path) -> int:
    """A real-shaped Strava export with its activities.csv gone and routes in routes/;
    the number of activity files it still holds."""
    truth = write_export(folder, activities=12, anchor=ANCHOR, damage=False)
    (folder / "activities.csv").unlink()
    (folder / "routes" / "7001.gpx").write_bytes(TIMED_ROUTE)
    (folder / "routes" / "7002.gpx").write_bytes(TIMELESS_ROUTE)
    (folder / "media").mkdir()
    (folder / "media" / "a.jpg").write_bytes(b"\xff\xd8")
    (folder / "clubs").mkdir()
    (folder / "clubs" / "c.gpx").write_bytes(TIMED_ROUTE)
    return len(truth.files)


@pytest.mark.parametrize("as_zip", [False, True])
def test_a_strava_export_without_activities_csv_says_so_and_never_reads_its_routes(
    tmp_path, as_zip
):
    folder = tmp_path / "export"
    recordings = strava_export_without_csv(folder)
    path = folder
    if as_zip:
        path = Path(shutil.make_archive(str(tmp_path / "export"), "zip", folder))
    duck = Duck(tmp_path / "wh")
    report = duck.run(path)  # profile.csv names the athlete
    assert report.problem_count == 0  # a timeless route is not a failed activity
    assert report.inserted == recordings
    files = [r[0] for r in duck.rows("SELECT raw->>'_file' FROM activities")]
    assert not [f for f in files if not f.startswith("activities/")]
    [warning] = [w for w in report.all_warnings() if "activities.csv" in w]
    assert "Strava export" in warning
    assert "download the export again" in warning
    assert "\n" not in warning


def test_routes_alone_are_not_an_export_and_the_message_says_what_is_missing(tmp_path):
    folder = tmp_path / "export"
    strava_export_without_csv(folder)
    shutil.rmtree(folder / "activities")
    with pytest.raises(ExportError, match=r"looks like a Strava export.*no activities\.csv"):
        Duck(tmp_path / "wh").run(folder)


def test_a_folder_of_watch_files_gets_no_strava_warning(tmp_path):
    folder = tmp_path / "watch" / "GARMIN" / "Activity"
    folder.mkdir(parents=True)
    (folder / "a.gpx").write_bytes(TIMED_ROUTE)
    report = Duck(tmp_path / "wh").run(tmp_path / "watch", athlete_id=777)
    assert report.inserted == 1
    assert not report.all_warnings()


# --- the inflate budget -----------------------------------------------------------------

MiB = 1 << 20
GB = 10**9


@pytest.fixture(scope="module")
def small_bomb(tmp_path_factory) -> Path:
    """About 1 MB: five GPX members of 200 MiB each (1.05 GB in all), each under the
    per-file limit, so only the export's budget can stop them."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("activities.csv", csv_for([(100 + i, f"activities/{i}.gpx") for i in range(5)]))
        for i in range(5):
            with z.open(f"activities/{i}.gpx", "w", force_zip64=True) as member:
                member.write(b'<?xml version="1.0"?><gpx creator="x"><trk><trkseg>')
                for _ in range(200):
                    member.write(b" " * MiB)
                member.write(b"</trkseg></trk></gpx>")
    assert path.stat().st_size < 1.5 * 10**6
    return path


def test_a_1_mb_zip_never_makes_the_import_inflate_1_gb(small_bomb):
    inflated = 0
    refused = []
    with open_source(str(small_bomb)) as export:
        for entry in export.walk():
            try:
                with export.open(entry) as stream:
                    while chunk := stream.read(4 * MiB):
                        inflated += len(chunk)
            except UnreadableFile as error:
                refused.append(str(error))
    assert inflated < GB
    assert refused
    assert all("in all" in reason for reason in refused)


def test_a_small_bomb_loads_its_rows_and_names_the_members_it_stopped_at(small_bomb, tmp_path):
    duck = Duck(tmp_path / "wh")
    report = duck.run(small_bomb, athlete_id=777)
    assert report.inserted == 5  # the rows load; the bombed files do not
    reasons = dict(report.problems)
    # two members fit the 512 MiB budget (and hold no point); the budget stops the rest,
    # and never activities.csv, read alongside them
    assert set(reasons) == {"activities/2.gpx", "activities/3.gpx", "activities/4.gpx"}
    assert all("a zip bomb?" in reason for reason in reasons.values())


def test_a_day_long_recording_in_a_small_export_is_read_whole(tmp_path):
    """The budget is far above a real export: one 24-hour GPX at one point a second (the
    longest single recording a small export holds) inflates ~10x and is read whole."""
    points = [(f"{48 + i * 1e-6:.7f}", f"{11 + i * 1e-6:.7f}", "500.0") for i in range(86_400)]
    data = gpx(points)
    export = tmp_path / "day.zip"
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("activities.csv", csv_for([(101, "activities/1.gpx")]))
        z.writestr("activities/1.gpx", data)
    report = Duck(tmp_path / "wh").run(export, athlete_id=777)
    assert report.problem_count == 0
    assert report.points == 86_400
