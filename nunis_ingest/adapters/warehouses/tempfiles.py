"""Where staged files live, and the sweep that removes those a killed run left behind.

A run stages rows in temporary NDJSON files and deletes them when it commits or fails;
a run killed outright (``kill -9``, an out-of-memory kill, a power cut) cannot. So every
staged file is created in one folder (this user's private ``<temp>/nunis-stage-<uid>``
unless the warehouse names another) with its creator in the name,
``nunis-stage-<pid>.<host>.<random>.ndjson``, and every new batch first deletes the
files there whose creator is gone: a process of this host that no longer runs, or, for
any host (a folder shared between machines), a file untouched for ``MAX_AGE_SECONDS``,
far longer than a run. Files of the older unnamed form (``nunis-stage-<random>.ndjson``
in the temp folder itself) go by age too. Only regular files this user owns are ever
deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import stat
import tempfile
import time
from pathlib import Path

FOLDER = "nunis-stage"
"""Followed by ``-<uid>``: each user has a private folder."""
MAX_AGE_SECONDS = 6 * 3600
PREFIXES = ("nunis-stage-", "nunis-details-")
_NAMED = re.compile(r"nunis-(?:stage|details)-(\d+)\.([0-9a-f]{8})\.")


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def folder(directory: Path | None = None) -> Path:
    """The folder staged files go to (created when missing): ``directory``, or this
    user's ``<temp>/nunis-stage-<uid>``, private (0700). Where that name is taken by a
    link or by another user's folder, the temp folder itself (``mkstemp`` files are
    private there too, and swept the same way)."""
    if directory is not None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        return path
    base = Path(tempfile.gettempdir())
    path = base / f"{FOLDER}-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return base
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        return base
    return path


def create(prefix: str, directory: Path | None = None) -> tuple[int, Path]:
    """``mkstemp`` in ``folder(directory)``, the name telling who made it: (fd, path)."""
    fd, name = tempfile.mkstemp(
        prefix=f"{prefix}{os.getpid()}.{_host()}.", suffix=".ndjson", dir=folder(directory)
    )
    return fd, Path(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _abandoned(path: Path, host: str, now: float) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        return False  # not a file this user made: never ours to delete
    age = now - info.st_mtime
    if age > MAX_AGE_SECONDS:
        return True
    named = _NAMED.match(path.name)
    if named is None or named[2] != host:
        return False  # an older unnamed file, or another machine's: by age only
    pid = int(named[1])
    return pid != os.getpid() and not _alive(pid)


def sweep(directory: Path | None = None) -> int:
    """Delete the staged files whose run is gone; returns how many went."""
    host, now, removed = _host(), time.time(), 0
    places = [folder(directory)]
    if directory is None:
        places.append(Path(tempfile.gettempdir()))  # the unnamed files of older versions
    for place in places:
        for path in place.glob("nunis-*.ndjson"):
            if path.name.startswith(PREFIXES) and _abandoned(path, host, now):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
    return removed
