"""An export is a file from outside: bombs, huge fields, odd paths, symlinks, XXE.

Bombs run in a fresh process (``hostile_driver``) whose peak memory (``VmHWM``) is read
before and after the import: each must stay within ``GROWTH_MB`` of the baseline, refuse
the file with the reason and load the rest. The rest run here.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nunis_ingest.errors import ExportError
from nunis_ingest.usecases.bulk_export import limits
from nunis_ingest.usecases.bulk_export.files import UnreadableFile, parse_stream
from strava_sandbox.data import generate_dataset
from strava_sandbox.export import _cells
from strava_sandbox.export_facts import EN_94
from strava_sandbox.export_files import fit_bytes, gpx_bytes, gz, tcx_bytes
from tests.export.helpers import ANCHOR, Duck

ATHLETE = 777
GROWTH_MB = 200
ROOT = Path(__file__).resolve().parents[2]
GPX_OK = gpx_bytes(
    next(
        a
        for a in generate_dataset(7, 1, 6, ANCHOR).athletes[0].activities
        if a.summary.get("start_latlng")
    )
)


def csv_for(rows: list[tuple[int, str]], extra: str = "") -> bytes:
    """A real English header and one row per (id, file name)."""
    lines = [",".join(EN_94)]
    for activity_id, filename in rows:
        cells = _cells(EN_94, {("Activity ID", 0): str(activity_id),
                               ("Activity Date", 0): '"Sep 12, 2018, 3:02:23 PM"',
                               ("Filename", 0): filename})  # fmt: skip
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n" + extra).encode()


def _gz_stream(head: bytes, chunk: bytes, count: int, tail: bytes = b"") -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    out = [packer.compress(head)]
    out += [packer.compress(chunk) for _ in range(count)]
    return b"".join([*out, packer.compress(tail), packer.flush()])


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bombs")
    out = {}
    # a zip member inflating to 1 GiB
    path = root / "zipbomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr(
            "activities.csv", csv_for([(101, "activities/1.gpx"), (102, "activities/2.gpx")])
        )
        z.writestr("activities/2.gpx", GPX_OK)
        with z.open("activities/1.gpx", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><gpx creator="x">')
            for _ in range(1024):
                member.write(b" " * (1 << 20))
    out["zip member to 1 GiB"] = path
    # a .gpx.gz inflating to 1 GiB
    path = root / "gzbomb.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(
            "activities.csv", csv_for([(101, "activities/1.gpx.gz"), (102, "activities/2.gpx")])
        )
        z.writestr("activities/2.gpx", GPX_OK)
        z.writestr("activities/1.gpx.gz", _gz_stream(b"<gpx>", b" " * (1 << 20), 1024))
    out["gz to 1 GiB"] = path
    # 10 million GPX points and 5 million TCX points, each well under a megabyte gzipped
    path = root / "points.zip"
    point = b'<trkpt lat="1.5" lon="2.5"/>' * 1000
    tcx = b"<Trackpoint><Time>2026-01-01T00:00:00Z</Time></Trackpoint>" * 1000
    with zipfile.ZipFile(path, "w") as z:
        rows = [
            (101, "activities/1.gpx.gz"),
            (102, "activities/2.tcx.gz"),
            (103, "activities/3.gpx"),
        ]
        z.writestr("activities.csv", csv_for(rows))
        z.writestr("activities/1.gpx.gz", _gz_stream(b"<gpx><trk><trkseg>", point, 10_000))
        z.writestr(
            "activities/2.tcx.gz", _gz_stream(b"<TrainingCenterDatabase><Lap><Track>", tcx, 5_000)
        )
        z.writestr("activities/3.gpx", GPX_OK)
    out["10M points"] = path
    # one 50 MB line in activities.csv
    path = root / "csvline.zip"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z,
        z.open("activities.csv", "w", force_zip64=True) as member,
    ):
        member.write(csv_for([(101, "")]))
        member.write(b'102,"Sep 12, 2018, 3:02:23 PM",')
        for _ in range(50):
            member.write(b"x" * (1 << 20))
        member.write(b"\n" + csv_for([(103, "")]).split(b"\n", 1)[1])
    out["50 MB csv line"] = path
    return out


def _run(export: Path, workdir: Path) -> dict:
    workdir.mkdir()
    command = [sys.executable, "-m", "tests.export.hostile_driver"]
    done = subprocess.run(
        [*command, str(export), str(workdir), str(ATHLETE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("case", "refused", "loaded"),
    [
        ("zip member to 1 GiB", "inflates past 268,435,456 bytes", 2),
        ("gz to 1 GiB", "inflates past 268,435,456 bytes", 2),
        ("10M points", "more than 500,000 track points", 3),
        ("50 MB csv line", "longer than", 2),
    ],
)
def test_bombs_are_refused_per_file_in_bounded_memory(bombs, tmp_path, case, refused, loaded):
    got = _run(bombs[case], tmp_path / "work")
    assert "error" not in got
    assert got["inserted"] == loaded
    reasons = [reason for _name, reason in got["problems"]]
    assert reasons
    assert all(refused in reason for reason in reasons)
    assert got["after_mb"] - got["before_mb"] < GROWTH_MB, got
    assert got["archived_bytes"] < 2 * 1024 * 1024  # no bomb archived


def _zip(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return path


def test_zip_slip_names_and_symlinks_are_refused_and_nothing_is_written(tmp_path):
    export = _zip(
        tmp_path / "slip.zip",
        {
            "activities.csv": csv_for(
                [
                    (101, "../../evil.gpx"),
                    (102, "/abs/evil.gpx"),
                    (103, "activities/link.gpx"),
                    (104, "activities/ok.gpx"),
                ]
            ),
            "../../evil.gpx": GPX_OK,
            "/abs/evil.gpx": GPX_OK,
            "activities/ok.gpx": GPX_OK,
        },
        links={"activities/link.gpx": "/etc/passwd"},
    )
    before = set(tmp_path.parent.iterdir())
    duck = Duck(tmp_path / "wh")
    report = duck.run(export, athlete_id=ATHLETE)
    reasons = dict(report.problems)
    assert "unsafe path" in reasons["../../evil.gpx"]
    assert "unsafe path" in reasons["/abs/evil.gpx"]
    assert "symlink" in reasons["activities/link.gpx"]
    assert report.inserted == 4  # every row loads; only its file is refused
    assert set(duck.points(ATHLETE)) == {104}
    assert set(tmp_path.parent.iterdir()) == before
    assert not (tmp_path / "evil.gpx").exists()


def test_folder_symlinks_and_non_files_are_not_followed(tmp_path):
    folder = tmp_path / "export"
    (folder / "activities").mkdir(parents=True)
    (folder / "activities.csv").write_bytes(
        csv_for(
            [
                (101, "activities/out.gpx"),
                (102, "activities/fifo.gpx"),
                (103, "activities/../../secret.gpx"),
                (104, "activities/ok.gpx"),
            ]
        )
    )
    (tmp_path / "secret.gpx").write_bytes(GPX_OK)
    (folder / "activities" / "out.gpx").symlink_to(tmp_path / "secret.gpx")
    os.mkfifo(folder / "activities" / "fifo.gpx")
    (folder / "activities" / "ok.gpx").write_bytes(GPX_OK)
    duck = Duck(tmp_path / "wh")
    report = duck.run(folder, athlete_id=ATHLETE)
    reasons = dict(report.problems)
    assert "symlink" in reasons["activities/out.gpx"]
    assert "not a regular file" in reasons["activities/fifo.gpx"]
    assert "unsafe path" in reasons["activities/../../secret.gpx"]
    assert set(duck.points(ATHLETE)) == {104}


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<gpx><trk><name>&xxe;</name><trkseg><trkpt lat="1" lon="2"><time>2026-01-01T00:00:00Z</time>
</trkpt></trkseg></trk></gpx>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<TrainingCenterDatabase><Activities><Activity Sport="Running"><Id>&lol3;</Id>
</Activity></Activities></TrainingCenterDatabase>"""


