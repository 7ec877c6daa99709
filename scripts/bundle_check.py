"""`make bundle-check`: the function bundle, checked as it deploys.

1. build the bundle (scripts/bundle.py): a fresh copy of what survives .gcloudignore, and
   the Python 3.12 venv holding only requirements.txt;
2. import everything the deployed code can reach inside that venv, from the bundle copy
   (scripts/bundle_probe.py), and compare what it really imported with requirements.txt
   and pyproject.toml;
3. run both function targets under a real functions-framework process of that venv
   against the local stand-ins (scripts/bundle_targets.py).

Every step runs and reports even when an earlier one failed; the exit status is 1 when
any failed.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.bundle import ROOT, Bundle, BundleError, ensure_venv, prepare

# In the bundle (nunis_ingest/ deploys whole) but never imported by a function: the local
# backend's warehouse, and kaleido, which renders the report's PNGs (the `report` extra;
# plotly itself is pinned, since nunis_ingest/reporting deploys with the package). The only
# modules allowed to be missing there.
LOCAL_ONLY = {"duckdb", "kaleido"}
PROBE = Path(__file__).with_name("bundle_probe.py")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    return normalize(re.split(r"[\s\[<>=!~;(]", spec.strip(), maxsplit=1)[0])


def pins(text: str) -> dict[str, str]:
    """``{normalized name: version}`` of requirements.txt's ``name==version`` lines."""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            found[requirement_name(name)] = version.strip()
    return found


