"""Over real HTTP (a local server), no token or secret reaches logs or exceptions.

``responses`` bypasses urllib3, whose DEBUG log prints request lines; this test uses a real
socket so urllib3's own logging is exercised too.
"""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests

from nunis_ingest.adapters.strava.client import StravaClient
from nunis_ingest.adapters.strava.oauth import OAuthClient
from nunis_ingest.core.token import Token
from nunis_ingest.errors import StravaAuthError, StravaServerError, StravaUnavailable

ACCESS = "acc-tok-9f8e7d6c5b4a"
REFRESH = "ref-tok-1a2b3c4d5e6f"
SECRET = "cli-sec-0a9b8c7d6e5f"


class Handler(BaseHTTPRequestHandler):
    seen_auth: ClassVar[list[str]] = []

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def _send(self, status, payload, headers=()):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        Handler.seen_auth.append(self.headers.get("Authorization", ""))
        if self.path.startswith("/api/v3/athlete/activities"):
            page = int(self.path.split("page=")[1].split("&")[0])
            items = [{"id": page}] if page < 3 else []
            self._send(200, items, [("x-readratelimit-usage", "1,2")])
        elif self.path.startswith("/api/v3/athlete"):
            # echo the credentials back, like a misbehaving proxy would
            self._send(401, {"message": f"bad {self.headers.get('Authorization')}", "errors": []})
        else:
            self._send(500, {"message": "boom"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        echoed = self.rfile.read(length).decode()
        self._send(500, {"message": echoed})


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def assert_clean(text):
    for secret in (ACCESS, REFRESH, SECRET):
        assert secret not in text


def test_no_token_in_logs_or_errors_over_real_http(server, caplog):
    caplog.set_level(logging.DEBUG)  # root, so urllib3's connection logs are captured
    caplog.set_level(logging.DEBUG, logger="urllib3")  # even if an app run quietened it
    with requests.Session() as session:
        client = StravaClient(session, base_url=server, access_token=ACCESS, sleep=lambda s: None)
        pages = [client.list_activities_page(n) for n in (1, 2, 3)]
        assert [len(p.items) for p in pages] == [1, 1, 0]
        assert Handler.seen_auth[0] == f"Bearer {ACCESS}"
        with pytest.raises(StravaAuthError) as auth:
            client.get_athlete()
        with pytest.raises(StravaServerError) as server_error:
            client.get_activity(1)
        oauth = OAuthClient(
            session, base_url=server, client_id="1", client_secret=SECRET, sleep=lambda s: None
        )
        with pytest.raises(StravaServerError) as refresh_error:
            oauth.refresh(Token(ACCESS, REFRESH, 0))
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert any(r.name == "nunis_ingest.strava" for r in caplog.records)
    assert_clean(caplog.text)
    for info in (auth, server_error, refresh_error):
        assert_clean(str(info.value))
        assert_clean(repr(info.value))


def test_connection_refused_message_is_clean(caplog):
    caplog.set_level(logging.DEBUG)
    with requests.Session() as session:
        client = StravaClient(
            session,
            base_url="http://127.0.0.1:9",  # discard port: nothing listens
            access_token=ACCESS,
            max_attempts=2,
            sleep=lambda s: None,
            timeout=2,
        )
        with pytest.raises(StravaUnavailable) as info:
            client.list_activities_page(1)
    assert client.requests_made == 2
    assert_clean(str(info.value) + repr(info.value) + caplog.text)
