"""One HTTP attempt against Strava, and the retry policy wrapped around it.

Shared by the API client and the OAuth client so both classify failures the same way:
transient ones (5xx, no response, a 2xx body that is not the JSON we expect) become
retriable error classes that tenacity retries; everything else is final at once. 429 is
deliberately *not* retried here: waiting out a 15-minute window inside a function run would
burn its time budget, so the run stops and records where it was (architecture, principle 10).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from nunis_ingest.adapters.strava.errors_map import error_for_response, scrub
from nunis_ingest.core.canonical import loads
from nunis_ingest.core.ratelimit import RateLimitUsage, from_headers
from nunis_ingest.errors import StravaBadResponse, StravaServerError, StravaUnavailable

log = logging.getLogger("nunis_ingest.strava")

RETRIED = (StravaServerError, StravaUnavailable, StravaBadResponse)
"""Failures a retry can fix; 429 and every other 4xx are final."""

MAX_BODY_BYTES = 32 * 2**20
"""The largest Strava answer read: a listing page of 200 is ~0.5 MB, every stream of a
day-long activity a few MB."""
CHUNK_BYTES = 64 * 1024

_TRANSPORT_ERRORS = (
    requests.ConnectionError,  # includes ConnectTimeout
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 8.0
JITTER = 0.5


class StopAtDeadline(stop_base):
    """Stop when the coming backoff would end after ``deadline`` (a ``clock()`` reading).

    tenacity computes the wait before it asks the stop strategy, so ``upcoming_sleep`` is the
    delay it is about to sleep. Checking it here means we never sleep into the deadline only
    to be killed mid-request by the function's timeout.
    """

    def __init__(self, deadline: float | None, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        if self.deadline is None:
            return False
        stop = self.clock() + retry_state.upcoming_sleep > self.deadline
        if stop:
            log.warning(
                "Not retrying: the next attempt would start after the run's deadline "
                "(attempt %d made).",
                retry_state.attempt_number,
            )
        return stop


def _log_retry(retry_state: RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    log.warning(
        "Strava call failed (attempt %d), retrying in %.2f s: %s",
        retry_state.attempt_number,
        retry_state.upcoming_sleep,
        error,
    )


def make_retrying(
    *,
    max_attempts: int,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    deadline: float | None = None,
) -> Retrying:
    """Exponential backoff with jitter (0.5 s, 1 s, 2 s ... capped at 8 s, + up to 0.5 s).

    ``reraise=True`` makes the caller see our own error class from the last attempt rather
    than tenacity's ``RetryError``.
    """
    return Retrying(
        retry=retry_if_exception_type(RETRIED),
        stop=stop_after_attempt(max_attempts) | StopAtDeadline(deadline, clock),
        wait=wait_exponential_jitter(multiplier=FIRST_BACKOFF, max=MAX_BACKOFF, jitter=JITTER),
        sleep=sleep,
        before_sleep=_log_retry,
        reraise=True,
    )


def _reason(exc: BaseException, secrets: Iterable[str]) -> str:
    """Exception type and text, bounded and scrubbed (requests puts URLs in its messages)."""
    text = " ".join(str(exc).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return scrub(f"{type(exc).__name__}: {text}", secrets)


def request_json(
    session: requests.Session,
    method: str,
    url: str,
    *,
    expect: type[list[Any]] | type[dict[str, Any]],
    context: str,
    secrets: Iterable[str],
    timeout: float,
    on_usage: Callable[[RateLimitUsage | None], None] | None = None,
    **kwargs: Any,
) -> tuple[bytes, Any]:
    """Make one attempt; return the exact body bytes and the parsed JSON, or raise mapped.

    ``expect`` is the JSON type the endpoint must return (a list for listings, an object for
    single resources). Anything else in a 2xx (truncated body, HTML from a proxy) is a
    ``StravaBadResponse``, which is retried: it is almost always a transient hiccup.
    """
    secrets = tuple(secrets)
    try:
        response = session.request(method, url, timeout=timeout, stream=True, **kwargs)
        body = _read_body(response, context, timeout)
    except _TRANSPORT_ERRORS as exc:
        raise StravaUnavailable(
            f"No usable response from Strava while {context}: {_reason(exc, secrets)}.",
            action="none needed: a later run retries; if it persists, check the network.",
        ) from exc
    usage = from_headers(response.headers)
    if on_usage is not None:
        on_usage(usage)
    status = response.status_code
    if not 200 <= status <= 299:
        raise error_for_response(status, body, context=context, secrets=secrets, usage=usage)
    try:
        data: Any = loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        data = None
    if not isinstance(data, expect) or (
        isinstance(data, list) and not all(isinstance(item, dict) for item in data)
    ):
        kind = "list of objects" if expect is list else "object"
        error = StravaBadResponse(
            f"Strava answered HTTP {status} while {context}, but the body ({len(body)} bytes) "
            f"is not a JSON {kind}.",
            action="none needed: a later run retries; if it persists, Strava changed its API.",
        )
        error.status = status
        raise error
    return body, data


def _read_body(response: requests.Response, context: str, timeout: float) -> bytes:
    """The body, read in chunks: at most ``MAX_BODY_BYTES`` (a declared or actual larger
    body is refused before it is held) and within ``timeout`` seconds in all (``timeout``
    alone bounds each read, so a body dripping one byte at a time would outlive the run's
    time budget and its lease)."""
    try:
        declared = int(response.headers.get("Content-Length", "0"))
    except ValueError:
        declared = 0
    expired = threading.Event()
    watchdog = threading.Timer(timeout, _cut, (response, expired))
    watchdog.daemon = True
    chunks: list[bytes] = []
    size = 0
    try:
        if declared > MAX_BODY_BYTES:
            raise _too_large(context, declared)
        watchdog.start()
        for chunk in response.iter_content(CHUNK_BYTES):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _too_large(context, size)
            if expired.is_set():
                break
            chunks.append(chunk)
    except (*_TRANSPORT_ERRORS, OSError, AttributeError, ValueError):
        if not expired.is_set():
            raise
    finally:
        watchdog.cancel()
        response.close()
    if expired.is_set():
        raise StravaUnavailable(
            f"Strava's answer while {context} took more than {timeout:.0f} s to arrive "
            f"({size} bytes by then).",
            action="none needed: a later run retries; if it persists, check the network.",
        )
    return b"".join(chunks)


def _cut(response: requests.Response, expired: threading.Event) -> None:
    """The watchdog: end a body still arriving after its time (shutting the socket wakes
    the read that waits on it)."""
    expired.set()
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:  # http.client keeps it in the response once the headers are read
        reader = getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None)
        sock = getattr(reader, "_sock", None)
    with contextlib.suppress(OSError):
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)


def _too_large(context: str, size: int) -> StravaBadResponse:
    return StravaBadResponse(
        f"Strava's answer while {context} is larger than {MAX_BODY_BYTES // 2**20} MiB "
        f"({size} bytes or more): refused before it is held in memory.",
        action="none needed: a later run retries; if it persists, report it.",
    )
