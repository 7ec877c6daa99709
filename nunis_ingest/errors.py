"""Error classes that encode the caller's decision.

Every error we raise on purpose is a ``NunisError``. Its ``retriable`` flag is the
whole retry policy: ``main.ingest`` raises retriable errors (Pub/Sub redelivers)
and acknowledges the rest after logging ``str(error)``, which always says what
happened and what to do. Messages never carry a token or a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nunis_ingest.core.ratelimit import RateLimitUsage


class NunisError(Exception):
    """Base class. ``retriable`` decides: raise (redeliver) or acknowledge."""

    retriable = False

    def __init__(self, message: str, *, athlete_id: int | None = None, action: str = "") -> None:
        self.athlete_id = athlete_id
        self.action = action
        text = message if not action else f"{message} Fix: {action}"
        super().__init__(text)


class RetriableError(NunisError):
    """Transient: a later attempt can succeed without anyone doing anything."""

    retriable = True


class PermanentError(NunisError):
    """Retrying cannot help: a person must act (or the input is garbage)."""


# --- configuration and input -------------------------------------------------


class ConfigError(PermanentError):
    """A setting is missing or invalid. The message names the key."""


class MalformedMessage(PermanentError):
    """A Pub/Sub message or event we cannot parse."""


class AuthorisationTimeout(PermanentError):
    """The browser never came back to the redirect server within ``--timeout``."""


class AuthorisationCancelled(PermanentError):
    """The athlete pressed Cancel: Strava redirected with ``error=access_denied``."""


class AuthorisationIncomplete(PermanentError):
    """The redirect came back without a code, or with a state we did not send."""


class ExportError(PermanentError):
    """An export given to ``import`` cannot be imported as a whole (not an export, not a
    zip, the wrong athlete). One bad file or row inside an export is never this: it is
    listed and the rest loads."""


class AthleteNotConfigured(PermanentError):
    """A request names an athlete that has no config or token."""


# --- Strava -----------------------------------------------------------------


class StravaError(NunisError):
    """Base for errors from the Strava API. ``status`` is the HTTP status (0 = no response)."""

    status = 0


class StravaAuthError(StravaError, PermanentError):
    """The refresh or access token is invalid or revoked: the athlete must re-authorise."""

    status = 401
    needs_reauth = True


class StravaScopeError(StravaError, PermanentError):
    """The token lacks a scope we need (e.g. activity:read_permission missing)."""

    status = 401
    needs_reauth = True


class StravaTokenRejected(StravaError, RetriableError):
    """A freshly refreshed access token was refused too: the refresh token still works, so
    the athlete is not revoked; a later attempt decides (never marks re-authorisation)."""

    status = 401


class TokenMismatch(StravaError, PermanentError):
    """The stored token belongs to another athlete than the one it is registered for."""


class StravaInactiveApp(StravaError, PermanentError):
    """403 Application Status Inactive: the app owner's subscription lapsed (2026 rule)."""

    status = 403


class StravaForbidden(StravaError, PermanentError):
    """Any other 403, e.g. 'Limit of connected athletes exceeded'."""

    status = 403


class StravaNotFound(StravaError, PermanentError):
    """404 Resource Not Found."""

    status = 404


class StravaBadResponse(StravaError, RetriableError):
    """A 2xx response whose body is not the JSON we expect (truncated or malformed)."""


class StravaRateLimited(StravaError, RetriableError):
    """429, or our own budget guard stopped the run before Strava would have."""

    status = 429


class StravaServerError(StravaError, RetriableError):
    """5xx that outlasted the in-run retries."""

    status = 500


class StravaUnavailable(StravaError, RetriableError):
    """Connection refused, reset or timed out, after the in-run retries."""


class StravaRequestError(StravaError, PermanentError):
    """Any other 4xx: the request itself is wrong, so repeating it cannot help."""


class StravaAppCredentialsError(StravaError, PermanentError):
    """The token endpoint refused our client id or secret: the app's settings are wrong.

    Not an athlete's problem (no re-authorisation can fix it), so no ``needs_reauth``.
    """


class StravaRateLimitExceeded(StravaRateLimited):
    """429 from Strava, carrying the rate-limit figures that came with it (may be ``None``)."""

    def __init__(self, message: str, *, usage: RateLimitUsage | None, action: str = "") -> None:
        super().__init__(message, action=action)
        self.usage = usage


