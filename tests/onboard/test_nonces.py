"""Used nonces: a state is claimed once, and records of expired states are swept."""

from __future__ import annotations

from nunis_ingest.onboard import nonces
from nunis_ingest.onboard.state import MAX_AGE_SECONDS, State
from nunis_ingest.stores.localfs import LocalObjectStore

NOW = 1_800_000_000


def test_a_state_is_claimed_once(tmp_path) -> None:
    store = LocalObjectStore(tmp_path)
    state = State("n" * 32, NOW)
    assert nonces.claim(store, state, NOW)
    assert not nonces.claim(store, state, NOW + 1)
    assert not nonces.claim(LocalObjectStore(tmp_path), state, NOW + 2)  # another instance


def test_records_of_expired_states_are_swept_and_young_ones_kept(tmp_path) -> None:
    store = LocalObjectStore(tmp_path)
    old = [State(f"{i:02d}" + "o" * 30, NOW - MAX_AGE_SECONDS - 120 - i) for i in range(3)]
    young = State("y" * 32, NOW - 30)
    for state in [*old, young]:
        assert nonces.claim(store, state, state.issued_at)
    assert nonces.claim(store, State("z" * 32, NOW), NOW)
    assert sorted(store.list(nonces.NONCES_PREFIX)) == sorted(
        [nonces.nonce_key(young), nonces.nonce_key(State("z" * 32, NOW))]
    )
    assert not nonces.claim(store, young, NOW)  # still refused as a replay
