"""The function bundle as Cloud Functions builds it (scripts/bundle.py).

What .gcloudignore keeps, the gitignore semantics we apply for it, and, inside the real
bundle venv (Python 3.12, only requirements.txt), that everything the deployed code
imports is pinned and every pin is declared in pyproject.toml. Rules are also run on a
deliberately broken input, so a rule that could never fail proves nothing.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from scripts import bundle
from scripts.bundle_check import import_problems, pins, probe, requirement_problems

ROOT = bundle.ROOT
KEPT_OUT = ("tests/", "strava_sandbox/", "bench/", "scripts/", "infra/", "docs/", ".ci/")


def test_bundle_holds_main_requirements_and_every_package_module() -> None:
    files = bundle.bundle_files()
    assert {"main.py", "requirements.txt"} <= set(files)
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "nunis_ingest").rglob("*.py")}
    package = {p for p in package if "__pycache__" not in p}
    assert package <= set(files), sorted(package - set(files))
    leaked = [f for f in files if f.startswith(KEPT_OUT) or f.startswith(".venv")]
    assert leaked == []
    assert "pyproject.toml" not in files  # requirements.txt is the only dependency source
    assert not [f for f in files if f.endswith((".duckdb", ".pyc"))]


def test_gcloudignore_keeps_out_what_does_not_deploy() -> None:
    outside = [f"{d}x.py" for d in KEPT_OUT] + [
        ".venv/bin/python",
        ".local-gcp/bundle-venv/x",
        "data/strava.duckdb",
        "demo-data/archive.json",
        "infra/main.tf",
        "cloudbuild.yaml",
        "Makefile",
        ".env",
        "nunis_ingest/__pycache__/x.cpython-312.pyc",
    ]
    inside = ["main.py", "requirements.txt", "nunis_ingest/new_module.py", "LICENSE"]
    assert bundle.apply_ignore(outside + inside, bundle.ignore_patterns()) == sorted(inside)


def _ignore(tmp_path: Path, text: str, files: list[str]) -> list[str]:
    (tmp_path / ".gcloudignore").write_text(text)
    return bundle.apply_ignore(files, bundle.ignore_patterns(tmp_path))


def test_gcloudignore_follows_gitignore_semantics(tmp_path: Path) -> None:
    files = [
        "main.py",
        "tests/test_x.py",
        "pkg/tests/helper.py",
        "data/raw.json",
        "pkg/data/schema.json",
        "a.duckdb",
        "keep.duckdb",
        "#literal.txt",
    ]
    (tmp_path / "extra.ignore").write_text("main.py\n")
    text = "# a comment\n\ntests/\n/data/\n*.duckdb\n!keep.duckdb\n\\#literal.txt\n"
    assert _ignore(tmp_path, text, files) == [
        "keep.duckdb",  # re-included by the negation
        "main.py",
        "pkg/data/schema.json",  # /data/ is anchored at the root
    ]
    included = _ignore(tmp_path, text + "#!include:extra.ignore\n", files)
    assert "main.py" not in included  # gcloud's include directive


def test_a_missing_gcloudignore_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(bundle.BundleError, match="upload the whole directory"):
        bundle.ignore_patterns(tmp_path)


def test_bundle_copy_is_rebuilt_from_scratch(tmp_path: Path) -> None:
    dest = tmp_path / "src"
    (dest / "tests").mkdir(parents=True)
    (dest / "tests" / "stale.py").write_text("left over from an older build\n")
    files = bundle.build_source(dest)
    on_disk = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert on_disk == files
    assert (dest / "main.py").read_bytes() == (ROOT / "main.py").read_bytes()


# --- inside the bundle venv -----------------------------------------------------------------


@pytest.fixture(scope="module")
def built() -> bundle.Bundle:
    try:
        return bundle.prepare()
    except bundle.BundleError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def probed(built: bundle.Bundle) -> dict[str, Any]:
    return probe(built)


def test_bundle_venv_is_the_deploy_runtime_and_holds_only_requirements(
    built: bundle.Bundle, probed: dict[str, Any]
) -> None:
    assert probed["python"].startswith(bundle.PY_VERSION + ".")
    assert "nunis-ingest" not in {n.lower() for n in probed["installed"]}  # no editable install
    assert not {"pytest", "duckdb", "stravalib"} & {n.lower() for n in probed["installed"]}


def test_every_script_of_the_bundle_venv_names_an_interpreter_that_exists(
    built: bundle.Bundle,
) -> None:
    """A venv built through a linked ``.local-gcp`` (the archive extraction of ``make
    bundle-check`` links this checkout's) once named the link's folder in its shebangs:
    after the extraction was removed, ``functions-framework`` could not start."""
    scripts = [p for p in (built.python.parent).iterdir() if p.is_file()]
    shebangs = {p.name: p.read_bytes().split(b"\n", 1)[0] for p in scripts}
    named = {n: line[2:].decode().split()[0] for n, line in shebangs.items() if line[:2] == b"#!"}
    assert "functions-framework" in named
    missing = {n: path for n, path in named.items() if not Path(path).exists()}
    assert missing == {}


def test_code_outside_the_bundle_cannot_be_imported_from_it(built: bundle.Bundle) -> None:
    for name in ("tests", "strava_sandbox", "bench", "scripts"):
        out = subprocess.run(
            [str(built.python), "-c", f"import {name}"],
            cwd=built.src,
            env=built.env({}),
            capture_output=True,
            text=True,
        )
        assert out.returncode != 0
        assert "ModuleNotFoundError" in out.stderr, out.stderr


def test_everything_the_bundle_reaches_imports(probed: dict[str, Any]) -> None:
    problems, local_only = import_problems(probed)
    assert problems == []
    assert {"main", "nunis_ingest.adapters.queues", "nunis_ingest.logs"} <= set(probed["imported"])
    assert any("pubsub_v1" in lazy for lazy in probed["lazy"])
    assert all(any(m in note for m in ("duckdb", "kaleido")) for note in local_only)


def test_requirements_pin_what_the_bundle_imports(probed: dict[str, Any]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = (ROOT / "requirements.txt").read_text()
    problems, used = requirement_problems(probed, requirements, pyproject)
    assert problems == []
    assert {"google-cloud-pubsub", "google-cloud-bigquery", "functions-framework"} <= set(used)


def test_requirements_rule_catches(probed: dict[str, Any]) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = (ROOT / "requirements.txt").read_text()
    without = "\n".join(line for line in requirements.splitlines() if "pubsub" not in line)
    problems, _ = requirement_problems(probed, without, pyproject)
    assert any("from google-cloud-pubsub" in p for p in problems), problems
    assert any("declares google-cloud-pubsub" in p for p in problems), problems
    undeclared = requirements + "\nhumanize==4.9.0\n"
    problems, _ = requirement_problems(probed, undeclared, pyproject)
    assert any("pins humanize" in p for p in problems), problems
    stale = pyproject | {"project": pyproject["project"] | {"dependencies": ["requests<2"]}}
    problems, _ = requirement_problems(probed, requirements, stale)
    assert any("outside pyproject" in p and "requests" in p for p in problems), problems
    assert pins("# c\nrequests==2.0  # why\n\n") == {"requests": "2.0"}


def test_probe_finds_a_lazy_import_the_venv_cannot_satisfy(
    built: bundle.Bundle, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    bundle.build_source(src)
    module = src / "nunis_ingest" / "usecases" / "fanout.py"
    module.write_text(module.read_text() + "\n\ndef _later() -> None:\n    import yaml  # noqa\n")
    result = probe(bundle.Bundle(src, built.venv))
    problems, _ = import_problems(result)
    assert problems == [
        "nunis_ingest.usecases.fanout: `import yaml` -> ModuleNotFoundError: No module named 'yaml'"
    ]
