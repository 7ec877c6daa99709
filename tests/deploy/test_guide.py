"""deployment-guide.md, read as a deployer runs it: top to bottom, every resource created
before it is used, the webhook optional, names as in infra/names.json, and a teardown that
removes everything in an order that works. Each rule also runs on a broken variant."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nunis_ingest.settings import Settings
from nunis_ingest.usecases.sync import LEASE_MARGIN_SECONDS
from tests.deploy.buildconf import GUIDE, ROOT, load_build, names
from tests.deploy.guidewalk import Command, Resource, commands, effects, environment

PROJECT = "your-project-id"
TEARDOWN_SECTION_WORD = "Removing"
OPTIONAL_DELETES = {"build_trigger"}  # `... || true`: only if the reader made one


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text()


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    return load_build()


def walk_problems(guide: str, build: dict[str, Any], *, skip_optional: bool) -> list[str]:
    """Every use of a resource no earlier block (or build) created, or one already deleted."""
    problems = []
    have: set[Resource] = set()
    for cmd in commands(guide):
        if skip_optional and cmd.optional:
            continue
        found = effects(cmd, build, PROJECT)
        for kind, name in sorted(found.uses - have):
            problems.append(f"step {cmd.section}: uses {kind} {name} before it exists")
        for kind, name in sorted(found.deletes - have):
            if "|| true" not in cmd.line:
                problems.append(f"step {cmd.section}: deletes {kind} {name}, which never existed")
        have |= found.creates
        have -= found.deletes
    return problems


def _teardown(guide: str) -> list[Command]:
    return [c for c in commands(guide) if TEARDOWN_SECTION_WORD in c.title]


def teardown_problems(guide: str, build: dict[str, Any]) -> list[str]:
    created: set[Resource] = set()
    accounts_of: dict[str, set[str]] = {}
    for cmd in commands(guide):
        if TEARDOWN_SECTION_WORD not in cmd.title:
            found = effects(cmd, build, PROJECT)
            created |= found.creates
            for function, accounts in found.accounts_of.items():
                accounts_of.setdefault(function, set()).update(accounts)
    order: list[tuple[int, Resource]] = []
    for i, cmd in enumerate(_teardown(guide)):
        order += [(i, r) for r in sorted(effects(cmd, build, PROJECT).deletes)]
    deleted = {r for _, r in order}
    problems = [
        f"teardown does not delete {kind} {name}"
        for kind, name in sorted(created - deleted)
        if kind not in OPTIONAL_DELETES
    ]
    at = {r: i for i, r in order}

    def before(first: Resource, then: Resource, why: str) -> None:
        if first in at and then in at and at[first] > at[then]:
            problems.append(f"teardown deletes {then[1]} before {first[1]}: {why}")

    n = names()
    functions = [r for r in deleted if r[0] == "function"]
    for function in functions:
        for account in accounts_of.get(function[1], set()):
            before(function, ("service_account", account), "it runs as (or is invoked as) it")
    before(
        ("push_subscription", "*"),
        ("function", n["functions"]["webhook"]),
        "Strava would call a deleted endpoint",
    )
    for job in n["scheduler_jobs"].values():
        before(("scheduler_job", job), ("topic", n["topics"]["ingest"]), "jobs publish there")
    before(("function", n["functions"]["ingest"]), ("topic", n["topics"]["ingest"]), "trigger")
    before(("function", n["functions"]["events"]), ("topic", n["topics"]["events"]), "trigger")
    for key in ("bucket", "dataset"):
        data = [r for r in deleted if r[0] == key]
        for function in functions:
            for resource in data:
                before(function, resource, "a running function still writes there")
    return problems


def build_call_problems(guide: str, build: dict[str, Any]) -> list[str]:
    from tests.deploy.guidewalk import build_substitutions

    declared = set(build.get("substitutions") or {})
    required = {k for k, v in (build.get("substitutions") or {}).items() if v == ""}
    required -= {"_WEBHOOK_SA", "_WEBHOOK_SUBSCRIPTION_ID", "_ONBOARD_SA"}
    problems = []
    calls = [s for c in commands(guide) if (s := build_substitutions(c)) is not None]
    if not calls:
        return ["the guide never runs the build"]
    for subs in calls:
        problems += [f"build passes undeclared {k}" for k in sorted(set(subs) - declared)]
        problems += [f"build lacks required {k}" for k in sorted(required - set(subs))]
        if subs.get("_WEBHOOK") not in ("on", "off"):
            problems.append(f"build passes _WEBHOOK={subs.get('_WEBHOOK')!r}, not on/off")
        if subs.get("_WEBHOOK") == "on" and not subs.get("_WEBHOOK_SA"):
            problems.append("a build with _WEBHOOK=on lacks _WEBHOOK_SA")
        if subs.get("_ONBOARD", "off") not in ("on", "off"):
            problems.append(f"build passes _ONBOARD={subs.get('_ONBOARD')!r}, not on/off")
        if subs.get("_ONBOARD") == "on" and not subs.get("_ONBOARD_SA"):
            problems.append("a build with _ONBOARD=on lacks _ONBOARD_SA")
    if not any(s.get("_WEBHOOK") == "off" for s in calls):
        problems.append("no build with _WEBHOOK=off: the webhook is not optional")
    return problems


def names_problems(guide: str) -> list[str]:
    n = names()
    env = environment(guide)
    expected = {
        "REGION": n["region"],
        "BQ_LOCATION": n["bq_location"],
        "DATASET": n["dataset"],
        "BUCKET": f"{PROJECT}{n['bucket_suffix']}",
        "FUNCTION": n["functions"]["ingest"],
        "EVENTS_FUNCTION": n["functions"]["events"],
        "WEBHOOK_FUNCTION": n["functions"]["webhook"],
        "TOPIC": n["topics"]["ingest"],
        "DLQ_TOPIC": n["topics"]["ingest_dead_letter"],
        "EVENTS_TOPIC": n["topics"]["events"],
        "EVENTS_DLQ_TOPIC": n["topics"]["events_dead_letter"],
        "DLQ_SUB": n["dead_letter_subscriptions"]["ingest"],
        "EVENTS_DLQ_SUB": n["dead_letter_subscriptions"]["events"],
        "SECRET": n["secrets"]["client_secret"],
        "VERIFY_SECRET": n["secrets"]["verify_token"],
        "PATH_SECRET": n["secrets"]["path_secret"],
        "NEW_JOB": n["scheduler_jobs"]["new"],
        "ALL_JOB": n["scheduler_jobs"]["all"],
    }
    for role, account in n["service_accounts"].items():
        expected[f"{role.upper()}_SA"] = f"{account}@{PROJECT}.iam.gserviceaccount.com"
    problems = [
        f"~/nunis.env sets {key}={env.get(key)!r}, infra/names.json says {value!r}"
        for key, value in expected.items()
        if env.get(key) != value
    ]
    if n["log_metric_failed_runs"] not in guide:
        problems.append("the failed-runs metric is not named as in infra/names.json")
    return problems


def retry_problems(guide: str) -> list[str]:
    """--max-delivery-attempts as in names.json, and its backoff outlasts a run's lease."""
    retry = names()["retry"]
    problems = []
    attempts = {int(a) for a in re.findall(r"--max-delivery-attempts=(\d+)", guide)}
    delays = set(re.findall(r"--min-retry-delay=(\w+) --max-retry-delay=(\w+)", guide))
    if attempts != {retry["max_delivery_attempts"]}:
        problems.append(f"--max-delivery-attempts {sorted(attempts)} != names.json")
    if delays != {(retry["min_retry_delay"], retry["max_retry_delay"])}:
        problems.append(f"retry delays {sorted(delays)} != names.json")
    low, high = (int(str(retry[k]).rstrip("s")) for k in ("min_retry_delay", "max_retry_delay"))
    gaps = [min(low * 2**i, high) for i in range(max(attempts or {1}) - 1)]
    lease = Settings().time_budget_seconds + LEASE_MARGIN_SECONDS
    if sum(gaps) < 2 * lease:
        problems.append(f"{sum(gaps)} s of retries do not outlast a {lease:.0f} s lease twice")
    return problems


