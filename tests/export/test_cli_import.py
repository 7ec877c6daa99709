"""``nunis-ingest import`` as a user runs it (a real process): one summary line, one line
per file or row not read, documented exit codes, and every failure one line with its fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from strava_sandbox.export import write_export
from tests.export.helpers import ANCHOR

ROOT = Path(__file__).resolve().parents[2]


def nunis(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUNIS_", "STRAVA_"))}
    env["NUNIS_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "nunis_ingest", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_damaged_german_export_loads_lists_what_it_could_not_read_and_exits_3(tmp_path):
    truth = write_export(tmp_path / "export.zip", activities=40, anchor=ANCHOR, generation="de92")
    done = nunis(tmp_path, "import", str(tmp_path / "export.zip"))
    assert done.returncode == 3, done.stderr
    assert f"{len(truth.activities)} activities written" in done.stdout
    assert "(de)" in done.stdout
    not_read = [line for line in done.stderr.splitlines() if line.startswith("not read: ")]
    assert len(not_read) == len(truth.damaged) + len(truth.missing)
    for name in [*truth.damaged, *truth.missing]:
        assert any(name in line for line in not_read)
    assert "Traceback" not in done.stderr
    again = nunis(tmp_path, "import", str(tmp_path / "export.zip"))
    assert "0 activities written" in again.stdout


def test_a_clean_export_exits_0(tmp_path):
    write_export(tmp_path / "export", activities=10, anchor=ANCHOR, damage=False)
    done = nunis(tmp_path, "import", str(tmp_path / "export"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("make", "args", "expected"),
    [
        ("folder", (), "is not an activity export: no activities.csv and no FIT, GPX or TCX"),
        ("missing", (), "no such file or folder"),
        ("notzip", (), "is not a readable zip file"),
        ("mismatch", ("--athlete", "42"), "profile.csv names athlete 1000000, --athlete says 42"),
        ("noathlete", (), "does not say whose activities it holds (no profile.csv)"),
        ("onecolumn", (), "activities.csv is not a Strava activities.csv"),
    ],
)
def test_every_failure_is_one_line_with_its_fix_and_nothing_is_written(
    tmp_path, make, args, expected
):
    path = tmp_path / "in"
    if make == "folder":
        (path / "photos").mkdir(parents=True)
    elif make == "notzip":
        path = tmp_path / "export.zip"
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif make in ("mismatch", "noathlete", "onecolumn"):
        write_export(path, activities=5, anchor=ANCHOR, damage=False)
        if make == "noathlete":
            (path / "profile.csv").unlink()
        if make == "onecolumn":
            (path / "activities.csv").write_text("nothing here\n1\n")
    done = nunis(tmp_path, "import", str(path), *args)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: ")
    assert expected in lines[0]
    assert " Fix: " in lines[0]
    assert "unexpected" not in lines[0]
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").rglob("*.json"))
