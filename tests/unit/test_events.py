from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.core.events import (
    InvalidAthleteId,
    SyncRequest,
    is_stale,
    parse_pubsub,
    validate_athlete_id,
)
from nunis_ingest.errors import MalformedMessage, PermanentError
from tests.unit.strategies import json_values

INT64_MAX = 2**63 - 1


def event(body: str | bytes | None, attributes: Any = None, **message: Any) -> dict[str, Any]:
    msg: dict[str, Any] = dict(message)
    if body is not None:
        raw = body.encode() if isinstance(body, str) else body
        msg["data"] = base64.b64encode(raw).decode()
    if attributes is not None:
        msg["attributes"] = attributes
    return {"message": msg, "subscription": "projects/p/subscriptions/s"}


def malformed(data: Any) -> str:
    with pytest.raises(MalformedMessage) as info:
        parse_pubsub(data)
    text = str(info.value)
    assert "Fix:" in text
    assert "load_new" in text
    return text


# --- valid messages --------------------------------------------------------------------


def test_json_body_with_metadata() -> None:
    request = parse_pubsub(
        event(
            '{"athlete_id": 134815, "mode": "all", "force": true}',
            messageId="9001",
            publishTime="2026-05-01T12:00:00.123456789Z",
        )
    )
    assert request == SyncRequest(
        athlete_id=134815,
        mode="all",
        trigger="pubsub",
        message_id="9001",
        published_at=datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
        force=True,
    )


def test_snake_case_metadata_and_digit_string_athlete() -> None:
    request = parse_pubsub(
        event(
            '{"athlete_id": "42", "mode": "new"}',
            message_id="m1",
            publish_time="2026-05-01T12:00:00+02:00",
        )
    )
    assert request.athlete_id == 42
    assert request.mode == "new"
    assert request.force is False
    assert request.message_id == "m1"
    assert request.published_at == datetime(2026, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(("body", "mode"), [("load_new", "new"), ("  load_all\n", "all")])
def test_plain_text(body: str, mode: str) -> None:
    assert parse_pubsub(event(body)) == SyncRequest(athlete_id=None, mode=mode)  # type: ignore[arg-type]
    assert parse_pubsub(event(body, {"athlete_id": "77"})).athlete_id == 77


def test_json_body_athlete_from_attribute_and_agreement() -> None:
    assert parse_pubsub(event('{"mode": "new"}', {"athlete_id": "5"})).athlete_id == 5
    assert parse_pubsub(event('{"mode": "new", "athlete_id": null}')).athlete_id is None
    assert (
        parse_pubsub(event('{"mode": "new", "athlete_id": 5}', {"athlete_id": "5"})).athlete_id == 5
    )
    assert "disagree" in malformed(event('{"mode": "new", "athlete_id": 5}', {"athlete_id": "6"}))


def test_unparseable_metadata_is_ignored() -> None:
    request = parse_pubsub(event("load_new", messageId=5, publishTime="soon"))
    assert request.message_id is None
    assert request.published_at is None


def test_other_attributes_are_ignored() -> None:
    assert parse_pubsub(event("load_new", {"googclient_x": "1"})).athlete_id is None


# --- malformed messages ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "no 'message'"),
        ({"message": "hi"}, "no 'message'"),
        ({"message": {}}, "no data"),
        (event(""), "no data"),
        (event(None, messageId="1"), "no data"),
        ({"message": {"data": 123}}, "base64"),
        ({"message": {"data": "not base64!"}}, "not valid base64"),
        ({"message": {"data": "bG9hZF9uZXc"}}, "not valid base64"),  # missing padding
        ({"message": {"data": "bG9hZF9u!ZXc="}}, "not valid base64"),  # stray character
        (event("   \n"), "empty body"),
        (event(b"\xff\xfeload_new"), "not UTF-8"),
        (event("[1, 2]"), "must be an object"),
        (event('"load_new"'), "must be an object"),
        (event("42"), "must be an object"),
        (event('{"mode": "new"'), "not valid JSON"),
        (event("load_everything"), "unknown command"),
        (event("LOAD_NEW"), "unknown command"),
        (event('{"mode": "latest"}'), "unknown mode"),
        (event('{"mode": 1}'), "unknown mode"),
        (event('{"athlete_id": 1}'), "no 'mode'"),
        (event('{"mode": "new", "athlete": 1}'), "unknown key"),
        (event('{"mode": "new", "force": "yes"}'), "'force'"),
        (event('{"mode": "new", "athlete_id": true}'), "athlete_id"),
        (event('{"mode": "new", "athlete_id": 1.0}'), "athlete_id"),
        (event('{"mode": "new", "athlete_id": 1.5}'), "athlete_id"),
        (event('{"mode": "new", "athlete_id": -3}'), "athlete_id"),
        (event('{"mode": "new", "athlete_id": 0}'), "athlete_id"),
        (event('{"mode": "new", "athlete_id": 9223372036854775808}'), "athlete_id"),
        (event('{"mode": "new", "athlete_id": "12a"}'), "athlete_id"),
        (event("load_new", {"athlete_id": "abc"}), "bad attribute"),
        (event("load_new", {"athlete_id": "-1"}), "bad attribute"),
        (event("load_new", {"athlete_id": 5}), "attribute athlete_id"),
        (event("load_new", ["athlete_id"]), "attributes"),
    ],
)
def test_malformed(data: Any, expected: str) -> None:
    assert expected in malformed(data)


