#!/usr/bin/env python3
"""The Cloud Function bundle exactly as it deploys, and `make bundle-check`.

Cloud Functions uploads the source directory minus what ``.gcloudignore`` excludes and
installs only ``requirements.txt`` on the runtime's Python (``python312``). Our development
virtualenv holds far more (the dev extra, an editable install, the repo on ``sys.path``),
so a test that passes there says nothing about the product as it ships. This module
builds the real thing:

* ``bundle_files``: the files of the directory that survive ``.gcloudignore`` (gitignore
  semantics, walked as gcloud walks it: no git needed, so a ``git archive`` extraction
  works as well as a clone);
* ``build_source``: a fresh copy of those files (rebuilt on every call);
* ``ensure_venv``: a virtualenv on Python 3.12 holding exactly ``requirements.txt``,
  cached under ``.local-gcp/bundle-venv/<hash of requirements.txt + Python version>``;
* ``prepare``: both, as a ``Bundle`` that ``scripts/topology.py`` runs functions from.

``python scripts/bundle.py check`` (``make bundle-check``) then imports everything the
deployed code can reach inside that venv and runs both function targets under a real
functions-framework process (scripts/bundle_check.py).
"""

from __future__ import annotations

import atexit
import fcntl
import functools
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / ".local-gcp"
RUNTIME = "python312"  # the deploy runtime (cloudbuild.yaml); we test the version we deploy
PY_VERSION = "3.12"
INCLUDE = "#!include:"


class BundleError(RuntimeError):
    """The bundle cannot be built (no Python 3.12, a failing install); says what to do."""


