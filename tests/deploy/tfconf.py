"""infra/*.tf parsed with python-hcl2 into plain dicts (quotes and block markers removed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from tests.deploy.buildconf import ROOT

INFRA = ROOT / "infra"
OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True, preserve_heredocs=False
)


def _clean(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            str(k).strip('"'): _clean(v) for k, v in node.items() if not str(k).startswith("__")
        }
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def parse(path: Path) -> dict[str, Any]:
    with path.open() as fh:
        data: dict[str, Any] = _clean(hcl2.load(fh, serialization_options=OPTIONS))
    return data


def load() -> dict[str, Any]:
    """{"resource": {type: {name: body}}, "data": ..., "variable": {name: body}, ...}."""
    out: dict[str, Any] = {"resource": {}, "data": {}, "variable": {}, "output": {}, "locals": {}}
    for path in sorted(INFRA.glob("*.tf")):
        doc = parse(path)
        for kind in ("resource", "data"):
            for item in doc.get(kind, []):
                for rtype, named in item.items():
                    for name, body in named.items():
                        out[kind].setdefault(rtype, {})[name] = body
        for kind in ("variable", "output"):
            for item in doc.get(kind, []):
                out[kind].update(item)
        for item in doc.get("locals", []):
            out["locals"].update(item)
    return out


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A nested block (hcl2 gives a list of one dict), or {} when absent."""
    value = body.get(name)
    if isinstance(value, list):
        return value[0] if value else {}
    return value if isinstance(value, dict) else {}


def default(tf: dict[str, Any], variable: str) -> Any:
    return tf["variable"][variable].get("default")
