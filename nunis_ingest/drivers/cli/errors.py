"""How the CLI turns a failure into one line a person can act on, and an exit code.

Every failure a person can hit ends as ``Error: <what happened>. Fix: <what to do>`` on
stderr, one line, with no traceback unless ``--debug`` is given. The wording of our own
errors comes from ``errors.decide`` (the mapping every driver uses); this module adds the
exit code and the words for the few failures that are not ``NunisError``s (the file
system, the Google clients, a bug).
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass

import click

from nunis_ingest import logs
from nunis_ingest.errors import (
    AthleteNotConfigured,
    ConfigError,
    MalformedMessage,
    NunisError,
    decide,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 an athlete or the command failed (for status: part of it could "
    "not be read); 2 usage or configuration error; 130 interrupted (Ctrl-C)."
)
DEBUG_HINT = "run again with --debug for the traceback"
_MAX_LINE = 600


@dataclass(frozen=True)
class Failure:
    """One failure as the CLI shows it."""

    line: str
    exit_code: int
    kind: str  # "retry later", "action needed" or "unexpected"


def one_line(text: str, limit: int = _MAX_LINE) -> str:
    """Whitespace folded to single spaces, secrets redacted, bounded."""
    flat = logs.redact(" ".join(str(text).split()))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _config_like(exc: BaseException) -> bool:
    from nunis_ingest.errors import StravaAppCredentialsError

    return isinstance(
        exc, ConfigError | AthleteNotConfigured | MalformedMessage | StravaAppCredentialsError
    )


def _os_error(exc: OSError) -> Failure:
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, NotADirectoryError | FileExistsError):
        fix = "NUNIS_DATA_DIR (and NUNIS_DUCKDB_PATH) must name folders/files that can exist"
    elif isinstance(exc, PermissionError):
        fix = "make it writable for this user, or point NUNIS_DATA_DIR somewhere writable"
    elif isinstance(exc, FileNotFoundError):
        fix = "check NUNIS_DATA_DIR and NUNIS_DUCKDB_PATH"
    else:
        fix = f"check the disk and NUNIS_DATA_DIR; {DEBUG_HINT}"
    return Failure(f"cannot use {where}: {reason}. Fix: {fix}.", EXIT_CONFIG, "action needed")


def _google_error(exc: Exception) -> Failure | None:
    """Missing bucket/dataset or refused access on the gcp backend (lazy: no import cost)."""
    gexc = sys.modules.get("google.api_core.exceptions")
    if gexc is None or not isinstance(exc, gexc.GoogleAPICallError):
        return None
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, gexc.NotFound):
        fix = "check NUNIS_BUCKET, NUNIS_DATASET and NUNIS_PROJECT name resources that exist"
        return Failure(
            f"Google Cloud: not found: {message}. Fix: {fix}.", EXIT_CONFIG, "action needed"
        )
    if isinstance(exc, gexc.Forbidden | gexc.Unauthorized):
        fix = "grant the service account access to the bucket and dataset (or check credentials)"
        return Failure(
            f"Google Cloud refused access: {message}. Fix: {fix}.", EXIT_CONFIG, "action needed"
        )
    return None


def describe(exc: BaseException) -> Failure:
    """The line and exit code for ``exc``; never a traceback, never a secret."""
    if isinstance(exc, NunisError):
        decision = decide(exc)
        code = EXIT_CONFIG if _config_like(exc) else EXIT_FAILED
        return Failure(one_line(decision.message), code, decision.kind)
    if isinstance(exc, OSError) and not _is_network(exc):
        failure = _os_error(exc)
        return Failure(one_line(failure.line), failure.exit_code, failure.kind)
    if isinstance(exc, Exception):
        google = _google_error(exc)
        if google is not None:
            return Failure(one_line(google.line), google.exit_code, "action needed")
    decision = decide(exc)
    text = one_line(str(exc), 300) or type(exc).__name__
    return Failure(
        one_line(f"unexpected {decision.error_class}: {text}. Fix: {DEBUG_HINT}, and report it."),
        EXIT_FAILED,
        "unexpected",
    )


def _is_network(exc: OSError) -> bool:
    requests_exc = sys.modules.get("requests.exceptions")
    return requests_exc is not None and isinstance(exc, requests_exc.RequestException)


def print_traceback(exc: BaseException) -> None:
    """The redacted traceback, for ``--debug``."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    click.echo(logs.redact(text).rstrip(), err=True)


def fail(exc: BaseException, *, debug: bool) -> int:
    """Print the one line (after the traceback with ``--debug``); return the exit code."""
    if debug:
        print_traceback(exc)
    failure = describe(exc)
    click.echo(f"Error: {failure.line}", err=True)
    return failure.exit_code
