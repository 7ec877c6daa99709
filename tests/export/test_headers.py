"""activities.csv headers in every language, any column order, repeated names by position."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nunis_ingest.bulk_export.csv_headers import LANGUAGES, UnknownHeader, header_for, map_header
from nunis_ingest.bulk_export.csv_rows import parse_date, parse_number
from strava_sandbox.export import FIELDS


@pytest.mark.parametrize("language", LANGUAGES)
@settings(max_examples=25, deadline=None)
@given(order=st.permutations(list(FIELDS)))
def test_every_language_maps_every_column_in_any_order(language, order):
    header = header_for(language, order)
    mapping = map_header(["Unknown Column 1", *header])
    fields = [mapping.fields.get(i + 1) for i in range(len(header))]
    # repeated names resolve by position: the first one seen takes the first meaning
    first = {}
    for position, name in enumerate(header):
        first.setdefault(name, []).append(position)
    for positions in first.values():
        meanings = [fields[p] for p in positions]
        assert sorted(meanings) == sorted(order[p] for p in positions)
        assert len(set(meanings)) == len(meanings)
    assert "activity_id" in fields
    assert "activity_date" in fields


def test_second_distance_is_metres():
    mapping = map_header(
        header_for("de", ["activity_id", "activity_date", "distance_display", "distance"])
    )
    assert mapping.language == "de"
    assert mapping.fields[2] == "distance_display"
    assert mapping.fields[3] == "distance"


def test_unknown_language_lists_headers():
    with pytest.raises(UnknownHeader, match="Aktivnost ID"):
        map_header(["Aktivnost ID", "Datum aktivnosti"])


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Sep 26, 2026, 10:56:05 AM", "2026-09-26T10:56:05+00:00"),
        ("May 29, 2022, 3:53:35 PM", "2022-05-29T15:53:35+00:00"),
        ("09.12.2022, 15:24:49", "2022-12-09T15:24:49+00:00"),
        ("26 sept. 2026, 10:56:05", "2026-09-26T10:56:05+00:00"),
        ("2026-09-26 10:56:05", "2026-09-26T10:56:05+00:00"),
    ],
)
def test_dates(text, iso):
    parsed = parse_date(text)
    assert parsed is not None
    assert parsed.isoformat() == iso


def test_numbers():
    assert parse_number("9,44") == 9.44
    assert parse_number("1.234,5") == 1234.5
    assert parse_number("1,234.5") == 1234.5
    assert parse_number("") is None
