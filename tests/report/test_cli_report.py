"""`nunis-ingest report` on the local backend: the file it writes, offline, with notes
where data is missing, freshness from ingest_runs and state.json, and PNGs."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.report_data import load_bigquery, load_duckdb, synthetic
from nunis_ingest.adapters.stores.localfs import LocalObjectStore
from nunis_ingest.core.token import Token
from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from tests.report.conftest import ATHLETE, FIRST, LAST

REFRESH = "refresh-token-that-must-not-leak"
CHARTS = ("weekly", "calendar", "monthly", "runs", "best_efforts", "hr_zones")


class _Loads(HTMLParser):
    """Every URL the page would fetch: script src, link href, img/iframe src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src", "iframe": "src"}.get(tag)
        self.urls += [v or "" for k, v in attrs if k == wanted]


def network_loads(html: str) -> list[str]:
    parser = _Loads()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("NUNIS_BACKEND", "local")
    monkeypatch.setenv("NUNIS_DATA_DIR", str(data))
    monkeypatch.setenv("NUNIS_DUCKDB_PATH", str(data / "nunis.duckdb"))
    repo = AthleteRepo(LocalObjectStore(data))
    repo.save_config(AthleteConfig(ATHLETE, label="Report Tester"))
    repo.save_token(ATHLETE, Token(access_token="a", refresh_token=REFRESH, expires_at=0))
    return data


def _report(tmp_path: Path, *args: str) -> tuple[str, Path]:
    out = tmp_path / "out" / "report.html"
    result = CliRunner().invoke(cli, ["report", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == str(out)
    return out.read_text(encoding="utf-8"), out


def test_report_is_self_contained_with_every_chart(local_env, tmp_path):
    load_duckdb(local_env / "nunis.duckdb", synthetic(ATHLETE, FIRST, LAST, stream_step=120))
    repo = AthleteRepo(LocalObjectStore(local_env))
    state, generation = repo.load_state(ATHLETE)
    usage = {"read_limit_15min": 100, "read_usage_15min": 40, "read_limit_daily": 1000}
    repo.save_state(ATHLETE, replace(state, last_read_usage=usage), generation)

    html, _ = _report(tmp_path, "--since", "2025-01-15")

    assert network_loads(html) == []  # plotly.js inline, nothing fetched
    assert html.count("Plotly.newPlot(") == len(CHARTS)
    for key in CHARTS:
        assert f'id="figure-{key}"' in html
    assert "read requests left at the last run: 15 min: 60 of 100, daily: unknown" in html
    assert "Enrichment queue (state)</td><td>0 activities (0 requests)" in html
    assert REFRESH not in html


def test_without_details_or_streams_the_page_says_so(local_env, tmp_path):
    rows = synthetic(ATHLETE, FIRST, LAST, streams=False, efforts=False)
    load_duckdb(local_env / "nunis.duckdb", {"activities": rows["activities"]})

    html, _ = _report(tmp_path, "--since", "2025-01-15", "--athlete", str(ATHLETE))

    assert html.count("Plotly.newPlot(") == 4
    assert "No best efforts in this period" in html
    assert "No heart-rate streams" in html
    assert "Last successful sync</td><td>unknown" in html  # no ingest_runs rows, no state


def test_png_writes_each_drawn_figure(local_env, tmp_path):
    rows = synthetic(ATHLETE, FIRST, LAST, streams=False)
    load_duckdb(local_env / "nunis.duckdb", rows)
    png = tmp_path / "png"

    out = tmp_path / "r.html"
    args = ["report", "--out", str(out), "--since", "2025-06-01", "--png", str(png)]
    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in png.iterdir())
    assert written == sorted(f"{k}.png" for k in CHARTS if k != "hr_zones")
    for path in png.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5_000
    assert str(png / "weekly.png") in result.output


def test_two_athletes_need_athlete(local_env, tmp_path):
    AthleteRepo(LocalObjectStore(local_env)).save_config(AthleteConfig(ATHLETE + 1))
    load_duckdb(local_env / "nunis.duckdb", {})
    result = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "pass --athlete" in result.output


@pytest.mark.gcp
def test_report_on_the_gcp_backend_reads_bigquery(
    gcs_endpoint, bigquery_endpoint, gcs_bucket, bigquery_dataset, tmp_path, monkeypatch
):
    from nunis_ingest.runtime import get_runtime
    from tests.standins import PROJECT

    env = {
        "NUNIS_BACKEND": "gcp",
        "NUNIS_BUCKET": gcs_bucket,
        "NUNIS_DATASET": bigquery_dataset,
        "NUNIS_PROJECT": PROJECT,
        "STORAGE_EMULATOR_HOST": gcs_endpoint,
        "BIGQUERY_EMULATOR_HOST": bigquery_endpoint,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rt = get_runtime()
    AthleteRepo(rt.store).save_config(AthleteConfig(ATHLETE))
    rows = synthetic(ATHLETE, FIRST, LAST, streams=False)
    load_bigquery(rt.warehouse, {k: v for k, v in rows.items() if k != "activity_streams"})

    html, _ = _report(tmp_path, "--since", "2025-01-15")

    assert network_loads(html) == []
    assert html.count("Plotly.newPlot(") == 5  # no streams table: zones are a note
    in_period = [a for a in rows["activities"] if a["start_date_local"] >= "2025-01-15"]
    assert f": {len(in_period)} activities, " in html
    assert "Last run</td><td>2025-12-31 21:00 UTC (partial, mode new)" in html


def test_since_after_today_is_a_usage_error(local_env, tmp_path):
    load_duckdb(local_env / "nunis.duckdb", {})
    result = CliRunner().invoke(
        cli, ["report", "--out", str(tmp_path / "r.html"), "--since", "2999-01-01"]
    )
    assert result.exit_code == 2
    assert "--since" in result.output
    assert not (tmp_path / "r.html").exists()
