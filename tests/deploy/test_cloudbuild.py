"""Static checks of what we deploy: cloudbuild-deploy.yaml (and the check build's
timeouts and Python) and requirements.txt. What the builds receive and whether gcloud takes
their commands is checked against gcloud itself (test_upload.py, test_gcloud_parse.py).

Each rule is a small function that returns a list of problems, so the same rule is run on
the real files (expecting none) and on a deliberately broken variant (expecting one): a
rule that could never fail would prove nothing.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from nunis_ingest.settings import Settings
from tests.deploy.buildconf import (
    GUIDE,
    ROOT,
    SUBST,
    WEBHOOK_ONLY,
    active_steps,
    condition,
    deploys,
    gcloud_args,
    load_build,
    load_check,
    names,
    secrets_of,
)

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
    return gcloud_args(step)[:2] == ["functions", "deploy"]


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


def shell_problems(build: dict[str, Any]) -> list[str]:
    """`sh -c "a && b"` must be one string: a separate "&&" argument skips the rest."""
    problems = []
    for step in build.get("steps") or []:
        args = [str(a) for a in step.get("args") or []]
        name = step.get("id", step.get("name"))
        if any(a.strip() in {"&&", "||", ";", "|"} for a in args):
            problems.append(f"step {name}: a shell operator passed as a separate argument")
        if "-c" in args and len(args) - args.index("-c") != 2 and condition(step) is None:
            # `bash -c SCRIPT $0 ARGS...` passes ARGS only if SCRIPT uses "$$@"
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
    required = (
        "_BUCKET",
        "_DATASET",
        "_STRAVA_CLIENT_ID",
        "_RUNTIME_SA",
        "_TRIGGER_SA",
        "_BUILD_SA",
        "_WEBHOOK_SA",
    )
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
    assert timeout_problems(load_check()) == []
    assert timeout_problems(build) == []


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


# --- the optional webhook, Pub/Sub triggers, the webhook's account, the bundle check -------

WEBHOOK_ON = {"_WEBHOOK": "on"}


def _text(step: dict[str, Any]) -> str:
    return " ".join(str(a) for a in step.get("args") or [])


def webhook_switch_problems(build: dict[str, Any]) -> list[str]:
    """_WEBHOOK=off needs nothing of the webhook; _WEBHOOK=on deploys both its functions."""
    problems = []
    for step in active_steps(build, {"_WEBHOOK": "off"}):
        for key in WEBHOOK_ONLY:
            if f"${{{key}}}" in _text(step) and step.get("id") != "require-substitutions":
                problems.append(f"step {step.get('id')} needs {key} even with _WEBHOOK=off")
    off = {f.get("--entry-point") for _, _, f in deploys(build, {"_WEBHOOK": "off"})}
    on = [f.get("--entry-point") for _, _, f in deploys(build, WEBHOOK_ON)]
    if off != {"ingest"}:
        problems.append(f"_WEBHOOK=off deploys {sorted(map(str, off))}, expected only ingest")
    if sorted(map(str, on)) != ["drain_events", "ingest", "webhook"]:
        problems.append(f"_WEBHOOK=on deploys {on}, expected ingest, drain_events, webhook")
    if (build.get("substitutions") or {}).get("_WEBHOOK") != "off":
        problems.append("_WEBHOOK must default to off")
    return problems


def _waits_for(build: dict[str, Any], step: dict[str, Any], target: str) -> bool:
    """Whether ``step`` runs after the step with id ``target`` (following waitFor)."""
    steps = build.get("steps") or []
    by_id = {s.get("id"): s for s in steps}
    seen: set[str] = set()
    todo = list(step.get("waitFor") or [])
    if step.get("waitFor") is None:  # no waitFor: after every earlier step
        todo = [s.get("id") for s in steps[: steps.index(step)]]
    while todo:
        current = todo.pop()
        if current == target:
            return True
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        todo.extend(by_id[current].get("waitFor") or [])
    return False


def pubsub_trigger_problems(build: dict[str, Any]) -> list[str]:
    """Every Pub/Sub-triggered function: retries, a trigger account, its invoker binding."""
    problems = []
    steps = active_steps(build, WEBHOOK_ON)
    for step, name, f in deploys(build, WEBHOOK_ON):
        if "--trigger-topic" not in f:
            continue
        if "--retry" not in f:
            problems.append(f"{name}: Pub/Sub-triggered without --retry")
        trigger = f.get("--trigger-service-account")
        if not trigger:
            problems.append(f"{name}: no --trigger-service-account")
        elif trigger == f.get("--service-account"):
            problems.append(f"{name}: the trigger account is the runtime account")
        binding = [
            s
            for s in steps
            if gcloud_args(s)[:3] == ["functions", "add-invoker-policy-binding", name]
            and f"--member=serviceAccount:{trigger}" in gcloud_args(s)
        ]
        if not binding:
            problems.append(f"{name}: no roles/run.invoker binding for {trigger}")
        elif not _waits_for(build, binding[0], str(step.get("id"))):
            problems.append(f"{name}: the invoker binding runs before the deploy")
    return problems


def webhook_account_problems(build: dict[str, Any]) -> list[str]:
    problems = []
    hooks = [
        (s, f) for s, _, f in deploys(build, WEBHOOK_ON) if f.get("--entry-point") == "webhook"
    ]
    if not hooks:
        return ["no webhook deploy"]
    _, f = hooks[0]
    account = f.get("--service-account")
    runtime = {g.get("--service-account") for _, _, g in deploys(build, WEBHOOK_ON)} - {account}
    if account != "${_WEBHOOK_SA}":
        problems.append(f"the webhook runs as {account}, not its own ${{_WEBHOOK_SA}}")
    if account in runtime:
        problems.append("the webhook shares the runtime account")
    env = f.get("--set-env-vars") or ""
    for needless in ("NUNIS_BUCKET=", "NUNIS_DATASET=", "STRAVA_CLIENT_SECRET"):
        if needless in env or needless in (f.get("--set-secrets") or ""):
            problems.append(f"the webhook gets {needless.rstrip('=')}, which it must not need")
    if "NUNIS_WEBHOOK_SUBSCRIPTION_ID=" not in env:
        problems.append("the webhook needs NUNIS_WEBHOOK_SUBSCRIPTION_ID (it has no bucket access)")
    secrets = secrets_of(f)
    if sorted(secrets) != sorted(["${_VERIFY_TOKEN_SECRET_NAME}", "${_PATH_SECRET_NAME}"]):
        problems.append(f"the webhook mounts {secrets}, expected the verify token and path secret")
    if "NUNIS_WEBHOOK_PATH_SECRET=" not in (f.get("--set-secrets") or ""):
        problems.append("the webhook does not get NUNIS_WEBHOOK_PATH_SECRET")
    if "--allow-unauthenticated" not in f or "--trigger-http" not in f:
        problems.append("the webhook must be public HTTP (Strava cannot authenticate)")
    minimum = (build.get("substitutions") or {}).get("_WEBHOOK_MIN_INSTANCES")
    if f.get("--min-instances") != "${_WEBHOOK_MIN_INSTANCES}" or str(minimum) != "0":
        problems.append("webhook min instances must default to 0 (a warm instance costs)")
    return problems


def bundle_check_problems(check: dict[str, Any], build: dict[str, Any]) -> list[str]:
    """The check build runs the bundle check on Python 3.12, the runtime every deploy names."""
    steps = check.get("steps") or []
    found = [s for s in steps if re.search(r"\bmake\b.*\bbundle-check\b", _text(s))]
    if not found:
        return ["the check build runs no `make bundle-check`"]
    problems = []
    if "PYTHON=python3.12" not in _text(found[0]) or "python install 3.12" not in _text(found[0]):
        problems.append("the bundle check does not run on Python 3.12 (the deploy runtime)")
    for _, name, f in deploys(build, WEBHOOK_ON | {"_ONBOARD": "on"}):
        if f.get("--runtime") != "python312":
            problems.append(f"{name}: --runtime is not python312 (the bundle check's Python)")
    return problems


def names_problems(build: dict[str, Any]) -> list[str]:
    n = names()
    expected = {
        "_FUNCTION": n["functions"]["ingest"],
        "_EVENTS_FUNCTION": n["functions"]["events"],
        "_WEBHOOK_FUNCTION": n["functions"]["webhook"],
        "_TOPIC": n["topics"]["ingest"],
        "_EVENTS_TOPIC": n["topics"]["events"],
        "_CLIENT_SECRET_NAME": n["secrets"]["client_secret"],
        "_VERIFY_TOKEN_SECRET_NAME": n["secrets"]["verify_token"],
        "_PATH_SECRET_NAME": n["secrets"]["path_secret"],
        "_REGION": n["region"],
        "_BQ_LOCATION": n["bq_location"],
        "_MEMORY": n["memory"],
        "_MAX_INSTANCES": str(n["max_instances"]),
        "_WEBHOOK_MIN_INSTANCES": str(n["webhook_min_instances"]),
    }
    subs = build.get("substitutions") or {}
    return [
        f"{key} defaults to {subs.get(key)!r}, infra/names.json says {value!r}"
        for key, value in expected.items()
        if str(subs.get(key)) != value
    ]


def test_a_build_without_the_webhook_needs_none_of_its_secrets(build: dict[str, Any]) -> None:
    assert webhook_switch_problems(build) == []


def test_every_pubsub_function_retries_and_has_its_invoker_binding(build: dict[str, Any]) -> None:
    assert pubsub_trigger_problems(build) == []


def test_webhook_runs_as_its_own_account_with_its_two_secrets(build: dict[str, Any]) -> None:
    assert webhook_account_problems(build) == []


def test_bundle_checked_on_the_deploy_runtime(build: dict[str, Any]) -> None:
    assert bundle_check_problems(load_check(), build) == []


def test_substitution_defaults_match_the_names_file(build: dict[str, Any]) -> None:
    assert names_problems(build) == []


def _step(build: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in build["steps"] if s.get("id") == step_id)


def test_webhook_switch_rule_catches(build: dict[str, Any]) -> None:
    unguarded = copy.deepcopy(build)
    hook = _step(unguarded, "deploy-webhook")
    hook["entrypoint"], hook["args"] = "gcloud", gcloud_args(hook)
    assert webhook_switch_problems(unguarded)
    always_on = copy.deepcopy(build)
    always_on["substitutions"]["_WEBHOOK"] = "on"
    assert webhook_switch_problems(always_on)


def test_pubsub_rule_catches(build: dict[str, Any]) -> None:
    no_binding = copy.deepcopy(build)
    no_binding["steps"] = [s for s in no_binding["steps"] if s.get("id") != "invoker-ingest"]
    assert pubsub_trigger_problems(no_binding)
    early = copy.deepcopy(build)
    _step(early, "invoker-ingest")["waitFor"] = ["check"]
    assert pubsub_trigger_problems(early)
    no_retry = copy.deepcopy(build)
    ingest = _step(no_retry, "deploy")
    ingest["args"] = [a for a in ingest["args"] if a != "--retry"]
    assert pubsub_trigger_problems(no_retry) == ["${_FUNCTION}: Pub/Sub-triggered without --retry"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("--service-account=${_WEBHOOK_SA}", "--service-account=${_RUNTIME_SA}"),
        (",NUNIS_WEBHOOK_PATH_SECRET=${_PATH_SECRET_NAME}:latest", ""),
        (
            "--set-env-vars=NUNIS_BACKEND=gcp,",
            "--set-env-vars=NUNIS_BACKEND=gcp,NUNIS_BUCKET=${_BUCKET},",
        ),
        ("--min-instances=${_WEBHOOK_MIN_INSTANCES}", "--min-instances=1"),
    ],
)
def test_webhook_account_rule_catches(build: dict[str, Any], old: str, new: str) -> None:
    broken = copy.deepcopy(build)
    hook = _step(broken, "deploy-webhook")
    hook["args"] = [str(a).replace(old, new) for a in hook["args"]]
    assert hook["args"] != _step(build, "deploy-webhook")["args"]
    assert webhook_account_problems(broken)


def test_bundle_check_rule_catches(build: dict[str, Any]) -> None:
    wrong_python = copy.deepcopy(load_check())
    step = _step(wrong_python, "check")
    step["args"] = [str(a).replace("PYTHON=python3.12", "PYTHON=python3.13") for a in step["args"]]
    assert bundle_check_problems(wrong_python, build)
    missing = copy.deepcopy(load_check())
    missing["steps"] = [s for s in missing["steps"] if s.get("id") != "check"]
    assert bundle_check_problems(missing, build)
    runtime = copy.deepcopy(build)
    deploy = _step(runtime, "deploy")
    deploy["args"] = [str(a).replace("python312", "python313") for a in deploy["args"]]
    assert bundle_check_problems(load_check(), runtime)


def test_names_rule_catches(build: dict[str, Any]) -> None:
    broken = copy.deepcopy(build)
    broken["substitutions"]["_EVENTS_TOPIC"] = "nunis-events-topic"
    assert names_problems(broken)
