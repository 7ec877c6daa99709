"""The layout is the design: each folder of ``nunis_ingest`` imports only the layers below
it (``../shared/design/ARCHITECTURE.md``; README "Layout").

    drivers (cli, webhook, onboard), main.py   ->  anything
    runtime (the one place that knows which adapters exist)  ->  all but drivers
    usecases, context                         ->  core, ports, errors, settings, logs,
                                                  and the Strava client (adapters.strava)
    adapters (strava, stores, warehouses, queues)  ->  core, ports, errors, settings, logs
    core (pure rules and values), ports, errors, settings, logs  ->  core, ports, errors

The Strava client is the one adapter a use case may import: it is thin and ours, the
product's input rather than a swappable store (the ports of ARCHITECTURE.md are the
object store and the warehouse), and a use case's tests run it against the sandbox over
real HTTP. Every import statement counts, including those inside functions and under
``TYPE_CHECKING``: a type-only import still couples the layers. The scan is static (the
source's ``ast``), so it sees imports no test executes.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nunis_ingest"
BASE = {"core", "ports", "errors"}
ALLOWED: dict[str, set[str]] = {
    "core": BASE,
    "ports": BASE,
    "errors": BASE,
    "settings": BASE,
    "logs": BASE | {"settings"},
    "adapters": BASE | {"adapters", "settings", "logs"},
    "usecases": BASE | {"usecases", "context", "settings", "logs", "adapters.strava"},
    "context": BASE | {"usecases", "settings"},
}
ALLOWED["runtime"] = ALLOWED["usecases"] | {"adapters", "runtime"}


def _module(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> set[str]:
    here = _module(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return {f for f in found if f.split(".")[0] == "nunis_ingest"}


def _layer(dotted: str) -> str:
    parts = dotted.split(".")[1:]
    if parts[:2] == ["adapters", "strava"]:
        return "adapters.strava"
    return parts[0] if parts else ""


def _allows(source: str, target: str) -> bool:
    if source == "drivers" or source == "__main__":
        return True
    allowed = ALLOWED["adapters" if source == "adapters.strava" else source]
    return target in allowed or (target == "adapters.strava" and "adapters" in allowed)


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _layer(".".join(_module(path)))
        if not source:
            continue
        for target_module in sorted(_imports(path)):
            target = _layer(target_module)
            if target and not _allows(source, target):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {target_module}")
    return found


def test_no_import_runs_back_up_the_layers() -> None:
    assert violations() == []


def test_the_scan_sees_an_import_that_runs_back_up(tmp_path: Path) -> None:
    sample = PACKAGE / "core" / "plan.py"
    assert "nunis_ingest.core.state" in _imports(sample)
    assert not _allows("core", "usecases")
    assert not _allows("usecases", "adapters")
    assert not _allows("adapters", "usecases")
    assert _allows("usecases", "adapters.strava")


def test_the_core_loads_no_http_database_or_cloud_library() -> None:
    import json
    import subprocess
    import sys

    modules = sorted(
        f"nunis_ingest.core.{p.stem}" for p in (PACKAGE / "core").glob("*.py") if p.stem[0] != "_"
    )
    code = (
        "import importlib, json, sys\n"
        "before = set(sys.modules)\n"  # site's .pth files load the bare google namespace
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "heavy = ('requests', 'duckdb', 'google', 'urllib3', 'pyarrow')\n"
        "new = set(sys.modules) - before\n"
        "print(json.dumps(sorted(m for m in new if m.split('.')[0] in heavy)))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    )
    assert "nunis_ingest.core.plan" in modules
    assert "nunis_ingest.core.settle" in modules
    assert json.loads(run.stdout) == [], "a core module pulls in I/O libraries"
