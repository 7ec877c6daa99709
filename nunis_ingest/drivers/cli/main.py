"""``nunis-ingest``: the same use case as the Cloud Function, from a terminal."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import time
from typing import Any, NoReturn

import click

from nunis_ingest.core.events import SyncRequest
from nunis_ingest.drivers.cli import errors as cli_errors
from nunis_ingest.drivers.cli import status as cli_status
from nunis_ingest.drivers.cli.progress import NoBar, progress_bar
from nunis_ingest.drivers.cli.setup import cli_runtime as _runtime
from nunis_ingest.errors import AthleteNotConfigured, LeaseHeld
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases import budget_planner as planner
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.sync import run_sync

LAZY_COMMANDS = {
    "auth": ("nunis_ingest.drivers.cli.athletes", "auth"),
    "athlete": ("nunis_ingest.drivers.cli.athletes", "athlete"),
    "webhook": ("nunis_ingest.drivers.cli.webhook", "webhook"),
    "replay": ("nunis_ingest.drivers.cli.replay", "replay"),
    "report": ("nunis_ingest.drivers.cli.report", "report"),
    "onboard": ("nunis_ingest.drivers.cli.onboard", "onboard"),
    "import": ("nunis_ingest.drivers.cli.export_import", "import_export"),
}
"""Commands imported only when named: ``sync`` and ``status`` (the polls every user pays
for) do not load the web server, the export parsers or the report's libraries."""


