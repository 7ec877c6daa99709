"""``nunis-ingest``: the same use case as the Cloud Function, from a terminal."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import click

from nunis_ingest.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.errors import NunisError
from nunis_ingest.events import SyncRequest
from nunis_ingest.runtime import Runtime, get_runtime
from nunis_ingest.strava.oauth import Token
from nunis_ingest.sync import run_sync


def _runtime() -> Runtime:
    try:
        return get_runtime()
    except NunisError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="nunis-ingest")
def cli() -> None:
    """Ingest Strava activities into DuckDB (local) or BigQuery (NUNIS_BACKEND=gcp)."""


@cli.command()
@click.option("--port", default=0, show_default="a free port", help="Local redirect port.")
@click.option("--no-browser", is_flag=True, help="Print the URL instead of opening a browser.")
@click.option("--timeout", default=300, show_default=True, help="Seconds to wait for approval.")
@click.option("--lookback-days", type=click.IntRange(0, 365), default=None)
def auth(port: int, no_browser: bool, timeout: int, lookback_days: int | None) -> None:
    """Authorise an athlete in the browser (scope read,activity:read_all) and save its token."""
    from nunis_ingest.authflow import run_authorization

    rt = _runtime()
    try:
        token, athlete = run_authorization(
            rt, port=port, open_browser=not no_browser, timeout=timeout, echo=click.echo
        )
    except NunisError as exc:
        raise click.ClickException(str(exc)) from None
    athlete_id = int(athlete["id"])
    _register(rt, athlete_id, token, lookback_days, label=_label(athlete))
    click.echo(
        f"Athlete {athlete_id} authorised with scope {token.scope}. "
        "Run `nunis-ingest sync` to load their activities."
    )


def _label(athlete: dict[str, Any]) -> str:
    return " ".join(str(athlete.get(k) or "") for k in ("firstname", "lastname")).strip()


def _register(rt: Runtime, athlete_id: int, token: Token, lookback: int | None, label: str) -> None:
    repo = AthleteRepo(rt.store)
    repo.save_token(athlete_id, token)
    repo.save_config(AthleteConfig(athlete_id, True, lookback, label))
    state, generation = repo.load_state(athlete_id)
    if state.needs_reauth or state.last_error_class:
        repo.save_state(
            athlete_id,
            replace(state, needs_reauth=False, last_error_class=None, last_error_message=None),
            generation,
        )


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
@click.option("--lookback-days", type=click.IntRange(0, 365), default=None)
@click.option("--label", default="", help="A name to show in status.")
def athlete_add(athlete_id: int, refresh_token: str, lookback_days: int | None, label: str) -> None:
    """Register an athlete who already has a refresh token (exchanged at the first sync)."""
    rt = _runtime()
    token = Token(access_token="", refresh_token=refresh_token.strip(), expires_at=0)
    _register(rt, athlete_id, token, lookback_days, label)
    click.echo(f"Athlete {athlete_id} registered. Run `nunis-ingest sync --athlete {athlete_id}`.")


@athlete.command("list")
def athlete_list() -> None:
    """List configured athletes."""
    repo = AthleteRepo(_runtime().store)
    for athlete_id in repo.list_ids():
        config = repo.load_config(athlete_id)
        flag = "" if config.enabled else " (disabled)"
        click.echo(f"{athlete_id}\t{config.label}{flag}")


@athlete.command("remove")
@click.argument("athlete_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--purge", is_flag=True, help="Also delete the athlete's warehouse rows and archive.")
@click.confirmation_option(prompt="Remove this athlete's config, token and state?")
def athlete_remove(athlete_id: int, purge: bool) -> None:
    """Remove an athlete's config, token and state (and with --purge, their data)."""
    rt = _runtime()
    removed = AthleteRepo(rt.store).remove(athlete_id)
    text = f"Removed {removed} objects of athlete {athlete_id}."
    if purge:
        rows = rt.warehouse.purge_athlete(athlete_id)
        prefix = f"archive/strava/athlete={athlete_id}/"
        keys = list(rt.store.list(prefix))
        for key in keys:
            rt.store.delete(key)
        text += f" Purged {rows} warehouse rows and {len(keys)} archive pages."
    click.echo(text)


