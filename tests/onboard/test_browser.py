"""End to end in a real browser: headless Chromium, `nunis-ingest onboard serve`, the
sandbox's authorize page, the confirmation, the token file and the first full load."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) and shutil.which(CHROMEDRIVER)),
        reason="needs headless Chromium: run `make browser`",
    ),
]


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    cli = Path(sys.executable).parent / "nunis-ingest"
    process = subprocess.Popen(
        [str(cli), "onboard", "serve", "--port", "0"],
        env=dict(os.environ) | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
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


def test_an_athlete_connects_in_a_real_browser(onboard_env, sandbox, tmp_path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    athlete_id = int(sandbox.athletes()[0]["id"])
    process, url = _serve(onboard_env)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(url)
        connect = WebDriverWait(driver, 20).until(ec.element_to_be_clickable((By.ID, "connect")))
        assert connect.get_attribute("href").startswith(f"{sandbox.base_url}/oauth/authorize")
        connect.click()
        WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "athlete")))
        assert driver.find_element(By.ID, "athlete").text == str(athlete_id)
        assert driver.current_url.startswith(f"{url}done?")
        assert "code=" not in driver.current_url
        token_file = Path(onboard_env["NUNIS_DATA_DIR"]) / "athletes" / str(athlete_id)
        assert (token_file / "token.json").is_file()
        assert (token_file / "config.json").is_file()
        page = driver.page_source
        for secret in (
            sandbox.athletes()[0]["refresh_token"],
            sandbox.athletes()[0]["access_token"],
        ):
            assert secret not in page
    except BaseException:
        shot = tmp_path / "onboard-browser-failure.png"
        driver.save_screenshot(str(shot))
        print(f"screenshot of the failure: {shot} (page {driver.current_url})")
        raise
    finally:
        driver.quit()
        _stop(process)  # waits for the inline first load, then closes the warehouse
    assert process.returncode == 0
    with duckdb.connect(str(Path(onboard_env["NUNIS_DATA_DIR"]) / "nunis.duckdb")) as con:
        (loaded,) = con.execute(
            "SELECT COUNT(*) FROM activities WHERE athlete_id = ?", [athlete_id]
        ).fetchone()
    assert loaded == len(sandbox.truth(athlete_id))
