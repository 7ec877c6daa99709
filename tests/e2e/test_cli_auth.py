"""`nunis-ingest auth` as a person meets it: the installed script in a subprocess, the
sandbox playing Strava and the browser (a GET of the printed URL follows its redirects)."""

from __future__ import annotations

import subprocess
import time

import requests

from tests.e2e.cli_run import one_error_line, run, spawn
from tests.e2e.conftest import register


def _start_auth(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], str]:
    process = spawn(env, "auth", "--no-browser", "--timeout", "30", *extra)
    assert process.stdout is not None
    assert "Open this URL" in process.stdout.readline()
    return process, process.stdout.readline().strip()


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


def test_auth_saves_the_athlete(app_env, sandbox):
    process, url = _start_auth(app_env)
    assert requests.get(url, timeout=10).status_code == 200
    out, err = _finish(process)
    assert process.returncode == 0, err
    assert "authorised with scope read,activity:read_all" in out
    listed = run(app_env, "athlete", "list")
    assert str(sandbox.athletes()[0]["id"]) in listed.stdout


def test_cancel_in_the_browser_is_one_line(app_env):
    process, url = _start_auth(app_env)
    page = requests.get(url + "&deny=1", timeout=10)
    assert page.status_code == 200
    assert "cancelled" in page.text
    _, err = _finish(process)
    assert process.returncode == 1
    one_error_line(
        err, "Authorisation was cancelled in the browser", "run `nunis-ingest auth` again"
    )


def test_callback_without_code_is_one_line(app_env):
    process, url = _start_auth(app_env)
    port = url.split("redirect_uri=http%3A%2F%2F127.0.0.1%3A")[1].split("%2F")[0]
    state = url.split("state=")[1].split("&")[0]
    assert requests.get(f"http://127.0.0.1:{port}/callback?state={state}", timeout=10).ok
    _, err = _finish(process)
    assert process.returncode == 1
    one_error_line(err, "no authorisation code", "nunis-ingest auth")


def test_no_callback_times_out_with_what_to_do(app_env):
    started = time.monotonic()
    result = run(app_env, "auth", "--no-browser", "--timeout", "1")
    assert time.monotonic() - started < 10
    assert result.exit_code == 1
    one_error_line(result.stderr, "No answer from the browser within 1 s", "--timeout")


def test_wrong_client_secret_at_the_code_exchange(app_env):
    wrong = "not-the-app-secret-0123456789"
    process, url = _start_auth(app_env | {"STRAVA_CLIENT_SECRET": wrong})
    assert requests.get(url, timeout=10).status_code == 200
    out, err = _finish(process)
    assert process.returncode == 2
    one_error_line(
        err,
        "Strava rejected the app credentials: check STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET",
        "https://www.strava.com/settings/api",
        forbidden=(wrong,),
    )
    assert "bug in the request" not in err
    assert wrong not in out


def test_wrong_client_secret_at_the_refresh(app_env, rt, sandbox):
    athlete = sandbox.athletes()[0]
    aid = register(rt, athlete | {"expires_at": 0})  # expired: the sync refreshes first
    wrong = "not-the-app-secret-0123456789"
    result = run(app_env | {"STRAVA_CLIENT_SECRET": wrong}, "sync", "--no-progress")
    assert result.exit_code == 1
    one_error_line(
        result.stderr,
        f"athlete {aid}: failed (action needed)",
        "Strava rejected the app credentials",
        "STRAVA_CLIENT_SECRET",
        forbidden=(wrong, athlete["refresh_token"], athlete["access_token"]),
    )
    status = run(app_env, "status", "--json")
    assert '"needs_reauth": false' in status.stdout  # the athlete is not to blame
