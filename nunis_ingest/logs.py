"""Logging: structured JSON for Cloud Logging, readable lines on a console.

Fields travel as ``extra={"json_fields": {...}}`` (the key Cloud Logging's
``StructuredLogHandler`` reads), so one call site serves both formats. A redaction
filter scrubs every secret registered with ``register_secret`` from each record, as a
second line of defence behind code that never logs tokens in the first place.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

_secrets: dict[str, None] = {}  # insertion-ordered set, bounded for long-lived instances
_lock = threading.Lock()
MAX_SECRETS = 512
REDACTED = "[redacted]"


def register_secret(value: str | None) -> None:
    """Remember a token or secret so no log record can carry it (the newest 512 are kept)."""
    if value and len(value) >= 8:
        with _lock:
            _secrets.pop(value, None)
            _secrets[value] = None
            while len(_secrets) > MAX_SECRETS:
                del _secrets[next(iter(_secrets))]


def redact(text: str) -> str:
    for secret in list(_secrets):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        record.msg = redact(record.getMessage())
        record.args = None
        fields = getattr(record, "json_fields", None)
        if isinstance(fields, dict):
            record.json_fields = {k: _redact_value(v) for k, v in fields.items()}
        http = getattr(record, "_http_request_str", None)  # the URL Cloud Logging copies
        if isinstance(http, str):
            record._http_request_str = redact(http)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL message  key=value ...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "json_fields", None)
        if isinstance(fields, dict) and fields:
            text += "  " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        return text


def configure(fmt: str, level: int = logging.INFO) -> None:
    """Install one handler on the root logger (idempotent across warm invocations)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_nunis", False):
            root.removeHandler(old)
    handler: logging.Handler
    if fmt == "json":
        from google.cloud.logging.handlers import StructuredLogHandler

        handler = StructuredLogHandler(stream=sys.stdout)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(ConsoleFormatter())
    handler.addFilter(RedactingFilter())
    setattr(handler, "_nunis", True)  # noqa: B010 - marks our handler for idempotent setup
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "google", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
