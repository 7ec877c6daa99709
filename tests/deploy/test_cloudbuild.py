"""Static checks of what we deploy: cloudbuild.yaml, .gcloudignore and requirements.txt.

Each rule is a small function that returns a list of problems, so the same rule is run on
the real files (expecting none) and on a deliberately broken variant (expecting one): a
rule that could never fail would prove nothing.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nunis_ingest.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CLOUDBUILD = ROOT / "cloudbuild.yaml"
GUIDE = ROOT / "deployment-guide.md"

SUBST = re.compile(r"\$\{(_[A-Z0-9_]+)\}|\$(_[A-Z0-9_]+)")
MAX_EVENT_TIMEOUT_S = 540

# Values that must come in as substitutions, never as literals.
LITERAL_PATTERNS = {
    "a literal project in a resource name": re.compile(r"projects/(?!\$\{?PROJECT_ID\b)"),
    "a literal --project": re.compile(r"--project=(?!\$\{?PROJECT_ID\b)"),
    "a bucket URL": re.compile(r"gs://"),
    "a service account email": re.compile(r"[\w.-]+@[\w.-]+\.iam\.gserviceaccount\.com"),
    "a literal NUNIS_BUCKET": re.compile(r"NUNIS_BUCKET=(?!\$\{_)"),
    "a literal NUNIS_DATASET": re.compile(r"NUNIS_DATASET=(?!\$\{_)"),
    "a literal NUNIS_PROJECT": re.compile(r"NUNIS_PROJECT=(?!\$\{?PROJECT_ID\b|\$\{_)"),
    "a literal STRAVA_CLIENT_ID": re.compile(r"STRAVA_CLIENT_ID=(?!\$\{_)"),
    "a literal --trigger-topic": re.compile(r"--trigger-topic=(?!\$\{_)"),
    "a literal --service-account": re.compile(r"--service-account=(?!\$\{_)"),
    "an athlete id": re.compile(r"athlete_id", re.IGNORECASE),
}


# --- helpers ------------------------------------------------------------------------------


def load_build() -> dict[str, Any]:
    data = yaml.safe_load(CLOUDBUILD.read_text())
    assert isinstance(data, dict), "cloudbuild.yaml must be a mapping"
    return data


def strings(node: Any) -> Iterator[str]:
    """Every string in the parsed config (keys and values; comments are already gone)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def step_index(build: dict[str, Any], predicate: Any) -> int | None:
    for i, step in enumerate(build.get("steps") or []):
        if predicate(step):
            return i
    return None


def runs_make_check(step: dict[str, Any]) -> bool:
    text = " ".join([step.get("entrypoint", ""), *map(str, step.get("args") or [])])
    return re.search(r"\bmake\b(\s+\S+)*?\s+check\b", text) is not None


def is_deploy(step: dict[str, Any]) -> bool:
    args = [str(a) for a in step.get("args") or []]
    return args[:2] == ["functions", "deploy"]


def deploy_step(build: dict[str, Any]) -> dict[str, Any]:
    i = step_index(build, is_deploy)
    assert i is not None, "no `gcloud functions deploy` step"
    step: dict[str, Any] = build["steps"][i]
    return step


def flags(step: dict[str, Any]) -> dict[str, str | None]:
    """`--name=value` and bare `--name` arguments of a step (`--name value` is rejected)."""
    out: dict[str, str | None] = {}
    for arg in map(str, step.get("args") or []):
        if arg.startswith("--"):
            name, sep, value = arg.partition("=")
            out[name] = value if sep else None
    return out


def resolve(value: str, build: dict[str, Any]) -> str:
    """Replace ${_X} by its declared default (what a build with no overrides would use)."""
    defaults = build.get("substitutions") or {}
    return SUBST.sub(lambda m: str(defaults.get(m.group(1) or m.group(2), m.group(0))), value)


# --- rules (each returns a list of problems) ----------------------------------------------


def order_problems(build: dict[str, Any]) -> list[str]:
    steps = build.get("steps") or []
    check = step_index(build, runs_make_check)
    deploy = step_index(build, is_deploy)
    if check is None:
        return ["no step runs `make check`"]
    if deploy is None:
        return ["no `gcloud functions deploy` step"]
    if check > deploy:
        return ["`make check` runs after the deploy"]
    wait = steps[deploy].get("waitFor")
    check_id = steps[check].get("id")
    if wait is not None and (check_id is None or check_id not in wait):
        return ["the deploy step's waitFor does not include the `make check` step"]
    return []


