"""`all` into DuckDB against a Strava that takes time per page, next to the fetch floor.

The loopback sandbox answers a page in ~2 ms, so the main benchmark's floor is almost pure
processing; Strava itself takes far longer per page. Here every listing request is held
for a fixed latency (the sandbox's `delay` fault), the fetch floor fetches the same pages
sequentially and discards them, and the sync overlaps fetching the next page with its
work on the current one. Run: `.venv/bin/python -m bench.latency --n 10000 --latency 0,0.15,0.3`.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import requests

from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.token import Token
from nunis_ingest.runtime import Runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.sync import run_sync
from strava_sandbox.testing import SandboxControl, SandboxServer

LISTING = "/api/v3/athlete/activities"
UNLIMITED = 10**7


def fetch_floor(base_url: str, access_token: str) -> float:
    started, page = time.monotonic(), 1
    with requests.Session() as session:
        while True:
            answer = session.get(
                base_url + LISTING,
                params={"page": page, "per_page": 200},
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=60,
            )
            answer.raise_for_status()
            if answer.content.strip() == b"[]":
                return time.monotonic() - started
            page += 1


def ingest(control: SandboxControl, athlete: dict[str, object]) -> tuple[float, int]:
    app = control.app()
    runtime = Runtime(
        load_settings(
            {
                "NUNIS_DATA_DIR": tempfile.mkdtemp(prefix="nunis-bench-"),
                "NUNIS_STRAVA_BASE_URL": control.base_url,
                "STRAVA_CLIENT_ID": str(app["client_id"]),
                "STRAVA_CLIENT_SECRET": str(app["client_secret"]),
            }
        )
    )
    athlete_id = int(str(athlete["id"]))
    repo = AthleteRepo(runtime.store)
    repo.save_token(
        athlete_id,
        Token(
            str(athlete["access_token"]),
            str(athlete["refresh_token"]),
            int(str(athlete["expires_at"])),
            str(athlete["scope"]),
        ),
    )
    repo.save_config(AthleteConfig(athlete_id))
    started = time.monotonic()
    report = run_sync(SyncRequest(athlete_id, "all", trigger="bench"), runtime.context())
    return time.monotonic() - started, report.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency", default="0,0.15,0.3", help="seconds per page, comma list")
    args = parser.parse_args()
    with SandboxServer().start(athletes=1, activities=args.n, seed=2026) as server:
        control = SandboxControl(server.base_url)
        print(
            f"{'latency':>9} {'fetch floor':>12} {'all->DuckDB':>12} {'ratio':>7} {'requests':>9}"
        )
        for latency in (float(x) for x in args.latency.split(",")):
            control.reset()
            control.set_rate_limits(
                read_15min=UNLIMITED,
                read_daily=UNLIMITED,
                overall_15min=UNLIMITED,
                overall_daily=UNLIMITED,
            )
            if latency:
                control.add_fault(kind="delay", method="GET", path=LISTING, delay=latency)
            athlete = control.athletes()[0]
            floor = fetch_floor(server.base_url, str(athlete["access_token"]))
            wall, used = ingest(control, athlete)
            print(
                f"{latency * 1000:>6.0f} ms {floor:>10.2f} s {wall:>10.2f} s "
                f"{wall / floor:>6.2f}x {used:>9}"
            )


if __name__ == "__main__":
    main()
