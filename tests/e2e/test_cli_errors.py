"""Every failure a person can hit in the CLI: one line naming the problem and the fix.

Each test drives the real CLI (click's runner, or the installed script as a subprocess)
against real files, a real DuckDB file held by a second process, the Strava sandbox and
the Cloud Storage stand-in, and checks the exit code, the single stderr line and that no
traceback (without --debug) and no secret reaches the terminal.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nunis_ingest.runtime import get_runtime
from tests.e2e.cli_run import one_error_line, run, spawn
from tests.e2e.conftest import register


def test_bad_setting_is_one_line_exit_2(app_env):
    result = run(app_env | {"NUNIS_LOOKBACK_DAYS": "a week"}, "status")
    assert result.exit_code == 2
    one_error_line(result.stderr, "NUNIS_LOOKBACK_DAYS", "a week", "Fix:")


def test_missing_app_credentials_is_one_line_exit_2(app_env):
    env = {k: v for k, v in app_env.items() if k != "STRAVA_CLIENT_SECRET"}
    result = run(env | {"STRAVA_CLIENT_SECRET": ""}, "auth", "--no-browser", "--timeout", "1")
    assert result.exit_code == 2
    one_error_line(result.stderr, "STRAVA_CLIENT_SECRET")


def test_data_dir_that_is_a_file(app_env, tmp_path):
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    env = app_env | {"NUNIS_DATA_DIR": str(a_file)}
    for args in (("status",), ("athlete", "list"), ("sync", "--no-progress")):
        result = run(env, *args)
        assert result.exit_code == 2, (args, result.output)
        one_error_line(result.stderr, str(a_file), "NUNIS_DATA_DIR", "Fix:")
    added = run(env, "athlete", "add", "5", "--refresh-token", "r" * 40)
    assert added.exit_code == 2
    one_error_line(added.stderr, "NUNIS_DATA_DIR", forbidden=("r" * 40,))


def test_no_athletes_says_what_to_do_exit_2(app_env):
    result = run(app_env, "sync", "--no-progress")
    assert result.exit_code == 2
    one_error_line(result.stderr, "No athletes configured", "nunis-ingest auth")


def _corrupt(app_env: dict[str, str], athlete_id: int, name: str, data: bytes) -> None:
    path = Path(app_env["NUNIS_DATA_DIR"]) / "athletes" / str(athlete_id) / name
    path.write_bytes(data)


def test_a_corrupt_state_file_is_set_aside_and_that_athlete_reloads(sandbox, rt, app_env):
    _, bad = (register(rt, a) for a in sandbox.athletes()[:2])
    assert run(app_env, "sync", "--no-progress").exit_code == 0
    secret = sandbox.athletes()[1]["refresh_token"]
    _corrupt(app_env, bad, "state.json", b'{"refresh_token": "' + secret.encode() + b'", oops')
    synced = run(app_env, "sync", "--no-progress")
    assert synced.exit_code == 0, synced.output
    assert f"athlete {bad}: success (all)" in synced.stdout  # a full load from a fresh state
    assert f"quarantine/athletes/{bad}/state.json" in synced.stderr  # said without -v
    assert secret not in synced.output
    assert run(app_env, "status").exit_code == 0


@pytest.mark.parametrize("name", ["config.json", "token.json"])
def test_corrupt_file_fails_that_athlete_only(sandbox, rt, app_env, name):
    good, bad = (register(rt, a) for a in sandbox.athletes()[:2])
    first = run(app_env, "sync", "--no-progress")  # both fine: state.json now exists
    assert first.exit_code == 0, first.output
    secret = sandbox.athletes()[1]["refresh_token"]
    _corrupt(app_env, bad, name, b'{"refresh_token": "' + secret.encode() + b'", oops')

    synced = run(app_env, "sync", "--no-progress")
    assert synced.exit_code == 1, synced.output
    line = one_error_line(synced.stderr, f"athlete {bad}: failed", name.split(".")[0], "Fix:")
    assert secret not in synced.output
    assert f"athlete {good}: success" in synced.stdout  # the good athlete still synced
    assert synced.stdout.strip().splitlines()[-1] == "2 athletes: 1 ok, 1 failed"
    assert "Traceback" not in line

    status = run(app_env, "status")
    assert status.exit_code == 1, status.output
    one_error_line(status.stderr, "1 of 2 athletes could not be read", str(bad))
    blocks = ("\n" + status.stdout).split("\nathlete ")
    mine = next(b for b in blocks if b.startswith(str(bad)))
    other = next(b for b in blocks if b.startswith(str(good)))
    assert "error" in mine
    assert name in mine
    assert "Fix:" in mine
    assert "health          ok" in other
    assert "activities      " in other
    assert "unavailable" not in other
    assert secret not in status.output
    listed = run(app_env, "athlete", "list")
    assert listed.exit_code == (1 if name == "config.json" else 0)
    assert f"{good}\t" in listed.stdout  # listed, whatever the other's config holds
    if name == "config.json":
        assert f"{bad}\t(unreadable: " in listed.stdout
    debug = run(app_env, "--debug", "sync", "--no-progress")  # the traceback, still no token
    assert "Traceback" in debug.stderr
    assert secret not in debug.output


def _hold_duckdb(path: Path) -> subprocess.Popen[str]:
    """A second process that opens the DuckDB file and keeps it (DuckDB's file lock)."""
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
        "print('ready', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "ready"
    return holder


def test_duckdb_file_locked_by_another_process(sandbox, rt, app_env):
    app_env = app_env | {"NUNIS_DUCKDB_LOCK_WAIT_SECONDS": "1"}  # the bounded wait, shortened
    aid = register(rt, sandbox.athletes()[0])
    assert run(app_env, "sync", "--no-progress").exit_code == 0
    rt.warehouse.close()  # type: ignore[attr-defined]
    get_runtime(app_env).warehouse.close()  # type: ignore[attr-defined]  (the runner's)
    holder = _hold_duckdb(rt.settings.duckdb_file)
    try:
        status = run(app_env, "status")
        assert status.exit_code == 1, status.output
        one_error_line(status.stderr, "warehouse unavailable", str(rt.settings.duckdb_file))
        assert "activities      unavailable:" in status.stdout
        assert "health          ok" in status.stdout  # config and state still shown
        assert "cursor          20" in status.stdout

        as_json = run(app_env, "status", "--json")
        assert as_json.exit_code == 1
        (item,) = json.loads(as_json.stdout)
        assert item["athlete_id"] == aid
        assert item["activities"] is None
        assert "DuckDB file" in item["warehouse_error"]
        assert item["cursor"]

        sandbox.add_activity(aid, name="while locked")  # a sync that must write
        synced = run(app_env, "sync", "--no-progress")
        assert synced.exit_code == 1, synced.output
        one_error_line(synced.stderr, f"athlete {aid}: failed (retry later)", "DuckDB", "Fix:")
        assert synced.stdout.strip().splitlines()[-1] == "1 athlete: 0 ok, 1 failed"
    finally:
        holder.kill()
        holder.wait()


def test_not_a_duckdb_file_is_one_line_and_debug_shows_the_traceback(rt, app_env, tmp_path):
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_bytes(b"this is not a database" * 100)
    env = app_env | {"NUNIS_DUCKDB_PATH": str(bogus)}
    register_env = run(env, "athlete", "add", "9", "--refresh-token", "x" * 30, "--label", "Z")
    assert register_env.exit_code == 0
    purge = run(env, "athlete", "remove", "9", "--purge", "--yes")
    assert purge.exit_code == 1
    one_error_line(
        purge.stderr,
        "is not a DuckDB database",
        "Fix: point NUNIS_DUCKDB_PATH",
        forbidden=("x" * 30,),
    )
    listed = run(env, "--debug", "athlete", "list")  # still registered; nothing wrong here
    assert listed.exit_code == 0
    assert "Traceback" not in listed.output
    assert "9\tZ" in listed.stdout
    debug = run(env, "--debug", "athlete", "remove", "9", "--purge", "--yes")
    assert debug.exit_code == 1
    assert debug.stderr.startswith("Traceback")
    assert debug.stderr.rstrip().splitlines()[-1] == purge.stderr.strip()


def test_missing_bucket_on_gcp(sandbox, gcs_endpoint, tmp_path):
    app = sandbox.app()
    env = {
        "NUNIS_BACKEND": "gcp",
        "NUNIS_BUCKET": "no-such-bucket-for-nunis",
        "NUNIS_DATASET": "nunis_absent",
        "NUNIS_PROJECT": "test-project",
        "NUNIS_LOG_FORMAT": "console",
        "STORAGE_EMULATOR_HOST": gcs_endpoint,
        "NUNIS_STRAVA_BASE_URL": sandbox.base_url,
        "STRAVA_CLIENT_ID": str(app["client_id"]),
        "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
    }
    result = run(env, "status")
    assert result.exit_code == 2, result.output
    one_error_line(result.stderr, "not found", "NUNIS_BUCKET", forbidden=(app["client_secret"],))


def test_strava_unreachable(rt, app_env, sandbox):
    aid = register(rt, sandbox.athletes()[0])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    started = time.monotonic()
    result = run(app_env | {"NUNIS_STRAVA_BASE_URL": dead}, "sync", "--no-progress")
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    one_error_line(result.stderr, f"athlete {aid}: failed (retry later)", "Fix:")


def test_ctrl_c_is_one_line_exit_130(app_env):
    process = spawn(app_env, "auth", "--no-browser", "--timeout", "60")
    try:
        assert process.stdout is not None
        assert "Open this URL" in process.stdout.readline()
        process.stdout.readline()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    one_error_line(stderr, "Interrupted")


def test_python_dash_m_offers_every_command(app_env):
    for module in ("nunis_ingest.drivers.cli.main", "nunis_ingest"):
        shown = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60
        )
        assert shown.returncode == 0, shown.stderr
        for command in ("auth", "athlete", "sync", "status", "webhook"):
            assert f"  {command} " in shown.stdout, (module, shown.stdout)
        assert "Exit codes" in shown.stdout
        assert "--debug" in shown.stdout
    args = (
        "athlete",
        "add",
        "77",
        "--refresh-token",
        "r" * 30,
        "--scope",
        "read,activity:read_all",
    )
    listed = spawn(app_env, *args, module=True)
    said = listed.communicate(timeout=60)[1].splitlines()
    assert [line[:60] for line in said] == [  # only the note that a typed scope is a claim
        "warning: athlete 77: the scope was given with --scope, not s"
    ]
    assert listed.returncode == 0
    hooks = spawn(app_env, "webhook", "list", module=True)  # the group added last
    out, err = hooks.communicate(timeout=60)
    assert hooks.returncode == 0, err
    assert "No subscription at Strava." in out


