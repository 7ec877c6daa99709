"""The report in a real browser: headless Debian Chromium (driven by selenium through
Debian's chromedriver) opens the file offline, every chart draws its marks, the console
stays clean, and a screenshot is kept (its path printed when the test fails).

``make test`` installs chromium first (``make browser``); when it is missing here the
test tries the same install and fails, saying why, if that fails.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bench.report_data import load_duckdb, synthetic
from nunis_ingest.adapters.warehouses.duckdb import DuckDBWarehouse
from nunis_ingest.adapters.warehouses.report_source import open_source
from nunis_ingest.usecases.reporting.build import ReportParams, write_report
from tests.report.conftest import ATHLETE, FIRST, LAST, SINCE, UNTIL

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
INSTALL = "apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null"

# What each chart must have drawn: (CSS selector of one mark group, minimum count).
MARKS = {
    "weekly": ("g.trace.bars", 2),
    "calendar": ("g.hm image", 1),
    "monthly": ("g.trace.bars", 2),
    "runs": ("g.table", 2),
    "best_efforts": ("g.trace.scatter", 1),
    "hr_zones": ("g.trace.bars", 2),
}


def _browser_binaries() -> None:
    if Path(CHROMIUM).exists() and Path(DRIVER).exists():
        return
    if shutil.which("apt-get") is None:
        pytest.fail(f"{CHROMIUM} is missing and apt-get is not available to install it")
    done = subprocess.run(["sh", "-c", INSTALL], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not Path(CHROMIUM).exists():
        pytest.fail(f"chromium could not be installed ({INSTALL}): {done.stderr[-300:]}")


@pytest.fixture
def driver(tmp_path: Path) -> Any:
    _browser_binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,3200"):
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path / 'chrome-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield browser
    browser.quit()


def _drawn(browser: Any) -> dict[str, dict[str, int]]:
    script = """
        const marks = arguments[0], out = {};
        for (const [key, [selector]] of Object.entries(marks)) {
          const gd = document.getElementById('figure-' + key);
          out[key] = gd ? {traces: (gd.data || []).length,
                           marks: gd.querySelectorAll(selector).length,
                           svg: gd.querySelectorAll('svg.main-svg').length} : null;
        }
        return out;
    """
    return browser.execute_script(script, MARKS)  # type: ignore[no-any-return]


def test_every_chart_renders_in_chromium(driver, tmp_path):
    db = tmp_path / "report.duckdb"
    load_duckdb(db, synthetic(ATHLETE, FIRST, LAST, stream_step=120))
    out = tmp_path / "report.html"
    params = ReportParams(ATHLETE, SINCE, UNTIL)
    with open_source(DuckDBWarehouse(db)) as source:
        write_report(source, None, params, out)
    shot = tmp_path / "report.png"

    try:
        driver.get(out.as_uri())
        deadline = time.monotonic() + 30
        drawn = _drawn(driver)
        while time.monotonic() < deadline and not all(
            d and d["marks"] >= MARKS[k][1] for k, d in drawn.items()
        ):
            time.sleep(0.2)
            drawn = _drawn(driver)
        driver.save_screenshot(str(shot))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]

        assert errors == []
        assert driver.execute_script("return typeof Plotly") == "object"
        assert len(driver.find_elements("css selector", ".js-plotly-plot")) == len(MARKS)
        for key, (_, least) in MARKS.items():
            assert drawn[key] is not None, key
            assert drawn[key]["svg"] >= 1, key
            assert drawn[key]["marks"] >= least, (key, drawn[key])
        assert drawn["weekly"]["marks"] == drawn["weekly"]["traces"]  # one bar group per trace
        assert drawn["hr_zones"]["marks"] == drawn["hr_zones"]["traces"] == 5
        assert shot.stat().st_size > 50_000
    except BaseException:
        if not shot.exists():
            driver.save_screenshot(str(shot))
        print(f"screenshot of the failing page: {shot}")
        raise
