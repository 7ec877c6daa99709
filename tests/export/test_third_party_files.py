"""Files written by encoders we do not control (``fit-tool`` for FIT, ``gpxpy`` for GPX)
read as the recordings they hold."""

from __future__ import annotations

import datetime as dt
import io

import gpxpy.gpx
import pytest
from fit_tool.fit_file_builder import FitFileBuilder
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.profile_type import FileType, Manufacturer

from nunis_ingest.usecases.bulk_export.files import parse_stream
from strava_sandbox.data import generate_dataset
from strava_sandbox.export_files import series
from tests.export.helpers import ANCHOR

ACTIVITY = next(
    a
    for a in generate_dataset(7, 1, 10, ANCHOR).athletes[0].activities
    if a.summary.get("start_latlng")
)
S = series(ACTIVITY)
N = 120  # fit-tool takes ~1 ms a record: a part of the recording is enough


def fit_tool_bytes() -> bytes:
    builder = FitFileBuilder(auto_define=True)
    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.WAHOO_FITNESS.value
    file_id.serial_number = 123456
    file_id.time_created = ACTIVITY.start * 1000
    builder.add(file_id)
    for i in range(N):
        record = RecordMessage()
        record.timestamp = (ACTIVITY.start + S["time"][i]) * 1000
        record.position_lat, record.position_long = S["latlng"][i]
        record.distance = S["distance"][i]
        record.heart_rate = S["heartrate"][i] if "heartrate" in S else None
        builder.add(record)
    return bytes(builder.build().to_bytes())


def gpxpy_bytes() -> bytes:
    gpx = gpxpy.gpx.GPX()
    track, segment = gpxpy.gpx.GPXTrack(), gpxpy.gpx.GPXTrackSegment()
    gpx.tracks.append(track)
    track.segments.append(segment)
    for i in range(N):
        lat, lng = S["latlng"][i]
        when = dt.datetime.fromtimestamp(ACTIVITY.start + S["time"][i], dt.UTC)
        segment.points.append(gpxpy.gpx.GPXTrackPoint(lat, lng, S["altitude"][i], when))
    return gpx.to_xml().encode()


@pytest.mark.parametrize(("name", "make"), [("x.fit", fit_tool_bytes), ("x.gpx", gpxpy_bytes)])
def test_a_third_party_file_reads_point_for_point(name, make):
    track = parse_stream(name, io.BytesIO(make()))
    assert len(track) == N
    cols = track.columns
    for i in (0, N // 2, N - 1):
        lat, lng = S["latlng"][i]
        assert cols["lat"][i] == pytest.approx(lat, abs=1e-5)
        assert cols["lng"][i] == pytest.approx(lng, abs=1e-5)
        assert cols["time"][i] == ACTIVITY.start + S["time"][i]
    if name.endswith(".fit"):
        assert track.manufacturer == "wahoo_fitness"
        assert track.serial_number == 123456
        assert cols["distance"][N - 1] == pytest.approx(S["distance"][N - 1], abs=0.01)
