"""HTTP glue for the ``webhook`` function and ``webhook serve``: request -> response.

Never raises: every outcome is a status code and one log line. A request whose path lacks
the secret segment (NUNIS_WEBHOOK_PATH_SECRET) is answered 404 before its body, query or
method is looked at. Our log lines carry an ``httpRequest`` without path or query (the
structured log handler would otherwise copy the full URL, path secret and verify token
included, into every line). The enqueue runs in a
small thread pool and is waited on for at most NUNIS_WEBHOOK_ENQUEUE_TIMEOUT_SECONDS
(default 1 s), so a slow queue cannot push the answer past Strava's 2-second budget; on
timeout or failure we answer 503 and Strava retries (an enqueue that lands late only
makes a duplicate, which processing absorbs).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Request, Response, jsonify

from nunis_ingest import logs
from nunis_ingest.drivers.webhook import receive
from nunis_ingest.usecases.webhook.subscription import SubscriptionIdCache

if TYPE_CHECKING:
    from nunis_ingest.ports import Queue
    from nunis_ingest.runtime import Runtime
    from nunis_ingest.settings import Settings

log = logging.getLogger("nunis_ingest.webhook")

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="enqueue")


class Receiver:
    def __init__(
        self,
        settings: Settings,
        store: Callable[[], Any],
        queue: Callable[[], Queue],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.queue = queue
        self.clock = clock
        self.subscription = SubscriptionIdCache(store, settings.webhook_subscription_id)
        logs.register_secret(settings.webhook_verify_token)
        logs.register_secret(settings.webhook_path_secret)

    def decide(self, request: Request) -> receive.Decision:
        if not receive.path_allowed(request.path, self.settings.webhook_path_secret):
            return receive.not_found()
        if request.method == "GET":
            return receive.handshake(request.args, self.settings.webhook_verify_token)
        if request.method != "POST":
            return receive.Decision(405, {"error": "method not allowed"}, "refused a method")
        length = request.content_length
        if length is not None and length > receive.MAX_BODY_BYTES:
            return receive.too_large()
        body = request.stream.read(receive.MAX_BODY_BYTES + 1)
        decision = receive.event(body, self._ours, self.clock())
        if decision.event is None:
            return decision
        return self._enqueue(decision)

    def _ours(self, seen: int) -> int | None:
        """Our subscription id; None (-> 503 naming the fix) when it cannot be read."""
        try:
            return self.subscription(seen)
        except Exception as exc:  # e.g. an account with no bucket access and no env id
            log.error(
                "cannot read our subscription id (%s); set NUNIS_WEBHOOK_SUBSCRIPTION_ID",
                type(exc).__name__,
                extra={"http_request": {}},
            )
            return None

    def _enqueue(self, decision: receive.Decision) -> receive.Decision:
        assert decision.event is not None
        data = decision.event.to_bytes()
        attrs = {"kind": "webhook_event", "athlete_id": str(decision.event.event.owner_id)}
        started = time.monotonic()
        future = _POOL.submit(lambda: self.queue().put(data, attributes=attrs))
        try:
            future.result(timeout=self.settings.webhook_enqueue_timeout_seconds)
        except concurrent.futures.TimeoutError:
            return _unavailable(decision, f"the queue took over {time.monotonic() - started:.2f} s")
        except Exception as exc:  # the queue adapter's own errors vary by backend
            return _unavailable(decision, f"the queue failed: {type(exc).__name__}: {exc}")
        return decision


def _unavailable(decision: receive.Decision, why: str) -> receive.Decision:
    return receive.Decision(
        503,
        {"error": "try again"},
        f"answered 503 so Strava retries: {why}",
        logging.ERROR,
        fields=decision.fields,
    )


_receivers: weakref.WeakKeyDictionary[Runtime, Receiver] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def receiver_for(runtime: Runtime) -> Receiver:
    with _lock:
        found = _receivers.get(runtime)
        if found is None:
            found = Receiver(runtime.settings, lambda: runtime.store, lambda: runtime.queue)
            _receivers[runtime] = found
        return found


def http_request_fields(request: Request, status: int | None = None) -> dict[str, Any]:
    """``httpRequest`` for our log lines: scheme and host only, never the path or query."""
    fields: dict[str, Any] = {"requestMethod": request.method, "requestUrl": request.host_url}
    if status is not None:
        fields["status"] = status
    return fields


def handle(request: Request, runtime: Callable[[], Runtime]) -> Response:
    """Answer one webhook request; ``runtime`` builds (or returns the cached) Runtime."""
    started = time.monotonic()
    try:
        decision = receiver_for(runtime()).decide(request)
    except Exception as exc:  # bad settings or a bug: a clean 500, never a trace to Strava
        log.exception(
            "webhook request failed: %s",
            type(exc).__name__,
            extra={"http_request": http_request_fields(request, 500)},
        )
        decision = receive.Decision(500, {"error": "internal"}, "failed", logging.ERROR)
    fields = decision.fields | {
        "status": decision.status,
        "elapsed_ms": round(1000 * (time.monotonic() - started), 1),
    }
    if decision.status != 500:
        log.log(
            decision.level,
            decision.message,
            extra={
                "json_fields": fields,
                "http_request": http_request_fields(request, decision.status),
            },
        )
    response = jsonify(decision.body)
    response.status_code = decision.status
    return response