def dead_letter_problems(guide: str, build: dict[str, Any]) -> list[str]:
    """Every dead-letter topic in use (the deploy build's `_DLQ_TOPIC`, the events
    subscription's) is kept by a subscription and published to by Pub/Sub's service agent,
    which also holds the subscriber role on the project (it acknowledges the forwarded
    message on a subscription Eventarc names), all before the first build."""
    from tests.deploy.guidewalk import build_substitutions

    first_build: int | None = None
    used: dict[str, int] = {}  # dead-letter topic -> index of its first use
    kept: dict[str, int] = {}
    agent_publishes: dict[str, int] = {}
    agent_subscribes: int | None = None
    defaults = {k: str(v) for k, v in (build.get("substitutions") or {}).items()}
    for i, cmd in enumerate(commands(guide)):
        subs = build_substitutions(cmd)
        if subs is not None:
            first_build = i if first_build is None else first_build
            used.setdefault((defaults | subs)["_DLQ_TOPIC"], i)
        for match in re.finditer(r"--dead-letter-topic=(\S+)", cmd.line):
            used.setdefault(match.group(1), i)
        match = re.search(r"gcloud pubsub subscriptions create \S+ --topic=(\S+)", cmd.line)
        if match:
            kept.setdefault(match.group(1), i)
        match = re.search(
            r"gcloud pubsub topics add-iam-policy-binding (\S+) .*gcp-sa-pubsub", cmd.line
        )
        if match and "roles/pubsub.publisher" in cmd.line:
            agent_publishes.setdefault(match.group(1), i)
        project_grant = re.search(
            r"gcloud projects add-iam-policy-binding .*gcp-sa-pubsub", cmd.line
        )
        if project_grant and "roles/pubsub.subscriber" in cmd.line and agent_subscribes is None:
            agent_subscribes = i
    if first_build is None:
        return ["no deploy build"]
    problems = []
    if agent_subscribes is None or agent_subscribes > first_build:
        problems.append("Pub/Sub's service agent is no subscriber on the project before the build")
    for topic, at in sorted(used.items()):
        if topic not in kept or kept[topic] > at:
            problems.append(f"dead letters on {topic} are kept by no subscription")
        if topic not in agent_publishes or agent_publishes[topic] > at:
            problems.append(f"Pub/Sub's service agent cannot publish to {topic}")
    return problems


