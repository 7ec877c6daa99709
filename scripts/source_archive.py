"""The source Cloud Build receives from the guide's route: a ``git archive`` extraction.

deployment-guide.md step 7 uploads ``git archive --format=tar.gz HEAD``: the committed
files, no ``.git``, none of the ignored local state. ``archive_working_tree`` builds the
same thing from the working tree (what ``git archive`` gives once the changes are
committed: tracked files with their current content, and the untracked files git does
not ignore), so ``make bundle-check`` and the tests check uncommitted work the way Cloud
Build will see it after the commit.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ArchiveError(RuntimeError):
    """git could not produce the archive; the message says what git answered."""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)


def is_git_tree(root: Path = ROOT) -> bool:
    """True when ``root`` is the top of a git work tree (a clone or a worktree), False in an
    extraction or without git."""
    try:
        out = _git(root, "rev-parse", "--show-toplevel")
    except OSError:  # no git installed
        return False
    return out.returncode == 0 and Path(out.stdout.decode().strip()).resolve() == root.resolve()


def archive_working_tree(dest: Path, root: Path = ROOT) -> list[str]:
    """Extract into ``dest`` (created empty) the ``git archive`` of the working tree; return
    the extracted file names."""
    stash = _git(root, "stash", "create")  # a commit of the working tree, or nothing if clean
    tree = stash.stdout.decode().strip() if stash.returncode == 0 else ""
    archived = _git(root, "archive", "--format=tar", tree or "HEAD")
    if archived.returncode != 0:
        raise ArchiveError(f"git archive failed: {archived.stderr.decode().strip()[:300]}")
    dest.mkdir(parents=True, exist_ok=False)
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as tar:
        tar.extractall(dest, filter="tar")
        names = [m.name for m in tar.getmembers() if m.isfile() or m.issym()]
    untracked = _git(root, "ls-files", "-z", "--others", "--exclude-standard")
    for name in filter(None, untracked.stdout.decode().split("\0")):
        if (root / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, dest / name)
            names.append(name)
    return sorted(set(names))


def zip_bundle(dest: Path, files: list[str], root: Path = ROOT) -> Path:
    """The bundle as one zip (Terraform uploads it): the files in order, with fixed times and
    modes, so the same files always give the same bytes (and the same object name)."""
    import zipfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (root / name).read_bytes())
    partial.replace(dest)
    return dest
