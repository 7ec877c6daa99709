"""The onboarding flow over Flask's test client, against the real sandbox."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from nunis_ingest.core.enrolment import parse_message
from nunis_ingest.drivers.onboard.http import COOKIE, HEADERS
from nunis_ingest.usecases.athletes import AthleteRepo
from nunis_ingest.usecases.onboard.enroll import apply_handover
from tests.onboard.conftest import apply_queued, invite_path, link_in, queued


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_the_start_page_links_to_strava_with_a_signed_state_bound_to_a_cookie(
    browser, sandbox
) -> None:
    page = browser.get(invite_path())
    assert page.status_code == 200
    for name, value in HEADERS.items():
        assert page.headers[name] == value
    link = link_in(page.get_data(as_text=True))
    assert link.startswith(f"{sandbox.base_url}/oauth/authorize?")
    query = _query(link)
    assert query["client_id"] == str(sandbox.app()["client_id"])
    assert query["redirect_uri"] == "http://localhost/callback"
    assert query["scope"] == "read,activity:read_all"
    assert query["approval_prompt"] == "auto"
    assert query["response_type"] == "code"
    cookie = browser.client.get_cookie(COOKIE)
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert query["state"].split(".")[1] == cookie.value


def test_connecting_hands_the_token_over_and_the_ingest_side_enables_the_athlete(
    browser, sandbox, onboard_rt, ingest_queue, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    athlete = sandbox.athletes()[1]
    back = browser.authorize(browser.connect_link(), athlete_id=str(athlete["id"]))
    answer = browser.get(back)
    assert answer.status_code == 303
    done = browser.get(answer.headers["Location"])
    assert done.status_code == 200
    html = done.get_data(as_text=True)
    assert f"<b id=athlete>{athlete['id']}</b>" in html
    assert "first full load is queued" in html

    # the page wrote only a hand-over and an `enroll` message naming it: no token in it
    repo = AthleteRepo(onboard_rt.store)
    assert repo.list_ids() == []
    [message] = queued(ingest_queue)
    assert set(message) == {"kind", "athlete_id", "handover"}
    assert message["athlete_id"] == athlete["id"]
    apply_handover(onboard_rt.context(), parse_message(message))  # what ingest does
    token = repo.load_token(athlete["id"])
    issued = next(a for a in sandbox.athletes() if a["id"] == athlete["id"])
    assert token.refresh_token == issued["refresh_token"]
    assert token.access_token == issued["access_token"]
    assert token.scope == "read,activity:read_all"
    assert repo.load_config(athlete["id"]).enabled
    assert list(onboard_rt.store.list("onboard/enrolments/")) == []  # applied, deleted

    # no token anywhere the browser or the log sees
    secrets = [issued["access_token"], issued["refresh_token"], sandbox.app()["client_secret"]]
    code = _query(back)["code"]
    seen = [caplog.text]
    for page in browser.pages:
        seen += [page.get_data(as_text=True), str(page.headers)]
    for text in seen:
        for secret in secrets:
            assert secret not in text
    assert code not in caplog.text
    assert code not in answer.headers["Location"]
    assert browser.client.get_cookie(COOKIE) is None  # spent


def test_a_returning_athlete_keeps_their_settings_and_a_disabled_one_stays_disabled(
    browser, sandbox, onboard_rt, ingest_queue
) -> None:
    from nunis_ingest.usecases.athletes import AthleteConfig

    athlete_id = int(sandbox.athletes()[0]["id"])
    repo = AthleteRepo(onboard_rt.store)
    paused = AthleteConfig(athlete_id, enabled=False, lookback_days=3, label="Kim")
    repo.save_config(paused)
    back = browser.authorize(browser.connect_link(), athlete_id=str(athlete_id))
    assert browser.get(back).status_code == 303
    assert apply_queued(ingest_queue, onboard_rt) == [athlete_id]
    assert repo.load_config(athlete_id) == paused  # the operator re-enables, not the athlete
    assert repo.load_token(athlete_id).refresh_token  # kept for when they do


def test_without_private_activities_nothing_is_stored_and_the_page_says_why(
    browser, sandbox, onboard_rt, ingest_queue
) -> None:
    back = browser.authorize(browser.connect_link(), accept_scope="read,activity:read")
    answer = browser.get(back)
    assert answer.status_code == 403
    html = answer.get_data(as_text=True)
    assert "View data about your private activities" in html
    assert "activity:read_all" in html
    again = link_in(html)
    assert _query(again)["scope"] == "read,activity:read_all"
    assert list(onboard_rt.store.list("athletes/")) == []
    assert list(onboard_rt.store.list("onboard/")) == []  # nor was the invite used up
    assert queued(ingest_queue) == []
    # the fresh link on that page works, with the same invite
    assert browser.get(browser.authorize(again)).status_code == 303


def test_cancelling_at_strava_stores_nothing_and_offers_the_link_again(browser, onboard_rt) -> None:
    back = browser.authorize(browser.connect_link(), deny="1")
    assert _query(back)["error"] == "access_denied"
    answer = browser.get(back)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "cancelled" in html
    assert link_in(html)
    assert list(onboard_rt.store.list("athletes/")) == []
    assert list(onboard_rt.store.list("onboard/")) == []


def test_a_replayed_callback_is_refused(browser, sandbox, onboard_rt) -> None:
    link = browser.connect_link()
    back = browser.authorize(link)
    assert browser.get(back).status_code == 303
    # the same state again, even with a fresh code and the cookie put back
    nonce = _query(link)["state"].split(".")[1]
    browser.client.set_cookie(COOKIE, nonce)
    sandbox.clear_requests()
    replay = browser.authorize(link)
    answer = browser.get(replay)
    assert answer.status_code == 409
    assert "already used" in answer.get_data(as_text=True)
    assert _token_requests(sandbox) == 0  # refused before any exchange


def _token_requests(sandbox) -> int:
    return sum(1 for r in sandbox.requests_log()["requests"] if "/oauth/token" in r["path"])


def test_an_invite_connects_once_even_from_a_fresh_start(browser, sandbox, onboard_rt) -> None:
    token = unquote(invite_path().split("=", 1)[1])
    assert browser.get(browser.authorize(browser.connect_link(token))).status_code == 303
    sandbox.clear_requests()
    again = browser.get(browser.authorize(browser.connect_link(token)))
    assert again.status_code == 409
    assert "ask for a new one" in again.get_data(as_text=True)
    assert _token_requests(sandbox) == 0


def test_a_replay_is_refused_by_another_instance_sharing_the_store(
    browser, onboard_rt, ingest_queue
) -> None:
    from nunis_ingest.drivers.onboard.app import make_app

    link = browser.connect_link()
    back = browser.authorize(link)
    assert browser.get(back).status_code == 303
    other = make_app(lambda: onboard_rt, publisher=lambda rt: ingest_queue).test_client()
    other.set_cookie(COOKIE, _query(link)["state"].split(".")[1])
    parts = urlsplit(browser.authorize(link))
    assert other.get(f"{parts.path}?{parts.query}").status_code == 409


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda s: s[:-2] + ("AA" if not s.endswith("AA") else "BB"), "altered"),
        (lambda s: s.replace(".", ".1", 2).replace(".1", ".", 1), "altered"),
        (lambda s: "made-up-state", "not a link from our start page"),
    ],
)
def test_a_forged_state_is_refused(browser, onboard_rt, change, why) -> None:
    link = browser.connect_link()
    back = browser.authorize(link)
    query = _query(back)
    forged = back.replace(query["state"], change(query["state"]))
    answer = browser.get(forged)
    assert answer.status_code == 400
    assert why in answer.get_data(as_text=True)
    assert list(onboard_rt.store.list("athletes/")) == []


def test_a_callback_without_the_cookie_is_refused(browser, onboard_rt) -> None:
    back = browser.authorize(browser.connect_link())
    browser.client.delete_cookie(COOKIE)
    answer = browser.get(back)
    assert answer.status_code == 403
    assert "another browser" in answer.get_data(as_text=True)
    assert list(onboard_rt.store.list("athletes/")) == []


def test_a_callback_started_in_another_browser_is_refused(browser, onboard_rt) -> None:
    victim_link = browser.connect_link()  # the attacker's own state...
    back = browser.authorize(victim_link)
    browser.get(invite_path())  # ...lands in a browser whose cookie belongs to another start
    assert browser.get(back).status_code == 403
    assert list(onboard_rt.store.list("athletes/")) == []


def test_a_forged_confirmation_is_refused(browser) -> None:
    answer = browser.get(
        "/done?d=12345.queued.1800000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
    assert answer.status_code == 400


def test_without_a_secret_the_page_is_unavailable(onboard_env) -> None:
    from nunis_ingest.drivers.onboard.app import make_app
    from nunis_ingest.runtime import Runtime
    from nunis_ingest.settings import load_settings

    env = dict(onboard_env)
    del env["NUNIS_ONBOARD_SECRET"]
    rt = Runtime(load_settings(env))
    answer = make_app(lambda: rt).test_client().get(invite_path())
    assert answer.status_code == 503
    assert "not configured" in answer.get_data(as_text=True)