# --- the real guide -----------------------------------------------------------------------


def test_every_pubsub_function_gets_its_dead_letter_topic(guide: str, build: dict[str, Any]):
    assert dead_letter_problems(guide, build) == []


def test_every_resource_exists_before_a_step_uses_it(guide: str, build: dict[str, Any]) -> None:
    assert walk_problems(guide, build, skip_optional=False) == []


def test_skipping_the_optional_webhook_step_still_works(guide: str, build: dict[str, Any]) -> None:
    assert walk_problems(guide, build, skip_optional=True) == []
    skipped = [c for c in commands(guide) if c.optional]
    assert any("webhook subscribe" in c.line for c in skipped)
    assert any("webhook unsubscribe" in c.line for c in skipped)


def test_build_calls_pass_valid_substitutions(guide: str, build: dict[str, Any]) -> None:
    assert build_call_problems(guide, build) == []


def test_teardown_deletes_everything_in_a_working_order(guide: str, build: dict[str, Any]) -> None:
    assert teardown_problems(guide, build) == []


def test_guide_names_match_the_names_file(guide: str) -> None:
    assert names_problems(guide) == []


def test_retries_outlast_a_full_run(guide: str) -> None:
    assert retry_problems(guide) == []


def test_guide_points_to_terraform_runbook_and_costs(guide: str) -> None:
    for text in ("infra/README.md", "docs/runbook.md", "_WEBHOOK_MIN_INSTANCES", "a month"):
        assert text in guide
    assert (ROOT / "docs" / "runbook.md").exists()
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    assert "gcloud pubsub subscriptions pull" in runbook
    assert "gcloud pubsub topics publish" in runbook
    assert "gcloud pubsub subscriptions ack" in runbook


