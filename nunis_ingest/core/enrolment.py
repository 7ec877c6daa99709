"""Pure: the ``{"kind": "enroll"}`` message that hands a new athlete's token over from the
onboarding page to the ingest function (``handover.py`` writes and reads the object it
names). ``events.parse_message`` calls ``parse_message``; no I/O here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from nunis_ingest.core.signing import INVITE_ID

KIND = "enroll"
PREFIX = "onboard/enrolments/"
KEY = re.compile(r"onboard/enrolments/([1-9][0-9]{0,18})-([A-Za-z0-9_-]{16,32})\.json")


class InvalidHandover(ValueError):
    """A hand-over message or object that is not what the page writes."""


@dataclass(frozen=True)
class Enrolment:
    """``{"kind": "enroll", ...}``: apply the hand-over at ``key`` for ``athlete_id``."""

    athlete_id: int
    key: str
    message_id: str | None = None


def handover_key(athlete_id: int, invite_id: str) -> str:
    if not INVITE_ID.fullmatch(invite_id):
        raise ValueError("not an invite id")
    return f"{PREFIX}{int(athlete_id)}-{invite_id}.json"


def message(enrolment: Enrolment) -> bytes:
    body = {"kind": KIND, "athlete_id": enrolment.athlete_id, "handover": enrolment.key}
    return json.dumps(body).encode()


def parse_message(doc: dict[str, Any]) -> Enrolment:
    """The message body as an ``Enrolment``; ``InvalidHandover`` for anything else."""
    if set(doc) != {"kind", "athlete_id", "handover"} or doc.get("kind") != KIND:
        raise InvalidHandover(
            'an enrolment message is exactly {"kind": "enroll", "athlete_id": <id>, '
            '"handover": "onboard/enrolments/<id>-<invite>.json"}'
        )
    key, athlete = doc["handover"], doc["athlete_id"]
    found = KEY.fullmatch(key) if isinstance(key, str) else None
    if found is None or isinstance(athlete, bool) or athlete != int(found.group(1)):
        raise InvalidHandover("the hand-over key does not name the message's athlete")
    return Enrolment(int(athlete), key)
