"""Injected faults, applied as WSGI middleware before the Flask app handles a request."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from strava_sandbox.reqlog import RequestLog

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

KINDS = ("status", "delay", "drop", "malformed", "short_page", "body")
MESSAGES = {
    400: "Bad Request",
    401: "Authorization Error",
    403: "Forbidden",
    404: "Resource Not Found",
    429: "Rate Limit Exceeded",
}
LOGGED_PREFIXES = ("/api/", "/oauth/")
ID_RE = re.compile(r"/\d+")


@dataclass
class Fault:
    id: int
    kind: str
    method: str = "*"
    path: str = "/"
    status: int = 500
    delay: float = 0.0
    size: int | None = None
    body: str | None = None
    after: int = 0
    times: int | None = None
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and path.startswith(self.path)


class FaultRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: dict[str, Any]) -> Fault:
        if spec.get("kind") not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        allowed = set(Fault.__dataclass_fields__) - {"id", "seen", "fired"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        with self._lock:
            fault = Fault(id=self._next_id, **spec)
            fault.method = fault.method.upper()
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def fire(self, method: str, path: str) -> list[Fault]:
        """Count this request against every matching fault; return those that fire."""
        firing = []
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path):
                    continue
                fault.seen += 1
                if fault.seen > fault.after and (fault.times is None or fault.fired < fault.times):
                    fault.fired += 1
                    firing.append(fault)
        return firing


def _status_body(status: int) -> tuple[bytes, str]:
    if status >= 500:
        html = f"<html><body><h1>{status}</h1><p>Something went wrong</p></body></html>"
        return html.encode(), "text/html; charset=utf-8"
    body: dict[str, Any] = {"message": MESSAGES.get(status, "Error"), "errors": []}
    if status == 429:
        body["errors"] = [{"resource": "Application", "field": "rate limit", "code": "exceeded"}]
    return json.dumps(body).encode(), "application/json; charset=utf-8"


def _drop(environ: WSGIEnvironment) -> None:
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionResetError("sandbox fault: connection dropped")


class FaultMiddleware:
    """Applies faults, then logs each API request with its status and athlete."""

    def __init__(
        self, app: WSGIApplication, faults: FaultRegistry, log: RequestLog, now: Callable[[], float]
    ) -> None:
        self.app, self.faults, self.log, self.now = app, faults, log, now

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
        if not path.startswith(LOGGED_PREFIXES):
            return self.app(environ, start_response)
        status_holder: list[int] = [0]
        environ["sandbox.epoch"] = self.log.epoch
        try:
            body = self._handle(environ, start_response, status_holder, method, path)
        except ConnectionResetError:
            status_holder[0] = 0
            self._record(environ, method, path, 0, "drop")
            raise
        self._record(environ, method, path, status_holder[0], environ.get("sandbox.fault"))
        return body

    def _handle(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        status_holder: list[int],
        method: str,
        path: str,
    ) -> Iterable[bytes]:
        firing = self.faults.fire(method, path)
        kinds = {f.kind: f for f in firing}
        if "delay" in kinds:
            time.sleep(kinds["delay"].delay)
            if environ["sandbox.epoch"] != self.log.epoch:  # reset while this request slept:
                payload = b"sandbox was reset while this request waited"  # count it nowhere
                start_response("503 RESET", [("Content-Length", str(len(payload)))])
                return [payload]
        if "drop" in kinds:
            _drop(environ)
        if "status" in kinds:
            environ["sandbox.fault"] = "status"
            status = kinds["status"].status
            payload, ctype = _status_body(status)
            status_holder[0] = status
            start_response(
                f"{status} FAULT", [("Content-Type", ctype), ("Content-Length", str(len(payload)))]
            )
            return [payload]
        if "short_page" in kinds:
            size = kinds["short_page"].size
            environ["sandbox.short_page"] = -1 if size is None else size  # -1: half a page
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return lambda data: None

        chunks = b"".join(self.app(environ, capture))
        status_code = int(str(captured["status"]).split()[0])
        headers = list(captured["headers"])
        if "body" in kinds:  # a well-formed answer of the wrong shape (e.g. a list, not {})
            environ["sandbox.fault"] = "body"
            chunks = (kinds["body"].body or "").encode()
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(chunks))))
        if "malformed" in kinds:
            environ["sandbox.fault"] = "malformed"
            chunks, status_code = chunks[: max(1, len(chunks) // 2)], 200
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-length",)]
            headers.append(("Content-Length", str(len(chunks))))
            captured["status"] = "200 OK"
        status_holder[0] = status_code
        start_response(str(captured["status"]), headers)
        return [chunks]

    def _record(
        self, environ: WSGIEnvironment, method: str, path: str, status: int, fault: Any
    ) -> None:
        self.log.add(
            {
                "at": self.now(),
                "method": method,
                "path": path,
                "query": environ.get("QUERY_STRING", ""),
                "endpoint": ID_RE.sub("/{id}", path),
                "status": status,
                "athlete_id": environ.get("sandbox.athlete_id"),
                "fault": fault,
            },
            epoch=environ.get("sandbox.epoch"),
        )
