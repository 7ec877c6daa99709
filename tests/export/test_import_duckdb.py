"""Exports with real headers (every generation in the facts), damaged and missing files
and rows no importer may load, imported into DuckDB and checked against the generator's
truth; importing twice changes nothing."""

from __future__ import annotations

import pytest

from strava_sandbox.export import write_export
from tests.export.helpers import ANCHOR, Duck, check_import

FULL = ("en94", "de92", "fr103")
OTHERS = ("en103", "en87", "de101", "es94", "it94")


@pytest.mark.parametrize("generation", FULL)
def test_real_headers_import_completely_with_damaged_files_and_twice_changes_nothing(
    tmp_path, generation
):
    truth = write_export(
        tmp_path / "export.zip",
        activities=45,
        anchor=ANCHOR,
        generation=generation,
        with_bad_rows=True,
    )
    assert len(truth.damaged) == 6
    assert truth.missing
    duck = Duck(tmp_path / "wh")
    report = duck.run(tmp_path / "export.zip")  # no --athlete: profile.csv names it
    check_import(duck, report, truth)
    assert report.inserted == len(truth.activities)
    assert report.laps > 0
    before = duck.activities(truth.athlete_id)
    again = duck.run(tmp_path / "export.zip", athlete_id=truth.athlete_id)
    assert (again.inserted, again.points, again.laps) == (0, 0, 0)
    assert again.unchanged == len(truth.activities)
    assert duck.activities(truth.athlete_id) == before
    assert duck.points(truth.athlete_id) == truth.points


@pytest.mark.parametrize("generation", OTHERS)
def test_other_generations_and_unknown_languages_load(tmp_path, generation):
    truth = write_export(
        tmp_path / "export", activities=36, anchor=ANCHOR, generation=generation, damage=False
    )
    duck = Duck(tmp_path / "wh")
    report = duck.run(tmp_path / "export")
    check_import(duck, report, truth)
    if generation == "it94":
        assert len(report.warnings) == 1
        assert "by position" in report.warnings[0]
    else:
        assert report.warnings == []


def test_excel_unicode_text_and_a_line_that_is_not_utf8(tmp_path):
    """A UTF-16, tab-separated activities.csv (Excel's "Unicode text") reads like the
    original; a row re-saved as Windows-1252 loads, with one warning."""
    truth = write_export(
        tmp_path / "u16", activities=12, anchor=ANCHOR, damage=False, encoding="utf-16"
    )
    duck = Duck(tmp_path / "wh")
    check_import(duck, duck.run(tmp_path / "u16"), truth)

    truth = write_export(
        tmp_path / "cp", activities=12, anchor=ANCHOR, damage=False, with_bad_rows=True
    )
    duck = Duck(tmp_path / "wh2")
    report = duck.run(tmp_path / "cp")
    assert truth.recoded_name is not None
    activity_id, name = truth.recoded_name
    assert duck.activities(truth.athlete_id)[activity_id]["name"] == name
    assert any("Windows-1252" in w for w in report.warnings)


def test_templated_exports_read_like_faithful_ones(tmp_path):
    """The benchmark's export (each kind of file built once) is an export like the others."""
    truth = write_export(tmp_path / "t.zip", activities=30, anchor=ANCHOR, templated=True)
    duck = Duck(tmp_path / "wh")
    report = duck.run(tmp_path / "t.zip")
    assert report.problem_count == 0
    assert report.inserted == len(truth.activities)
    assert duck.points(truth.athlete_id) == truth.points


def test_a_file_with_no_recording_is_skipped_not_a_problem(tmp_path):
    """An indoor activity's GPX with no point is well formed: its row loads, the file is
    counted as skipped, and the import exits clean."""
    truth = write_export(tmp_path / "export", activities=12, anchor=ANCHOR, damage=False)
    activity_id, name = next((i, n) for i, n in truth.files.items() if n.endswith(".gpx"))
    (tmp_path / "export" / name).write_bytes(
        b'<?xml version="1.0"?><gpx creator="StravaGPX"><trk><trkseg></trkseg></trk></gpx>'
    )
    duck = Duck(tmp_path / "wh")
    report = duck.run(tmp_path / "export")
    assert (report.skipped, report.problem_count) == (1, 0)
    assert activity_id in duck.activities(truth.athlete_id)
    assert activity_id not in duck.points(truth.athlete_id)


def test_an_activities_csv_re_saved_with_semicolons_and_windows_line_ends(tmp_path):
    """Excel in a decimal-comma locale saves CSV with semicolons (and CRLF)."""
    import csv
    import io

    truth = write_export(tmp_path / "x", activities=12, anchor=ANCHOR, generation="de92",
                         damage=False)  # fmt: skip
    path = tmp_path / "x" / "activities.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    duck = Duck(tmp_path / "wh")
    check_import(duck, duck.run(tmp_path / "x"), truth)
