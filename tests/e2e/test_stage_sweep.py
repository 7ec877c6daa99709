"""A run killed mid-stage leaves its staged file behind; the next run sweeps it.

``kill -9`` gives a run no chance to delete its temporary NDJSON stage (0.6-3.5 MB per
run). The files are created where the next run looks (``<temp>/nunis-stage``), named
by the process that made them, and a new batch deletes those whose process is gone.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.e2e.cli_run import spawn
from tests.e2e.conftest import register

LISTING = "/api/v3/athlete/activities"


def _staged(tmp: Path) -> list[Path]:
    return sorted(tmp.rglob("nunis-*.ndjson"))


def test_next_run_sweeps_what_a_killed_run_staged(
    sandbox: Any, rt: Any, app_env: dict[str, str], tmp_path: Path
) -> None:
    sandbox.reset(seed=7, athletes=2, activities=900)
    athlete, other = sandbox.athletes()[:2]
    athlete_id = register(rt, athlete, details=False)
    other_id = register(rt, other, details=False)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = app_env | {"TMPDIR": str(tmp)}
    sandbox.add_fault(kind="delay", path=LISTING, delay=60, after=2)  # stall on page 3
    killed = spawn(env, "sync", "--mode", "all", "--athlete", str(athlete_id))
    try:
        deadline = time.monotonic() + 60
        while not _staged(tmp) and time.monotonic() < deadline and killed.poll() is None:
            time.sleep(0.05)
        left = _staged(tmp)
        assert left, "the run staged rows before it stalled"
    finally:
        killed.kill()  # SIGKILL: no cleanup runs
        killed.wait(timeout=30)
    assert all(path.exists() for path in left)  # what the killed run left behind

    sandbox.clear_faults()  # the killed run's lease stands; the next run is another athlete's
    after = spawn(env, "sync", "--mode", "all", "--athlete", str(other_id))
    out, err = after.communicate(timeout=120)
    assert after.returncode == 0, err
    assert "success (all)" in out
    assert not any(path.exists() for path in left)
    assert _staged(tmp) == []  # and the new run cleaned up after itself
