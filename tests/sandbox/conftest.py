"""Helpers for the sandbox's own tests: an API session and a webhook callback server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from strava_sandbox.testing import SandboxControl


class Api:
    """Minimal Strava API caller bound to one athlete's token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url, self.token = base_url, token
        self.session = requests.Session()

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(
            f"{self.base_url}/api/v3{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )


@pytest.fixture
def athlete(sandbox: SandboxControl) -> dict[str, Any]:
    return sandbox.athletes()[0]


@pytest.fixture
def api(sandbox: SandboxControl, athlete: dict[str, Any]) -> Iterator[Api]:
    client = Api(sandbox.base_url, athlete["access_token"])
    yield client
    client.session.close()


@dataclass
class Callback:
    """A webhook receiver; `statuses` scripts the answers to event POSTs (then 200)."""

    url: str = ""
    echo: bool = True
    handshake_delay: float = 0.0
    statuses: list[int] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    challenges: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        if request.method == "GET":
            self.challenges.append(dict(request.args))
            if self.handshake_delay:
                threading.Event().wait(self.handshake_delay)
            body = {"hub.challenge": request.args.get("hub.challenge") if self.echo else "nope"}
            return Response(json.dumps(body), mimetype="application/json")(environ, start_response)
        self.events.append(json.loads(request.get_data()))
        status = self.statuses.pop(0) if self.statuses else 200
        return Response("ok", status=status)(environ, start_response)


@pytest.fixture
def callback() -> Iterator[Callback]:
    receiver = Callback()
    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.server_port}/strava/webhook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