def shell_problems(build: dict[str, Any]) -> list[str]:
    """`sh -c "a && b"` must be one string: a separate "&&" argument skips the rest."""
    problems = []
    for step in build.get("steps") or []:
        args = [str(a) for a in step.get("args") or []]
        name = step.get("id", step.get("name"))
        if any(a.strip() in {"&&", "||", ";", "|"} for a in args):
            problems.append(f"step {name}: a shell operator passed as a separate argument")
        if "-c" in args and len(args) - args.index("-c") != 2:
            problems.append(f"step {name}: `-c` must be followed by exactly one command string")
    return problems


def deploy_problems(build: dict[str, Any]) -> list[str]:
    step = deploy_step(build)
    f = flags(step)
    problems = []
    if step.get("entrypoint") != "gcloud" and "gcloud" not in str(step.get("name", "")):
        problems.append("the deploy step does not run gcloud")
    for name in ("--gen2", "--retry"):
        if name not in f:
            problems.append(f"missing {name}")
    for name in (
        "--trigger-topic",
        "--service-account",
        "--region",
        "--max-instances",
        "--memory",
        "--timeout",
        "--set-env-vars",
        "--set-secrets",
        "--source",
    ):
        if not f.get(name):
            problems.append(f"missing {name}=...")
    if f.get("--entry-point") != "ingest":
        problems.append("--entry-point must be ingest")
    if f.get("--runtime") != "python312":
        problems.append("--runtime must be python312")
    if "--trigger-http" in f:
        problems.append("the ingest function is Pub/Sub-triggered, not HTTP")
    if any(str(a) in {"--timeout", "--memory", "--max-instances"} for a in step["args"]):
        problems.append("use --flag=value, not a separate value argument")

    timeout = re.fullmatch(r"(\d+)s", f.get("--timeout") or "")
    if not timeout:
        problems.append("--timeout must be like 540s")
    else:
        seconds = int(timeout.group(1))
        if seconds > MAX_EVENT_TIMEOUT_S:
            problems.append(f"--timeout {seconds}s exceeds {MAX_EVENT_TIMEOUT_S}s")
        if seconds <= Settings().time_budget_seconds:
            problems.append("--timeout must leave room above NUNIS_TIME_BUDGET_SECONDS")
    memory = resolve(f.get("--memory") or "", build)
    if not re.fullmatch(r"\d+(Mi|Gi)", memory):
        problems.append(f"--memory resolves to {memory!r}")
    max_instances = resolve(f.get("--max-instances") or "", build)
    if not (max_instances.isdigit() and 1 <= int(max_instances) <= 10):
        problems.append(f"--max-instances resolves to {max_instances!r}, want 1..10")

    env = dict(kv.partition("=")[::2] for kv in (f.get("--set-env-vars") or "").split(","))
    if env.get("NUNIS_BACKEND") != "gcp":
        problems.append("NUNIS_BACKEND=gcp not set")
    for key in ("NUNIS_BUCKET", "NUNIS_DATASET", "STRAVA_CLIENT_ID"):
        if not SUBST.fullmatch(env.get(key, "")):
            problems.append(f"{key} must be set from a substitution")
    if "STRAVA_CLIENT_SECRET" in env:
        problems.append("STRAVA_CLIENT_SECRET must not be a plain env var")
    secrets = dict(kv.partition("=")[::2] for kv in (f.get("--set-secrets") or "").split(","))
    if not re.fullmatch(r"\$\{_[A-Z0-9_]+\}:(latest|\d+)", secrets.get("STRAVA_CLIENT_SECRET", "")):
        problems.append("STRAVA_CLIENT_SECRET must come from Secret Manager via --set-secrets")
    return problems


def substitution_problems(build: dict[str, Any], guide: str) -> list[str]:
    declared = build.get("substitutions") or {}
    rest = {k: v for k, v in build.items() if k != "substitutions"}
    used = {m.group(1) or m.group(2) for s in strings(rest) for m in SUBST.finditer(s)}
    problems = [
        f"${{{k}}} is used but not declared" for k in sorted(used - set(declared)) if k not in guide
    ]
    loose = (build.get("options") or {}).get("substitution_option") == "ALLOW_LOOSE"
    if not loose:  # strict mode: a declared but unused substitution fails the build
        problems += [f"{k} is declared but never used" for k in sorted(set(declared) - used)]
    for key, value in declared.items():
        if not re.fullmatch(r"_[A-Z0-9_]+", str(key)):
            problems.append(f"substitution {key} must match _[A-Z0-9_]+")
        if value in ("", None) and key not in guide:
            problems.append(f"required substitution {key} is not explained in the guide")
    return problems