@dataclass(frozen=True)
class Bundle:
    """A built bundle: ``src`` is the deployed directory, ``venv`` its virtualenv."""

    src: Path
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def functions_framework(self) -> Path:
        return self.venv / "bin" / "functions-framework"

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` made safe for a process of the bundle venv: no dev venv, no PYTHONPATH."""
        clean = {k: v for k, v in env.items() if k not in _LEAKY}
        clean["PATH"] = os.pathsep.join(
            [str(self.venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]
        )
        return clean


_LEAKY = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV"}


# --- which files deploy ---------------------------------------------------------------------


def ignore_patterns(root: Path = ROOT, name: str = ".gcloudignore") -> list[str]:
    """The file's patterns: ``#`` comments and blank lines dropped, ``#!include:`` expanded."""
    path = root / name
    if not path.is_file():
        raise BundleError(f"{name} is missing: gcloud would upload the whole directory")
    patterns: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith(INCLUDE):
            patterns += ignore_patterns(root, line[len(INCLUDE) :].strip())
        elif line.strip() and not line.startswith("#"):
            patterns.append(line.rstrip())
    return patterns


def _spec(patterns: list[str]) -> Any:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def apply_ignore(files: Iterable[str], patterns: list[str]) -> list[str]:
    """The files (POSIX paths relative to the root) that the patterns do not exclude."""
    spec = _spec(patterns)
    return sorted(f for f in files if not spec.match_file(f))


def upload_files(root: Path, patterns: list[str]) -> list[str]:
    """What ``gcloud`` uploads from ``root``: a walk of the directory as it is on disk
    (symlinks followed, no git involved), skipping every excluded directory and file.

    This is gcloud's own rule (``gcloud meta list-files-for-upload`` prints it), so it
    holds in a clone, in a ``git archive`` extraction (no ``.git``: what Cloud Build
    receives from the guide) and after a build step has added files to the workspace.
    """
    spec = _spec(patterns)
    found: list[str] = []
    for folder, dirs, names in os.walk(root, followlinks=True):
        rel = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel == "." else f"{rel}/"
        dirs[:] = sorted(d for d in dirs if not spec.match_file(f"{prefix}{d}/"))
        found += [f"{prefix}{n}" for n in names if not spec.match_file(f"{prefix}{n}")]
    return sorted(found)


def bundle_files(root: Path = ROOT) -> list[str]:
    return upload_files(root, ignore_patterns(root))


def build_source(dest: Path, root: Path = ROOT) -> list[str]:
    """Copy the deployed files into ``dest`` (emptied first); return their names."""
    shutil.rmtree(dest, ignore_errors=True)
    files = bundle_files(root)
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    return files


# --- the runtime's virtualenv ---------------------------------------------------------------


def find_python(version: str = PY_VERSION) -> str:
    """A working ``python<version>``: PATH first (a pyenv shim may exist but fail), then pyenv."""
    candidates = [shutil.which(f"python{version}") or ""]
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    for root in filter(None, roots):
        candidates += sorted(glob.glob(f"{root}/versions/{version}*/bin/python{version}"))[::-1]
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.startswith(f"Python {version}."):
            return exe
    raise BundleError(
        f"Python {version} not found (PATH or pyenv): the function deploys on {RUNTIME}, "
        f"so the bundle is checked on it. Install it, e.g. `pyenv install {version}`."
    )


def _full_version(python: str) -> str:
    out = subprocess.run([python, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def venv_key(requirements: bytes, version: str) -> str:
    return hashlib.sha256(requirements + b"\0" + version.encode()).hexdigest()[:16]


def _installed(venv: Path) -> list[str]:
    """``name==version`` of every distribution in the venv (from its dist-info folders)."""
    found = glob.glob(str(venv / "lib" / "python*" / "site-packages" / "*.dist-info"))
    return sorted(Path(p).name.removesuffix(".dist-info").lower() for p in found)


def _starts(venv: Path) -> bool:
    """Whether the venv's ``functions-framework`` names an interpreter that exists (one
    built through a link that has gone cannot start)."""
    script = venv / "bin" / "functions-framework"
    try:
        first = script.read_bytes().split(b"\n", 1)[0]
    except OSError:
        return False
    return first.startswith(b"#!") and Path(first[2:].decode().split()[0]).exists()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two test sessions never build one venv at once
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_venv(root: Path = ROOT, *, quiet: bool = True) -> tuple[Path, bool]:
    """The venv holding exactly requirements.txt; ``(path, built_now)``.

    The marker written last records what was installed and where; a venv whose dist-info
    folders no longer match it (someone installed something into it), or that was built at
    another path (its scripts' shebangs point there, so they would not start), is rebuilt
    from scratch.
    """
    python = find_python()
    requirements = (root / "requirements.txt").read_bytes()
    version = _full_version(python)
    # Built at its real path: through a linked .local-gcp (an archive extraction shares
    # this checkout's) the scripts' shebangs would name a folder that goes away.
    venv = (LOCAL / "bundle-venv").resolve() / f"py{version}-{venv_key(requirements, version)}"
    marker = venv / ".nunis-bundle.json"
    with _locked(venv.parent / f"{venv.name}.lock"):
        try:
            doc = json.loads(marker.read_text())
            recorded, where = doc["installed"], doc.get("path")
        except (OSError, ValueError, KeyError):
            recorded, where = None, None
        here = str(venv.resolve())
        fresh = recorded is not None and recorded == _installed(venv) and where == here
        if fresh and _starts(venv):
            return venv, False
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        with tempfile.TemporaryDirectory() as scratch:  # pip reads the file, nothing else
            req = Path(scratch) / "requirements.txt"
            req.write_bytes(requirements)
            pip = [str(venv / "bin/python"), "-m", "pip", "install", "--disable-pip-version-check"]
            done = subprocess.run(
                [*pip, *(["--quiet"] if quiet else []), "-r", str(req)],
                env={k: v for k, v in os.environ.items() if k not in _LEAKY},
                capture_output=quiet,
                text=True,
            )
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise BundleError(f"pip install -r requirements.txt failed:\n{done.stderr}")
        marker.write_text(
            json.dumps(
                {
                    "requirements": requirements.decode(),
                    "installed": _installed(venv),
                    "path": str(venv.resolve()),
                }
            )
        )
        return venv, True


@functools.cache
def prepare() -> Bundle:
    """A fresh bundle copy and its venv, once per process (test sessions, the demo)."""
    venv, _ = ensure_venv()
    scratch = Path(tempfile.mkdtemp(prefix="bundle-", dir=_mkdir(LOCAL / "run")))
    atexit.register(shutil.rmtree, scratch, True)
    src = scratch / "src"
    build_source(src)
    return Bundle(src, venv)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def main(argv: list[str]) -> int:
    if argv[1:2] == ["files"]:
        print("\n".join(bundle_files()))
        return 0
    if argv[1:2] == ["zip"] and len(argv) == 3:
        sys.path.insert(0, str(ROOT))
        from scripts.source_archive import zip_bundle

        files = bundle_files()
        print(f"{zip_bundle(Path(argv[2]), files)}: {len(files)} files")
        return 0
    if argv[1:2] == ["check"]:
        sys.path.insert(0, str(ROOT))
        from scripts.source_archive import is_git_tree

        if is_git_tree(ROOT):
            return check_in_archive()
        from scripts.bundle_check import run

        return run()
    print("usage: scripts/bundle.py check | files | zip OUT.zip", file=sys.stderr)
    return 2


def check_in_archive() -> int:
    """``make bundle-check`` in a clone: the same check, run from a ``git archive``
    extraction of the working tree (no ``.git``), which is what Cloud Build's check step
    receives from the guide. The extraction shares this checkout's ``.local-gcp/`` (the
    stand-ins and the bundle venv are cached there) through a link."""
    from scripts.source_archive import archive_working_tree

    scratch = Path(tempfile.mkdtemp(prefix="nunis-archive-"))  # outside any git tree
    try:
        source = scratch / "src"
        files = archive_working_tree(source)
        (source / ".local-gcp").symlink_to(_mkdir(LOCAL), target_is_directory=True)
        print(
            f"bundle-check: from a git archive extraction of the working tree ({len(files)} files)"
        )
        env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
        script = source / "scripts" / "bundle.py"
        return subprocess.run(
            [sys.executable, str(script), "check"], cwd=source, env=env
        ).returncode
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
