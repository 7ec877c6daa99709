"""infra/*.tf against the google provider's own schema (tests/deploy/provider_schema.py):
every resource and data source type, argument, nested block and required argument, and
the provider block; the provider range pinned to the schema checked here. Plus what
`terraform validate` would say of references (every var., local., resource and data
source named is defined; depends_on names resources). Each rule also fails on a broken copy.

What this cannot check, and `terraform plan` in a project would: values (a region that
exists, a role name), expression types, and the API's own rules (infra/README.md)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

from tests.deploy.provider_schema import PROVIDER_VERSION, SchemaMissing, infra_problems, load
from tests.deploy.tfconf import INFRA

EXPLICIT = SerializationOptions(
    with_comments=False, explicit_blocks=True, strip_string_quotes=True, preserve_heredocs=False
)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    try:
        return load()
    except SchemaMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return {p.name: hcl2.loads(p.read_text(), serialization_options=EXPLICIT) for p in _files()}


def _files() -> list[Path]:
    return sorted(INFRA.glob("*.tf"))


def test_the_schema_is_the_pinned_provider(schema: dict[str, Any]) -> None:
    assert schema["version"] == PROVIDER_VERSION
    assert "google_cloudfunctions2_function" in schema["resource"]
    assert len(schema["resource"]) > 1000


def test_every_resource_argument_and_block_is_in_the_provider_schema(
    schema: dict[str, Any], docs: dict[str, dict[str, Any]]
) -> None:
    assert infra_problems(docs, schema) == []
    checked = sum(
        len(named)
        for doc in docs.values()
        for item in doc.get("resource", [])
        for named in item.values()
        if isinstance(named, dict)
    )
    assert checked >= 40


# --- Terraform's version constraint syntax, for the pin -----------------------------------


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def satisfies(version: str, constraint: str) -> bool:
    """Terraform's `version` constraint: comma-separated `op version`, `~>` pessimistic."""
    have = _version(version)
    for part in constraint.split(","):
        match = re.fullmatch(r"\s*(~>|>=|<=|!=|=|>|<)?\s*([\d.]+)\s*", part)
        assert match, f"unreadable constraint {part!r}"
        op, want = match.group(1) or "=", _version(match.group(2))
        padded = want + (0,) * (len(have) - len(want))
        if op == "~>":
            upper = want[:-1] if len(want) > 1 else want
            if have < padded or have[: len(upper)] != upper:
                return False
        elif not {
            "=": have == padded,
            "!=": have != padded,
            ">": have > padded,
            ">=": have >= padded,
            "<": have < padded,
            "<=": have <= padded,
        }[op]:
            return False
    return True


def pin_problems(versions_tf: str) -> list[str]:
    doc = hcl2.loads(versions_tf, serialization_options=EXPLICIT)
    providers: dict[str, Any] = {}
    for block in doc.get("terraform", []):
        for required in block.get("required_providers", []):
            providers |= {k: v for k, v in required.items() if not k.startswith("__")}
    google = providers.get("google", {})
    constraint = str(google.get("version", ""))
    problems = []
    if not constraint or not satisfies(PROVIDER_VERSION, constraint):
        problems.append(
            f"google {constraint!r} does not admit {PROVIDER_VERSION}, the schema checked"
        )
    for later in ("6.51.0", "7.0.0"):
        if constraint and satisfies(later, constraint):
            problems.append(f"google {constraint!r} admits {later}, whose schema is not checked")
    return problems


def test_the_provider_range_is_pinned_to_the_checked_schema() -> None:
    assert pin_problems((INFRA / "versions.tf").read_text()) == []


def test_terraform_constraints_read_as_terraform_does() -> None:
    assert satisfies("6.50.3", "~> 6.50.0")
    assert not satisfies("6.51.0", "~> 6.50.0")
    assert satisfies("6.99.0", "~> 6.50")
    assert not satisfies("7.0.0", "~> 6.50")
    assert satisfies("6.2.0", ">= 6.0, < 8.0")
    assert not satisfies("8.0.0", ">= 6.0, < 8.0")


# --- references, as terraform validate would ----------------------------------------------

REFERENCE = re.compile(r"\b(var|local|data\.\w+|google_\w+|terraform_data)\.(\w+)")


