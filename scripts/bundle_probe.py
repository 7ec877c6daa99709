"""Run by the bundle venv's Python from the bundle copy (``python -c <this file's text>``).

Stdlib only. Imports ``main`` and every module of ``nunis_ingest``, then runs every import
statement written inside a function body (the lazy imports: Google clients, the logging
handler, the Pub/Sub queue...) exactly as written, in its module's package. Prints one
JSON object: what was imported, what failed and why, which installed distribution each
imported module comes from, and what is installed (for the requirements closure).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as md
import json
import pkgutil
import sys
import sysconfig
import traceback
from pathlib import Path
from typing import Any

PACKAGE = "nunis_ingest"


def _failure(where: str, statement: str, exc: BaseException) -> dict[str, Any]:
    return {
        "where": where,
        "statement": statement,
        "error": f"{type(exc).__name__}: {exc}",
        "missing": getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
        "trace": traceback.format_exception_only(exc)[-1].strip(),
    }


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in {
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    }


def lazy_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements inside function bodies (skipping ``if TYPE_CHECKING:`` blocks)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom) and in_function:
                found.append(child)
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(tree, False)
    return found


def _module_files() -> dict[str, str]:
    """Every installed file (relative to site-packages) -> its distribution's name."""
    owners: dict[str, str] = {}
    for dist in md.distributions():
        for f in dist.files or ():
            owners[str(f)] = dist.metadata["Name"]
    return owners


def main() -> None:
    modules = ["main"] + [m.name for m in pkgutil.walk_packages([PACKAGE], prefix=f"{PACKAGE}.")]
    imported: list[str] = []
    failed: list[dict[str, Any]] = []
    for name in [PACKAGE, *modules]:
        try:
            importlib.import_module(name)
            imported.append(name)
        except Exception as exc:
            failed.append(_failure(name, f"import {name}", exc))
    lazy: list[str] = []
    for name in modules:
        origin = Path(name.replace(".", "/") + ".py")
        if not origin.is_file():
            origin = Path(name.replace(".", "/")) / "__init__.py"
        package = name if origin.name == "__init__.py" else name.rpartition(".")[0]
        for node in lazy_imports(ast.parse(origin.read_text(), str(origin))):
            statement = ast.unparse(node)
            lazy.append(f"{name}: {statement}")
            try:  # the statement itself, as the function would run it
                exec(  # noqa: S102 - an import statement of our own source
                    compile(ast.Module([node], []), str(origin), "exec"),
                    {"__name__": name, "__package__": package},
                )
            except Exception as exc:
                failed.append(_failure(name, statement, exc))
    site = Path(sysconfig.get_paths()["purelib"])
    owners = _module_files()
    origins: dict[str, str] = {}
    for mod_name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path:
            continue
        try:
            rel = Path(path).resolve().relative_to(site.resolve())
        except ValueError:
            continue  # the stdlib or the bundle itself
        origins[mod_name] = owners.get(str(rel), "?")
    installed = {
        d.metadata["Name"]: {"version": d.version, "requires": list(d.requires or [])}
        for d in md.distributions()
    }
    print(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "executable": sys.executable,
                "cwd_on_path": sys.path[0] in ("", str(Path.cwd())),
                "imported": imported,
                "lazy": lazy,
                "failed": failed,
                "origins": origins,
                "installed": installed,
            }
        )
    )


main()
