"""Invited athletes only: an invite opens the page, anything else is refused before any
storage operation, Strava request or cookie, and costs nothing but the signature check.
What an invited holder can spend is bounded too; an invite never shows up in a log."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.core.signing import StateRejected
from nunis_ingest.drivers.cli.main import cli
from nunis_ingest.drivers.onboard.app import make_app
from nunis_ingest.drivers.onboard.http import COOKIE
from nunis_ingest.ports import ObjectStore
from nunis_ingest.usecases.onboard import invites
from tests.onboard.conftest import SECRET, invite_path

NOW = 1_800_000_000.0


def test_an_invite_opens_until_it_expires() -> None:
    minted = invites.mint(SECRET, NOW, days=7)
    assert invites.check_invite(SECRET, minted.token, NOW + 7 * 86400).id == minted.id
    with pytest.raises(StateRejected, match="expired"):
        invites.check_invite(SECRET, minted.token, NOW + 7 * 86400 + 1)
    with pytest.raises(StateRejected, match="tampered"):
        invites.check_invite("another secret of enough length, 1234", minted.token, NOW)
    with pytest.raises(ValueError, match="1 to 30 days"):
        invites.mint(SECRET, NOW, days=31)


@given(st.data())
def test_any_change_to_an_invite_is_refused(data: st.DataObject) -> None:
    token = invites.mint(SECRET, NOW).token
    position = data.draw(st.integers(0, len(token)))
    char = data.draw(st.characters(codec="utf-8"))
    kind = data.draw(st.sampled_from(["replace", "insert", "truncate"]))
    if kind == "replace" and position < len(token):
        changed = token[:position] + char + token[position + 1 :]
    elif kind == "truncate":
        changed = token[:position]
    else:
        changed = token[:position] + char + token[position:]
    if changed != token:
        with pytest.raises(StateRejected):
            invites.check_invite(SECRET, changed, NOW)


@given(st.text(max_size=300))
def test_arbitrary_text_is_never_an_invite(text: str) -> None:
    with pytest.raises(StateRejected):
        invites.check_invite(SECRET, text, NOW)


class CountingStore:
    """A narrow wrapper around the real local store: counts what the page asks of it."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner, self.calls = inner, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if callable(attribute):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls[name] += 1
                return attribute(*args, **kwargs)

            return counted
        return attribute


@pytest.fixture
def counted(onboard_rt, ingest_queue) -> tuple[Any, CountingStore]:
    store = CountingStore(onboard_rt.store)
    onboard_rt.__dict__["store"] = store  # the runtime's cached adapter, wrapped
    client = make_app(lambda: onboard_rt, publisher=lambda rt: ingest_queue).test_client()
    return client, store


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/", "invited athletes only"),
        ("/?invite=", "invited athletes only"),
        ("/?invite=i1.AAAAAAAAAAAAAAAA.1800000000." + "A" * 43, "altered"),
        ("/?invite=garbage", "damaged"),
        ("/callback?state=made-up&code=x&scope=read,activity:read_all", "not a link from our"),
        ("/callback?code=x", "not a link from our"),
        ("/done?d=1.queued.1.AAAA", "not valid"),
    ],
)
def test_uninvited_callers_cost_no_storage_and_no_strava_request(
    counted, sandbox, path: str, reason: str
) -> None:
    client, store = counted
    sandbox.clear_requests()
    answer = client.get(path)
    assert answer.status_code in (400, 403)
    assert reason in answer.get_data(as_text=True)
    assert store.calls == Counter()  # not one storage operation
    assert sandbox.requests_log()["requests"] == []  # not one Strava request
    # no cookie handed out (a refusal only clears one)
    assert all(c.startswith(f"{COOKIE}=;") for c in answer.headers.getlist("Set-Cookie"))


def test_an_expired_invite_is_refused_like_no_invite(counted, sandbox) -> None:
    client, store = counted
    expired = invites.mint(SECRET, time.time() - 8 * 86400, days=7).token
    answer = client.get(f"/?invite={expired}")
    assert answer.status_code == 403
    assert "expired" in answer.get_data(as_text=True)
    assert store.calls == Counter()


def test_an_invited_connection_costs_two_creates_one_exchange_and_one_message(
    counted, browser, sandbox, ingest_queue
) -> None:
    client, store = counted
    browser.client = client
    sandbox.clear_requests()
    back = browser.authorize(browser.connect_link())
    assert browser.get(back).status_code == 303
    assert store.calls == Counter(put=2)  # the invite's claim and the hand-over
    paths = [r["path"] for r in sandbox.requests_log()["requests"]]
    assert [p for p in paths if p.startswith("/oauth/token")] == ["/oauth/token"]
    assert len(ingest_queue.claim(limit=10)) == 1


def test_the_invite_never_reaches_a_log_line(counted, browser, sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = counted
    browser.client = client
    token = unquote(invite_path().split("=", 1)[1])
    back = browser.authorize(browser.connect_link(token))
    assert browser.get(back).status_code == 303
    browser.get(f"/?invite={token}")  # used: the page still opens, the callback would not
    mac = token.rsplit(".", 1)[1]
    assert mac not in caplog.text
    assert token not in caplog.text


def test_the_operator_mints_an_invite_with_the_cli(onboard_env, monkeypatch) -> None:
    for key, value in onboard_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NUNIS_ONBOARD_URL", "https://example.test/nunis-onboard")
    result = CliRunner().invoke(cli, ["onboard", "invite", "--days", "3"])
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert link.startswith("https://example.test/nunis-onboard/?invite=i1.")
    invite = invites.check_invite(SECRET, unquote(link.split("=", 1)[1]), time.time())
    assert invite.expires_at - time.time() == pytest.approx(3 * 86400, abs=60)
    monkeypatch.setenv("NUNIS_ONBOARD_SECRET", "short")
    refused = CliRunner().invoke(cli, ["onboard", "invite"])
    assert refused.exit_code != 0
    assert "NUNIS_ONBOARD_SECRET" in refused.output