def test_malformed_is_permanent() -> None:
    with pytest.raises(PermanentError) as info:
        parse_pubsub(event("nope"))
    assert info.value.retriable is False


def test_message_quotes_at_most_a_snippet() -> None:
    secretish = "x" * 5000
    text = malformed(event(secretish))
    assert "x" * 101 not in text
    text = malformed(event('{"mode": "' + secretish + '"}'))
    assert "x" * 101 not in text
    text = malformed({"message": {"data": "!" * 5000}})
    assert "!" * 101 not in text


@pytest.mark.parametrize("data", [None, "load_new", 5, ["message"]])
def test_non_mapping_event_data(data: Any) -> None:
    malformed(data)


# --- athlete ids -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("0042", 42), (INT64_MAX, INT64_MAX)])
def test_validate_athlete_id_accepts(value: object, expected: int) -> None:
    assert validate_athlete_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [0, -1, True, False, 1.0, 2**63, str(2**63), "", " 1", "+1", "1e3", "١٢", "²", None, [1]],
)
def test_validate_athlete_id_rejects(value: object) -> None:
    with pytest.raises(InvalidAthleteId) as info:
        validate_athlete_id(value)
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, MalformedMessage)
    assert "athlete_id" in str(info.value)


# --- staleness -------------------------------------------------------------------------

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_is_stale() -> None:
    old = SyncRequest(1, "new", published_at=NOW - timedelta(seconds=601))
    fresh = SyncRequest(1, "new", published_at=NOW - timedelta(seconds=599))
    future = SyncRequest(1, "new", published_at=NOW + timedelta(hours=1))
    assert is_stale(old, NOW, 600) is True
    assert is_stale(fresh, NOW, 600) is False
    assert is_stale(future, NOW, 600) is False
    assert is_stale(SyncRequest(1, "new"), NOW, 0) is False
    with pytest.raises(ValueError, match="aware"):
        is_stale(old, datetime(2026, 5, 1), 600)


# --- properties ------------------------------------------------------------------------

athletes = st.none() | st.integers(min_value=1, max_value=INT64_MAX)


@given(
    athlete=athletes,
    mode=st.sampled_from(["new", "all"]),
    force=st.none() | st.booleans(),
    as_string=st.booleans(),
    message_id=st.text(min_size=1, max_size=20),
)
def test_json_round_trip(
    athlete: int | None, mode: str, force: bool | None, as_string: bool, message_id: str
) -> None:
    body: dict[str, Any] = {"mode": mode}
    if athlete is not None:
        body["athlete_id"] = str(athlete) if as_string else athlete
    if force is not None:
        body["force"] = force
    request = parse_pubsub(event(json.dumps(body), messageId=message_id))
    assert request == SyncRequest(athlete, mode, message_id=message_id, force=bool(force))  # type: ignore[arg-type]


@given(
    athlete=athletes, mode=st.sampled_from(["new", "all"]), pad=st.sampled_from(["", " ", "\n\t"])
)
def test_plain_text_round_trip(athlete: int | None, mode: str, pad: str) -> None:
    attributes = None if athlete is None else {"athlete_id": str(athlete)}
    request = parse_pubsub(event(f"{pad}load_{mode}{pad}", attributes))
    assert (request.athlete_id, request.mode, request.force) == (athlete, mode, False)


def parse_or_malformed(data: Any) -> None:
    try:
        request = parse_pubsub(data)
    except MalformedMessage as error:
        message = str(error)
        assert len(message) < 1000
    else:
        assert request.mode in ("new", "all")
        assert request.athlete_id is None or 1 <= request.athlete_id <= INT64_MAX


@given(st.binary(max_size=200))
def test_arbitrary_bytes_body(body: bytes) -> None:
    parse_or_malformed(event(body))


@given(json_values)
def test_arbitrary_json_body(value: Any) -> None:
    parse_or_malformed(event(json.dumps(value)))


@given(st.dictionaries(st.sampled_from(["athlete_id", "mode", "force", "x"]), json_values))
def test_arbitrary_json_object_body(value: dict[str, Any]) -> None:
    parse_or_malformed(event(json.dumps(value)))


@given(json_values, json_values)
def test_arbitrary_event_and_message(data: Any, message: Any) -> None:
    parse_or_malformed(data)
    parse_or_malformed({"message": message})


@given(st.text(max_size=50), st.dictionaries(st.text(max_size=10), json_values, max_size=3))
def test_arbitrary_data_string_and_attributes(data: str, attributes: dict[str, Any]) -> None:
    parse_or_malformed({"message": {"data": data, "attributes": attributes}})
    parse_or_malformed(event("load_new", attributes))
