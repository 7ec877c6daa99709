"""The two builds and what only the deploy build does.

* The check build (cloudbuild.yaml) runs the tests and deploys nothing, as an account of its
  own; the deploy build (cloudbuild-deploy.yaml) runs no test, as the deploy account.
* The events drain: main.drain_events, HTTP, private, one instance at a time, invoked by
  the trigger account, on the pull subscription the guide and Terraform create.
* The onboarding page on its own account, bounded in instances.
* The dead-letter policy re-applied after every deploy of the ingest function.
* Every substitution checked by step 0 (scripts/check_substitutions.py) and documented.

Each rule also runs on a broken copy.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from typing import Any

import pytest

from scripts.check_substitutions import RULES, problems
from tests.deploy.buildconf import (
    GUIDE,
    ROOT,
    deploys,
    gcloud_args,
    load_build,
    load_check,
    names,
)
from tests.deploy.gcloud_commands import required_values

ALL_ON = {"_WEBHOOK": "on", "_ONBOARD": "on"}


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    return load_build()


@pytest.fixture(scope="module")
def check() -> dict[str, Any]:
    return load_check()


def _text(step: dict[str, Any]) -> str:
    return " ".join(str(a) for a in step.get("args") or [])


def _step(build: dict[str, Any], step_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in build["steps"] if s.get("id") == step_id)
    return found


def _deploy(build: dict[str, Any], entry: str) -> dict[str, str | None]:
    for _, _, f in deploys(build, ALL_ON):
        if f.get("--entry-point") == entry:
            return f
    raise AssertionError(f"no deploy of {entry}")


# --- two builds, two accounts -------------------------------------------------------------


def split_problems(check: dict[str, Any], build: dict[str, Any]) -> list[str]:
    problems = []
    if not any(re.search(r"\bmake\b.*\bcheck\b", _text(s)) for s in check.get("steps") or []):
        problems.append("the check build does not run `make check`")
    if deploys(check, ALL_ON):
        problems.append("the check build deploys")
    if any(re.search(r"\bmake\b|pytest", _text(s)) for s in build.get("steps") or []):
        problems.append("the deploy build runs tests (they must not hold deploy rights)")
    if not deploys(build):
        problems.append("the deploy build deploys nothing")
    accounts = {c.get("serviceAccount") for c in (check, build)}
    if check.get("serviceAccount") != "projects/${PROJECT_ID}/serviceAccounts/${_CHECK_SA}":
        problems.append("the check build does not run as ${_CHECK_SA}")
    if len(accounts) != 2:
        problems.append("both builds run as one account")
    if set(check.get("substitutions") or {}) != {"_CHECK_SA"}:
        problems.append("the check build takes more than _CHECK_SA (strict mode: one list each)")
    return problems


def guide_build_problems(guide: str) -> list[str]:
    """Every deploy build in the guide comes right after (`&&`) a check build of the same
    archive."""
    calls = re.findall(r"gcloud builds submit (\S+) --config=(\S+)[^\n]*(?:\n[^\n]*?)??", guide)
    problems = []
    text = re.sub(r"\\\n\s*", " ", guide)
    for match in re.finditer(r"gcloud builds submit (\S+) --config=cloudbuild-deploy\.yaml", text):
        before = text[: match.start()].rstrip()
        check = re.search(r"gcloud builds submit (\S+) --config=cloudbuild\.yaml[^\n]*&&$", before)
        if not check or check.group(1) != match.group(1):
            line = guide.count("\n", 0, guide.find(match.group(0)[:30])) + 1
            problems.append(
                f"deployment-guide.md:{line}: a deploy build not gated by a check build"
            )
    if not calls:
        problems.append("the guide runs no build")
    return problems


def test_the_tests_run_without_deploy_rights_and_the_deploy_runs_no_test(
    check: dict[str, Any], build: dict[str, Any]
) -> None:
    assert split_problems(check, build) == []


def test_every_deploy_in_the_guide_follows_a_passed_check_build() -> None:
    assert guide_build_problems(GUIDE.read_text()) == []


def test_the_split_rules_catch(check: dict[str, Any], build: dict[str, Any]) -> None:
    tests_in_deploy = copy.deepcopy(build)
    tests_in_deploy["steps"].append({"id": "x", "entrypoint": "bash", "args": ["-c", "make test"]})
    assert split_problems(check, tests_in_deploy)
    same_account = copy.deepcopy(check)
    same_account["serviceAccount"] = build["serviceAccount"]
    assert split_problems(same_account, build)
    guide = GUIDE.read_text()
    ungated = guide.replace(
        '--substitutions="$CHECK_SUBS" \\\n&& gcloud', '--substitutions="$CHECK_SUBS"\ngcloud', 1
    )
    assert ungated != guide
    assert guide_build_problems(ungated)


# --- the events drain ---------------------------------------------------------------------


def drain_problems(build: dict[str, Any], guide: str, tf_text: str) -> list[str]:
    f = _deploy(build, "drain_events")
    subs = build.get("substitutions") or {}
    problems = []
    wanted = {
        "--trigger-http": None,
        "--no-allow-unauthenticated": None,
        "--max-instances": "1",
        "--concurrency": "1",
        "--service-account": "${_RUNTIME_SA}",
        "--ingress-settings": "internal-only",
    }
    for flag, value in wanted.items():
        if flag not in f or f.get(flag) != value:
            problems.append(f"the drain lacks {flag}{'=' + value if value else ''}")
    if "NUNIS_EVENTS_SUBSCRIPTION=${_EVENTS_SUBSCRIPTION}" not in str(f.get("--set-env-vars")):
        problems.append("the drain is not told its subscription (NUNIS_EVENTS_SUBSCRIPTION)")
    name = names()["subscriptions"]["events_drain"]
    if subs.get("_EVENTS_SUBSCRIPTION") != name:
        problems.append("_EVENTS_SUBSCRIPTION does not default to names.json's")
    if not re.search(rf'EVENTS_SUB="{name}"', guide):
        problems.append("the guide's EVENTS_SUB is not names.json's")
    create = re.search(
        r'gcloud pubsub subscriptions create "\$EVENTS_SUB" --topic="\$EVENTS_TOPIC"'
        r'[^`]*?--dead-letter-topic="\$EVENTS_DLQ_TOPIC"',
        guide,
    )
    if not create:
        problems.append("the guide creates no pull subscription with a dead-letter topic")
    if not re.search(
        r'subscriptions add-iam-policy-binding "\$EVENTS_SUB" \\\n\s+'
        r'--member="serviceAccount:\$\{RUNTIME_SA\}" --role=roles/pubsub.subscriber',
        guide,
    ):
        problems.append("the runtime account cannot pull the events subscription (guide)")
    job = re.search(r'gcloud scheduler jobs create http "\$EVENTS_JOB"(.*?)\n\n', guide, re.S)
    if not job or '--oidc-service-account-email="$TRIGGER_SA"' not in job.group(1):
        problems.append("no scheduler job calls the drain as the trigger account (guide)")
    if (
        'entry_point       = "drain_events"' not in tf_text
        or "max_instance_count               = 1" not in tf_text
    ):
        problems.append("Terraform's events function is not the one-instance drain")
    job = re.search(r'"google_cloud_scheduler_job" "events" \{(.*?)\n\}', tf_text, re.S)
    if (
        not job
        or "google_service_account.trigger.email" not in job.group(1)
        or ("google_cloudfunctions2_function.events[0].service_config[0].uri" not in job.group(1))
    ):
        problems.append("Terraform's scheduler job does not call the drain as the trigger account")
    binding = [
        s
        for s in build["steps"]
        if gcloud_args(s)[:3] == ["functions", "add-invoker-policy-binding", "${_EVENTS_FUNCTION}"]
    ]
    if not binding or "--member=serviceAccount:${_TRIGGER_SA}" not in gcloud_args(binding[0]):
        problems.append("the trigger account may not invoke the drain")
    return problems


def _tf_functions() -> str:
    return "".join((ROOT / "infra" / f).read_text() for f in ("functions.tf", "scheduler.tf"))


def test_the_drain_runs_alone_on_the_guides_subscription(build: dict[str, Any]) -> None:
    assert drain_problems(build, GUIDE.read_text(), _tf_functions()) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("--max-instances=1", "--max-instances=${_MAX_INSTANCES}"),
        ("--no-allow-unauthenticated", "--allow-unauthenticated"),
        (",NUNIS_EVENTS_SUBSCRIPTION=${_EVENTS_SUBSCRIPTION}", ""),
    ],
)
def test_the_drain_rule_catches(build: dict[str, Any], old: str, new: str) -> None:
    broken = copy.deepcopy(build)
    step = _step(broken, "deploy-events")
    step["args"] = [str(a).replace(old, new) for a in step["args"]]
    assert step["args"] != _step(build, "deploy-events")["args"]
    assert drain_problems(broken, GUIDE.read_text(), _tf_functions())


def test_the_drain_rule_catches_the_guide_and_terraform(build: dict[str, Any]) -> None:
    guide = GUIDE.read_text()
    assert drain_problems(
        build, guide.replace('--oidc-service-account-email="$TRIGGER_SA"', ""), _tf_functions()
    )
    assert drain_problems(
        build,
        guide,
        _tf_functions().replace(
            "max_instance_count               = 1", "max_instance_count               = 3"
        ),
    )


# --- the onboarding page ------------------------------------------------------------------


def onboard_problems(build: dict[str, Any]) -> list[str]:
    f = _deploy(build, "onboard")
    problems = []
    accounts = {g.get("--service-account") for _, _, g in deploys(build, ALL_ON)} - {None}
    if f.get("--service-account") != "${_ONBOARD_SA}":
        problems.append(f"the onboarding page runs as {f.get('--service-account')}, not its own")
    if len(accounts) != 3:  # runtime, webhook, onboarding
        problems.append(f"functions share accounts: {sorted(map(str, accounts))}")
    secrets = str(f.get("--set-secrets"))
    if "NUNIS_ONBOARD_SECRET=${_ONBOARD_SECRET_NAME}:latest" not in secrets:
        problems.append("the onboarding page does not get its signing secret")
    if f.get("--max-instances") != "${_ONBOARD_MAX_INSTANCES}":
        problems.append("the onboarding page's instances are not bounded by _ONBOARD_MAX_INSTANCES")
    if str((build.get("substitutions") or {}).get("_ONBOARD_MAX_INSTANCES")) != "1":
        problems.append("_ONBOARD_MAX_INSTANCES must default to 1")
    return problems


def test_the_onboarding_page_runs_on_its_own_bounded_account(build: dict[str, Any]) -> None:
    assert onboard_problems(build) == []


def test_the_onboarding_rule_catches(build: dict[str, Any]) -> None:
    broken = copy.deepcopy(build)
    step = _step(broken, "deploy-onboard")
    step["args"] = [str(a).replace("${_ONBOARD_SA}", "${_RUNTIME_SA}") for a in step["args"]]
    assert onboard_problems(broken)


# --- the dead-letter policy, after every deploy -------------------------------------------


def dead_letter_step_problems(build: dict[str, Any]) -> list[str]:
    retry = names()["retry"]
    steps = [s for s in build["steps"] if "--dead-letter-topic=" in _text(s)]
    if not steps:
        return ["the deploy build does not set the dead-letter policy"]
    step, text = steps[0], _text(steps[0])
    problems = []
    if "deploy" not in (step.get("waitFor") or []):
        problems.append("the dead-letter policy may be set before the deploy")
    for part in (
        "gcloud functions describe ${_FUNCTION}",
        "value(eventTrigger.trigger)",
        "value(transport.pubsub.subscription)",
        "--dead-letter-topic=projects/${PROJECT_ID}/topics/${_DLQ_TOPIC}",
        f"--max-delivery-attempts={retry['max_delivery_attempts']}",
        f"--min-retry-delay={retry['min_retry_delay']}",
        f"--max-retry-delay={retry['max_retry_delay']}",
        "set -euo pipefail",
    ):
        if part not in text:
            problems.append(f"the dead-letter step lacks {part}")
    if (build.get("substitutions") or {}).get("_DLQ_TOPIC") != names()["topics"][
        "ingest_dead_letter"
    ]:
        problems.append("_DLQ_TOPIC does not default to names.json's")
    return problems


def test_every_deploy_reapplies_the_dead_letter_policy(build: dict[str, Any]) -> None:
    assert dead_letter_step_problems(build) == []


def test_the_dead_letter_step_rule_catches(build: dict[str, Any]) -> None:
    early = copy.deepcopy(build)
    _step(early, "dead-letter-policy")["waitFor"] = ["check-substitutions"]
    assert dead_letter_step_problems(early)
    gone = copy.deepcopy(build)
    gone["steps"] = [s for s in gone["steps"] if s.get("id") != "dead-letter-policy"]
    assert dead_letter_step_problems(gone)


# --- every substitution checked and documented --------------------------------------------


def substitution_check_problems(build: dict[str, Any], guide: str) -> list[str]:
    declared = set(build.get("substitutions") or {})
    step = _step(build, "check-substitutions")
    passed = {
        e.split("=", 1)[0]
        for e in step.get("env") or []
        if e.split("=", 1)[1] == "${" + e.split("=", 1)[0] + "}"
    }
    problems = [f"{k} is not passed to the check" for k in sorted(declared - passed)]
    problems += [
        f"{k} has no rule in scripts/check_substitutions.py" for k in sorted(declared - set(RULES))
    ]
    problems += [f"the check has a rule for undeclared {k}" for k in sorted(set(RULES) - declared)]
    documented = set(re.findall(r"^\| `(_[A-Z0-9_]+)` \|", guide, re.M))
    problems += [f"{k} is not in the guide's table (step 7)" for k in sorted(declared - documented)]
    problems += [
        f"the guide's table has undeclared {k}"
        for k in sorted(documented - declared - {"_CHECK_SA"})
    ]
    if "_CHECK_SA" not in documented:
        problems.append("_CHECK_SA is not in the guide's table")
    return problems


def test_every_substitution_is_checked_and_documented(build: dict[str, Any]) -> None:
    assert substitution_check_problems(build, GUIDE.read_text()) == []


def _defaults(build: dict[str, Any]) -> dict[str, str]:
    values = {k: str(v) for k, v in (build.get("substitutions") or {}).items()}
    return (
        values
        | required_values(build)
        | {"_STRAVA_CLIENT_ID": "12345", "_BUCKET": "my-project-nunis"}
    )


def test_the_defaults_and_the_guides_values_pass(build: dict[str, Any]) -> None:
    assert problems(_defaults(build)) == []
    assert problems(_defaults(build) | ALL_ON) == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("_BUCKET", "", "_BUCKET is empty"),
        ("_BUCKET", "My_Bucket", "is not a Cloud Storage bucket name"),
        ("_WEBHOOK", "yes", "is not on or off"),
        ("_ONBOARD", "true", "is not on or off"),
        ("_MEMORY", "512MB", "is not a memory size"),
        ("_MAX_INSTANCES", "100", "is not a number from 1 to 10"),
        ("_RUNTIME_SA", "nunis-runtime", "is not a service account email"),
        ("_REGION", "us central", "is not a region"),
        ("_STRAVA_CLIENT_ID", "abc", "numeric client id"),
        ("_WEBHOOK_SUBSCRIPTION_ID", "N", "the id `nunis-ingest webhook subscribe` printed"),
        ("_ONBOARD_MAX_INSTANCES", "10", "bounds anonymous callers"),
    ],
)
def test_a_bad_substitution_stops_the_deploy(
    build: dict[str, Any], key: str, value: str, expected: str
) -> None:
    found = problems(_defaults(build) | {key: value})
    assert len(found) == 1, found
    assert key in found[0]
    assert expected in found[0]


def test_switches_need_their_accounts_and_roles_their_own_accounts(build: dict[str, Any]) -> None:
    values = _defaults(build) | ALL_ON
    assert problems(values | {"_ONBOARD_SA": ""}) == [
        "_ONBOARD_SA is empty: set it to the onboarding account's email (needed with "
        "_ONBOARD=on) (deployment-guide.md step 7)"
    ]
    shared = problems(values | {"_ONBOARD_SA": values["_RUNTIME_SA"]})
    assert shared
    assert "two roles share one service account" in shared[0]


def test_the_check_step_runs_as_the_build_runs_it(build: dict[str, Any]) -> None:
    """As Cloud Build runs step 0: the script with the substitutions as environment."""
    env = {k: v for k, v in _defaults(build).items()} | {"PATH": "/usr/bin:/bin"}
    ok = subprocess.run(
        [sys.executable, "scripts/check_substitutions.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout
    bad = subprocess.run(
        [sys.executable, "scripts/check_substitutions.py"],
        cwd=ROOT,
        env=env | {"_WEBHOOK": "yes"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "substitution: _WEBHOOK='yes' is not on or off" in bad.stdout


def test_the_substitution_rule_catches(build: dict[str, Any]) -> None:
    guide = GUIDE.read_text()
    undocumented = guide.replace("| `_ONBOARD` | no |", "| ONBOARD | no |")
    assert substitution_check_problems(build, undocumented) == [
        "_ONBOARD is not in the guide's table (step 7)"
    ]
    unpassed = copy.deepcopy(build)
    step = _step(unpassed, "check-substitutions")
    step["env"] = [e for e in step["env"] if not e.startswith("_ONBOARD=")]
    assert substitution_check_problems(unpassed, guide) == ["_ONBOARD is not passed to the check"]
