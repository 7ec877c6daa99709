"""What Cloud Build and Cloud Functions receive, from gcloud itself.

Two routes reach Cloud Build: the guide's ``git archive`` tarball (no ``.git``), and
``gcloud builds submit .`` (the folder after ``.gcloudignore``, which strips the tests).
For each, this builds the exact source (``gcloud meta list-files-for-upload`` says what
the second uploads) and checks it the way the build would: the function bundle that
``scripts/bundle.py`` computes (and ``make bundle-check`` tests) is what gcloud uploads,
without git; the check build refuses, in its first seconds, a source that cannot hold its
tests. ``make bundle-check`` itself runs from a ``git archive`` extraction
(scripts/source_archive.py), the exact source of the guide's route.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import bundle
from scripts.source_archive import archive_working_tree, is_git_tree
from tests.deploy.buildconf import ROOT, load_check
from tests.deploy.gcloud_commands import cloud_build_resolve
from tests.deploy.gcloudcli import GcloudMissing, list_files_for_upload, sdk


@pytest.fixture(scope="module")
def gcloud() -> None:
    try:
        sdk()
    except GcloudMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="module")
def extraction(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The guide's route: ``git archive`` of the working tree, extracted; in a source that
    is itself an extraction (Cloud Build's check step), that source as it is."""
    if not is_git_tree(ROOT):
        return ROOT
    dest = tmp_path_factory.mktemp("archive") / "src"
    archive_working_tree(dest)
    return dest


def _files_without_git(source: Path) -> list[str]:
    """``scripts/bundle.py files`` run in ``source`` with no git on PATH."""
    nogit = source.parent / "nogit-bin"
    nogit.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["PATH"] = str(nogit)  # the bundle listing needs nothing but Python
    out = subprocess.run(
        [sys.executable, "scripts/bundle.py", "files"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_the_bundle_is_what_gcloud_uploads_from_this_checkout(gcloud: None) -> None:
    assert bundle.bundle_files() == list_files_for_upload(ROOT)


def test_the_bundle_is_what_gcloud_uploads_from_a_git_archive_without_git(
    gcloud: None, extraction: Path
) -> None:
    assert not (extraction / ".git").exists()
    ours = _files_without_git(extraction)
    assert ours == list_files_for_upload(extraction)
    assert {"main.py", "requirements.txt", "nunis_ingest/usecases/fanout.py"} <= set(ours)


def test_local_state_of_a_build_step_stays_out_of_the_upload(
    gcloud: None, extraction: Path, tmp_path: Path
) -> None:
    """After the check step: a venv, caches, a coverage file, DuckDB files, a link."""
    source = tmp_path / "src"
    shutil.copytree(extraction, source, symlinks=True, ignore=shutil.ignore_patterns(".local-gcp"))
    for junk in (
        ".venv/bin/python",
        ".local-gcp/bundle-venv/x.py",
        "nunis_ingest/__pycache__/x.cpython-312.pyc",
        ".coverage",
        "data/nunis.duckdb",
        "demo-data/x.json",
        "nunis.duckdb.wal",
        "nunis_ingest.egg-info/PKG-INFO",
        ".pytest_cache/v/x",
    ):
        (source / junk).parent.mkdir(parents=True, exist_ok=True)
        (source / junk).write_text("x")
    (source / "linked-venv").symlink_to(source / ".venv", target_is_directory=True)
    (source / ".gitignore").write_text((source / ".gitignore").read_text() + "linked-venv\n")
    uploaded = list_files_for_upload(source)
    assert uploaded == bundle.bundle_files(source)
    assert not [f for f in uploaded if not f.startswith(("nunis_ingest/", "main.py", "req", "LIC"))]


def test_a_misspelt_gcloudignore_is_caught_against_gcloud(gcloud: None, tmp_path: Path) -> None:
    """The rule above can fail: gcloud and a naive reading of `.git/` disagree on a
    worktree's `.git` file (gcloud uploads it)."""
    source = tmp_path / "src"
    (source / "nunis_ingest").mkdir(parents=True)
    (source / "main.py").write_text("")
    (source / "nunis_ingest" / "__init__.py").write_text("")
    (source / ".git").write_text("gitdir: /elsewhere\n")
    (source / ".gcloudignore").write_text(".gcloudignore\n.git/\n")
    uploaded = list_files_for_upload(source)
    assert ".git" in uploaded  # what gcloud really does with a `.git` file
    assert (source / ".gcloudignore").read_text().startswith(".gcloudignore")
    (source / ".gcloudignore").write_text(".gcloudignore\n.git\n")
    assert list_files_for_upload(source) == bundle.bundle_files(source)


def _first_step(build: dict[str, object], source: Path) -> subprocess.CompletedProcess[str]:
    steps = build["steps"]
    assert isinstance(steps, list)
    step = steps[0]
    script = cloud_build_resolve(str(step["args"][1]), {"PROJECT_ID": "p"})
    return subprocess.run(
        ["bash", "-c", script], cwd=source, capture_output=True, text=True, check=False
    )


def test_the_check_build_takes_the_git_archive_and_refuses_a_stripped_folder(
    gcloud: None, extraction: Path, tmp_path: Path
) -> None:
    build = load_check()
    assert _first_step(build, extraction).returncode == 0
    # `gcloud builds submit .`: the folder minus .gcloudignore, as gcloud would upload it
    stripped = tmp_path / "stripped"
    for name in list_files_for_upload(extraction):
        (stripped / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(extraction / name, stripped / name)
    assert not (stripped / "Makefile").exists()
    refused = _first_step(build, stripped)
    assert refused.returncode != 0
    assert "git archive" in refused.stdout + refused.stderr


def test_the_terraform_zip_holds_what_gcloud_uploads_and_is_reproducible(
    gcloud: None, tmp_path: Path
) -> None:
    """`make infra-bundle`'s zip (scripts/bundle.py zip), the object Terraform deploys."""
    import zipfile

    def make(name: str) -> bytes:
        out = subprocess.run(
            [sys.executable, "scripts/bundle.py", "zip", str(tmp_path / name)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return (tmp_path / name).read_bytes()

    first, second = make("a.zip"), make("b.zip")
    assert first == second  # same files, same bytes: no redeploy when nothing changed
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = sorted(archive.namelist())
        assert archive.read("main.py") == (ROOT / "main.py").read_bytes()
    assert names == list_files_for_upload(ROOT)
