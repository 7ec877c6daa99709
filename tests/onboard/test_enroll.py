"""The ingest side of onboarding: an `enroll` message through main.ingest (as the function
receives it) applies the hand-over and runs the first full load, once; a disabled athlete
stays disabled; a damaged hand-over or message is refused with a line naming it."""

from __future__ import annotations

import json
import logging

import pytest

from nunis_ingest.core.enrolment import Enrolment, handover_key
from nunis_ingest.core.events import parse_message
from nunis_ingest.core.token import Token
from nunis_ingest.usecases.athletes import AthleteConfig, AthleteRepo
from nunis_ingest.usecases.onboard import handover
from tests.e2e.conftest import loaded, truth
from tests.e2e.test_main import function, publish  # noqa: F401  (fixture)

INVITE = "invite-id-0123456789"


def _hand_over(rt, athlete: dict, invite: str = INVITE, as_athlete: int | None = None) -> Enrolment:
    """A hand-over of ``athlete``'s token, filed under ``as_athlete`` (default: theirs)."""
    aid = int(athlete["id"]) if as_athlete is None else as_athlete
    token = Token(athlete["access_token"], athlete["refresh_token"], int(athlete["expires_at"]))
    return Enrolment(aid, handover.write(rt.store, aid, invite, token, "Kim Doe"))


def _message(enrolment: Enrolment) -> str:
    key = enrolment.key
    return json.dumps({"kind": "enroll", "athlete_id": enrolment.athlete_id, "handover": key})


def test_an_enrolment_stores_the_athlete_and_runs_the_first_full_load(
    sandbox,
    rt,
    function,  # noqa: F811
) -> None:
    athlete = sandbox.create_athlete(activities=40)
    enrolment = _hand_over(rt, athlete)
    rt.warehouse.close()
    assert publish(function, _message(enrolment)).status_code == 200
    repo = AthleteRepo(rt.store)
    aid = enrolment.athlete_id
    assert repo.load_config(aid) == AthleteConfig(aid, label="Kim Doe")
    assert repo.load_token(aid).refresh_token == athlete["refresh_token"]
    assert loaded(rt, aid) == set(truth(sandbox, aid))
    assert list(rt.store.list("onboard/enrolments/")) == []
    # a redelivery finds the hand-over applied: nothing changes, nothing fails
    assert publish(function, _message(enrolment)).status_code == 200
    assert loaded(rt, aid) == set(truth(sandbox, aid))


def test_a_disabled_athlete_stays_disabled_and_nothing_is_loaded(
    sandbox,
    rt,
    function,  # noqa: F811
    caplog,
) -> None:
    caplog.set_level(logging.INFO)
    athlete = sandbox.create_athlete(activities=10)
    aid = int(athlete["id"])
    repo = AthleteRepo(rt.store)
    repo.save_config(AthleteConfig(aid, enabled=False, label="paused by the team"))
    enrolment = _hand_over(rt, athlete)
    rt.warehouse.close()
    sandbox.clear_requests()
    assert publish(function, _message(enrolment)).status_code == 200
    assert repo.load_config(aid) == AthleteConfig(aid, enabled=False, label="paused by the team")
    assert repo.load_token(aid).refresh_token == athlete["refresh_token"]  # kept
    asked = [r["endpoint"] for r in sandbox.requests_log()["requests"]]
    assert asked == ["/api/v3/athlete"], asked  # whose token it is, then no load
    assert f"nunis-ingest athlete enable {aid}" in caplog.text


def test_a_hand_over_holding_another_athletes_token_replaces_nothing(rt, sandbox) -> None:
    from nunis_ingest.errors import TokenMismatch
    from nunis_ingest.usecases.onboard.enroll import apply_handover

    victim = sandbox.create_athlete(activities=3)
    intruder = sandbox.create_athlete(activities=1)
    vid = int(victim["id"])
    repo = AthleteRepo(rt.store)
    own = Token(victim["access_token"], victim["refresh_token"], int(victim["expires_at"]))
    repo.save_token(vid, own)
    planted = _hand_over(rt, intruder, as_athlete=vid)  # what only the onboarding account can write
    with pytest.raises(TokenMismatch):
        apply_handover(rt.context(), planted)
    assert repo.load_token(vid).refresh_token == victim["refresh_token"], "the token was swapped"
    assert rt.store.get(planted.key) is not None  # left for inspection


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        ({"kind": "enroll", "athlete_id": 5}, "exactly"),
        ({"kind": "enroll", "athlete_id": 5, "handover": "athletes/5/token.json"}, "name"),
        ({"kind": "enroll", "athlete_id": 6, "handover": handover_key(5, INVITE)}, "name"),
        ({"kind": "enroll", "athlete_id": True, "handover": handover_key(1, INVITE)}, "name"),
        ({"kind": "enroll", "athlete_id": 5, "handover": "onboard/enrolments/../x.json"}, "name"),
    ],
)
def test_a_hostile_enrolment_message_is_refused(doc: dict, why: str) -> None:
    import base64

    from nunis_ingest.errors import MalformedMessage

    data = {"message": {"data": base64.b64encode(json.dumps(doc).encode()).decode()}}
    with pytest.raises(MalformedMessage, match=why):
        parse_message(data)


def test_a_damaged_hand_over_is_refused_and_kept(rt, sandbox) -> None:
    from nunis_ingest.errors import MalformedMessage
    from nunis_ingest.usecases.onboard.enroll import apply_handover

    athlete = sandbox.create_athlete(activities=1)
    aid = int(athlete["id"])
    key = handover_key(aid, INVITE)
    for damaged in (b"{", b'{"athlete_id": 1}', json.dumps({"athlete_id": aid}).encode()):
        rt.store.put(key, damaged)
        with pytest.raises(MalformedMessage, match=r"hand-over is unreadable"):
            apply_handover(rt.context(), Enrolment(aid, key))
        assert rt.store.get(key) is not None  # left for inspection
        assert AthleteRepo(rt.store).list_ids() == []
