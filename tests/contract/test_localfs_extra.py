"""LocalObjectStore specifics beyond the shared contract: processes, hidden files, layout."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from nunis_ingest.adapters.stores.localfs import STALE_TMP_SECONDS, LocalObjectStore
from nunis_ingest.errors import PreconditionFailed
from nunis_ingest.ports import CREATE_ONLY


def _contend(root: str, key: str, generation: int, start: object, results: object) -> None:
    store = LocalObjectStore(Path(root))
    start.wait()  # type: ignore[attr-defined]
    try:
        store.put(key, f"pid {os.getpid()}".encode(), if_generation=generation)
        results.put("win")  # type: ignore[attr-defined]
    except PreconditionFailed:
        results.put("lose")  # type: ignore[attr-defined]


def test_cas_across_processes_has_one_winner(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    key = "athletes/1/lease.json"
    generation = store.put(key, b"start")
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(6)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_contend, args=(str(tmp_path), key, generation, start, results))
        for _ in range(6)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["lose"] * 5 + ["win"]


def test_files_are_plain_and_internal_files_hidden(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put("archive/page-1.json", b'{"a":1}', if_generation=CREATE_ONLY)
    assert (tmp_path / "archive" / "page-1.json").read_bytes() == b'{"a":1}'
    assert list(store.list("")) == ["archive/page-1.json"]
    assert not [p for p in (tmp_path / "archive").iterdir() if p.name != "page-1.json"]


def test_generation_never_repeats_after_delete_and_recreate(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    seen: set[int] = set()
    for _ in range(50):
        generation = store.put("k", b"x", if_generation=CREATE_ONLY)
        assert generation not in seen
        assert all(generation > s for s in seen)
        seen.add(generation)
        assert store.delete("k", if_generation=generation)


def test_generation_survives_a_new_store_instance(tmp_path: Path) -> None:
    generation = LocalObjectStore(tmp_path).put("a/b", b"x")
    stored = LocalObjectStore(tmp_path).get("a/b")
    assert stored is not None
    assert stored.generation == generation


@pytest.mark.parametrize("key", [".nunis-locks/x", "a/.nunis-tmp-1"])
def test_reserved_names_rejected(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        LocalObjectStore(tmp_path).put(key, b"x")


def test_key_used_as_folder_is_a_clear_error(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put("a", b"x")
    with pytest.raises(ValueError, match="collides"):
        store.put("a/b", b"y")


def test_a_write_sweeps_the_temp_files_of_writes_killed_long_ago(tmp_path):
    store = LocalObjectStore(tmp_path)
    store.put("athletes/7/state.json", b"{}")
    folder = tmp_path / "athletes" / "7"
    stale, fresh = folder / ".nunis-tmp-killed", folder / ".nunis-tmp-writing"
    for leftover in (stale, fresh):
        leftover.write_bytes(b"half a state")
    long_ago = time.time() - STALE_TMP_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))
    store.put("athletes/7/lease.json", b"{}")
    assert not stale.exists(), "a killed write's temp file stays for good"
    assert fresh.exists(), "a write still going lost its temp file"
    assert list(store.list("athletes/7/")) == ["athletes/7/lease.json", "athletes/7/state.json"]
