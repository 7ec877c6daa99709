"""Pure: an ``activities.csv`` header -> which column holds which field.

Strava localises the header to the account language (``headers_data`` holds the real
headers and their sources) and repeats some names: the first ``Distance`` is in the
athlete's display units, the second in metres; the first ``Elapsed Time`` and ``Max Heart
Rate`` are the summary's, the second ones the file's. A repeated name is resolved by its
order among the columns of that name. Column order and count change between generations,
so columns are matched by name, never by a fixed index, except in one case:

**Fallback by position.** When no known language names the activity id and date (an
Italian, Dutch or Portuguese export, or a generation we have not seen), the id and date
are read from the first two columns and the file name from the 13th, as in every
generation seen, and ``Mapping.positional`` says so (the importer warns once).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nunis_ingest.usecases.bulk_export.headers_data import TRANSLATIONS

POSITIONS = {0: "activity_id", 1: "activity_date", 12: "filename"}
"""The fallback: column index -> field (the first two and the 13th in every generation)."""

CANONICAL: dict[tuple[str, int], str] = {
    ("Activity ID", 0): "activity_id",
    ("Activity Date", 0): "activity_date",
    ("Activity Name", 0): "name",
    ("Activity Type", 0): "sport",
    ("Activity Description", 0): "description",
    ("Elapsed Time", 0): "elapsed_time",
    ("Elapsed Time", 1): "elapsed_time_file",
    ("Distance", 0): "distance_display",
    ("Distance", 1): "distance",
    ("Max Heart Rate", 0): "max_heartrate",
    ("Max Heart Rate", 1): "max_heartrate_file",
    ("Relative Effort", 0): "suffer_score",
    ("Relative Effort", 1): "suffer_score_file",
    ("Commute", 0): "commute",
    ("Commute", 1): "commute_flag",
    ("Activity Private Note", 0): "private_note",
    ("Activity Gear", 0): "gear",
    ("Filename", 0): "filename",
    ("Moving Time", 0): "moving_time",
    ("Max Speed", 0): "max_speed",
    ("Average Speed", 0): "average_speed",
    ("Elevation Gain", 0): "total_elevation_gain",
    ("Elevation Loss", 0): "elevation_loss",
    ("Elevation Low", 0): "elev_low",
    ("Elevation High", 0): "elev_high",
    ("Max Cadence", 0): "max_cadence",
    ("Average Cadence", 0): "average_cadence",
    ("Average Heart Rate", 0): "average_heartrate",
    ("Max Watts", 0): "max_watts",
    ("Average Watts", 0): "average_watts",
    ("Calories", 0): "calories",
    ("Average Temperature", 0): "average_temp",
    ("Total Work", 0): "total_work",
    ("Weighted Average Power", 0): "weighted_average_watts",
    ("From Upload", 0): "from_upload",
    ("Flagged", 0): "flagged",
    ("Sport Type", 0): "sport_type",
}
"""(English name, occurrence) -> the field the importer reads. Other columns are kept
as they are, under their English name, in the row's ``raw``."""

REQUIRED = ("activity_id", "activity_date")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Mapping:
    language: str
    """``en``, ``de``, ``fr``, ``es``, or ``unknown`` (read by position)."""
    fields: dict[int, str]
    """Column position -> canonical field (``CANONICAL``)."""
    names: dict[int, str] = field(default_factory=dict)
    """Column position -> the key its value is kept under in ``raw`` (the English name,
    ``(2)`` for a repeat; the header as spelt when the name is unknown)."""
    positional: bool = False
    recognised: int = 0
    """How many columns a known language names."""


class UnknownHeader(ValueError):
    """The first line cannot be an ``activities.csv`` header at all (under two columns)."""


def clean(name: str) -> str:
    """A header name without BOM, HTML wrapping (late-2023 exports) or outer spaces."""
    text = name.replace("\ufeff", "")
    if "<" in text:
        text = html.unescape(_TAG.sub("", text))
    return " ".join(text.split())


_FOLDED = {
    lang: {local.casefold(): en for local, en in table.items()}
    for lang, table in TRANSLATIONS.items()
}


def _english(header: Sequence[str], language: str) -> dict[int, str]:
    table = _FOLDED[language]
    out: dict[int, str] = {}
    for position, name in enumerate(header):
        english = table.get(clean(name).casefold())
        if english is not None:
            out[position] = english
    return out


def _names_required(english: dict[int, str]) -> bool:
    return {"Activity ID", "Activity Date"} <= set(english.values())


def map_header(header: Sequence[str]) -> Mapping:
    """Columns named in the language that names the activity id and date and most other
    columns (then in any other language); by position when none names the id and date.
    ``UnknownHeader`` when there are fewer than two columns."""
    if len(header) < 2:
        shown = ", ".join(repr(clean(h)[:60]) for h in header) or "nothing"
        raise UnknownHeader(f"its first line has {len(header)} column(s) ({shown})")
    found = {lang: _english(header, lang) for lang in TRANSLATIONS}
    best = max(found, key=lambda lang: (_names_required(found[lang]), len(found[lang])))
    english = dict(found[best])  # ties: the first language listed
    for lang in TRANSLATIONS:  # a column the main language misses, named in another one
        for position, name in found[lang].items():
            english.setdefault(position, name)
    fields: dict[int, str] = {}
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for position, name in enumerate(header):
        en = english.get(position)
        if en is None:
            names[position] = clean(name)[:200] or f"column {position + 1}"
            continue
        nth = seen.get(en, 0)
        seen[en] = nth + 1
        names[position] = en if nth == 0 else f"{en} ({nth + 1})"
        canonical = CANONICAL.get((en, nth))
        if canonical is not None:
            fields[position] = canonical
    positional = not all(r in fields.values() for r in REQUIRED)
    if positional:
        fields = {p: f for p, f in fields.items() if f not in POSITIONS.values()}
        for position, canonical in POSITIONS.items():
            if position < len(header):
                fields[position] = canonical
    return Mapping(
        language="unknown" if positional else best,
        fields=fields,
        names=names,
        positional=positional,
        recognised=len(english),
    )