def literal_problems(build: dict[str, Any]) -> list[str]:
    problems = []
    for text in strings(build):
        for what, pattern in LITERAL_PATTERNS.items():
            if pattern.search(text):
                problems.append(f"{what}: {text[:80]!r}")
    required = ("_BUCKET", "_DATASET", "_STRAVA_CLIENT_ID", "_RUNTIME_SA", "_BUILD_SA")
    for key in required:
        if (build.get("substitutions") or {}).get(key) not in ("", None):
            problems.append(f"{key} has a default; it identifies a deployment, so it must not")
    return problems


def service_account_problems(build: dict[str, Any]) -> list[str]:
    problems = []
    account = str(build.get("serviceAccount", ""))
    if not re.fullmatch(r"projects/\$\{?PROJECT_ID\}?/serviceAccounts/\$\{_[A-Z0-9_]+\}", account):
        problems.append("serviceAccount must be projects/${PROJECT_ID}/serviceAccounts/${_X}")
    options = build.get("options") or {}
    if options.get("logging") != "CLOUD_LOGGING_ONLY" and not build.get("logsBucket"):
        problems.append("a user-specified service account needs logging: CLOUD_LOGGING_ONLY")
    return problems


def timeout_problems(build: dict[str, Any]) -> list[str]:
    def seconds(value: Any) -> int:
        match = re.fullmatch(r"(\d+)s", str(value or ""))
        return int(match.group(1)) if match else 600  # Cloud Build's default

    total = seconds(build.get("timeout"))
    steps = build.get("steps") or []
    check = step_index(build, runs_make_check)
    problems = []
    if check is not None and seconds(steps[check].get("timeout")) < 1200:
        problems.append("the `make check` step needs at least 20 minutes")
    if total < sum(seconds(s.get("timeout")) for s in steps if s.get("timeout")):
        problems.append("the build timeout is shorter than its steps' timeouts together")
    return problems


def gcloudignore_problems(text: str) -> list[str]:
    patterns = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("!")
    ]
    problems = [
        f".gcloudignore does not exclude {p}"
        for p in ("tests/", "strava_sandbox/", "bench/", ".local-gcp/", ".venv/")
        if p not in patterns
    ]

    def ignored(name: str) -> bool:
        return any(fnmatch.fnmatch(name, p.strip("/")) for p in patterns)

    problems += [
        f".gcloudignore excludes {name}, which the function needs"
        for name in ("main.py", "requirements.txt", "nunis_ingest")
        if ignored(name)
    ]
    return problems


PIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!-]+")


def requirement_name(line: str) -> str:
    name = re.split(r"[\[<>=!~;\s]", line.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_problems(text: str, pyproject: dict[str, Any]) -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    problems = [
        f"requirements.txt: not pinned with ==: {line!r}"
        for line in lines
        if not PIN.fullmatch(line)
    ]
    have = {requirement_name(line) for line in lines}
    project = pyproject["project"]
    need = {requirement_name(d) for d in project["dependencies"]}
    need |= {requirement_name(d) for d in project["optional-dependencies"]["gcp"]}
    need -= {"duckdb"}  # local warehouse only; the function never imports it
    problems += [f"requirements.txt lacks {name}" for name in sorted(need - have)]
    return problems


# --- tests on the real files --------------------------------------------------------------


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    return load_build()


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text() if GUIDE.exists() else ""


def test_make_check_runs_before_deploy(build: dict[str, Any]) -> None:
    assert order_problems(build) == []


def test_no_shell_operator_as_separate_argument(build: dict[str, Any]) -> None:
    assert shell_problems(build) == []


def test_deploy_flags(build: dict[str, Any]) -> None:
    assert deploy_problems(build) == []


def test_substitutions_declared_and_used(build: dict[str, Any], guide: str) -> None:
    assert substitution_problems(build, guide) == []


def test_nothing_identifying_is_hard_coded(build: dict[str, Any]) -> None:
    assert literal_problems(build) == []


def test_build_runs_as_dedicated_service_account(build: dict[str, Any]) -> None:
    assert service_account_problems(build) == []


def test_timeouts_leave_room_for_the_tests(build: dict[str, Any]) -> None:
    assert timeout_problems(build) == []


def test_gcloudignore_keeps_bundle_small() -> None:
    assert gcloudignore_problems((ROOT / ".gcloudignore").read_text()) == []


def test_requirements_pinned_and_complete() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert requirements_problems((ROOT / "requirements.txt").read_text(), pyproject) == []


def test_guide_uses_the_function_entry_point_and_substitutions(guide: str) -> None:
    assert guide, "deployment-guide.md is missing"
    for text in (
        "cloudbuild.yaml",
        "--entry-point",
        "_BUCKET",
        "_RUNTIME_SA",
        "_BUILD_SA",
        "NUNIS_BACKEND=gcp",
        "athlete add",
        '"mode": "new"',
        '"mode": "all"',
    ):
        assert text in guide, f"deployment-guide.md does not mention {text}"


# --- the rules can fail -------------------------------------------------------------------


def _deploy_args(build: dict[str, Any]) -> list[Any]:
    args: list[Any] = deploy_step(build)["args"]
    return args


def _replace_flag(build: dict[str, Any], name: str, value: str | None) -> dict[str, Any]:
    broken = copy.deepcopy(build)
    args = _deploy_args(broken)
    args[:] = [a for a in args if str(a).partition("=")[0] != name]
    if value is not None:
        args.append(f"{name}={value}" if value else name)
    return broken


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("--gen2", None),
        ("--retry", None),
        ("--trigger-topic", None),
        ("--service-account", None),
        ("--entry-point", "webhook"),
        ("--timeout", "900s"),
        ("--timeout", "300s"),
        ("--memory", None),
        ("--max-instances", None),
        ("--max-instances", "100"),
        ("--set-secrets", None),
        ("--set-env-vars", "NUNIS_BACKEND=local,NUNIS_BUCKET=${_BUCKET},NUNIS_DATASET=${_DATASET}"),
        ("--set-env-vars", "NUNIS_BACKEND=gcp,NUNIS_DATASET=${_DATASET},STRAVA_CLIENT_ID=${_C}"),
    ],
)
def test_deploy_rule_catches(build: dict[str, Any], name: str, value: str | None) -> None:
    assert deploy_problems(_replace_flag(build, name, value))


