"""The redaction filter: a registered secret never leaves a log record, wherever it hides."""

from __future__ import annotations

import io
import logging

from nunis_ingest import logs


def _emit(fmt_args, *, exc: BaseException | None = None, fields=None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.ConsoleFormatter())
    handler.addFilter(logs.RedactingFilter())
    logger = logging.getLogger("tests.redaction")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        extra = {"json_fields": fields} if fields else None
        if exc is not None:
            try:
                raise exc
            except BaseException:
                logger.exception(*fmt_args, extra=extra)
        else:
            logger.warning(*fmt_args, extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_secret_in_message_args_fields_and_traceback_is_redacted():
    secret = "s3cr3t-refresh-token-0123456789"
    logs.register_secret(secret)
    out = _emit(("token %s", secret), fields={"token": secret, "n": 3})
    out += _emit(("failed",), exc=RuntimeError(f"bad {secret}"))
    assert secret not in out
    assert out.count(logs.REDACTED) >= 3
    assert "n=3" in out


def test_short_values_are_not_registered_and_the_set_is_bounded():
    logs.register_secret("abc")
    assert "abc" not in logs._secrets
    for i in range(logs.MAX_SECRETS + 10):
        logs.register_secret(f"token-{i:08d}")
    assert len(logs._secrets) == logs.MAX_SECRETS
    assert "token-00000000" not in logs._secrets
