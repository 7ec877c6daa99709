"""End to end in a real browser: headless Chromium, `nunis-ingest onboard serve`, the
sandbox's Authorize page (clicked like a person would), the confirmation, the token file
and the first full load, for an invited athlete; an uninvited visitor refused before
anything is stored or asked of Strava; a disabled athlete who connects again staying
disabled."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from tests.onboard.conftest import FAILED, invite_path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _browser_installed() -> None:
    """``make test`` installs Chromium and its driver (``make browser``): missing is a
    failure, never a skip."""
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("needs headless Chromium and chromedriver: run `make browser`")


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[str], str]:
    cli = Path(sys.executable).parent / "nunis-ingest"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(cli), "onboard", "serve", "--port", "0"],
            env=dict(os.environ) | env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(30):
            process.kill()
            raise TimeoutError("onboard serve printed no URL")
    return process, process.stdout.readline().strip()


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass
class Session:
    driver: Any
    url: str
    process: subprocess.Popen[str]
    log: Path
    data_dir: Path

    def click(self, element_id: str, timeout: float = 30) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, timeout).until(
            ec.element_to_be_clickable((By.ID, element_id))
        ).click()

    def text_of(self, element_id: str, timeout: float = 30) -> str:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        found = WebDriverWait(self.driver, timeout).until(
            ec.presence_of_element_located((By.ID, element_id))
        )
        return str(found.text)

    def stop_server(self) -> int | None:
        """Stop `onboard serve` (it waits for the inline first load and closes DuckDB)."""
        _stop(self.process)
        return self.process.returncode


@pytest.fixture
def session(onboard_env, sandbox, tmp_path, request) -> Iterator[Session]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    sandbox.set_consent_page(True)
    log = tmp_path / "onboard-serve.log"
    process, url = _serve(onboard_env, log)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    run = Session(driver, url, process, log, Path(onboard_env["NUNIS_DATA_DIR"]))
    try:
        yield run
        if request.node.stash.get(FAILED, False):
            shot = tmp_path / "onboard-browser-failure.png"
            driver.save_screenshot(str(shot))
            print(f"\nscreenshot of the failure: {shot} (at {driver.current_url})")
    finally:
        driver.quit()
        _stop(process)


def _assert_nothing_secret(session: Session, athlete: dict[str, Any]) -> None:
    logged = session.log.read_text()
    assert "GET /callback" in logged  # the request log is there, without its query
    assert "code=" not in logged
    assert "state=" not in logged
    for secret in (athlete["access_token"], athlete["refresh_token"]):
        assert secret not in logged
        assert secret not in session.driver.page_source


def _open_invite(session: Session) -> None:
    session.driver.get(session.url.rstrip("/") + invite_path())


def test_an_invited_athlete_connects_in_a_real_browser(session: Session, sandbox) -> None:
    athlete_id = int(sandbox.athletes()[0]["id"])
    _open_invite(session)
    session.click("connect")
    assert session.driver.current_url.startswith(f"{sandbox.base_url}/oauth/authorize")
    session.click("authorize")  # the sandbox's Authorize page, both boxes left ticked
    assert session.text_of("athlete") == str(athlete_id)
    assert session.driver.current_url.startswith(f"{session.url}done?")
    assert "code=" not in session.driver.current_url
    folder = session.data_dir / "athletes" / str(athlete_id)
    assert (folder / "token.json").is_file()
    assert (folder / "config.json").is_file()
    assert session.stop_server() == 0
    _assert_nothing_secret(session, sandbox.athletes()[0])
    with duckdb.connect(str(session.data_dir / "nunis.duckdb")) as con:
        row = con.execute(
            "SELECT COUNT(*) FROM activities WHERE athlete_id = ?", [athlete_id]
        ).fetchone()
    assert row is not None
    assert row[0] == len(sandbox.truth(athlete_id)) > 0


def test_unticking_private_activities_is_refused_then_connecting_again_works(
    session: Session, sandbox
) -> None:
    athlete_id = int(sandbox.athletes()[0]["id"])
    _open_invite(session)
    session.click("connect")
    session.click("scope-activity:read_all")  # untick it
    session.click("authorize")
    reason = session.text_of("reason")
    assert "View data about your private activities" in reason
    assert not (session.data_dir / "athletes").exists()
    session.click("connect")  # "Connect again", with a fresh state
    session.click("authorize")
    assert session.text_of("athlete") == str(athlete_id)
    assert (session.data_dir / "athletes" / str(athlete_id) / "token.json").is_file()


def test_an_uninvited_visitor_is_refused_before_anything_happens(session: Session, sandbox) -> None:
    sandbox.clear_requests()
    session.driver.get(session.url)
    assert "invited athletes only" in session.text_of("reason")
    assert session.driver.find_elements("id", "connect") == []
    session.driver.get(
        session.url.rstrip("/") + "/?invite=i1.forged0123456789.1999999999." + "A" * 43
    )
    assert "altered" in session.text_of("reason")
    assert sandbox.requests_log()["requests"] == []  # no Strava request at all
    assert not (session.data_dir / "onboard").exists()  # no storage write
    assert not (session.data_dir / "athletes").exists()
    assert session.driver.get_cookies() == []


def test_a_disabled_athlete_who_connects_again_stays_disabled(session: Session, sandbox) -> None:
    athlete_id = int(sandbox.athletes()[0]["id"])
    repo = AthleteRepo(LocalObjectStore(session.data_dir))
    paused = AthleteConfig(athlete_id, enabled=False, label="paused by the team")
    repo.save_config(paused)
    _open_invite(session)
    session.click("connect")
    session.click("authorize")
    assert session.text_of("athlete") == str(athlete_id)
    assert "paused" in session.text_of("next")
    assert session.stop_server() == 0
    assert repo.load_config(athlete_id) == paused
    assert repo.load_token(athlete_id).refresh_token == sandbox.athletes()[0]["refresh_token"]
    assert not (session.data_dir / "nunis.duckdb").exists()  # no first load ran
