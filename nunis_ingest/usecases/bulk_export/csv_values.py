"""Pure: the values of an ``activities.csv`` cell, in any language the export comes in.

Dates (``Activity Date`` is the **UTC** start): ``Sep 12, 2018, 3:02:23 PM`` (en),
``09.12.2022, 15:24:49`` (de), ``27 juil. 2026, 10:56:05`` (fr), ISO ``2026-09-26
10:56:05``, and month words of es, it, nl, pt. Numbers: ``9.44``, ``9,44``, ``1.234,5``,
``1,234.5``. Ids: digits only, ``1 .. 2^63-1``; anything else (``12.7``, ``1,5``,
``7.0e1``, ``-3``) is not an id, never rounded into one.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from nunis_ingest.usecases.bulk_export.headers_data import SPORT_LABELS, SPORT_TYPES

INT64_MAX = 2**63 - 1

_MONTHS: dict[str, int] = {}
for _names in (
    "jan feb mar apr may jun jul aug sep oct nov dec",  # en
    "jan feb mär apr mai jun jul aug sep okt nov dez",  # de
    "janv févr mars avr mai juin juil août sept oct nov déc",  # fr
    "ene feb mar abr may jun jul ago sept oct nov dic",  # es
    "gen feb mar apr mag giu lug ago set ott nov dic",  # it
    "jan feb mrt apr mei jun jul aug sep okt nov dec",  # nl
    "jan fev mar abr mai jun jul ago set out nov dez",  # pt
):
    for _number, _name in enumerate(_names.split(), start=1):
        _MONTHS.setdefault(_name, _number)
_MONTHS.update({"mrz": 3, "fév": 2, "fevr": 2, "févr": 2, "déc": 12, "sept": 9, "fev": 2})
_PM = {"pm", "p", "오후", "午後", "下午"}
_AM = {"am", "a", "오전", "午前", "上午"}
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d{1,9}")
_ID = re.compile(r"[0-9]{1,19}")
_SPACES = str.maketrans("", "", " \u00a0\u202f\t")


def parse_id(text: str) -> int | None:
    """A Strava id from its cell: digits only and in ``1 .. 2^63-1``, else ``None``."""
    text = text.strip()
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= INT64_MAX else None


def parse_date(text: str) -> datetime | None:
    """An aware UTC datetime from an export date in any supported language, or ``None``."""
    lowered = text.strip().casefold()
    if not lowered or len(lowered) > 80:
        return None
    numbers = [int(n) for n in _NUMBER.findall(lowered)]
    month: int | None = None
    pm = am = False
    for word in _WORD.findall(lowered):
        if word in _PM:
            pm = True
        elif word in _AM:
            am = True
        elif month is None:
            month = _MONTHS.get(word) or _MONTHS.get(word[:4]) or _MONTHS.get(word[:3])
    try:
        if month is not None:  # day, year, h, m, s in some order: the 4-digit one is the year
            year = numbers.pop(next(i for i, n in enumerate(numbers) if n > 31))
            day = numbers.pop(0)
            hour, minute, second = [*numbers, 0, 0, 0][:3]
        elif numbers and numbers[0] > 31:
            year, month, day, hour, minute, second = [*numbers, 0, 0, 0][:6]
        else:
            day, month, year, hour, minute, second = [*numbers, 0, 0, 0][:6]
        if pm and hour < 12:
            hour += 12
        elif am and hour == 12:
            hour = 0
        if not 1900 <= year <= 2200:
            return None
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (StopIteration, ValueError, IndexError, OverflowError):
        return None


def parse_number(text: str) -> float | None:
    """A finite float from ``9.44``, ``9,44``, ``1.234,5`` or ``1,234.5``; ``None`` if none."""
    text = text.translate(_SPACES)
    if not text or len(text) > 40:
        return None
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_int(text: str) -> int | None:
    """A whole number of seconds or beats (``3378``, ``3378.0``, ``3378,4``): rounded, in INT64."""
    value = parse_number(text)
    if value is None or abs(value) > 2**53:
        return None
    return round(value)


_TRUE = {"true", "1", "1.0", "1,0", "yes", "wahr", "vrai", "verdadero", "vero", "waar", "sim"}
_FALSE = {"false", "0", "0.0", "0,0", "no", "falsch", "faux", "falso", "onwaar", "não", ""}


def parse_bool(text: str) -> bool | None:
    lowered = text.strip().casefold()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


_BY_LABEL = {
    label.casefold(): sport for table in SPORT_LABELS.values() for label, sport in table.items()
}
_BY_LABEL.update({sport.casefold(): sport for sport in SPORT_TYPES})


def sport_type(label: str) -> str | None:
    """Strava's ``sport_type`` for an ``Activity Type`` label (``Lauf``, ``Weight Training``,
    ``Run``); the label itself when it is not one we know (kept, never dropped)."""
    text = " ".join(label.split())
    if not text:
        return None
    return _BY_LABEL.get(text.casefold()) or _BY_LABEL.get(text.replace(" ", "").casefold()) or text
