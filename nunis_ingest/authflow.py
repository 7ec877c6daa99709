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

from nunis_ingest.errors import StravaScopeError
from nunis_ingest.strava.oauth import OAuthClient, Token, accepted_scope_ok

if TYPE_CHECKING:
    from nunis_ingest.runtime import Runtime

SCOPE = "read,activity:read_all"


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
        self.wfile.write(b"Nunis Ingest: you can close this tab and return to the terminal.\n")
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
    client_id, secret = rt.settings.require_strava_app()
    oauth = OAuthClient(
        rt.session, base_url=rt.settings.strava_base_url, client_id=client_id, client_secret=secret
    )
    server = HTTPServer(("127.0.0.1", port), _Redirect)
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
            raise TimeoutError(f"no redirect within {timeout:.0f} s")
        result: dict[str, str] = server.result  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
    if result.get("state") != state:
        raise StravaScopeError(
            "The redirect's state does not match the one we sent.",
            action="start `nunis-ingest auth` again.",
        )
    if "error" in result:
        raise StravaScopeError(
            f"Authorisation was refused ({result['error']}).",
            action="run `nunis-ingest auth` again and click Authorize.",
        )
    if not accepted_scope_ok(result.get("scope")):
        raise StravaScopeError(
            f"The athlete accepted scope {result.get('scope')!r} without activity:read_all.",
            action="run `nunis-ingest auth` again and leave 'View data about your private "
            "activities' ticked.",
        )
    return oauth.exchange_code(result["code"], scope=result.get("scope"))
