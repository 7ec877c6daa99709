"""Contract: every ``ports.ObjectStore`` adapter behaves the same (see conftest.py)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nunis_ingest.errors import PreconditionFailed
from nunis_ingest.ports import CREATE_ONLY, ObjectStore

SEGMENT = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_=.", min_size=1, max_size=12
).filter(lambda s: not s.startswith(".") and s != "leaf.bin")
KEYS = st.lists(SEGMENT, min_size=1, max_size=4).map(lambda parts: "t/" + "/".join(parts))
BAD_KEYS = ["", "/abs/key", "a//b", "a/", "a/../b", "..", "a\\b", "a\x00b", "./a"]


def test_get_missing_is_none(object_store: ObjectStore) -> None:
    assert object_store.get("athletes/1/missing.json") is None


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(key=KEYS, data=st.binary(max_size=4096))
def test_put_get_round_trip(object_store: ObjectStore, key: str, data: bytes) -> None:
    # A key may be a "folder" of an earlier example's key on a filesystem; use a leaf.
    key = f"{key}/leaf.bin"
    generation = object_store.put(key, data)
    stored = object_store.get(key)
    assert stored is not None
    assert stored.data == data
    assert stored.generation == generation
    assert isinstance(generation, int)
    assert generation > 0


def test_create_only_succeeds_once(object_store: ObjectStore) -> None:
    key = "athletes/7/lease.json"
    generation = object_store.put(key, b"first", if_generation=CREATE_ONLY)
    with pytest.raises(PreconditionFailed, match=r"lease\.json"):
        object_store.put(key, b"second", if_generation=CREATE_ONLY)
    stored = object_store.get(key)
    assert stored is not None
    assert (stored.data, stored.generation) == (b"first", generation)


def test_compare_and_swap(object_store: ObjectStore) -> None:
    key = "athletes/7/state.json"
    first = object_store.put(key, b"v1")
    second = object_store.put(key, b"v2", if_generation=first)
    assert second != first
    with pytest.raises(PreconditionFailed, match=r"state\.json"):
        object_store.put(key, b"v3", if_generation=first)  # stale
    stored = object_store.get(key)
    assert stored is not None
    assert (stored.data, stored.generation) == (b"v2", second)


def test_cas_on_missing_key_fails(object_store: ObjectStore) -> None:
    with pytest.raises(PreconditionFailed):
        object_store.put("athletes/7/none.json", b"x", if_generation=12345)
    assert object_store.get("athletes/7/none.json") is None


def test_generation_changes_on_every_write(object_store: ObjectStore) -> None:
    key = "athletes/8/state.json"
    seen = [object_store.put(key, b"same") for _ in range(5)]
    assert len(set(seen)) == len(seen)
    assert object_store.delete(key)
    again = object_store.put(key, b"same", if_generation=CREATE_ONLY)
    assert again not in seen


def test_delete(object_store: ObjectStore) -> None:
    key = "athletes/9/lease.json"
    generation = object_store.put(key, b"x")
    with pytest.raises(PreconditionFailed):
        object_store.delete(key, if_generation=generation + 1)
    assert object_store.get(key) is not None
    assert object_store.delete(key, if_generation=generation) is True
    assert object_store.get(key) is None
    assert object_store.delete(key) is False


def test_list_by_prefix_sorted(object_store: ObjectStore) -> None:
    keys = [
        "athletes/2/state.json",
        "athletes/10/config.json",
        "athletes/1/token.json",
        "athletes/1/config.json",
        "archive/strava/athlete=1/date=2024-01-01/r1/page-1.json",
    ]
    for key in keys:
        object_store.put(key, b"{}")
    assert list(object_store.list("athletes/1/")) == [
        "athletes/1/config.json",
        "athletes/1/token.json",
    ]
    assert list(object_store.list("athletes/1")) == [
        "athletes/1/config.json",
        "athletes/1/token.json",
        "athletes/10/config.json",
    ]
    assert list(object_store.list("")) == sorted(keys)
    assert list(object_store.list("nothing/")) == []


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_rejected(object_store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        object_store.put(key, b"x")
    with pytest.raises(ValueError, match="key"):
        object_store.get(key)


def test_concurrent_cas_has_exactly_one_winner(object_store: ObjectStore) -> None:
    key = "athletes/11/lease.json"
    start = object_store.put(key, b"initial")
    contenders = 8
    barrier = threading.Barrier(contenders)
    wins: list[int] = []
    losses: list[int] = []

    def contend(n: int) -> None:
        barrier.wait()
        try:
            object_store.put(key, f"winner {n}".encode(), if_generation=start)
            wins.append(n)
        except PreconditionFailed:
            losses.append(n)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert len(losses) == contenders - 1
    stored = object_store.get(key)
    assert stored is not None
    assert stored.data == f"winner {wins[0]}".encode()


def test_concurrent_create_only_has_exactly_one_winner(object_store: ObjectStore) -> None:
    key = "athletes/12/lease.json"
    contenders = 8
    barrier = threading.Barrier(contenders)
    wins: list[int] = []

    def contend(n: int) -> None:
        barrier.wait()
        try:
            object_store.put(key, b"x", if_generation=CREATE_ONLY)
            wins.append(n)
        except PreconditionFailed:
            pass

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
