"""The Terraform google provider's own schema, offline, from a wheel on the package index.

No Terraform binary installs here, but ``cdktf-cdktf-provider-google`` carries the google
provider's schema (16.12.1 is generated from provider 6.50.0) as a jsii assembly:
``_jsii/provider-google@16.12.1.jsii.tgz`` holds ``package/.jsii``, JSON. Each resource
class documents its Terraform name (``google_cloudfunctions2_function``); its
``<Resource>Config`` type lists every argument (camelCase, ``optional``, a type that is a
primitive, a collection, or the fqn of a nested block's own struct); every property's docs
link the snake_case name Terraform uses (``...#build_config``).

``load()`` returns that, reduced to what ``infra/*.tf`` is checked against, cached as JSON
under the git-ignored ``.local-gcp/provider-schema/``. The wheel is fetched there by
``pip download`` on first use (``make provider-schema`` does the same); without it the
checks fail with how to get it, never skip.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from tests.deploy.buildconf import ROOT

WHEEL = "cdktf-cdktf-provider-google"
WHEEL_VERSION = "16.12.1"
PROVIDER_VERSION = "6.50.0"  # the google provider the wheel is generated from
CACHE = ROOT / ".local-gcp" / "provider-schema"
SCHEMA = CACHE / f"google-{PROVIDER_VERSION}.json"
ASSEMBLY = f"_jsii/provider-google@{WHEEL_VERSION}.jsii.tgz"
NAME_LINK = re.compile(r"/docs/(resources|data-sources)/(\w+) (google_\w+)\}")
ARG_LINK = re.compile(r"/docs/(?:resources|data-sources)/\w+#(\w+) ")
# Every Terraform resource takes these; they are Terraform's, not the provider's.
META = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}


PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
PIP_DOWNLOAD += ["--only-binary=:all:", "--disable-pip-version-check"]


class SchemaMissing(RuntimeError):
    pass


def _wheel() -> Path:
    found = sorted(CACHE.glob(f"{WHEEL.replace('-', '_')}-{WHEEL_VERSION}-*.whl"))
    if found:
        return found[0]
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [*PIP_DOWNLOAD, "-d", str(CACHE), f"{WHEEL}=={WHEEL_VERSION}"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = sorted(CACHE.glob(f"{WHEEL.replace('-', '_')}-{WHEEL_VERSION}-*.whl"))
    if done.returncode != 0 or not found:
        raise SchemaMissing(
            f"the google provider schema ({WHEEL}=={WHEEL_VERSION}, ~50 MB) could not be "
            f"downloaded into {CACHE.relative_to(ROOT)}: {done.stderr.strip()[-300:]} "
            f"Fix: `make provider-schema` with access to the package index."
        )
    return found[0]


def _assembly(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(ASSEMBLY))
        packed = archive.read(name)
    with tarfile.open(fileobj=io.BytesIO(packed)) as tar:
        member = tar.extractfile("package/.jsii")
        assert member is not None
        data: dict[str, Any] = json.load(member)
    return data


def _structs(kind: Any, types: dict[str, Any]) -> list[str]:
    """The google-assembly structs a property type refers to (a nested block's type)."""
    if isinstance(kind, dict):
        found = []
        fqn = kind.get("fqn")
        if isinstance(fqn, str) and types.get(fqn, {}).get("datatype"):
            found.append(fqn)
        for value in kind.values():
            found += _structs(value, types)
        return found
    if isinstance(kind, list):
        return [f for item in kind for f in _structs(item, types)]
    return []


def _snake(prop: dict[str, Any]) -> str:
    found = ARG_LINK.search(prop.get("docs", {}).get("remarks", ""))
    if found:
        return found.group(1)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", prop["name"]).lower()


def _args(fqn: str, types: dict[str, Any]) -> dict[str, dict[str, Any]]:
    args = {}
    for prop in types[fqn].get("properties", []):
        structs = _structs(prop.get("type"), types)
        args[_snake(prop)] = {
            "required": not prop.get("optional", False),
            "block": structs[0] if structs else None,
        }
    return args


def reduce(assembly: dict[str, Any]) -> dict[str, Any]:
    """{"version", "resource": {tf name: config fqn}, "data": {...}, "provider": fqn,
    "types": {fqn: {snake name: {"required": bool, "block": fqn | None}}}}"""
    types = assembly["types"]
    kinds: dict[str, dict[str, str]] = {"resource": {}, "data": {}}
    for fqn, spec in types.items():
        if spec.get("kind") != "class":
            continue
        found = NAME_LINK.search(spec.get("docs", {}).get("summary", ""))
        if found and f"{fqn}Config" in types:
            kind = "resource" if found.group(1) == "resources" else "data"
            kinds[kind][found.group(3)] = f"{fqn}Config"
    provider = "@cdktf/provider-google.provider.GoogleProviderConfig"
    wanted = [provider, *kinds["resource"].values(), *kinds["data"].values()]
    reduced: dict[str, Any] = {}
    while wanted:
        fqn = wanted.pop()
        if fqn in reduced:
            continue
        reduced[fqn] = _args(fqn, types)
        wanted += [a["block"] for a in reduced[fqn].values() if a["block"]]
    versions = {m.group(1) for m in re.finditer(r"hashicorp/google/([\d.]+)/", json.dumps(types))}
    return {
        "version": ",".join(sorted(versions)),
        "resource": kinds["resource"],
        "data": kinds["data"],
        "provider": provider,
        "types": reduced,
    }


def load() -> dict[str, Any]:
    if SCHEMA.exists():
        cached: dict[str, Any] = json.loads(SCHEMA.read_text())
        return cached
    schema = reduce(_assembly(_wheel()))
    if schema["version"] != PROVIDER_VERSION:
        raise SchemaMissing(f"{WHEEL}=={WHEEL_VERSION} holds provider {schema['version']}")
    SCHEMA.write_text(json.dumps(schema, sort_keys=True))
    return schema


# --- infra/*.tf against it --------------------------------------------------------------


def _blocks(value: Any) -> list[dict[str, Any]] | None:
    """The value as a list of blocks, or None when it is an attribute's value."""
    listed = isinstance(value, list) and bool(value)
    if listed and all(isinstance(v, dict) and v.get("__is_block__") for v in value):
        return list(value)
    return None


def body_problems(
    body: dict[str, Any], fqn: str, schema: dict[str, Any], where: str, top: bool = False
) -> list[str]:
    spec = schema["types"][fqn]
    problems: list[str] = []
    present = set()
    for key, value in body.items():
        if key.startswith("__") or (top and key in META):
            continue
        if key == "dynamic":
            for item in value:
                for label, dynamic in item.items():
                    if label.startswith("__"):
                        continue
                    present.add(label)
                    arg = spec.get(label)
                    if arg is None or arg["block"] is None:
                        problems.append(f"{where}: dynamic {label!r} is not a block of {fqn}")
                        continue
                    for content in _blocks(dynamic.get("content")) or []:
                        problems += body_problems(content, arg["block"], schema, f"{where}.{label}")
            continue
        present.add(key)
        arg = spec.get(key)
        if arg is None:
            problems.append(f"{where}: {key!r} is not an argument of {fqn.split('.')[-1]}")
            continue
        blocks = _blocks(value)
        if arg["block"] is None and blocks is not None:
            problems.append(f"{where}: {key!r} is an argument, written as a block")
        elif arg["block"] is not None and blocks is None:
            problems.append(f"{where}: {key!r} is a block, written as an argument")
        for block in blocks or []:
            if arg["block"] is not None:
                problems += body_problems(block, arg["block"], schema, f"{where}.{key}")
    problems += [
        f"{where}: required argument {name!r} is missing"
        for name, arg in spec.items()
        if arg["required"] and name not in present
    ]
    return problems


def infra_problems(docs: dict[str, dict[str, Any]], schema: dict[str, Any]) -> list[str]:
    """Every resource, data source and provider block of the parsed files against the
    schema. ``docs``: file name -> python-hcl2 output (explicit blocks)."""
    problems: list[str] = []
    for name, doc in docs.items():
        for kind in ("resource", "data"):
            for item in doc.get(kind, []):
                for rtype, named in item.items():
                    if rtype.startswith("__") or not rtype.startswith("google_"):
                        continue
                    for label, body in named.items():
                        if label.startswith("__"):
                            continue
                        where = f"{name} {kind} {rtype}.{label}"
                        fqn = schema[kind].get(rtype)
                        if fqn is None:
                            problems.append(f"{where}: the google provider has no {kind} {rtype}")
                            continue
                        problems += body_problems(body, fqn, schema, where, top=True)
        for item in doc.get("provider", []):
            for provider, body in item.items():
                if provider == "google":
                    clean = {k: v for k, v in body.items() if k != "alias"}
                    problems += body_problems(clean, schema["provider"], schema, f"{name} provider")
    return problems


def main() -> None:  # `make provider-schema`
    schema = load()
    print(
        f"google provider {schema['version']}: {len(schema['resource'])} resources, "
        f"{len(schema['data'])} data sources ({SCHEMA.relative_to(ROOT)})"
    )


if __name__ == "__main__":
    main()
