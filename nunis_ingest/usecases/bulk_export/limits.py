"""Pure: every bound an export file can push against, in one place (README "Limits").

An export is a file from outside: each number here caps what one input can make the
importer allocate, read or write. They sit far above real exports (Strava refuses
uploads over 25 MB; a 24-hour recording at one point a second is 86,400 points) and a
file past one is refused on its own, with the reason; the rest of the export loads.
"""

from __future__ import annotations

MiB = 1024 * 1024
GiB = 1024 * MiB

MAX_FILE_BYTES = 256 * MiB
"""Bytes one member may inflate to (a zip member, then its ``.gz`` layer): an activity
file, ``activities.csv`` or ``profile.csv``. Read in chunks, never past this."""

MAX_NESTED_ZIP_BYTES = 4 * GiB
"""A zip inside the export (Garmin's ``UploadedFiles_*_PartN.zip``): copied to a temporary
file of at most this size, then opened like the export itself."""

MAX_NESTING = 2
"""Zips inside zips: the export, its part zips, and one more level (Garmin "Export
Original" zips inside a folder). Deeper is refused (a zip quine never ends)."""

MAX_EXPORT_INFLATED = 64 * GiB
"""Bytes inflated from one export, all members and ``.gz`` layers together."""

MAX_INFLATE_RATIO = 200
"""... and at most this many times the export's own size, with a floor of
``MIN_INFLATE_BUDGET``. Real exports inflate far less: their FIT and GPX files are gzipped
3 to 10 times, so a whole export inflates to at most ~15 times its size: the ratio only
binds on a bomb."""

MIN_INFLATE_BUDGET = 2 * MAX_FILE_BYTES
"""512 MiB: what a small export may inflate in all. Room for one file at its own limit
(refused alone, the rest loading) and far above a small real export (one 24-hour GPX
recording is ~15 MB). ``activities.csv`` is not charged to the budget (it is bounded by
``MAX_FILE_BYTES`` alone, so spent budget never cuts the rows short): a 1 MB zip makes us
inflate at most 512 + 256 MiB, never 1 GB."""

MAX_MEMBERS = 1_000_000
"""Entries in one zip's central directory (read before ``zipfile`` builds its index)."""

MAX_POINTS = 500_000
"""Track points per activity file (139 hours at one point a second)."""

MAX_LAPS = 10_000
"""Laps per activity file."""

MAX_XML_DEPTH = 64
"""Element nesting in a GPX or TCX file (real ones nest 6 to 9 deep)."""

MAX_TAG_BYTES = 1 * MiB
"""Bytes of one XML tag with its attributes (real ones: under 200)."""

MAX_TEXT_CHARS = 4096
"""Characters kept of one XML text value or one CSV value of a file (longer: cut)."""

MAX_CSV_FIELD = 128 * 1024
"""Characters of one ``activities.csv`` field: a longer one makes its row a bad row."""

MAX_CSV_LINE = 1 * MiB
"""Characters of one ``activities.csv`` line: a longer one makes its row a bad row."""

MAX_ROWS = 2_000_000
"""Rows of one ``activities.csv`` (the most active athletes have ~30,000 activities)."""

MAX_PROBLEMS_SHOWN = 1000
"""Problems listed one by one; past that, only counted."""


def inflate_budget(export_bytes: int) -> int:
    """Total bytes the import may inflate from an export of ``export_bytes``."""
    ratio = max(MIN_INFLATE_BUDGET, MAX_INFLATE_RATIO * max(0, export_bytes))
    return min(MAX_EXPORT_INFLATED, ratio)


MIN_ELEVATION = -500.0
MAX_ELEVATION = 9000.0
"""Metres a track point's elevation may have (the Dead Sea shore is at about -430 m, the
top of Everest at 8,849 m; FIT's ``altitude`` field starts at -500 m). Outside, or not a
finite number: the elevation is dropped, the point kept."""

MAX_ARCHIVE_BYTES = 32 * MiB
"""An activity file is held in memory, archived (its bytes as the export holds them) and
parsed up to this size (Strava refuses uploads over 25 MB); a larger one is parsed as a
stream and not archived (the import says how many)."""
