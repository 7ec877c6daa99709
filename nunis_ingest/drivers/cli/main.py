"""``nunis-ingest``: the same use case as the Cloud Function, from a terminal."""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import time
from dataclasses import replace
from typing import Any, NoReturn

import click

from nunis_ingest.adapters.strava.oauth import Token
from nunis_ingest.core.events import SyncRequest
from nunis_ingest.core.keys import archive_prefix
from nunis_ingest.core.transitions import reauthorised
from nunis_ingest.drivers.cli import errors as cli_errors
from nunis_ingest.drivers.cli import status as cli_status
from nunis_ingest.drivers.cli.progress import NoBar, progress_bar
from nunis_ingest.errors import AthleteNotConfigured, ConfigError, NunisError
from nunis_ingest.runtime import Runtime, get_runtime
from nunis_ingest.usecases import budget_planner as planner
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo, update_state
from nunis_ingest.usecases.sync import run_sync
from nunis_ingest.usecases.tokens import scope_notice

LAZY_COMMANDS = {
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


def _runtime() -> Runtime:
    rt = get_runtime()
    # Failures end as one line each; the log (retries, progress) shows with --verbose.
    verbose = bool(click.get_current_context().find_root().params.get("verbose"))
    logging.getLogger().setLevel(logging.INFO if verbose else logging.ERROR)
    if rt.settings.backend == "local":
        data_dir = rt.settings.data_dir
        if data_dir.exists() and not data_dir.is_dir():
            raise ConfigError(
                f"NUNIS_DATA_DIR {data_dir} is a file, not a folder.",
                action="point NUNIS_DATA_DIR at a folder (it is created when missing).",
            )
    return rt


@click.group(cls=NunisGroup, epilog=cli_errors.EXIT_CODES_HELP)
@click.version_option(package_name="nunis-ingest")
@click.option("--debug", is_flag=True, help="On failure, print the traceback too.")
@click.option("--verbose", "-v", is_flag=True, help="Show the log (retries, pages) on stderr.")
def cli(debug: bool, verbose: bool) -> None:
    """Ingest Strava activities into DuckDB (local) or BigQuery (NUNIS_BACKEND=gcp)."""


@cli.command()
@click.option("--port", default=0, show_default="a free port", help="Local redirect port.")
@click.option("--no-browser", is_flag=True, help="Print the URL instead of opening a browser.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds to wait for the browser's answer.",
)
@click.option("--lookback-days", type=click.IntRange(0, 365), default=None)
def auth(port: int, no_browser: bool, timeout: float, lookback_days: int | None) -> None:
    """Authorise an athlete in the browser (scope read,activity:read_all) and save its token."""
    from nunis_ingest.drivers.cli.authflow import run_authorization

    rt = _runtime()
    token, athlete = run_authorization(
        rt, port=port, open_browser=not no_browser, timeout=timeout, echo=click.echo
    )
    athlete_id = int(athlete["id"])
    _register(rt, athlete_id, token, lookback_days, label=_label(athlete))
    click.echo(
        f"Athlete {athlete_id} authorised with scope {token.scope}. "
        "Run `nunis-ingest sync` to load their activities."
    )


def _label(athlete: dict[str, Any]) -> str:
    return " ".join(str(athlete.get(k) or "") for k in ("firstname", "lastname")).strip()


def _register(
    rt: Runtime,
    athlete_id: int,
    token: Token,
    lookback: int | None,
    label: str,
    *,
    details: bool | None = None,
    streams: bool | None = None,
) -> None:
    """Save the token and an enabled config; a re-registration keeps the athlete's
    detail and stream choices unless new ones are given."""
    repo = AthleteRepo(rt.store)
    repo.save_token(athlete_id, token)
    try:
        old = repo.load_config(athlete_id)
    except NunisError:  # none yet, or unreadable: this registration writes a fresh one
        old = AthleteConfig(athlete_id)
    repo.save_config(
        AthleteConfig(
            athlete_id,
            True,
            lookback,
            label,
            details=old.details if details is None else details,
            streams=old.streams if streams is None else streams,
        )
    )
    update_state(repo, athlete_id, reauthorised)


@cli.group()
def athlete() -> None:
    """Register, list and remove athletes."""


@athlete.command("add")
@click.argument("athlete_id", type=click.IntRange(1, 2**63 - 1))
@click.option(
    "--refresh-token",
    required=True,
    prompt=True,
    hide_input=True,
    help="The athlete's Strava refresh token (prompted for when omitted).",
)
@click.option(
    "--scope",
    default=None,
    help="The scope the athlete granted, as Strava showed it (e.g. read,activity:read_all).",
)
@click.option("--lookback-days", type=click.IntRange(0, 365), default=None)
@click.option("--label", default="", help="A name to show in status.")
@click.option(
    "--details/--no-details",
    default=None,
    help="Fetch details, laps, splits and best efforts (1 request per activity). Default on.",
)
@click.option(
    "--streams/--no-streams",
    default=None,
    help="Fetch second-by-second streams (1 more request per activity). Default off.",
)
def athlete_add(
    athlete_id: int,
    refresh_token: str,
    scope: str | None,
    lookback_days: int | None,
    label: str,
    details: bool | None,
    streams: bool | None,
) -> None:
    """Register an athlete who already has a refresh token (exchanged at the first sync)."""
    rt = _runtime()
    granted = scope.strip() if scope and scope.strip() else None
    token = Token(access_token="", refresh_token=refresh_token.strip(), expires_at=0, scope=granted)
    _register(rt, athlete_id, token, lookback_days, label, details=details, streams=streams)
    click.echo(f"Athlete {athlete_id} registered. Run `nunis-ingest sync --athlete {athlete_id}`.")
    if notice := scope_notice(token, athlete_id):
        click.echo(f"warning: {notice}", err=True)


@athlete.command("list")
def athlete_list() -> None:
    """List configured athletes."""
    repo = AthleteRepo(_runtime().store)
    unreadable = 0
    for athlete_id in repo.list_ids():
        try:
            config = repo.load_config(athlete_id)
        except Exception as exc:  # show the others; this one says what is wrong
            unreadable += 1
            click.echo(f"{athlete_id}\t(unreadable: {cli_errors.describe(exc).line})")
            continue
        flag = "" if config.enabled else " (disabled)"
        click.echo(f"{athlete_id}\t{config.label}{flag}")
    if unreadable:
        sys.exit(cli_errors.EXIT_FAILED)


@athlete.command("enable")
@click.argument("athlete_id", type=click.IntRange(1, 2**63 - 1))
def athlete_enable(athlete_id: int) -> None:
    """Poll this athlete again (and load what they missed at the next run)."""
    _set_enabled(athlete_id, True)


@athlete.command("disable")
@click.argument("athlete_id", type=click.IntRange(1, 2**63 - 1))
def athlete_disable(athlete_id: int) -> None:
    """Stop polling this athlete; connecting again does not turn them back on."""
    _set_enabled(athlete_id, False)


def _set_enabled(athlete_id: int, enabled: bool) -> None:
    repo = AthleteRepo(_runtime().store)
    repo.save_config(replace(repo.load_config(athlete_id), enabled=enabled))
    click.echo(f"Athlete {athlete_id} {'enabled' if enabled else 'disabled'}.")


@athlete.command("remove")
@click.argument("athlete_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--purge", is_flag=True, help="Also delete the athlete's warehouse rows and archive.")
@click.confirmation_option(prompt="Remove this athlete's config, token and state?")
def athlete_remove(athlete_id: int, purge: bool) -> None:
    """Remove an athlete's config, token and state (and with --purge, their data)."""
    rt = _runtime()
    purged = ""
    if purge:  # first: if the warehouse fails, the athlete is still there to retry with
        rows = rt.warehouse.purge_athlete(athlete_id)
        prefix = archive_prefix(athlete_id)
        keys = list(rt.store.list(prefix))
        for key in keys:
            rt.store.delete(key)
        purged = f" Purged {rows} warehouse rows and {len(keys)} archive objects."
    removed = AthleteRepo(rt.store).remove(athlete_id)
    click.echo(f"Removed {removed} objects of athlete {athlete_id}.{purged}")


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
    failed = 0
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
    click.echo(f"{len(ids)} {noun}: {len(ids) - failed} ok, {failed} failed")
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
