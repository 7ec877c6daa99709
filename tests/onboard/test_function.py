"""The deployed shape: `functions-framework --target=onboard` serving the whole flow under
a path prefix, as behind https://REGION-PROJECT.cloudfunctions.net/<function>."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.athletes import AthleteRepo
from tests.onboard.conftest import invite_path, link_in
from tests.webhook.conftest import ROOT, free_port, stop, wait_http

pytestmark = pytest.mark.slow


@pytest.fixture
def function_base(onboard_env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}/nunis-onboard"
    env = dict(os.environ) | onboard_env | {"NUNIS_ONBOARD_URL": base}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "functions-framework"),
            "--target=onboard",
            "--signature-type=http",
            "--source=main.py",
            "--host=127.0.0.1",
            f"--port={port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"{base}/", process)
        yield base, env
    finally:
        stop(process)


def test_the_function_target_runs_the_flow_under_a_path_prefix(function_base, sandbox) -> None:
    base, env = function_base
    browser = requests.Session()
    assert browser.get(f"{base}/", timeout=10).status_code == 403  # no invite: refused
    page = browser.get(f"{base}{invite_path()}", timeout=10)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    link = link_in(page.text)
    assert parse_qs(urlsplit(link).query)["redirect_uri"] == [f"{base}/callback"]
    back = requests.get(link, allow_redirects=False, timeout=10).headers["Location"]
    assert back.startswith(f"{base}/callback?")
    answer = browser.get(back, allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(f"{base}/done?")
    done = browser.get(answer.headers["Location"], timeout=10)
    athlete_id = int(sandbox.athletes()[0]["id"])
    assert f"<b id=athlete>{athlete_id}</b>" in html.unescape(done.text)
    repo = AthleteRepo(LocalObjectStore(load_settings(env).data_dir))
    assert repo.load_token(athlete_id).refresh_token == sandbox.athletes()[0]["refresh_token"]
    # and the same callback a second time is refused: the invite is used
    assert browser.get(back, allow_redirects=False, timeout=10).status_code in (403, 409)
