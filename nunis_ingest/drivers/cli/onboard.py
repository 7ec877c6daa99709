"""``nunis-ingest onboard``: invite athletes, and serve the onboarding page on this machine."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import UTC, datetime
from types import FrameType

import click
from werkzeug.serving import WSGIRequestHandler

from nunis_ingest.core.signing import MIN_SECRET_LENGTH
from nunis_ingest.runtime import get_runtime
from nunis_ingest.settings import load_settings
from nunis_ingest.usecases.onboard.invites import DEFAULT_DAYS, MAX_DAYS, PARAMETER, mint

log = logging.getLogger("nunis_ingest.onboard")


class _QuietHandler(WSGIRequestHandler):
    """Logs the path only: the callback's query string carries the one-time code."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.partition("?")[0]
        log.info("%s %s %s", self.command, path, code)


@click.group()
def onboard() -> None:
    """Web onboarding: invited athletes connect their Strava account in the browser."""


@onboard.command()
@click.option(
    "--days",
    type=click.IntRange(1, MAX_DAYS),
    default=DEFAULT_DAYS,
    show_default=True,
    help="How long the invite stays valid.",
)
@click.option("--url", default=None, help="The page's address (default NUNIS_ONBOARD_URL).")
def invite(days: int, url: str | None) -> None:
    """Print an invite link, once: it lets one athlete connect, until it expires."""
    from urllib.parse import urlencode

    settings = load_settings()
    secret = settings.onboard_secret or ""
    if len(secret) < MIN_SECRET_LENGTH:
        raise click.ClickException(
            f"NUNIS_ONBOARD_SECRET is not set or shorter than {MIN_SECRET_LENGTH} characters. "
            "Fix: set it to the page's secret (deployment-guide.md step 12)."
        )
    base = (url or settings.onboard_url or "").rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise click.ClickException(
            "The page's address is unknown. Fix: set NUNIS_ONBOARD_URL or pass --url."
        )
    minted = mint(secret, time.time(), days)
    expires = datetime.fromtimestamp(minted.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    click.echo(f"{base}/?{urlencode({PARAMETER: minted.token})}")
    click.echo(
        f"Invite {minted.id}: one connection, until {expires}. Send it to the athlete; it is "
        "not stored anywhere.",
        err=True,
    )


@onboard.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, help="0 = a free port.")
def serve(host: str, port: int) -> None:
    """Serve the onboarding page; set the Strava app's callback domain to this host."""
    from werkzeug.serving import make_server

    from nunis_ingest.drivers.onboard.app import make_app
    from nunis_ingest.usecases.onboard import enroll

    rt = get_runtime()
    rt.settings.require_strava_app()
    server = make_server(
        host, port, make_app(lambda: rt), threaded=True, request_handler=_QuietHandler
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    click.echo(f"http://{host}:{server.server_port}/")
    try:
        while not stop.wait(0.2):
            pass
    finally:
        server.shutdown()
        thread.join(timeout=10)
        enroll.wait_for_loads(timeout=60)
        close = getattr(rt.__dict__.get("warehouse"), "close", None)
        if close:
            close()