# --- the rules can fail -------------------------------------------------------------------


def _without(guide: str, needle: str) -> str:
    lines = guide.splitlines(keepends=True)
    kept = [line for line in lines if needle not in line]
    assert len(kept) < len(lines), needle
    return "".join(kept)


def test_walk_catches_the_secret_created_only_after_the_build(build: dict[str, Any]) -> None:
    guide = GUIDE.read_text()
    # the original bug: the webhook's secret created after the build that mounts it
    create = 'gcloud secrets create "$PATH_SECRET" --replication-policy=automatic --data-file=-\n'
    assert create in guide
    late = guide.replace(create, "true\n").replace(
        "## 12. Verify", f"```bash\necho x | {create}```\n\n## 12. Verify"
    )
    problems = walk_problems(late, build, skip_optional=False)
    assert any("secret strava-webhook-path-secret before it exists" in p for p in problems)


def test_walk_catches_an_account_used_before_it_is_created(build: dict[str, Any]) -> None:
    guide = _without(GUIDE.read_text(), "gcloud iam service-accounts create nunis-trigger")
    assert any("nunis-trigger@" in p for p in walk_problems(guide, build, skip_optional=False))


def test_optional_rule_catches_a_mandatory_use_of_the_webhook(build: dict[str, Any]) -> None:
    guide = GUIDE.read_text().replace(
        "## 10. Alerts and a budget",
        '```bash\ngcloud pubsub topics publish "$EVENTS_TOPIC" --message=x\n```\n\n'
        "## 10. Alerts and a budget",
    )
    assert walk_problems(guide, build, skip_optional=True)


def test_teardown_rule_catches_a_leftover_and_a_bad_order(build: dict[str, Any]) -> None:
    guide = GUIDE.read_text()
    assert teardown_problems(_without(guide, 'gcloud secrets delete "$SECRET"'), build)
    assert teardown_problems(_without(guide, "gcloud logging metrics delete nunis-failed"), build)
    first = 'gcloud iam service-accounts delete "$RUNTIME_SA" --quiet\n'
    early = guide.replace(first, "").replace("# 1. Schedules", first.strip() + "\n# 1. Schedules")
    assert any("before" in p for p in teardown_problems(early, build))


def test_build_call_rule_catches(build: dict[str, Any]) -> None:
    guide = GUIDE.read_text()
    assert build_call_problems(guide.replace(",_TRIGGER_SA=${TRIGGER_SA}", ""), build)
    assert build_call_problems(guide.replace("_WEBHOOK=off", "_WEBHOOK=no"), build)
    assert build_call_problems(guide.replace(",_WEBHOOK_SA=${WEBHOOK_SA}", ""), build)


def test_dead_letter_rule_catches(build: dict[str, Any]) -> None:
    guide = GUIDE.read_text()
    no_grant = _without(
        guide, '--member="serviceAccount:${PUBSUB_AGENT}" --role=roles/pubsub.subscriber'
    )
    assert dead_letter_problems(no_grant, build) == [
        "Pub/Sub's service agent is no subscriber on the project before the build"
    ]
    unkept = _without(guide, 'gcloud pubsub subscriptions create "$DLQ_SUB"')
    assert dead_letter_problems(unkept, build) == [
        "dead letters on nunis-ingest-dead-letter are kept by no subscription"
    ]


def test_names_and_retry_rules_catch() -> None:
    guide = GUIDE.read_text()
    assert names_problems(guide.replace('DLQ_SUB="nunis-ingest-dead-letter-sub"', 'DLQ_SUB="x"'))
    assert retry_problems(guide.replace("--max-delivery-attempts=10", "--max-delivery-attempts=5"))