def _defined(docs: dict[str, dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for doc in docs.values():
        for item in doc.get("variable", []):
            names |= {f"var.{k}" for k in item if not k.startswith("__")}
        for item in doc.get("locals", []):
            names |= {f"local.{k}" for k in item if not k.startswith("__")}
        for kind, prefix in (("resource", ""), ("data", "data.")):
            for item in doc.get(kind, []):
                for rtype, named in item.items():
                    if isinstance(named, dict):
                        names |= {f"{prefix}{rtype}.{n}" for n in named if not n.startswith("__")}
    return names


def reference_problems(texts: dict[str, str], docs: dict[str, dict[str, Any]]) -> list[str]:
    defined = _defined(docs)
    problems = []
    for name, text in texts.items():
        code = re.sub(r"#[^\n]*", "", text)  # comments (incl. checkov's) are not code
        for match in REFERENCE.finditer(code):
            ref = f"{match.group(1)}.{match.group(2)}"
            if ref not in defined:
                problems.append(f"{name}: {ref} is not defined")
    for name, doc in docs.items():
        for kind in ("resource", "data"):
            for item in doc.get(kind, []):
                for rtype, named in item.items():
                    if not isinstance(named, dict):
                        continue
                    for label, body in named.items():
                        if not isinstance(body, dict):
                            continue
                        for dep in body.get("depends_on", []):
                            ref = str(dep).removeprefix("${").removesuffix("}")
                            if ref not in defined or ref.startswith(("var.", "local.")):
                                problems.append(
                                    f"{name} {rtype}.{label}: depends_on {ref!r} is not a resource"
                                )
    return sorted(set(problems))


def test_every_reference_is_defined(docs: dict[str, dict[str, Any]]) -> None:
    texts = {p.name: p.read_text() for p in _files()}
    assert reference_problems(texts, docs) == []


# --- the rules can fail -------------------------------------------------------------------


def _function(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    for item in docs["functions.tf"]["resource"]:
        if "google_cloudfunctions2_function" in item:
            found: dict[str, Any] = item["google_cloudfunctions2_function"]["ingest"]
            return found
    raise AssertionError("no ingest function")


def test_a_misspelt_argument_is_caught(schema: dict[str, Any], docs: dict[str, Any]) -> None:
    broken = copy.deepcopy(docs)
    config = _function(broken)["service_config"][0]
    config["max_instances_count"] = config.pop("max_instance_count")
    assert infra_problems(broken, schema) == [
        "functions.tf resource google_cloudfunctions2_function.ingest.service_config: "
        "'max_instances_count' is not an argument of Cloudfunctions2FunctionServiceConfig"
    ]


def test_blocks_arguments_and_required_ones_are_caught(
    schema: dict[str, Any], docs: dict[str, Any]
) -> None:
    as_argument = copy.deepcopy(docs)
    function = _function(as_argument)
    function["build_config"] = {"runtime": "python312"}  # `build_config = {...}`
    missing = copy.deepcopy(docs)
    del _function(missing)["location"]
    unknown_type = copy.deepcopy(docs)
    unknown_type["functions.tf"]["resource"].append({"google_cloudfunction2_function": {"x": {}}})
    assert infra_problems(as_argument, schema) == [
        "functions.tf resource google_cloudfunctions2_function.ingest: "
        "'build_config' is a block, written as an argument"
    ]
    assert infra_problems(missing, schema) == [
        "functions.tf resource google_cloudfunctions2_function.ingest: "
        "required argument 'location' is missing"
    ]
    assert infra_problems(unknown_type, schema) == [
        "functions.tf resource google_cloudfunction2_function.x: "
        "the google provider has no resource google_cloudfunction2_function"
    ]


def test_a_misspelt_argument_in_a_dynamic_block_is_caught(
    schema: dict[str, Any], docs: dict[str, Any]
) -> None:
    text = (INFRA / "storage.tf").read_text().replace("matches_prefix", "matches_prefixes")
    broken = dict(docs) | {"storage.tf": hcl2.loads(text, serialization_options=EXPLICIT)}
    assert infra_problems(broken, schema) == [
        "storage.tf resource google_storage_bucket.data.lifecycle_rule.condition: "
        "'matches_prefixes' is not an argument of StorageBucketLifecycleRuleCondition"
    ]


def test_the_pin_rule_catches_an_open_range() -> None:
    text = (INFRA / "versions.tf").read_text()
    opened = re.sub(r'(?m)^(\s+)version\s*=\s*"[^"]*"', r'\1version = ">= 6.0, < 8.0"', text)
    assert opened != text
    assert pin_problems(opened)


def test_the_reference_rule_catches(docs: dict[str, Any]) -> None:
    texts = {p.name: p.read_text() for p in _files()}
    texts["functions.tf"] += "\nlocals {\n  x = var.no_such_variable\n}\n"
    broken = copy.deepcopy(docs)
    _function(broken)["depends_on"] = ["${local.function_env}"]
    assert reference_problems(texts, broken) == [
        "functions.tf google_cloudfunctions2_function.ingest: depends_on 'local.function_env' "
        "is not a resource",
        "functions.tf: var.no_such_variable is not defined",
    ]
