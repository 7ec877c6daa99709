"""The signed state: what it accepts and what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.core.signing import (
    MAX_AGE_SECONDS,
    StateRejected,
    check_state,
    issue_state,
    new_nonce,
    open_done,
    same_nonce,
    seal_done,
)

SECRET = "k" * 40
NOW = 1_800_000_000.0
INVITE = "invite-id-0123456789"


def test_a_fresh_state_is_accepted_with_its_nonce() -> None:
    nonce = new_nonce()
    state = check_state(SECRET, issue_state(SECRET, nonce, NOW, INVITE), NOW + 5)
    assert (state.nonce, state.issued_at, state.invite) == (nonce, int(NOW), INVITE)
    assert same_nonce(nonce, state)
    assert not same_nonce(new_nonce(), state)
    assert not same_nonce(None, state)


def test_an_old_state_is_refused() -> None:
    text = issue_state(SECRET, new_nonce(), NOW, INVITE)
    check_state(SECRET, text, NOW + MAX_AGE_SECONDS)
    with pytest.raises(StateRejected, match="expired"):
        check_state(SECRET, text, NOW + MAX_AGE_SECONDS + 1)


def test_a_state_from_the_future_is_refused() -> None:
    with pytest.raises(StateRejected, match="future"):
        check_state(SECRET, issue_state(SECRET, new_nonce(), NOW + 3600, INVITE), NOW)


def test_a_state_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(StateRejected, match="tampered"):
        check_state(SECRET, issue_state("x" * 40, new_nonce(), NOW, INVITE), NOW)


@given(st.data())
def test_any_change_to_a_state_is_refused(data: st.DataObject) -> None:
    text = issue_state(SECRET, new_nonce(), NOW, INVITE)
    position = data.draw(st.integers(0, len(text)))
    kind = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
    char = data.draw(st.characters(codec="utf-8"))
    if kind == "replace" and position < len(text):
        changed = text[:position] + char + text[position + 1 :]
    elif kind == "delete" and position < len(text):
        changed = text[:position] + text[position + 1 :]
    elif kind == "truncate":
        changed = text[:position]
    else:
        changed = text[:position] + char + text[position:]
    if changed == text:
        return
    with pytest.raises(StateRejected):
        check_state(SECRET, changed, NOW)


@given(st.text(max_size=200))
def test_arbitrary_text_is_refused(text: str) -> None:
    with pytest.raises(StateRejected):
        check_state(SECRET, text, NOW)


@given(st.integers(1, 2**63 - 1), st.sampled_from(["queued", "started"]), st.data())
def test_a_confirmation_opens_only_unchanged(athlete_id: int, how: str, data) -> None:
    sealed = seal_done(SECRET, athlete_id, how, NOW)
    assert open_done(SECRET, sealed, NOW + 1) == (athlete_id, how)
    position = data.draw(st.integers(0, len(sealed) - 1))
    char = data.draw(st.sampled_from("0123456789abcdefXYZ-_."))
    changed = sealed[:position] + char + sealed[position + 1 :]
    if changed != sealed:
        with pytest.raises(StateRejected):
            open_done(SECRET, changed, NOW + 1)
