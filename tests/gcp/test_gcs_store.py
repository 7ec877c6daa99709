"""GCSObjectStore against fake-gcs-server through google-cloud-storage (no mocks)."""

from __future__ import annotations

import pytest

from nunis_ingest import errors
from nunis_ingest.adapters.stores.gcs import GCSObjectStore
from nunis_ingest.errors import StoreTransientError
from nunis_ingest.ports import CREATE_ONLY

pytestmark = pytest.mark.gcp


@pytest.fixture
def store(gcs_client, gcs_bucket):
    return GCSObjectStore(gcs_client, gcs_bucket, prefix="nunis")


def test_put_get_roundtrip_returns_matching_generation(store):
    gen = store.put("athletes/1/state.json", b'{"v":1}')
    got = store.get("athletes/1/state.json")
    assert got is not None
    assert (got.data, got.generation) == (b'{"v":1}', gen)
    gen2 = store.put("athletes/1/state.json", b'{"v":2}')
    assert gen2 != gen
    assert store.get("athletes/1/state.json").generation == gen2
    assert store.get("athletes/1/missing.json") is None


def test_create_only_twice_maps_412_naming_the_key(store):
    store.put("athletes/1/lease.json", b"a", if_generation=CREATE_ONLY)
    with pytest.raises(errors.PreconditionFailed, match=r"athletes/1/lease\.json") as info:
        store.put("athletes/1/lease.json", b"b", if_generation=CREATE_ONLY)
    assert info.value.retriable
    assert store.get("athletes/1/lease.json").data == b"a"


def test_compare_and_swap(store):
    gen = store.put("k", b"1")
    new = store.put("k", b"2", if_generation=gen)
    with pytest.raises(errors.PreconditionFailed):
        store.put("k", b"3", if_generation=gen)  # stale
    assert store.get("k").data == b"2"
    assert store.get("k").generation == new


def test_conditional_delete(store):
    gen = store.put("lease", b"x")
    with pytest.raises(errors.PreconditionFailed):
        store.delete("lease", if_generation=gen + 1)
    assert store.get("lease") is not None
    assert store.delete("lease", if_generation=gen) is True
    assert store.delete("lease") is False
    assert store.delete("lease", if_generation=gen) is False


def test_list_is_sorted_and_scoped_to_prefix(store, gcs_client, gcs_bucket):
    for key in ("b/2", "a/1", "b/1", "b10"):
        store.put(key, b"")
    GCSObjectStore(gcs_client, gcs_bucket, prefix="other").put("b/0", b"")
    assert list(store.list("b")) == ["b/1", "b/2", "b10"]
    assert list(store.list("")) == ["a/1", "b/1", "b/2", "b10"]
    assert list(store.list("zzz")) == []
    assert gcs_client.bucket(gcs_bucket).get_blob("nunis/a/1") is not None


def test_connection_error_is_retriable():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from tests.standins import local_gcp

    dead = f"http://127.0.0.1:{local_gcp().free_port()}"
    client = storage.Client(
        project="test-project",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": dead},
    )
    with pytest.raises(StoreTransientError) as info:
        GCSObjectStore(client, "nowhere", retry_timeout=1).put("k", b"x")
    assert info.value.retriable