class BudgetDeferred(StravaRateLimited):
    """The app's shared read ledger says this read must wait (``budget/rules.py``): no
    request was made. ``until`` is when the window (or the day) resets, epoch seconds."""

    status = 0

    def __init__(self, message: str, *, until: float | None, why: str | None) -> None:
        super().__init__(message, action="none needed: the next run after the reset resumes.")
        self.until = until
        self.why = why


# --- storage and coordination -------------------------------------------------


class StoreTransientError(RetriableError):
    """Cloud Storage failed in a way a later attempt can fix (5xx, 429, network)."""


class StoreAccessError(PermanentError):
    """The bucket is missing or the service account may not use it."""


class PreconditionFailed(RetriableError):
    """Someone else wrote the object first (create-only or compare-and-swap lost)."""


class LeaseHeld(RetriableError):
    """Another run holds this athlete's lease."""


class WarehouseTransientError(RetriableError):
    """The warehouse failed in a way a retry can fix (lock, busy, quota, network, 5xx)."""


class WarehouseLocked(WarehouseTransientError):
    """Another process holds the warehouse file (DuckDB) past the bounded wait.

    The message names the file and, where the driver says, the holder; nothing was written.
    """


class WarehouseRejected(PermanentError):
    """The warehouse refused what we sent for a reason a retry cannot fix: a table or
    dataset missing or deleted, a schema mismatch, permission denied (the message names
    what to grant). Nothing of the failed operation was written."""


class ArchiveDamaged(PermanentError):
    """An object we archived reads back damaged (torn, not JSON, the wrong shape, another
    athlete's data). ``key`` names it and ``why`` says what is wrong with it."""

    def __init__(self, key: str, why: str, *, action: str = "") -> None:
        self.key = key
        self.why = why
        super().__init__(f"Archive object {key} is damaged ({why}).", action=action)


class MassDeleteRefused(PermanentError):
    """Mode `all` would delete more than the allowed share of an athlete's activities."""


# --- the one retry-or-acknowledge decision ------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What a driver (function, CLI, local worker) does with a failure."""

    retry: bool
    error_class: str
    message: str
    athlete_id: int | None = None
    expected: bool = False
    """Acknowledged and not a failure: the case is covered (logged at INFO, no alert)."""

    @property
    def kind(self) -> str:
        return "retry later" if self.retry else "action needed"


def decide(exc: BaseException, *, mode: str | None = None) -> Decision:
    """The single mapping from a failure to retry (raise, redeliver) or acknowledge.

    ``main.ingest``, the CLI, the local webhook worker and the fault-matrix tests all call
    this. ``NunisError.retriable`` decides, with one refinement: a ``new`` poll that finds
    the athlete's lease held is acknowledged, because the run holding the lease (or the
    next scheduled poll, at most one interval later) lists the same window; retrying it
    behind a long ``all`` would only burn delivery attempts into the dead-letter topic.
    Anything that is not a ``NunisError`` is a bug or an unforeseen fault: it is retried,
    so the message is kept (bounded by the dead-letter policy), never silently dropped.
    """
    if isinstance(exc, LeaseHeld) and mode == "new":
        return Decision(
            False,
            type(exc).__name__,
            f"{exc} The run holding the lease or the next poll covers this one.",
            exc.athlete_id,
            expected=True,
        )
    if isinstance(exc, NunisError):
        return Decision(exc.retriable, type(exc).__name__, str(exc), exc.athlete_id)
    text = " ".join(str(exc).split())[:300] or type(exc).__name__
    return Decision(
        True,
        type(exc).__name__,
        f"unexpected {type(exc).__name__}: {text} (kept for retry; report it if it persists)",
    )


BATCH_WIDE: tuple[type[BaseException], ...] = (
    LeaseHeld,
    StravaRateLimited,
    StravaUnavailable,
    StravaAuthError,
    StravaScopeError,
    StravaInactiveApp,
    StravaAppCredentialsError,
    StoreTransientError,
    StoreAccessError,
    PreconditionFailed,
    WarehouseTransientError,
    ConfigError,
    AthleteNotConfigured,
)


def batch_wide(exc: BaseException) -> bool:
    """Whether a failure would hit every event of an athlete's batch alike (a held lease,
    a 429, a revoked token, a locked warehouse): then the batch is retried or dropped
    whole. Anything else (a bug, one activity's 5xx or garbled body, a row the warehouse
    rejects) may be one poison event: drivers then apply the events activity by
    activity, so only that activity's are retried and dead-lettered (``webhook/pull.py``,
    ``webhook/worker.py``)."""
    return isinstance(exc, BATCH_WIDE)