@pytest.mark.parametrize(
    ("name", "data"), [("x.gpx", XXE), ("x.tcx", LAUGHS), ("x.gpx.gz", gz(XXE))]
)
def test_xxe_and_entity_bombs_are_refused(name, data):
    with pytest.raises(UnreadableFile, match="DOCTYPE"):
        parse_stream(name, io.BytesIO(data))


def test_too_many_zip_entries_and_zips_nested_too_deep(tmp_path, monkeypatch):
    export = _zip(tmp_path / "many.zip", {f"activities/{i}.fit": b"" for i in range(12)})
    monkeypatch.setattr(limits, "MAX_MEMBERS", 10)
    duck = Duck(tmp_path / "wh")
    with pytest.raises(ExportError, match="12 entries; the limit is 10"):
        duck.run(export, athlete_id=ATHLETE)
    monkeypatch.undo()
    inner = fit_bytes(generate_dataset(7, 1, 3, ANCHOR).athletes[0].activities[0])
    data = {"a.fit": inner}
    for depth in range(4):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, blob in data.items():
                z.writestr(name, blob)
        data = {f"level{depth}.zip": buf.getvalue()}
    (tmp_path / "deep.zip").write_bytes(next(iter(data.values())))
    report = duck.run(tmp_path / "deep.zip", athlete_id=ATHLETE)
    assert report.inserted == 0
    assert any("nested too deep" in reason for _n, reason in report.problems)


