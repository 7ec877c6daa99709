"""``nunis-ingest webhook``: manage the push subscription and run the local endpoint."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

import click

from nunis_ingest.adapters.strava.subscriptions import SubscriptionsClient
from nunis_ingest.errors import NunisError
from nunis_ingest.runtime import Runtime, get_runtime
from nunis_ingest.usecases.webhook import subscription


def _runtime() -> Runtime:
    """Errors go up to the `nunis-ingest` group, which prints one line and picks the exit code."""
    return get_runtime()


def _client(rt: Runtime) -> SubscriptionsClient:
    client_id, secret = rt.settings.require_strava_app()
    return SubscriptionsClient(
        rt.session,
        base_url=rt.settings.strava_base_url,
        client_id=client_id,
        client_secret=secret,
        timeout=rt.settings.http_timeout_seconds,
    )


@click.group()
def webhook() -> None:
    """Strava push subscription: subscribe, list, unsubscribe, serve (local)."""


@webhook.command()
@click.option("--callback-url", required=True, help="Public URL of the webhook endpoint.")
def subscribe(callback_url: str) -> None:
    """Create the app's subscription (Strava calls the endpoint for the handshake now)."""
    rt = _runtime()
    verify = rt.settings.webhook_verify_token
    if not verify:
        raise click.ClickException(
            "NUNIS_WEBHOOK_VERIFY_TOKEN is not set. Fix: set it (the endpoint needs the same "
            "value) and run again."
        )
    secret = rt.settings.webhook_path_secret
    callback_url = subscription.without_secret(callback_url, secret)
    try:
        new_id = _client(rt).create(subscription.callback_with_secret(callback_url, secret), verify)
    except NunisError as exc:
        raise click.ClickException(
            f"{exc} (is the endpoint running with the same verify token? An existing "
            "subscription must be removed first: `nunis-ingest webhook list`.)"
        ) from None
    subscription.save(rt.store, new_id, callback_url, time.time())
    shown = subscription.callback_with_secret(callback_url, secret and "<path secret>")
    click.echo(f"Subscribed: id {new_id} -> {shown} (saved to {subscription.SUBSCRIPTION_KEY})")


@webhook.command("list")
def list_() -> None:
    """Show the app's subscription at Strava and the id this deployment trusts."""
    rt = _runtime()
    try:
        found = _client(rt).list()
    except NunisError as exc:
        raise click.ClickException(str(exc)) from None
    ours = subscription.live_id(rt.store, rt.settings.webhook_subscription_id)
    for sub in found:
        mark = " (ours)" if sub.get("id") == ours else ""
        url = subscription.without_secret(
            str(sub.get("callback_url")), rt.settings.webhook_path_secret
        )
        click.echo(f"{sub.get('id')}\t{url}{mark}")
    if not found:
        click.echo("No subscription at Strava.")
    if ours is not None and all(sub.get("id") != ours for sub in found):
        click.echo(f"Warning: this deployment trusts id {ours}, which Strava no longer has.")


@webhook.command()
@click.option("--id", "sub_id", type=int, default=None, help="Default: ours, or the only one.")
def unsubscribe(sub_id: int | None) -> None:
    """Delete the subscription at Strava and forget its id."""
    rt = _runtime()
    client = _client(rt)
    try:
        if sub_id is None:
            sub_id = subscription.live_id(rt.store, rt.settings.webhook_subscription_id)
        if sub_id is None:
            found = client.list()
            if len(found) != 1:
                raise click.ClickException(f"{len(found)} subscriptions; pass --id.")
            sub_id = int(found[0]["id"])
        deleted = client.delete(sub_id)
    except NunisError as exc:
        raise click.ClickException(str(exc)) from None
    subscription.forget(rt.store)
    click.echo(f"Subscription {sub_id} {'deleted' if deleted else 'was not known to Strava'}.")


@webhook.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, help="0 = a free port.")
@click.option("--worker/--no-worker", default=True, help="Also drain the local queue.")
@click.option("--http/--no-http", "serve_http", default=True, help="Serve the endpoint.")
def serve(host: str, port: int, worker: bool, serve_http: bool) -> None:
    """Run the webhook endpoint and the local worker (embedded default, NUNIS_BACKEND=local)."""
    from werkzeug.serving import make_server

    from nunis_ingest.adapters.queues import LocalQueue
    from nunis_ingest.drivers.webhook.app import make_app
    from nunis_ingest.drivers.webhook.worker import Worker

    rt = _runtime()
    if worker and rt.settings.backend != "local":
        raise click.ClickException("the local worker is for NUNIS_BACKEND=local; use --no-worker")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads: list[threading.Thread] = []
    server = None
    if serve_http:
        server = make_server(host, port, make_app(lambda: rt), threaded=True)
        threads.append(threading.Thread(target=server.serve_forever, daemon=True))
        click.echo(f"http://{host}:{server.server_port}/", err=False)
    loop = None
    if worker:
        queue = rt.queue
        assert isinstance(queue, LocalQueue)
        loop = Worker(rt, queue)
        threads.append(threading.Thread(target=loop.run, daemon=True))
        if not serve_http:
            click.echo("worker running")
    for thread in threads:
        thread.start()
    try:
        while not stop.wait(0.2):
            pass
    finally:
        if server is not None:
            server.shutdown()
        if loop is not None:
            loop.stop_event.set()
        for thread in threads:
            thread.join(timeout=30)
        close = getattr(rt.warehouse, "close", None) if worker else None
        if close:
            close()
