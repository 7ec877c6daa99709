"""Pure: a Pub/Sub ``messagePublished`` CloudEvent's data -> ``SyncRequest``.

Accepted message bodies (``message.data``, base64 of UTF-8 text):

- a JSON object ``{"athlete_id": 123, "mode": "new" | "all", "force": false, "kind":
  "poll" | "reconcile"}``. ``mode`` is required; ``athlete_id`` (int or digit string),
  ``force`` (bool) and ``kind`` are optional. ``kind`` is what the fan-out says the run is
  for: ``reconcile`` (a live webhook subscription carries the freshness) spends the read
  budget's reconciliation share, ``poll`` (the default) the polling one.
  **Unknown keys are rejected**: a typo such as ``"athlete": 5`` or
  ``"froce": true`` would otherwise silently sync the default athlete, or not force;
  acknowledging a clear error is better than running the wrong sync.
- the text ``load_new`` or ``load_all`` (surrounding whitespace allowed).

For both, the athlete may also come from the message attribute ``athlete_id`` (a digit
string). If the body and the attribute both name an athlete they must agree. No athlete
at all gives ``athlete_id=None``: the caller fans out to every configured athlete
(fanout.py) or, without a fan-out topic, uses the single configured athlete.
Other attributes are ignored (Pub/Sub and Cloud Scheduler add their own).

``messageId``/``message_id`` and ``publishTime``/``publish_time`` are metadata: a value
of the wrong type or an unparseable time is ignored (``None``) rather than rejected.

Anything else raises ``errors.MalformedMessage`` (never another exception) saying what
was wrong and what a valid message looks like, quoting at most ~100 characters of input.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NoReturn

from nunis_ingest.core.enrolment import Enrolment, InvalidHandover
from nunis_ingest.core.enrolment import parse_message as parse_enrolment
from nunis_ingest.core.transform import parse_timestamp
from nunis_ingest.core.webhook_event import InvalidEvent, QueuedEvent
from nunis_ingest.errors import MalformedMessage

ATHLETE_ID_MAX = 2**63 - 1
MODES: dict[str, Literal["new", "all"]] = {"new": "new", "all": "all"}
COMMANDS: dict[str, Literal["new", "all"]] = {"load_new": "new", "load_all": "all"}
JSON_KEYS = frozenset({"athlete_id", "mode", "force", "details", "kind"})
KINDS = {"poll": "pubsub", "reconcile": "reconcile"}  # kind -> SyncRequest.trigger

VALID_MESSAGE = (
    'a valid message body is a JSON object {"athlete_id": 123, "mode": "new" or "all", '
    '"force": false} (athlete_id and force optional), or the text load_new or load_all '
    "with an optional athlete_id attribute holding a positive integer"
)
_SNIPPET = 100


class InvalidAthleteId(ValueError):
    """An athlete id that is not a positive 64-bit integer (or its decimal digits).

    A ``ValueError`` rather than ``MalformedMessage``: settings, the CLI, the webhook and
    object keys validate ids too, and each maps it to its own error.
    """


@dataclass(frozen=True)
class SyncRequest:
    athlete_id: int | None
    mode: Literal["new", "all"]
    trigger: str = "pubsub"
    message_id: str | None = None
    published_at: datetime | None = None
    force: bool = False
    details: bool = False
    """Drive the enrichment backfill: scan for history and use the whole read budget."""


def validate_athlete_id(value: object) -> int:
    """``value`` as an athlete id: an int or a string of ASCII digits, in 1..2^63-1.

    Rejects bools, floats (even integral ones), signs, whitespace, zero and negatives,
    so that the id can safely become part of an object key. Raises ``InvalidAthleteId``.
    """
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 19:
            raise InvalidAthleteId(
                f"athlete_id must be a positive integer, got the string {_snip(value)}"
            )
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAthleteId(
            f"athlete_id must be a positive integer, got {type(value).__name__} {_snip(value)}"
        )
    if not 1 <= value <= ATHLETE_ID_MAX:
        raise InvalidAthleteId(
            f"athlete_id must be a positive integer up to 2^63-1, got {_snip(value)}"
        )
    return value


def parse_pubsub(data: Mapping[str, Any]) -> SyncRequest:
    """Parse the CloudEvent data of a Pub/Sub message into a ``SyncRequest``."""
    if not isinstance(data, Mapping):
        _reject(f"event data must be a JSON object, got {type(data).__name__}")
    message = data.get("message")
    if not isinstance(message, Mapping):
        _reject("event data has no 'message' object (is this a Pub/Sub messagePublished event?)")
    text = _decode_body(message.get("data"))
    attribute_athlete = _attribute_athlete(message.get("attributes"))
    mode, body_athlete, force, details, trigger = _parse_body(text)
    if body_athlete is not None and attribute_athlete not in (None, body_athlete):
        _reject(
            f"body athlete_id {body_athlete} and attribute athlete_id {attribute_athlete} disagree"
        )
    return SyncRequest(
        athlete_id=body_athlete if body_athlete is not None else attribute_athlete,
        mode=mode,
        message_id=_first_str(message, "messageId", "message_id"),
        published_at=_published_at(message),
        force=force,
        details=details,
        trigger=trigger,
    )


def parse_message(data: Mapping[str, Any]) -> SyncRequest | QueuedEvent | Enrolment:
    """Like ``parse_pubsub``, but a body ``{"webhook_event": {...}, "received_at": t}``
    (published by the webhook receiver) gives a ``QueuedEvent``, and ``{"kind": "enroll",
    ...}`` (published by the onboarding page) an ``Enrolment``."""
    if isinstance(data, Mapping):
        message = data.get("message")
        if isinstance(message, Mapping) and isinstance(message.get("data"), str | bytes):
            try:
                doc = json.loads(base64.b64decode(message["data"], validate=True))
            except (binascii.Error, ValueError, RecursionError):
                doc = None
            if isinstance(doc, dict) and "webhook_event" in doc:
                try:
                    return QueuedEvent.from_json(doc)
                except InvalidEvent as error:
                    _reject(f"bad webhook event: {error}")
            if isinstance(doc, dict) and doc.get("kind") == "enroll":
                try:
                    return parse_enrolment(doc)
                except InvalidHandover as error:
                    _reject(f"bad enrolment: {error}")
    return parse_pubsub(data)


def is_stale(request: SyncRequest, now: datetime, max_age_seconds: float) -> bool:
    """True when the message was published more than ``max_age_seconds`` before ``now``."""
    if request.published_at is None:
        return False
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return (now - request.published_at).total_seconds() > max_age_seconds


# --- helpers -------------------------------------------------------------------------


def _snip(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    if len(text) > _SNIPPET:
        text = text[:_SNIPPET] + "..."
    return repr(text) if isinstance(value, str) else text


def _reject(problem: str) -> NoReturn:
    raise MalformedMessage(f"Malformed Pub/Sub message: {problem}.", action=VALID_MESSAGE)


def _decode_body(raw: object) -> str:
    if raw is None or raw in ("", b""):
        _reject("message has no data (missing or empty 'message.data')")
    if not isinstance(raw, str | bytes):
        _reject(f"'message.data' must be a base64 string, got {type(raw).__name__}")
    try:
        body = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        _reject(f"'message.data' is not valid base64: {_snip(raw)}")
    if not body.strip():
        _reject("message data decodes to an empty body")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        _reject(f"message body is not UTF-8 text: {_snip(body)}")


def _parse_body(text: str) -> tuple[Literal["new", "all"], int | None, bool, bool, str]:
    stripped = text.strip()
    if stripped in COMMANDS:
        return COMMANDS[stripped], None, False, False, "pubsub"
    try:
        parsed = json.loads(stripped)
    except (ValueError, RecursionError) as error:
        if stripped[:1] in ("{", "["):
            _reject(f"message body is not valid JSON ({str(error)[:_SNIPPET]}): {_snip(stripped)}")
        _reject(f"unknown command {_snip(stripped)}")
    if not isinstance(parsed, dict):
        _reject(f"JSON body must be an object, got {type(parsed).__name__}: {_snip(stripped)}")
    unknown = sorted(str(k) for k in parsed if k not in JSON_KEYS)
    if unknown:
        _reject(f"unknown key(s) {_snip(', '.join(unknown))} in JSON body")
    if "mode" not in parsed:
        _reject("JSON body has no 'mode'")
    mode = parsed["mode"]
    if not isinstance(mode, str) or mode not in MODES:
        _reject(f'unknown mode {_snip(mode)} (expected "new" or "all")')
    force, details = parsed.get("force", False), parsed.get("details", False)
    for name, flag in (("force", force), ("details", details)):
        if not isinstance(flag, bool):
            _reject(f"'{name}' must be true or false, got {_snip(flag)}")
    kind = parsed.get("kind", "poll")
    if not isinstance(kind, str) or kind not in KINDS:
        _reject(f'unknown kind {_snip(kind)} (expected "poll" or "reconcile")')
    athlete: int | None = None
    if parsed.get("athlete_id") is not None:
        try:
            athlete = validate_athlete_id(parsed["athlete_id"])
        except InvalidAthleteId as error:
            _reject(f"in the JSON body, {error}")
    return MODES[mode], athlete, force, details, KINDS[kind]


def _attribute_athlete(attributes: object) -> int | None:
    if attributes is None:
        return None
    if not isinstance(attributes, Mapping):
        _reject(f"'message.attributes' must be an object, got {type(attributes).__name__}")
    value = attributes.get("athlete_id")
    if value is None:
        return None
    if not isinstance(value, str):
        _reject(f"attribute athlete_id must be a string of digits, got {_snip(value)}")
    try:
        return validate_athlete_id(value)
    except InvalidAthleteId as error:
        _reject(f"bad attribute: {error}")


def _first_str(message: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _published_at(message: Mapping[str, Any]) -> datetime | None:
    for key in ("publishTime", "publish_time"):
        value = message.get(key)
        if isinstance(value, str):
            parsed = parse_timestamp(value)
            if parsed is not None:
                return parsed
    return None