ACTIVITY = generate_dataset(7, 1, 3, ANCHOR).athletes[0].activities[0]
SAMPLES = {"x.fit": fit_bytes(ACTIVITY), "x.gpx": gpx_bytes(ACTIVITY), "x.tcx": tcx_bytes(ACTIVITY)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from([*SAMPLES, "x.fit.gz", "x.gpx.gz"]),
    cuts=st.lists(st.tuples(st.integers(0, 30_000), st.binary(max_size=8)), max_size=4),
    keep=st.integers(0, 40_000),
)
def test_any_damage_to_a_file_is_an_unreadable_file_or_a_track(name, cuts, keep):
    data = bytearray(SAMPLES[name.removesuffix(".gz")])
    for at, junk in cuts:
        data[at % len(data) : at % len(data) + len(junk)] = junk
    blob = bytes(data[: max(1, keep)])
    if name.endswith(".gz"):
        blob = gz(blob)[: max(1, keep // 3)]
    try:
        track = parse_stream(name, io.BytesIO(blob))
    except UnreadableFile:
        return
    assert len(track) <= limits.MAX_POINTS


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=3000))
def test_any_activities_csv_loads_what_it_can_or_says_why(tmp_path_factory, body):
    root = tmp_path_factory.mktemp("csv")
    export = _zip(root / "x.zip", {"activities.csv": body})
    duck = Duck(root / "wh")
    try:
        report = duck.run(export, athlete_id=ATHLETE)
    except ExportError as error:
        failed = str(error)
    else:
        assert report.inserted + report.problem_count <= report.rows
        return
    assert "Fix:" in failed


def test_a_tag_without_end_is_refused_before_expat_holds_it(tmp_path):
    huge = b'<?xml version="1.0"?><gpx creator="' + b"x" * (3 << 20) + b'"></gpx>'
    with pytest.raises(UnreadableFile, match="a tag longer than"):
        parse_stream("x.gpx", io.BytesIO(huge))
    spaces = (
        b"<gpx>" + b" " * (3 << 20) + b"<trk><trkseg><trkpt lat='1' lon='2'/></trkseg></trk></gpx>"
    )
    assert len(parse_stream("x.gpx", io.BytesIO(spaces))) == 1  # long text is not a tag


def test_an_activities_csv_damaged_in_the_middle_keeps_the_rows_before(tmp_path):
    rows = [(1000 + i, "") for i in range(3000)]
    path = _zip(tmp_path / "x.zip", {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("activities.csv", csv_for(rows))
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 40] = bytes(40)
    path.write_bytes(bytes(raw))
    duck = Duck(tmp_path / "wh")
    report = duck.run(path, athlete_id=ATHLETE)
    assert 0 < report.inserted < len(rows)
    assert report.problems[-1][0] == "activities.csv"
    assert "the rest was not read" in report.problems[-1][1]
    assert duck.warehouse.count_activities(ATHLETE) == report.inserted
