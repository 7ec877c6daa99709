"""ObjectStore on a local folder: the embedded default for laptops and tests.

Each key is a plain file under ``root`` (``athletes/1/state.json`` is
``root/athletes/1/state.json``), so a person can read the archive with ``cat``.

Why it is built this way:

- **Atomic writes.** Data goes to a temp file in the target's folder, is fsynced, then
  ``os.replace``-d over the key, and the folder is fsynced: a reader sees the old or
  the new bytes, never a torn file, even after a crash.
- **Preconditions across threads and processes.** Every write and delete of a key holds
  an exclusive ``fcntl.flock`` on ``root/.nunis-locks/<key>.lock`` while it checks the
  generation and replaces the file. Each call opens its own descriptor, so the lock also
  excludes other threads of this process (flock locks belong to open file descriptions).
  Lock files are never removed: removing a lock file while another process waits on it
  would let two writers hold "the" lock at once.
- **Generation = the file's ``st_mtime_ns``, set explicitly.** Under the lock a writer
  picks ``max(time_ns(), previous + 1)`` where *previous* is the larger of the current
  file's generation and the last generation recorded in the key's lock file, then stamps
  it on the temp file with ``os.utime`` before the replace. Data and generation therefore
  change in one atomic rename, and a reader gets both from one ``fstat`` of the open file.
  The lock file remembers the last generation after a delete, so a delete followed by a
  re-create within the same nanosecond still gets a larger number: generations of a key
  never repeat. A filesystem that cannot store nanosecond mtimes is detected on write.
- **Reserved names.** Internal files start with ``.nunis-``; keys whose segments do,
  are rejected, and ``list`` never returns them.

Limitation of a folder (not of GCS): a key cannot also be a "directory" of other keys
(``a`` and ``a/b`` cannot both exist); such a write raises ``ValueError``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from nunis_ingest.errors import PreconditionFailed
from nunis_ingest.ports import CREATE_ONLY, Stored

_RESERVED = ".nunis-"
_LOCK_DIR = ".nunis-locks"
_TMP_PREFIX = ".nunis-tmp-"
STALE_TMP_SECONDS = 3600


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative '/'-separated path, else raise ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError("object key must be a non-empty string")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"object key {key!r} contains a backslash or NUL")
    if key.startswith("/"):
        raise ValueError(f"object key {key!r} must be relative (no leading '/')")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"object key {key!r} has an empty, '.' or '..' segment")
        if segment.startswith(_RESERVED):
            raise ValueError(f"object key {key!r} uses the reserved prefix {_RESERVED!r}")
    return key


class LocalObjectStore:
    """``ports.ObjectStore`` on the folder ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # --- reads -----------------------------------------------------------------------

    def get(self, key: str) -> Stored | None:
        path = self._path(key)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
                generation = os.fstat(fh.fileno()).st_mtime_ns
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        return Stored(data=data, generation=generation)

    def list(self, prefix: str) -> Iterator[str]:
        """Keys starting with ``prefix`` (plain string prefix, like GCS), sorted."""
        if "\\" in prefix or "\x00" in prefix or prefix.startswith("/"):
            raise ValueError(f"object key prefix {prefix!r} is not a relative '/' path")
        folder = prefix.rpartition("/")[0]
        if folder:
            validate_key(folder)
        base = self.root / folder if folder else self.root
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(_RESERVED)]
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if name.startswith(_RESERVED):
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return iter(sorted(keys))

    # --- writes ----------------------------------------------------------------------

    def put(self, key: str, data: bytes, *, if_generation: int | None = None) -> int:
        path = self._path(key)
        with self._locked(key) as lock_fd:
            current = _generation_of(path)
            _check(key, current, if_generation)
            generation = max(time.time_ns(), max(current, _read_last(lock_fd)) + 1)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._write_atomic(path, data, generation)
            except (NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
                raise ValueError(
                    f"object key {key!r} collides with another key used as a folder"
                ) from exc
            _write_last(lock_fd, generation)
            return generation

    def delete(self, key: str, *, if_generation: int | None = None) -> bool:
        path = self._path(key)
        with self._locked(key) as lock_fd:
            current = _generation_of(path)
            if current == 0:
                return False
            _check(key, current, if_generation)
            _write_last(lock_fd, max(current, _read_last(lock_fd)))
            path.unlink()
            _fsync_dir(path.parent)
            return True

    # --- internals -------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[int]:
        """Hold an exclusive flock on the key's lock file; yield its descriptor."""
        lock_path = self.root / _LOCK_DIR / f"{key}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing the description releases the flock

    @staticmethod
    def _write_atomic(path: Path, data: bytes, generation: int) -> None:
        fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.utime(fh.fileno(), ns=(generation, generation))
                if os.fstat(fh.fileno()).st_mtime_ns != generation:
                    raise OSError(
                        errno.ENOTSUP,
                        f"filesystem under {path.parent} does not keep nanosecond mtimes; "
                        "LocalObjectStore needs them for generations",
                    )
                os.fsync(fh.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(path.parent)
        _sweep(path.parent)


def _sweep(folder: Path) -> None:
    """Delete this folder's temp files of writes killed before their rename (kill -9, a
    full disk): one older than ``STALE_TMP_SECONDS`` belongs to no write still going."""
    horizon = time.time() - STALE_TMP_SECONDS
    for stale in folder.glob(f"{_TMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < horizon:
                stale.unlink()


def _generation_of(path: Path) -> int:
    """The stored generation of ``path``, or 0 when the key is absent."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return st.st_mtime_ns if stat.S_ISREG(st.st_mode) else 0


def _check(key: str, current: int, expected: int | None) -> None:
    if expected is None:
        return
    if expected == CREATE_ONLY and current != 0:
        raise PreconditionFailed(f"Object {key!r} already exists (create-only write lost).")
    if expected != CREATE_ONLY and current != expected:
        state = "is absent" if current == 0 else f"is at generation {current}"
        raise PreconditionFailed(
            f"Object {key!r} {state}, expected generation {expected} (someone else wrote it first)."
        )


def _read_last(lock_fd: int) -> int:
    raw = os.pread(lock_fd, 32, 0).strip()
    try:
        return int(raw) if raw else 0
    except ValueError:
        return 0


def _write_last(lock_fd: int, generation: int) -> None:
    text = f"{generation:020d}\n".encode()
    os.pwrite(lock_fd, text, 0)
    os.ftruncate(lock_fd, len(text))


def _fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (best effort where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