def test_order_rule_catches_deploy_first(build: dict[str, Any]) -> None:
    broken = copy.deepcopy(build)
    broken["steps"].reverse()
    assert order_problems(broken)
    no_check = copy.deepcopy(build)
    no_check["steps"] = [s for s in no_check["steps"] if not runs_make_check(s)]
    assert order_problems(no_check)


def test_shell_rule_catches_split_and(build: dict[str, Any]) -> None:
    broken = copy.deepcopy(build)
    broken["steps"].append(
        {"name": "x", "entrypoint": "sh", "args": ["-c", "make lint", "&&", "make test"]}
    )
    assert len(shell_problems(broken)) == 2


def test_substitution_rule_catches_undeclared_and_unused(build: dict[str, Any], guide: str) -> None:
    broken = _replace_flag(build, "--labels", "owner=${_OWNER}")
    assert substitution_problems(broken, guide) == ["${_OWNER} is used but not declared"]
    unused = copy.deepcopy(build)
    unused["substitutions"]["_UNUSED"] = "x"
    assert substitution_problems(unused, guide) == ["_UNUSED is declared but never used"]
    assert substitution_problems(build, guide="")  # required ones must be explained


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("--project", "my-project-123"),
        ("--service-account", "runner@my-project-123.iam.gserviceaccount.com"),
        ("--set-env-vars", "NUNIS_BACKEND=gcp,NUNIS_BUCKET=my-bucket,NUNIS_DATASET=${_DATASET}"),
        ("--source", "gs://my-bucket/source.zip"),
    ],
)
def test_literal_rule_catches(build: dict[str, Any], name: str, value: str) -> None:
    assert literal_problems(_replace_flag(build, name, value))


def test_literal_rule_catches_defaults(build: dict[str, Any]) -> None:
    broken = copy.deepcopy(build)
    broken["substitutions"]["_BUCKET"] = "nunis-data-eu"
    assert literal_problems(broken)


def test_service_account_rule_catches(build: dict[str, Any]) -> None:
    no_logging = copy.deepcopy(build)
    no_logging["options"] = {}
    assert service_account_problems(no_logging)
    literal = copy.deepcopy(build)
    literal["serviceAccount"] = "projects/my-project/serviceAccounts/b@x.iam.gserviceaccount.com"
    assert service_account_problems(literal)


def test_gcloudignore_rule_catches() -> None:
    assert gcloudignore_problems("tests/\nbench/\n.venv/\n.local-gcp/\n")  # sandbox shipped
    full = "tests/\nstrava_sandbox/\nbench/\n.local-gcp/\n.venv/\n"
    assert gcloudignore_problems(full) == []
    assert gcloudignore_problems(full + "*.py\n")  # would drop main.py


def test_requirements_rule_catches() -> None:
    pyproject = {
        "project": {
            "dependencies": ["requests>=2", "duckdb>=1"],
            "optional-dependencies": {"gcp": ["google-cloud-storage>=3"]},
        }
    }
    assert requirements_problems("requests==2.32.0\ngoogle-cloud-storage==3.0.0\n", pyproject) == []
    assert requirements_problems("requests>=2.32\ngoogle-cloud-storage==3.0.0\n", pyproject)
    assert requirements_problems("requests==2.32.0\n", pyproject)  # gcp extra missing
