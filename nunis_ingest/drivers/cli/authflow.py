"""The OAuth authorization-code flow with a one-shot redirect server on 127.0.0.1.

Strava allows ``127.0.0.1`` redirect URIs. We ask for ``read,activity:read_all``, check
the ``state`` we sent, and check the scope the athlete actually accepted (they can
untick it): without ``activity:read_all`` private activities would silently vanish.
"""

from __future__ import annotations

import secrets
import threading
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from nunis_ingest.adapters.strava.oauth import OAuthClient
from nunis_ingest.core.token import Token, accepted_scope_ok
from nunis_ingest.errors import (
    AuthorisationCancelled,
    AuthorisationIncomplete,
    AuthorisationTimeout,
    ConfigError,
    StravaScopeError,
)

if TYPE_CHECKING:
    from nunis_ingest.runtime import Runtime

SCOPE = "read,activity:read_all"
AGAIN = "run `nunis-ingest auth` again."


class _Redirect(BaseHTTPRequestHandler):
    result: dict[str, str]
    done: threading.Event

    def do_GET(self) -> None:
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        if urlparse(self.path).path != "/callback":
            self.send_error(404)
            return
        self.server.result = query  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        outcome = "authorisation cancelled" if "error" in query else "done"
        page = f"Nunis Ingest: {outcome}; you can close this tab and return to the terminal.\n"
        self.wfile.write(page.encode())
        self.server.done.set()  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: the query string carries the authorization code."""


def run_authorization(
    rt: Runtime,
    *,
    port: int = 0,
    open_browser: bool = True,
    timeout: float = 300,
    echo: Callable[[str], None] = print,
) -> tuple[Token, dict[str, Any]]:
    """Run the flow; return the token and the athlete summary Strava sent with it."""
    oauth = OAuthClient.for_app(rt.session, rt.settings)
    try:
        server = HTTPServer(("127.0.0.1", port), _Redirect)
    except OSError as exc:
        raise ConfigError(
            f"Cannot listen for the browser's redirect on 127.0.0.1 port {port}: {exc.strerror}.",
            action="pass another --port, or --port 0 for a free one.",
        ) from None
    server.done = threading.Event()  # type: ignore[attr-defined]
    server.result = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        state = secrets.token_urlsafe(16)
        redirect = f"http://127.0.0.1:{server.server_address[1]}/callback"
        url = oauth.authorize_url(redirect, scope=SCOPE, state=state)
        echo(f"Open this URL to authorise Nunis Ingest:\n  {url}")
        if open_browser:
            webbrowser.open(url)
        if not server.done.wait(timeout):  # type: ignore[attr-defined]
            raise AuthorisationTimeout(
                f"No answer from the browser within {timeout:.0f} s.",
                action="run `nunis-ingest auth` again, open the URL it prints and click "
                "Authorize within the time (or pass a longer --timeout).",
            )
        result: dict[str, str] = server.result  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
    return _accept(oauth, result, state)


def _accept(oauth: OAuthClient, result: dict[str, str], state: str) -> tuple[Token, dict[str, Any]]:
    """Check the redirect's query, then exchange its code."""
    if result.get("error") == "access_denied":
        raise AuthorisationCancelled("Authorisation was cancelled in the browser.", action=AGAIN)
    if result.get("state") != state:
        raise AuthorisationIncomplete(
            "The redirect's state does not match the one we sent (a stale or foreign tab).",
            action=AGAIN,
        )
    if "error" in result or not result.get("code"):
        why = f"error={result['error'][:40]!r}" if "error" in result else "no code"
        raise AuthorisationIncomplete(
            f"The browser's redirect carried no authorisation code ({why}).", action=AGAIN
        )
    if not accepted_scope_ok(result.get("scope")):
        raise StravaScopeError(
            f"The athlete accepted scope {result.get('scope')!r} without activity:read_all.",
            action="run `nunis-ingest auth` again and leave 'View data about your private "
            "activities' ticked.",
        )
    return oauth.exchange_code(result["code"], scope=result.get("scope"))
