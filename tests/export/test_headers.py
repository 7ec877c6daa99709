"""The header table against the real headers (the generator's copy of the facts), in any
column order and with extra columns; values as real exports write them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nunis_ingest.usecases.bulk_export.csv_headers import UnknownHeader, map_header
from nunis_ingest.usecases.bulk_export.csv_values import (
    parse_date,
    parse_id,
    parse_number,
    sport_type,
)
from strava_sandbox.export_facts import GENERATIONS, LANGUAGE_OF, TYPE_LABELS

# what a reader of real exports expects: (English column, occurrence) -> field
EXPECTED = {
    ("Activity ID", 0): "activity_id",
    ("Activity Date", 0): "activity_date",
    ("Activity Name", 0): "name",
    ("Filename", 0): "filename",
    ("Elapsed Time", 0): "elapsed_time",
    ("Distance", 0): "distance_display",
    ("Distance", 1): "distance",
    ("Moving Time", 0): "moving_time",
    ("Average Heart Rate", 0): "average_heartrate",
}
NAMED = [g for g, lang in LANGUAGE_OF.items() if lang in ("en", "de", "fr")]


def _expected(meaning: list[str]) -> dict[int, str]:
    seen: dict[str, int] = {}
    out = {}
    for position, name in enumerate(meaning):
        nth = seen.get(name, 0)
        seen[name] = nth + 1
        if (name, nth) in EXPECTED:
            out[position] = EXPECTED[(name, nth)]
    return out


@pytest.mark.parametrize("generation", NAMED)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_real_headers_map_in_any_order_with_extra_columns(generation, data):
    header, meaning = GENERATIONS[generation]
    order = data.draw(st.permutations(range(len(header))))
    # repeated names keep their order among themselves, as in every real export
    by_name: dict[str, list[int]] = {}
    for position in range(len(header)):
        by_name.setdefault(header[position], []).append(position)
    taken = {name: iter(positions) for name, positions in by_name.items()}
    order = [next(taken[header[p]]) for p in order]
    extra = data.draw(st.sampled_from(["", "Unbekannte Spalte", "Colonne inconnue"]))
    columns = [header[p] for p in order] + ([extra] if extra else [])
    columns[0] = "\ufeff" + columns[0]
    mapping = map_header(columns)
    assert mapping.language == LANGUAGE_OF[generation]
    assert not mapping.positional
    want = _expected(meaning)
    for new_position, old_position in enumerate(order):
        if old_position in want:
            assert mapping.fields.get(new_position) == want[old_position]


def test_spanish_header_uses_the_names_seen_in_real_exports():
    header, _meaning = GENERATIONS["es94"]
    mapping = map_header(header)
    assert mapping.language == "es"
    assert mapping.fields[0] == "activity_id"
    assert mapping.fields[12] == "filename"


def test_unknown_language_falls_back_on_position():
    mapping = map_header(GENERATIONS["it94"][0])
    assert mapping.positional
    assert mapping.language == "unknown"
    assert {0: "activity_id", 1: "activity_date", 12: "filename"}.items() <= mapping.fields.items()


def test_one_column_is_not_a_header():
    with pytest.raises(UnknownHeader, match="1 column"):
        map_header(["just one"])


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Sep 12, 2018, 3:02:23 PM", "2018-09-12T15:02:23+00:00"),
        ("May 29, 2022, 3:53:35 PM", "2022-05-29T15:53:35+00:00"),
        ("Jul 14, 2020, 10:36:55 PM", "2020-07-14T22:36:55+00:00"),
        ("Jan 1, 2021, 12:05:00 AM", "2021-01-01T00:05:00+00:00"),
        ("09.12.2022, 15:24:49", "2022-12-09T15:24:49+00:00"),
        ("27 juil. 2026, 10:56:05", "2026-07-27T10:56:05+00:00"),
        ("27 juil. 2026", "2026-07-27T00:00:00+00:00"),
        ("12 sept. 2018, 15:02:23", "2018-09-12T15:02:23+00:00"),
        ("2026-09-26 10:56:05", "2026-09-26T10:56:05+00:00"),
    ],
)
def test_dates_as_real_exports_write_them_are_utc(text, iso):
    parsed = parse_date(text)
    assert parsed is not None
    assert parsed.isoformat() == iso


@pytest.mark.parametrize("text", ["", "yesterday", "32.13.2020, 25:61:61", "1.1.1800", "9" * 80])
def test_dates_that_are_not_dates(text):
    assert parse_date(text) is None


def test_numbers_in_both_decimal_styles():
    assert parse_number("9,44") == 9.44
    assert parse_number("6325.60009765625") == pytest.approx(6325.6, abs=1e-3)
    assert parse_number("1.234,5") == 1234.5
    assert parse_number("1,234.5") == 1234.5
    assert parse_number("nan") is None
    assert parse_number("inf") is None
    assert parse_number("") is None


@given(st.text(max_size=30))
def test_an_id_is_digits_only_never_rounded(text):
    value = parse_id(text)
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and 1 <= int(stripped) <= 2**63 - 1:
        assert value == int(stripped)
    else:
        assert value is None


@pytest.mark.parametrize("text", ["12.7", "1,5", "7.0e1", "9223372036854775808", "-4", "0", "٣"])
def test_ids_that_are_not_ids(text):
    assert parse_id(text) is None


@pytest.mark.parametrize("language", sorted(TYPE_LABELS))
def test_activity_type_labels_become_sport_types(language):
    for sport, label in TYPE_LABELS[language].items():
        assert sport_type(label) == sport
    assert sport_type("Nordic Walking (new)") == "Nordic Walking (new)"  # kept, not dropped


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2018. 9. 12. 오후 3:02:23", "2018-09-12T15:02:23+00:00"),
        ("2018年9月12日 15:02:23", "2018-09-12T15:02:23+00:00"),
        ("12 de set. de 2018 15:02:23", "2018-09-12T15:02:23+00:00"),
        ("Sep 12, 2018, 3:02:23\u202fPM", "2018-09-12T15:02:23+00:00"),
    ],
)
def test_dates_in_languages_read_by_position(text, iso):
    parsed = parse_date(text)
    assert parsed is not None
    assert parsed.isoformat() == iso
