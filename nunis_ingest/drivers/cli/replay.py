"""``nunis-ingest replay``: rebuild tables from the archive, with no Strava request."""

from __future__ import annotations

import sys
import time
from datetime import date

import click

from nunis_ingest.core.transitions import replayed
from nunis_ingest.drivers.cli import errors as cli_errors
from nunis_ingest.runtime import get_runtime
from nunis_ingest.usecases.athletes import AthleteRepo, update_state
from nunis_ingest.usecases.lease import Lease
from nunis_ingest.usecases.replay import replay as replay_athlete
from nunis_ingest.usecases.sync import new_run_id

LEASE_SECONDS = 3600.0


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command()
@click.option(
    "--athlete",
    "athlete_ids",
    type=click.IntRange(1, 2**63 - 1),
    multiple=True,
    help="Athlete id (repeatable). Default: every configured athlete.",
)
@click.option(
    "--since",
    callback=_day,
    default=None,
    help="Only archive objects from this day on (YYYY-MM-DD): upsert, delete nothing.",
)
def replay(athlete_ids: tuple[int, ...], since: str | None) -> None:
    """Rebuild activities and every detail table from the raw archive: zero Strava requests.

    The newest archived version of each activity wins; archived deletions are honoured.
    Holds the athlete's lease, so it never interleaves with a sync.
    """
    rt = get_runtime()
    repo = AthleteRepo(rt.store)
    ids = list(athlete_ids) or repo.list_ids()
    failed = 0
    for athlete_id in ids:
        started = time.time()
        run_id = new_run_id(started)
        try:
            config = repo.load_config(athlete_id)
            local = rt.settings.backend == "local"
            with Lease(rt.store, athlete_id, run_id, started, LEASE_SECONDS, local=local):
                done = replay_athlete(
                    rt.store,
                    rt.warehouse,
                    athlete_id,
                    run_id=run_id,
                    since=since,
                    details=config.details,
                    streams=config.streams,
                    rewrite=True,
                )
                update_state(repo, athlete_id, replayed)
        except Exception as exc:  # one athlete's failure must not stop the others
            failed += 1
            click.echo(f"athlete {athlete_id}: failed: {cli_errors.describe(exc).line}", err=True)
            continue
        rows = ", ".join(f"{t}={n}" for t, n in sorted(done.rows.items())) or "no detail rows"
        click.echo(
            f"athlete {athlete_id}: replayed {done.objects} archive objects in "
            f"{time.time() - started:.1f}s: {done.activities} activities "
            f"(+{done.result.inserted} ~{done.result.updated} -{done.result.deleted}), {rows}; "
            "0 Strava requests"
        )
        if done.kept:
            click.echo(
                f"athlete {athlete_id}: kept {done.kept} activities that no readable archive "
                f"object holds (a replay deletes only what a tombstone names); "
                f"`nunis-ingest sync --athlete {athlete_id} --mode all` confirms them with "
                "Strava",
                err=True,
            )
    if failed:
        sys.exit(cli_errors.EXIT_FAILED)