@cli.command()
@click.option(
    "--athlete",
    "athlete_ids",
    type=click.IntRange(1, 2**63 - 1),
    multiple=True,
    help="Athlete id (repeatable). Default: every configured athlete.",
)
@click.option("--mode", type=click.Choice(["new", "all"]), default="new", show_default=True)
@click.option(
    "--force", is_flag=True, help="Mode all: allow deleting beyond the mass-delete guard."
)
@click.option("--progress/--no-progress", default=None, help="Default: on a terminal.")
def sync(athlete_ids: tuple[int, ...], mode: str, force: bool, progress: bool | None) -> None:
    """Load new activities (mode new) or refresh everything (mode all)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    rt = _runtime()
    ids = list(athlete_ids) or AthleteRepo(rt.store).list_ids()
    if not ids:
        raise click.ClickException(
            "No athletes configured: run `nunis-ingest auth` or `nunis-ingest athlete add` first."
        )
    show = sys.stderr.isatty() if progress is None else progress
    failed = 0
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), disable=not show, transient=True
    ) as bar:
        for athlete_id in ids:
            task = bar.add_task(f"athlete {athlete_id}: listing")

            def on_page(pages: int, seen: int, task: Any = task, aid: int = athlete_id) -> None:
                bar.update(task, description=f"athlete {aid}: {pages} pages, {seen} activities")

            request = SyncRequest(
                athlete_id=athlete_id,
                mode=mode,  # type: ignore[arg-type]
                trigger="cli",
                force=force,
            )
            try:
                report = run_sync(request, rt.context(on_page=on_page))
                click.echo(report.summary())
            except NunisError as exc:
                failed += 1
                kind = "retry later" if exc.retriable else "action needed"
                click.echo(f"athlete {athlete_id}: failed ({kind}): {exc}", err=True)
            bar.remove_task(task)
    if failed:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Per-athlete health: rows loaded, cursor, last run, errors, rate-limit usage."""
    rt = _runtime()
    repo = AthleteRepo(rt.store)
    out = [_athlete_status(rt, repo, athlete_id) for athlete_id in repo.list_ids()]
    if as_json:
        click.echo(json.dumps(out, indent=2, default=str))
        return
    if not out:
        click.echo("No athletes configured.")
    for item in out:
        click.echo(f"athlete {item['athlete_id']} {item['label']}".rstrip())
        for key in (
            "health",
            "activities",
            "cursor",
            "last_success_at",
            "last_run",
            "last_error",
            "read_usage",
        ):
            click.echo(f"  {key:<16}{item[key] if item[key] is not None else '-'}")
    click.echo(f"data: {_where(rt)}")


def _athlete_status(rt: Runtime, repo: AthleteRepo, athlete_id: int) -> dict[str, Any]:
    config = repo.load_config(athlete_id)
    state, _ = repo.load_state(athlete_id)
    runs = rt.warehouse.fetch_runs(athlete_id, limit=1)
    last = runs[0] if runs else None
    health = "ok"
    if state.needs_reauth:
        health = "needs re-authorisation: run `nunis-ingest auth`"
    elif not config.enabled:
        health = "disabled"
    elif state.pending:
        health = "full refresh in progress (resumes on the next run)"
    elif state.last_error_class:
        health = f"last run failed ({state.last_error_class})"
    cursor = datetime.fromtimestamp(state.cursor, UTC).isoformat() if state.cursor else None
    return {
        "athlete_id": athlete_id,
        "label": config.label,
        "health": health,
        "enabled": config.enabled,
        "needs_reauth": state.needs_reauth,
        "activities": len(rt.warehouse.fetch_activity_hashes(athlete_id)),
        "cursor": cursor,
        "last_success_at": state.last_success_at,
        "last_run": _describe_run(last, state.last_run_id),
        "last_error": (
            f"{state.last_error_class}: {state.last_error_message}"
            if state.last_error_class
            else None
        ),
        "read_usage": state.last_read_usage,
    }


def _describe_run(run: dict[str, Any] | None, last_run_id: str | None) -> str | None:
    if run is None:
        return last_run_id
    return (
        f"{run['run_id']} {run['mode']} {run['outcome']} "
        f"+{run['inserted']} ~{run['updated']} -{run['deleted']}"
    )


def _where(rt: Runtime) -> str:
    s = rt.settings
    if s.backend == "gcp":
        return f"gs://{s.bucket} and BigQuery dataset {s.dataset}"
    return f"{s.data_dir} (objects) and {s.duckdb_file} (DuckDB)"


if __name__ == "__main__":  # pragma: no cover
    cli()


from nunis_ingest.cli_webhook import webhook  # noqa: E402

cli.add_command(webhook)