def test_a_reader_that_stops_early_is_not_an_error(sandbox, rt, app_env):
    """`nunis-ingest status | head -1`: the reader may close the pipe before we write; that
    is no failure (exit 0, nothing on stderr)."""
    for athlete_id in (11, 12, 13):
        assert run(app_env, "athlete", "add", str(athlete_id), "--refresh-token", "t" * 30)
    shown = spawn(app_env, "status")
    assert shown.stdout is not None
    assert shown.stderr is not None
    shown.stdout.close()  # the reader is gone before the first line is written
    err = shown.stderr.read()
    assert shown.wait(timeout=60) == 0, err
    assert err == ""


def test_a_sync_meeting_another_runs_lease_is_skipped_not_failed(sandbox, rt, app_env):
    from nunis_ingest.usecases.lease import Lease

    aid = register(rt, sandbox.athletes()[0])
    held = Lease(rt.store, aid, "another-run", time.time(), 600, local=True).acquire()
    try:  # held by this live process: another run that is going
        synced = run(app_env, "sync", "--no-progress")
    finally:
        held.release()
    assert synced.exit_code == 0, synced.output  # cron mails no error for a covered poll
    assert f"athlete {aid}: skipped" in synced.stderr
    assert (
        synced.stdout.strip().splitlines()[-1] == "1 athlete: 0 ok, 1 held by another run, 0 failed"
    )
