"""After a real sync over HTTP from the Strava sandbox into DuckDB, `nunis-ingest report`
shows that athlete's activities, when the sync ran and the read budget it left."""

from __future__ import annotations

from datetime import datetime

from click.testing import CliRunner

from nunis_ingest.core.events import SyncRequest
from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.drivers.cli.report import report_for_runtime
from nunis_ingest.runtime import Runtime, get_runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.sync import run_sync
from tests.e2e.conftest import register


def test_report_of_a_synced_athlete(sandbox, tmp_path, monkeypatch):
    app = sandbox.app()
    env = {
        "NUNIS_BACKEND": "local",
        "NUNIS_DATA_DIR": str(tmp_path / "data"),
        "NUNIS_STRAVA_BASE_URL": sandbox.base_url,
        "STRAVA_CLIENT_ID": str(app["client_id"]),
        "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    athlete = sandbox.create_athlete(activities=120)
    rt = Runtime(load_settings(env))
    aid = register(rt, athlete)
    ctx = rt.context()
    ctx.now = sandbox.clock
    report = run_sync(SyncRequest(athlete_id=aid, mode="all", trigger="test"), ctx)
    assert report.outcome == "success"
    truth = sandbox.truth(aid)
    first = min(datetime.fromisoformat(a["start_date_local"].rstrip("Z")) for a in truth)
    out = tmp_path / "report.html"

    result = CliRunner().invoke(
        cli, ["report", "--out", str(out), "--since", first.date().isoformat()]
    )

    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert f"Athlete {aid}, {first.date().isoformat()} to " in html
    assert f": {len(truth)} activities, " in html
    assert 'id="figure-weekly"' in html
    assert "Last successful sync</td><td>unknown" not in html
    assert "read requests left at the last run: 15 min: " in html
    assert athlete["refresh_token"] not in html
    assert athlete["access_token"] not in html

    # what `make demo` calls at its end: the last year, the path back
    written = report_for_runtime(get_runtime(), aid, tmp_path / "demo" / "report.html")
    assert written.exists()
    assert "Training report" in written.read_text(encoding="utf-8")
