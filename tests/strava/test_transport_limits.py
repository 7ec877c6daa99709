"""Strava's answer is bounded in size and in time, over a real socket: a body larger than
``MAX_BODY_BYTES`` (declared or not) is refused before it is held, and a body that drips
in one byte at a time cannot keep a run past its request timeout (each read alone would
never time out). A loopback server plays the hostile end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from nunis_ingest.adapters.strava import transport
from nunis_ingest.errors import StravaBadResponse, StravaUnavailable

MIB = 2**20


class _Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path == "/declared":
            self.send_header("Content-Length", str(40 * MIB))
            self.end_headers()
            self._send(b"[" + b" " * (40 * MIB - 2) + b"]")
        elif self.path == "/undeclared":
            self.end_headers()  # no length: read until the connection closes
            self._send(b"[" + b" " * (40 * MIB) + b"]")
        elif self.path == "/deep":  # 10 KB of nesting: json's recursion limit, not size
            body = b"[" * 5000 + b"]" * 5000
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._send(body)
        elif self.path == "/drip":
            self.send_header("Content-Length", "20")
            self.end_headers()
            for _ in range(20):
                self._send(b" ")
                time.sleep(0.3)

    def _send(self, data: bytes) -> None:
        try:
            for start in range(0, len(data), MIB):
                self.wfile.write(data[start : start + MIB])
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what it should do


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _get(url: str, timeout: float = 5.0) -> None:
    with requests.Session() as session:
        transport.request_json(
            session, "GET", url, expect=list, context="listing", secrets=(), timeout=timeout
        )


@pytest.mark.parametrize("path", ["/declared", "/undeclared"])
def test_a_body_larger_than_the_cap_is_refused(server: str, path: str) -> None:
    with pytest.raises(StravaBadResponse, match="larger than 32 MiB"):
        _get(server + path)


def test_a_dripping_body_ends_at_the_request_timeout(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(StravaUnavailable, match="took more than"):
        _get(server + "/drip", timeout=1.5)
    assert time.monotonic() - started < 4.0  # not the 6 s the server would take


def test_a_body_nested_too_deep_is_a_bad_response_not_a_crash(server: str) -> None:
    with pytest.raises(StravaBadResponse, match="not a JSON"):
        _get(server + "/deep")