def probe(bundle: Bundle) -> dict[str, Any]:
    """Run the probe in the bundle venv with the bundle copy as cwd (and sys.path[0])."""
    out = subprocess.run(
        [str(bundle.python), "-c", PROBE.read_text()],
        cwd=bundle.src,
        env=bundle.env({"HOME": str(bundle.src), "LANG": "C.UTF-8"}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        raise BundleError(f"the import probe crashed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def import_problems(result: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(problems, notes): every failed import is a problem unless it lacks a local-only module."""
    problems: list[str] = []
    notes: list[str] = []
    for f in result["failed"]:
        top = (f["missing"] or "").split(".")[0]
        line = f"{f['where']}: `{f['statement']}` -> {f['error']}"
        (notes if top in LOCAL_ONLY else problems).append(line)
    if not result["cwd_on_path"]:
        problems.append(
            "the bundle copy was not first on sys.path (functions-framework puts it there)"
        )
    return problems, notes


def closure(roots: set[str], installed: dict[str, Any]) -> set[str]:
    """``roots`` and every installed distribution they require, transitively.

    Only what is installed is followed: the venv holds exactly requirements.txt, so a
    requirement pip skipped (a marker) is not there. A requirement under an ``extra``
    marker is followed only when that extra was asked for (``pkg[extra]``).
    """
    by_name = {normalize(k): v for k, v in installed.items()}
    extras: dict[str, set[str]] = {}
    todo = [(r, frozenset[str]()) for r in roots if r in by_name]
    while todo:
        name, asked = todo.pop()
        if name in extras and asked <= extras[name]:
            continue
        extras[name] = extras.get(name, set()) | asked
        for spec in by_name[name]["requires"]:
            dep, dep_extras, marker_extra = _parse(spec)
            if dep in by_name and (marker_extra is None or marker_extra in extras[name]):
                todo.append((dep, dep_extras))
    return set(extras)


def _parse(spec: str) -> tuple[str, frozenset[str], str | None]:
    """(name, extras asked for, the extra this requirement belongs to, if any)."""
    from packaging.requirements import Requirement

    req = Requirement(spec)
    found = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", str(req.marker or ""))
    return normalize(req.name), frozenset(req.extras), normalize(found[1]) if found else None


def requirement_problems(
    result: dict[str, Any], requirements: str, pyproject: dict[str, Any]
) -> tuple[list[str], dict[str, list[str]]]:
    """(problems, {distribution: modules imported from it}).

    * every distribution the bundle imported is pinned, directly or as a dependency;
    * the venv holds nothing but that closure (and pip);
    * every pin is a core dependency or in the ``gcp`` extra, and satisfies its range there;
    * every core or ``gcp`` dependency is pinned (but the local-only DuckDB).
    """
    pinned = pins(requirements)
    installed = result["installed"]
    reach = closure(set(pinned), installed)
    used: dict[str, list[str]] = {}
    for module, dist in result["origins"].items():
        used.setdefault(normalize(dist), []).append(module)
    problems = [
        f"the bundle imports {', '.join(sorted(mods)[:3])} from {dist}, which requirements.txt "
        "neither pins nor gets through a pinned package: pin it"
        for dist, mods in sorted(used.items())
        if dist not in reach
    ]
    extra = {normalize(n) for n in installed} - reach - {"pip"}
    problems += [
        f"the bundle venv holds {n}, which requirements.txt does not bring" for n in sorted(extra)
    ]
    problems += [
        f"requirements.txt pins {n}, which is not installed in the bundle venv"
        for n in sorted(set(pinned) - {normalize(k) for k in installed})
    ]
    project = pyproject["project"]
    declared = {requirement_name(d): d for d in project["dependencies"]}
    declared |= {requirement_name(d): d for d in project["optional-dependencies"]["gcp"]}
    problems += _declared_problems(pinned, declared)
    problems += [
        f"pyproject.toml declares {name} (dependencies or the gcp extra), which "
        "requirements.txt does not pin: the deployed function would not have it"
        for name in sorted(set(declared) - set(pinned) - LOCAL_ONLY)
    ]
    return problems, used


def _declared_problems(pinned: dict[str, str], declared: dict[str, str]) -> list[str]:
    from packaging.requirements import Requirement

    problems = []
    for name, version in sorted(pinned.items()):
        if name not in declared:
            problems.append(
                f"requirements.txt pins {name}, but pyproject.toml has it neither in "
                "dependencies nor in the gcp extra"
            )
        elif not Requirement(declared[name]).specifier.contains(version, prereleases=True):
            problems.append(
                f"requirements.txt pins {name}=={version}, outside pyproject's {declared[name]!r}"
            )
    return problems


Step = tuple[str, Callable[[], str]]


def run_steps(steps: list[Step]) -> bool:
    ok = True
    for title, step in steps:
        started = time.monotonic()
        try:
            detail = step()
            print(f"  PASS  {title} ({time.monotonic() - started:.1f} s){detail}", flush=True)
        except Exception as exc:
            ok = False
            print(
                f"  FAIL  {title} ({time.monotonic() - started:.1f} s)\n{_indent(str(exc))}",
                flush=True,
            )
    return ok


def _indent(text: str) -> str:
    return "\n".join(f"        {line}" for line in text.splitlines())


def run() -> int:
    started = time.monotonic()
    print("bundle-check: the Cloud Function bundle as it deploys")
    try:
        venv_started = time.monotonic()
        _, built = ensure_venv()
        how = f"built in {time.monotonic() - venv_started:.0f} s" if built else "cached"
        bundle = prepare()
    except BundleError as exc:
        print(f"  FAIL  build the bundle\n{_indent(str(exc))}")
        return 1
    files = sorted(
        p.relative_to(bundle.src).as_posix() for p in bundle.src.rglob("*") if p.is_file()
    )
    python = subprocess.run(
        [str(bundle.python), "--version"], capture_output=True, text=True
    ).stdout.strip()
    top = ", ".join(f for f in files if "/" not in f)
    print(f"  bundle: {len(files)} files after .gcloudignore ({top}, nunis_ingest/...)")
    # the cache may live outside ROOT (a git archive extraction links the checkout's)
    venv = f".local-gcp/bundle-venv/{bundle.venv.name}"
    print(f"  venv:   {python}, only requirements.txt ({venv}, {how})")
    state: dict[str, Any] = {}

    def imports() -> str:
        state["probe"] = result = probe(bundle)
        problems, notes = import_problems(result)
        lazy = len(result["lazy"])
        if problems:
            raise AssertionError("\n".join(problems))
        skipped = "".join(f"\n        local backend only (not deployed): {n}" for n in notes)
        return f": {len(result['imported'])} modules and {lazy} lazy imports{skipped}"

    def requirements() -> str:
        if "probe" not in state:
            raise AssertionError("no import probe result")
        pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
        problems, used = requirement_problems(
            state["probe"], (ROOT / "requirements.txt").read_text(), pyproject
        )
        if problems:
            raise AssertionError("\n".join(problems))
        return f": {len(used)} distributions imported, all pinned: {', '.join(sorted(used))}"

    from scripts.bundle_targets import target_steps

    ok = run_steps(
        [
            ("import everything the deployed code reaches", imports),
            ("requirements.txt holds what it imports", requirements),
        ]
    )
    ok = target_steps(bundle, run_steps) and ok
    print(f"bundle-check {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1
