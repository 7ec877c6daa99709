"""``nunis-ingest auth`` and ``nunis-ingest athlete add|list|enable|disable|remove``."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import click

from nunis_ingest.core.token import Token
from nunis_ingest.core.transitions import reauthorised
from nunis_ingest.drivers.cli import errors as cli_errors
from nunis_ingest.drivers.cli.setup import cli_runtime as _runtime
from nunis_ingest.errors import NunisError
from nunis_ingest.runtime import Runtime
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo, purge_data, update_state
from nunis_ingest.usecases.tokens import scope_notice


@click.command()
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


@click.group()
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
    token = Token(
        access_token="",
        refresh_token=refresh_token.strip(),
        expires_at=0,
        scope=granted,
        scope_by_hand=granted is not None,
    )
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
        rows, archived = purge_data(rt.store, rt.warehouse, athlete_id)
        purged = f" Purged {rows} warehouse rows and {archived} archive objects."
    removed = AthleteRepo(rt.store).remove(athlete_id)
    click.echo(f"Removed {removed} objects of athlete {athlete_id}.{purged}")
