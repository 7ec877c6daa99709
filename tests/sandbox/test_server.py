"""The command line: ready line, fixed anchor, clean SIGTERM; and serving 10,000 activities."""

from __future__ import annotations

import time

import requests

from strava_sandbox.testing import SandboxControl, SandboxServer
from tests.sandbox.conftest import Api

ANCHOR = 1_780_000_000


def test_cli_prints_base_url_honours_anchor_and_stops_on_sigterm():
    server = SandboxServer().start(
        athletes=1, activities=5, seed=3, extra_args=("--anchor", str(ANCHOR))
    )
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
        control = SandboxControl(server.base_url)
        assert control.health()["status"] == "ok"
        assert abs(control.clock() - ANCHOR) < 5
        truth = control.truth(control.athletes()[0]["id"])
        assert len(truth) == 5
        assert max(a["start_date"] for a in truth) < "2026-05-28T20:26:40Z"
    finally:
        proc = server.process
        code = server.stop(timeout=5)
    assert proc is not None
    assert code == 0
    try:
        requests.get(f"{server.base_url}/_sandbox/health", timeout=1)
        raise AssertionError("server still answering after SIGTERM")
    except requests.ConnectionError:
        pass


def test_ten_thousand_activities_page_quickly(sandbox):
    sandbox.reset(athletes=1, activities=10_000)
    sandbox.set_rate_limits(read_15min=1000)
    athlete = sandbox.athletes()[0]
    api = Api(sandbox.base_url, athlete["access_token"])
    started = time.perf_counter()
    ids: list[int] = []
    page = 1
    while batch := api.get("/athlete/activities", page=page, per_page=200).json():
        ids.extend(a["id"] for a in batch)
        page += 1
    assert len(ids) == len(set(ids)) == 10_000
    assert page == 51
    assert time.perf_counter() - started < 20
    sandbox.reset()