class NunisGroup(click.Group):
    """Turns every failure below it into one line and an exit code (see ``cli_errors``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, name = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException):
            raise  # click's own: --help, usage errors (exit 2), our one-line CliErrors
        except click.Abort as exc:
            if isinstance(exc.__context__, KeyboardInterrupt):
                _interrupted()
            raise  # "Aborted!" (e.g. a confirmation answered no)
        except KeyboardInterrupt:
            _interrupted()
        except BrokenPipeError:  # `nunis-ingest status | head`: the reader has what it wanted
            _quiet_stdout()
            sys.exit(cli_errors.EXIT_OK)
        except Exception as exc:
            sys.exit(cli_errors.fail(exc, debug=_debug(ctx)))


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _interrupted() -> NoReturn:
    click.echo("Interrupted: nothing more was done; run the command again to resume.", err=True)
    sys.exit(cli_errors.EXIT_INTERRUPTED)


def _debug(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.params.get("debug"))


@click.group(cls=NunisGroup, epilog=cli_errors.EXIT_CODES_HELP)
@click.version_option(package_name="nunis-ingest")
@click.option("--debug", is_flag=True, help="On failure, print the traceback too.")
@click.option("--verbose", "-v", is_flag=True, help="Show the log (retries, pages) on stderr.")
def cli(debug: bool, verbose: bool) -> None:
    """Ingest Strava activities into DuckDB (local) or BigQuery (NUNIS_BACKEND=gcp)."""


@cli.command()
@click.option(
    "--athlete",
    "athlete_ids",
    type=click.IntRange(1, 2**63 - 1),
    multiple=True,
    help="Athlete id (repeatable). Default: the athletes the scheduler finds due.",
)
@click.option("--mode", type=click.Choice(["new", "all"]), default="new", show_default=True)
@click.option(
    "--force", is_flag=True, help="Mode all: allow deleting beyond the mass-delete guard."
)
@click.option(
    "--details",
    is_flag=True,
    help="Drive the detail/stream backfill: queue the history and use the whole read budget.",
)
@click.option("--progress/--no-progress", default=None, help="Default: on a terminal.")
def sync(
    athlete_ids: tuple[int, ...], mode: str, force: bool, details: bool, progress: bool | None
) -> None:
    """Load new activities (mode new) or refresh everything (mode all), then fetch the
    details and streams the enrichment queue holds, within its share of the read budget."""
    rt = _runtime()
    ids = list(athlete_ids) or AthleteRepo(rt.store).list_ids()
    if not ids:
        raise AthleteNotConfigured(
            "No athletes configured.",
            action="run `nunis-ingest auth` or `nunis-ingest athlete add` first.",
        )
    if not athlete_ids and (choose := planner.chooser(rt.context(), mode, force, time.time)):
        due, configured = choose(ids), len(ids)  # the scheduler: what the read budget allows
        if len(due) < configured:
            click.echo(f"{configured - len(due)} of {configured} athletes not due now (schedule)")
        ids = due
    show = sys.stderr.isatty() if progress is None else progress
    debug = _debug(click.get_current_context())
    failed = skipped = 0
    with progress_bar() if show else NoBar() as bar:
        for athlete_id in ids:
            task = bar.add_task(f"athlete {athlete_id}: listing")

            def on_page(pages: int, seen: int, task: Any = task, aid: int = athlete_id) -> None:
                bar.update(task, description=f"athlete {aid}: {pages} pages, {seen} activities")

            def on_enrich(done: int, total: int, task: Any = task, aid: int = athlete_id) -> None:
                bar.update(task, description=f"athlete {aid}: details", completed=done, total=total)

            request = SyncRequest(
                athlete_id=athlete_id,
                mode=mode,  # type: ignore[arg-type]
                trigger="cli",
                force=force,
                details=details,
            )
            try:
                report = run_sync(request, rt.context(on_page=on_page, on_enrich=on_enrich))
                click.echo(report.summary())
                for warning in dict.fromkeys(report.warnings):  # seen without -v
                    click.echo(f"warning: {warning}", err=True)
            except LeaseHeld as exc:  # another run is on it: covered, not failed
                skipped += 1
                click.echo(f"athlete {athlete_id}: skipped: {exc}", err=True)
            except Exception as exc:  # one broken athlete must not stop the others
                failed += 1
                if debug:
                    cli_errors.print_traceback(exc)
                failure = cli_errors.describe(exc)
                click.echo(
                    f"athlete {athlete_id}: failed ({failure.kind}): {failure.line}", err=True
                )
            bar.remove_task(task)
    noun = "athlete" if len(ids) == 1 else "athletes"
    held = f", {skipped} held by another run" if skipped else ""
    click.echo(f"{len(ids)} {noun}: {len(ids) - failed - skipped} ok{held}, {failed} failed")
    if failed:
        sys.exit(cli_errors.EXIT_FAILED)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Per-athlete health: rows loaded, cursor, last run, errors, rate-limit usage.

    An athlete whose files cannot be read shows its own `error`; an unavailable warehouse
    shows the counts as unavailable. Exits 1 when part of the status could not be read
    (such an athlete, or the warehouse), 0 otherwise: health such as "needs
    re-authorisation" is reported in full and does not change the exit code.
    """
    rt = _runtime()
    items, warehouse_problem = cli_status.collect(rt)
    if as_json:
        click.echo(json.dumps(items, indent=2, default=str))
    else:
        for line in cli_status.render(items, warehouse_problem):
            click.echo(line)
        click.echo(cli_status.budget_line(rt, time.time()))
        click.echo(f"data: {_where(rt)}")
    broken = [item["athlete_id"] for item in items if item["error"]]
    problems = []
    if warehouse_problem is not None:
        problems.append(f"warehouse unavailable, counts not shown: {warehouse_problem}")
    if broken:
        problems.append(
            f"{len(broken)} of {len(items)} athletes could not be read: "
            + ", ".join(str(a) for a in broken)
        )
    if problems:
        click.echo("Problem: " + "; ".join(problems), err=True)
        sys.exit(cli_errors.EXIT_FAILED)


def _where(rt: Runtime) -> str:
    s = rt.settings
    if s.backend == "gcp":
        return f"gs://{s.bucket} and BigQuery dataset {s.dataset}"
    return f"{s.data_dir} (objects) and {s.duckdb_file} (DuckDB)"


def main() -> None:
    """Entry point of ``python -m nunis_ingest`` and ``python -m nunis_ingest.drivers.cli.main``."""
    cli(prog_name="nunis-ingest")


if __name__ == "__main__":
    main()
