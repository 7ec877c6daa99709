"""Cloud Storage adapter for ``ports.ObjectStore``.

Leases, sync state and token write-back rely on generation preconditions: GCS enforces
``ifGenerationMatch`` server-side and answers 412 when it fails, which we turn into our
``errors.PreconditionFailed`` (retriable: the caller re-reads and tries again).

Why the details look the way they do:

* Uploads go through ``upload_from_string`` without ``chunk_size``, i.e. one simple or
  multipart request for objects under 8 MiB (all of ours). Real GCS also enforces
  preconditions on resumable uploads, but the fake-gcs-server stand-in does not.
* ``get`` reads the metadata first and then downloads *that* generation, so the bytes
  and the generation returned always belong together even if someone writes in between
  (we then see 404 for the old generation and read again).
* A conditional ``delete`` checks the generation before deleting and also sends
  ``ifGenerationMatch``: real GCS enforces the latter; the stand-in ignores preconditions
  on deletes, and the check keeps behaviour the same on both.
* Google libraries are imported here only; ``runtime.py`` imports this module lazily so
  a cold start that needs no storage pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import google.api_core.exceptions as gexc
from google.cloud.storage.retry import DEFAULT_RETRY

from nunis_ingest import errors
from nunis_ingest.adapters.google_errors import TRANSIENT_GOOGLE_ERRORS
from nunis_ingest.errors import StoreAccessError, StoreTransientError
from nunis_ingest.ports import CREATE_ONLY, Stored

_TRANSIENT = TRANSIENT_GOOGLE_ERRORS


class GCSObjectStore:
    """Bytes by key in one bucket, under an optional prefix (e.g. ``"nunis/"``).

    ``retry_timeout`` bounds the client library's own retries of one call (default 120 s);
    a function with a 540 s budget may want less, and tests of a dead endpoint far less.
    """

    def __init__(
        self, client: Any, bucket: str, prefix: str = "", *, retry_timeout: float = 120.0
    ) -> None:
        self._client = client
        self._retry = DEFAULT_RETRY.with_timeout(retry_timeout)
        self._bucket = client.bucket(bucket)
        self.bucket_name = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def _name(self, key: str) -> str:
        """Same key rules as the local store, so a key valid here is valid everywhere."""
        if not isinstance(key, str) or not key:
            raise ValueError("object key must be a non-empty string")
        if "\\" in key or "\x00" in key or key.startswith("/"):
            raise ValueError(f"object key {key!r} has a backslash, NUL or leading '/'")
        if any(segment in ("", ".", "..") for segment in key.split("/")):
            raise ValueError(f"object key {key!r} has an empty, '.' or '..' segment")
        return self.prefix + key

    @contextmanager
    def _errors(self, key: str, action: str) -> Iterator[None]:
        """Translate google errors into ours; the message names the key, never the data."""
        where = f"gs://{self.bucket_name}/{self.prefix}{key}"
        try:
            yield
        except gexc.PreconditionFailed as exc:
            raise errors.PreconditionFailed(
                f"Cloud Storage {action} of {where} lost its generation precondition "
                "(someone else wrote first)."
            ) from exc
        except (gexc.Forbidden, gexc.Unauthorized) as exc:
            raise StoreAccessError(
                f"Cloud Storage {action} of {where} was refused: {exc.message}",
                action="grant the runtime service account Storage Object Admin on the bucket.",
            ) from exc
        except _TRANSIENT as exc:
            raise StoreTransientError(
                f"Cloud Storage {action} of {where} failed transiently: {exc}"
            ) from exc

    def get(self, key: str) -> Stored | None:
        name = self._name(key)
        with self._errors(key, "read"):
            for _ in range(5):
                meta = self._bucket.get_blob(name, retry=self._retry)
                if meta is None:
                    return None
                try:
                    data = self._bucket.blob(name, generation=meta.generation).download_as_bytes(
                        retry=self._retry
                    )
                except gexc.NotFound:
                    continue  # overwritten or deleted between the two calls: look again
                return Stored(data=data, generation=int(meta.generation))
        raise StoreTransientError(f"gs://{self.bucket_name}/{name} kept changing while read")

    def put(self, key: str, data: bytes, *, if_generation: int | None = None) -> int:
        name = self._name(key)
        blob = self._bucket.blob(name)
        content_type = "application/json" if name.endswith(".json") else "application/octet-stream"
        with self._errors(key, "write"):
            blob.upload_from_string(
                data,
                content_type=content_type,
                if_generation_match=if_generation,
                retry=self._retry,
            )
        return int(blob.generation)

    def delete(self, key: str, *, if_generation: int | None = None) -> bool:
        name = self._name(key)
        with self._errors(key, "delete"):
            if if_generation is not None:
                meta = self._bucket.get_blob(name, retry=self._retry)
                if meta is None:
                    return False
                if if_generation == CREATE_ONLY or int(meta.generation) != if_generation:
                    raise gexc.PreconditionFailed(f"generation is {meta.generation}")
            try:
                self._bucket.blob(name).delete(if_generation_match=if_generation, retry=self._retry)
            except gexc.NotFound:
                return False
        return True

    def list(self, prefix: str) -> Iterator[str]:
        full = self.prefix + prefix
        with self._errors(prefix + "*", "list"):
            names = [
                b.name
                for b in self._client.list_blobs(self.bucket_name, prefix=full, retry=self._retry)
            ]
        cut = len(self.prefix)
        return iter(sorted(n[cut:] for n in names))
