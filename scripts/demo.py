"""`make demo`: the embedded default end to end, on a sandboxed Strava.

1. start strava_sandbox on a free 127.0.0.1 port with one athlete and two years of runs;
2. register the athlete with the real CLI (`nunis-ingest athlete add`);
3. deliver a Pub/Sub CloudEvent `{"athlete_id": ..., "mode": "all"}` to `main.ingest`
   through functions-framework, exactly as the Cloud Function receives it;
4. deliver a second message, mode `new`, to show the poll is idempotent;
5. print what was loaded and the Strava requests spent, the details and streams the
   enrichment queue fetched within its share of the read budget (newest first), and the
   per-kilometre splits of the newest run; then stop the sandbox;
6. write the HTML training report (`nunis-ingest report`) and print its path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions_framework import create_app  # noqa: E402

from scripts.topology import pubsub_cloudevent  # noqa: E402
from strava_sandbox.testing import SandboxControl, SandboxServer  # noqa: E402

DATA = ROOT / "demo-data"
TRY_QUERY = "select sport_type, count(*) from activities group by 1"
ACTIVITIES = int(os.environ.get("DEMO_ACTIVITIES", "600"))  # ~two years of training


def publish(client: Any, body: dict[str, Any]) -> int:
    headers, payload = pubsub_cloudevent(json.dumps(body).encode())
    return int(client.post("/", headers=headers, data=payload).status_code)


def pace(seconds: float, metres: float) -> str:
    if not metres:
        return "-"
    per_km = seconds / (metres / 1000)
    return f"{int(per_km // 60)}:{int(per_km % 60):02d}"


def print_enrichment(con: Any) -> None:
    details, points = con.execute(
        "select (select count(*) from activity_details), (select count(*) from activity_streams)"
    ).fetchone()
    print(
        f"\nDetails for the {details} newest activities ({points} stream points); the rest "
        "stay queued and load over the next polls within the enrichment share of the budget."
    )
    newest = con.execute(
        "select a.id, a.name, a.start_date_local, a.distance from activities a "
        "join activity_details d on d.activity_id = a.id "
        "where a.sport_type = 'Run' and exists "
        "(select 1 from activity_splits s where s.activity_id = a.id) "
        "order by a.start_date desc limit 1"
    ).fetchone()
    if newest is None:
        return
    activity_id, name, start, distance = newest
    print(f"\nSplits of {name!r} ({start:%Y-%m-%d}, {distance / 1000:.2f} km):")
    print(f"  {'km':>4} {'pace':>7} {'time':>7} {'elev':>6} {'HR':>5}")
    for split, metres, moving, elev, hr in con.execute(
        "select split, distance, moving_time, elevation_difference, average_heartrate "
        "from activity_splits where activity_id = ? and units = 'metric' order by split",
        [activity_id],
    ).fetchall():
        minutes, seconds = divmod(int(moving or 0), 60)
        hr_text = f"{hr:.0f}" if hr is not None else "-"
        elev_text = f"{elev:+.1f}" if elev is not None else "-"
        km = f"{split}" if metres >= 999 else f"{metres / 1000:.2f}"
        print(
            f"  {km:>4} {pace(moving or 0, metres or 0):>7} {minutes:>4}:{seconds:02d} "
            f"{elev_text:>6} {hr_text:>5}"
        )


def main() -> None:
    shutil.rmtree(DATA, ignore_errors=True)
    with SandboxServer().start(athletes=1, activities=ACTIVITIES, seed=2026) as server:
        control = SandboxControl(server.base_url)
        app = control.app()
        athlete = control.athletes()[0]
        env = {
            "NUNIS_BACKEND": "local",
            "NUNIS_DATA_DIR": str(DATA),
            "NUNIS_STRAVA_BASE_URL": server.base_url,
            "STRAVA_CLIENT_ID": str(app["client_id"]),
            "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
        }
        os.environ.update(env)
        print(
            f"Strava sandbox at {server.base_url}: athlete {athlete['id']}, {ACTIVITIES} activities"
        )
        cli = [str(Path(sys.executable).parent / "nunis-ingest")]
        subprocess.run(
            [
                *cli,
                "athlete",
                "add",
                str(athlete["id"]),
                "--refresh-token",
                athlete["refresh_token"],
                "--label",
                "Demo Runner",
                "--streams",
            ],
            check=True,
            env=os.environ,
        )
        function = create_app(
            target="ingest", source=str(ROOT / "main.py"), signature_type="cloudevent"
        ).test_client()
        control.clear_requests()
        print("\n== Pub/Sub message {mode: all} -> main.ingest")
        assert publish(function, {"athlete_id": athlete["id"], "mode": "all"}) == 200
        full_requests = control.requests_log()["counts"]["total"]
        control.clear_requests()
        print("\n== second message {mode: new}: nothing new, so nothing written")
        assert publish(function, {"athlete_id": athlete["id"], "mode": "new"}) == 200
        idle_requests = control.requests_log()["counts"]["total"]
        truth = len(control.truth(athlete["id"]))
    from nunis_ingest.runtime import get_runtime

    warehouse = get_runtime().warehouse
    with warehouse.reader() as con:  # type: ignore[attr-defined]
        loaded = con.execute("select count(*) from activities").fetchone()[0]
        print(
            f"\nLoaded {loaded} activities (the sandbox holds {truth}); "
            f"Strava requests: {full_requests} for the full load (incl. token refresh), "
            f"{idle_requests} for the idle poll."
        )
        print("\nBy sport:")
        for sport, n, km in con.execute(
            "select sport_type, count(*), round(sum(distance)/1000) from activities "
            "group by 1 order by 2 desc"
        ).fetchall():
            print(f"  {sport:<16}{n:>5} activities {km:>8} km")
        print("\nLast six months:")
        for month, n, km in con.execute(
            "select strftime(date_trunc('month', start_date_local), '%Y-%m') m, count(*), "
            "round(sum(distance)/1000) from activities group by 1 order by 1 desc limit 6"
        ).fetchall():
            print(f"  {month}  {n:>4} activities {km:>7} km")
        print_enrichment(con)
    db = get_runtime().settings.duckdb_file
    warehouse.close()  # type: ignore[attr-defined]
    rel = db.relative_to(ROOT)
    hint = f"duckdb.connect('{rel}', read_only=True).sql('{TRY_QUERY}').show()"
    print(f'\nDuckDB file: {rel}\nTry:\n  .venv/bin/python -c "import duckdb; {hint}"')
    print("\n$ nunis-ingest status")
    subprocess.run([*cli, "status"], check=True, env=os.environ)
    print("\n$ nunis-ingest report")
    subprocess.run([*cli, "report", "--out", str(DATA / "report.html")], check=True, env=os.environ)
    if loaded != truth:
        sys.exit(f"demo failed: loaded {loaded} rows, expected {truth}")


if __name__ == "__main__":
    main()
