"""infra/ (Terraform), read statically with python-hcl2: it provisions what the guide does,
with the same names (infra/names.json), the same roles and the same function settings as
cloudbuild.yaml. No Terraform binary or project is needed; what that leaves unchecked is
listed in infra/README.md. Each rule also runs on a broken variant."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from typing import Any

import pytest

from tests.deploy.buildconf import GUIDE, ROOT, deploys, load_build, names
from tests.deploy.tfconf import INFRA, block, default, load

WEBHOOK_SA_REF = "google_service_account.webhook"
TRIGGER_SA_REF = "google_service_account.trigger"
ALLOWED_WEBHOOK_ROLES = {
    ("google_pubsub_topic_iam_member", "roles/pubsub.publisher", "google_pubsub_topic.events"),
    (
        "google_secret_manager_secret_iam_member",
        "roles/secretmanager.secretAccessor",
        "google_secret_manager_secret.verify_token",
    ),
    (
        "google_secret_manager_secret_iam_member",
        "roles/secretmanager.secretAccessor",
        "google_secret_manager_secret.path_secret",
    ),
}
CHECKOV = ROOT / ".local-gcp" / "venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="module")
def tf() -> dict[str, Any]:
    return load()


def _resources(tf: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = tf["resource"].get(rtype, {})
    return found


def _text(node: Any) -> str:
    return json.dumps(node)


# --- rules --------------------------------------------------------------------------------


def coverage_problems(tf: dict[str, Any]) -> list[str]:
    """Every kind of resource the guide creates has its Terraform resource."""
    expected = {
        "google_project_service": 1,
        "google_storage_bucket": 1,
        "google_bigquery_dataset": 1,
        "google_artifact_registry_repository": 1,
        "google_pubsub_topic": 4,
        "google_pubsub_subscription": 3,
        "google_service_account": 5,
        "google_secret_manager_secret": 4,
        "google_cloud_scheduler_job": 3,
        "google_cloudfunctions2_function": 4,
        "google_cloud_run_v2_service_iam_member": 4,
        "google_logging_metric": 3,
        "google_monitoring_alert_policy": 1,  # one per file of alerts/ (for_each)
        "google_monitoring_notification_channel": 1,
        "google_billing_budget": 1,
        "google_logging_project_exclusion": 2,
    }
    problems = [
        f"{rtype}: {len(_resources(tf, rtype))} resources, expected at least {count}"
        for rtype, count in expected.items()
        if len(_resources(tf, rtype)) < count
    ]
    alerts = _resources(tf, "google_monitoring_alert_policy").get("alerts", {})
    if "local.alerts" not in str(alerts.get("for_each")):
        problems.append("the alert policies do not come from infra/alerts/")
    if _resources(tf, "google_secret_manager_secret_version"):
        problems.append("a secret version in Terraform puts the value in its state")
    return problems


def apis_problems(tf: dict[str, Any], guide: str) -> list[str]:
    match = re.search(r"gcloud services enable((?:\s+\\?\s*[\w.]+\.googleapis\.com)+)", guide)
    in_guide = set(re.findall(r"[\w.]+\.googleapis\.com", match.group(1) if match else ""))
    body = _resources(tf, "google_project_service").get("apis", {})
    in_tf = set(re.findall(r"[\w.]+\.googleapis\.com", _text(body.get("for_each"))))
    problems = [f"Terraform does not enable {api}" for api in sorted(in_guide - in_tf)]
    problems += [f"the guide does not enable {api}" for api in sorted(in_tf - in_guide)]
    return problems + ([] if in_guide else ["no `gcloud services enable` in the guide"])


def names_problems(tf: dict[str, Any]) -> list[str]:
    n = names()
    expected = {
        "region": n["region"],
        "bq_location": n["bq_location"],
        "dataset": n["dataset"],
        "function_name": n["functions"]["ingest"],
        "events_function_name": n["functions"]["events"],
        "webhook_function_name": n["functions"]["webhook"],
        "topic": n["topics"]["ingest"],
        "dead_letter_topic": n["topics"]["ingest_dead_letter"],
        "events_topic": n["topics"]["events"],
        "events_dead_letter_topic": n["topics"]["events_dead_letter"],
        "dead_letter_subscription": n["dead_letter_subscriptions"]["ingest"],
        "events_dead_letter_subscription": n["dead_letter_subscriptions"]["events"],
        "runtime_account": n["service_accounts"]["runtime"],
        "trigger_account": n["service_accounts"]["trigger"],
        "webhook_account": n["service_accounts"]["webhook"],
        "build_account": n["service_accounts"]["build"],
        "client_secret_name": n["secrets"]["client_secret"],
        "verify_token_secret_name": n["secrets"]["verify_token"],
        "path_secret_name": n["secrets"]["path_secret"],
        "new_job": n["scheduler_jobs"]["new"],
        "all_job": n["scheduler_jobs"]["all"],
        "memory": n["memory"],
        "max_instances": n["max_instances"],
        "webhook_min_instances": n["webhook_min_instances"],
        "max_delivery_attempts": n["retry"]["max_delivery_attempts"],
        "min_retry_delay": n["retry"]["min_retry_delay"],
        "max_retry_delay": n["retry"]["max_retry_delay"],
        "events_subscription": n["subscriptions"]["events_drain"],
        "events_job": n["scheduler_jobs"]["events"],
        "repository": n["repository"],
        "onboard_function_name": n["functions"]["onboard"],
        "onboard_secret_name": n["secrets"]["onboard_secret"],
        "onboard_account": n["service_accounts"]["onboard"],
        "onboard_max_instances": n["onboard_max_instances"],
    }
    problems = [
        f"variable {var} defaults to {default(tf, var)!r}, names.json says {value!r}"
        for var, value in expected.items()
        if var not in tf["variable"] or default(tf, var) != value
    ]
    metric = _resources(tf, "google_logging_metric").get("failed_runs", {})
    if metric.get("name") != n["log_metric_failed_runs"]:
        problems.append("the failed-runs metric is not named as in names.json")
    if '"${var.project_id}' + n["bucket_suffix"] + '"' not in (INFRA / "versions.tf").read_text():
        problems.append("the default bucket is not <project>" + n["bucket_suffix"])
    return problems


def pubsub_function_problems(tf: dict[str, Any]) -> list[str]:
    """Each Pub/Sub-triggered function: retry, the trigger account, its invoker binding, and a
    dead-letter policy on its Eventarc subscription."""
    problems = []
    bindings = _resources(tf, "google_cloud_run_v2_service_iam_member")
    dead = _resources(tf, "terraform_data")
    for name, fn in _resources(tf, "google_cloudfunctions2_function").items():
        trigger = block(fn, "event_trigger")
        if not trigger:
            continue
        ref = f"google_cloudfunctions2_function.{name}"
        if trigger.get("retry_policy") != "RETRY_POLICY_RETRY":
            problems.append(f"{name}: no retry policy")
        if TRIGGER_SA_REF not in str(trigger.get("service_account_email")):
            problems.append(f"{name}: not triggered as the trigger account")
        invokers = [
            b
            for b in bindings.values()
            if ref in str(b.get("name"))
            and b.get("role") == "roles/run.invoker"
            and TRIGGER_SA_REF in str(b.get("member"))
        ]
        if not invokers:
            problems.append(f"{name}: no roles/run.invoker for the trigger account")
        policies = [
            d
            for d in dead.values()
            if f"{ref}[0].event_trigger[0].trigger" in _text(d)
            and "--dead-letter-topic=" in _text(d)
            and "--max-delivery-attempts=${var.max_delivery_attempts}" in _text(d)
        ]
        if not policies:
            problems.append(f"{name}: no dead-letter policy on its subscription")
    for sub in _resources(tf, "google_pubsub_subscription").values():
        if sub.get("message_retention_duration") != "604800s":
            problems.append(f"{sub.get('name')}: dead letters not kept 7 days")
    agent = [
        b
        for b in _resources(tf, "google_pubsub_topic_iam_member").values()
        if "pubsub_agent" in str(b.get("member")) and b.get("role") == "roles/pubsub.publisher"
    ]
    if len(agent) < 2:
        problems.append("Pub/Sub's service agent cannot publish to both dead-letter topics")
    subscriber = [
        b
        for b in _resources(tf, "google_project_iam_member").values()
        if "pubsub_agent" in str(b.get("member")) and b.get("role") == "roles/pubsub.subscriber"
    ]
    if not subscriber:
        problems.append("Pub/Sub's service agent cannot acknowledge forwarded dead letters")
    return problems


def grants_outside(
    tf: dict[str, Any], account: str, allowed: set[tuple[str, str, str]]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource type, name, body) of every IAM grant to ``account`` that ``allowed``
    ((type, role, target) triples) does not list."""
    found = []
    for rtype, named in tf["resource"].items():
        for name, body in named.items():
            if account not in str(body.get("member", "")):
                continue
            target = next(
                (str(body[k]) for k in ("topic", "secret_id", "bucket", "dataset_id") if k in body),
                "",
            )
            if not any(g[:2] == (rtype, body.get("role")) and g[2] in target for g in allowed):
                found.append((rtype, name, body))
    return found


def webhook_account_problems(tf: dict[str, Any]) -> list[str]:
    problems = [
        f"the webhook account gets {body.get('role')} via {rtype}.{name}"
        for rtype, name, body in grants_outside(tf, WEBHOOK_SA_REF, ALLOWED_WEBHOOK_ROLES)
    ]
    hook = _resources(tf, "google_cloudfunctions2_function").get("webhook", {})
    config = block(hook, "service_config")
    if WEBHOOK_SA_REF not in str(config.get("service_account_email")):
        problems.append("the webhook function does not run as the webhook account")
    env = config.get("environment_variables") or {}
    for needless in ("NUNIS_BUCKET", "NUNIS_DATASET", "STRAVA_CLIENT_ID"):
        if needless in _text(env):
            problems.append(f"the webhook gets {needless}")
    if "STRAVA_CLIENT_SECRET" in _text(config):
        problems.append("the webhook gets the Strava client secret")
    if default(tf, "webhook_min_instances") != 0:
        problems.append("webhook min instances must default to 0")
    return problems


def _env_keys(tf: dict[str, Any], fn: dict[str, Any]) -> set[str]:
    env = block(fn, "service_config").get("environment_variables")
    if isinstance(env, dict):
        return set(env)
    keys = set(tf["locals"].get("function_env", {})) if "local.function_env" in str(env) else set()
    return keys | set(re.findall(r"\b([A-Z][A-Z0-9_]+) =", str(env)))


def _secret_keys(fn: dict[str, Any]) -> set[str]:
    config = block(fn, "service_config")
    return {s.get("key") for s in config.get("secret_environment_variables") or []}


def agreement_problems(tf: dict[str, Any], build: dict[str, Any]) -> list[str]:
    """The same functions with the same settings as cloudbuild.yaml (_WEBHOOK=on)."""
    fns = _resources(tf, "google_cloudfunctions2_function")
    by_var = {"${_FUNCTION}": "ingest", "${_EVENTS_FUNCTION}": "events"}
    by_var |= {"${_WEBHOOK_FUNCTION}": "webhook", "${_ONBOARD_FUNCTION}": "onboard"}
    problems = []
    for _, name, f in deploys(build, {"_WEBHOOK": "on", "_ONBOARD": "on"}):
        fn = fns.get(by_var.get(name, ""), {})
        if not fn:
            problems.append(f"no Terraform function for {name}")
            continue
        config, build_config = block(fn, "service_config"), block(fn, "build_config")
        env = {p.split("=", 1)[0] for p in (f.get("--set-env-vars") or "").split(",") if p}
        secrets = {p.split("=", 1)[0] for p in (f.get("--set-secrets") or "").split(",") if p}
        if _env_keys(tf, fn) != env:
            problems.append(f"{name}: env {sorted(_env_keys(tf, fn))} != cloudbuild {sorted(env)}")
        if _secret_keys(fn) != secrets:
            problems.append(f"{name}: secrets {sorted(_secret_keys(fn))} != {sorted(secrets)}")
        if build_config.get("entry_point") != f.get("--entry-point"):
            problems.append(f"{name}: entry point differs")
        if build_config.get("runtime") != f.get("--runtime"):
            problems.append(f"{name}: runtime differs")
        if f"{config.get('timeout_seconds')}s" != f.get("--timeout"):
            problems.append(f"{name}: timeout differs")
        if bool(block(fn, "event_trigger")) != ("--trigger-topic" in f):
            problems.append(f"{name}: trigger kind differs")
        ingress = {"internal-only": "ALLOW_INTERNAL_ONLY", "all": "ALLOW_ALL"}
        if config.get("ingress_settings") != ingress.get(str(f.get("--ingress-settings"))):
            problems.append(f"{name}: ingress settings differ")
    return problems


def storage_problems(tf: dict[str, Any]) -> list[str]:
    problems = []
    rules = json.loads((INFRA / "lifecycle.json").read_text())["rule"]
    if not rules:
        problems.append("no lifecycle rule")
    for rule in rules:
        prefixes = rule["condition"].get("matchesPrefix") or []
        kind = rule["action"]["type"]
        if kind == "Delete" and not all(p.startswith("onboard/") for p in prefixes):
            problems.append(
                f"a Delete rule reaches beyond onboard/: {prefixes} (the archive stays)"
            )
        if kind == "Delete" and not prefixes:
            problems.append("a Delete rule without a prefix would delete the archive")
        if kind == "SetStorageClass" and prefixes != ["archive/"]:
            problems.append("a storage-class rule reaches beyond archive/")
    data = _resources(tf, "google_storage_bucket").get("data", {})
    if "lifecycle.json" not in _text(data.get("dynamic")):
        problems.append("the data bucket does not use infra/lifecycle.json")
    if data.get("force_destroy") is not False or data.get("public_access_prevention") != "enforced":
        problems.append("the data bucket must be private and never force-destroyed")
    if data.get("uniform_bucket_level_access") is not True:
        problems.append("the data bucket needs uniform bucket-level access")
    bundle = _resources(tf, "google_storage_bucket_object").get("bundle", {})
    if "local.bundle_zip" not in str(bundle.get("source")) or ".build/bundle.zip" not in _text(
        tf["locals"].get("bundle_zip")
    ):
        problems.append("the function bundle is not the zip `make infra-bundle` writes")
    makefile = (ROOT / "Makefile").read_text()
    gate = re.search(r"^infra-bundle: (.*)\n\t(.*)$", makefile, re.M)
    if not gate or "check" not in gate.group(1).split() or "bundle-check" not in gate.group(1):
        problems.append("`make infra-bundle` does not run the Cloud Build checks first")
    elif "scripts/bundle.py zip infra/.build/bundle.zip" not in gate.group(2):
        problems.append("`make infra-bundle` does not write infra/.build/bundle.zip")
    return problems


# --- tests on the real files --------------------------------------------------------------


def test_every_tf_file_parses() -> None:
    from tests.deploy.tfconf import parse

    files = sorted(INFRA.glob("*.tf"))
    assert len(files) >= 8
    for path in files:
        assert parse(path), path


def test_terraform_provisions_every_kind_the_guide_does(tf: dict[str, Any]) -> None:
    assert coverage_problems(tf) == []


def test_terraform_enables_the_guides_apis(tf: dict[str, Any]) -> None:
    assert apis_problems(tf, GUIDE.read_text()) == []


def test_terraform_defaults_match_the_names_file(tf: dict[str, Any]) -> None:
    assert names_problems(tf) == []


def test_pubsub_functions_retry_with_dead_letters_and_invokers(tf: dict[str, Any]) -> None:
    assert pubsub_function_problems(tf) == []


def test_webhook_account_can_only_publish_events_and_read_its_secrets(tf: dict[str, Any]) -> None:
    assert webhook_account_problems(tf) == []


def test_functions_match_cloudbuild(tf: dict[str, Any]) -> None:
    assert agreement_problems(tf, load_build()) == []


def test_archive_lifecycle_and_bundle(tf: dict[str, Any]) -> None:
    assert storage_problems(tf) == []


def test_checkov_finds_nothing_unjustified() -> None:
    if not CHECKOV.exists():  # make test installs it (checkov-venv): missing is a failure
        pytest.fail("checkov is not installed: run `make checkov-venv`")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(INFRA),
            "--framework",
            "terraform",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=os.environ | {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},  # no call home
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert failed == []


# --- the rules can fail -------------------------------------------------------------------


def test_coverage_rule_catches(tf: dict[str, Any]) -> None:
    broken = copy.deepcopy(tf)
    del broken["resource"]["google_billing_budget"]
    broken["resource"]["google_secret_manager_secret_version"] = {"v": {}}
    assert len(coverage_problems(broken)) == 2
    inline = copy.deepcopy(tf)
    inline["resource"]["google_monitoring_alert_policy"]["alerts"]["for_each"] = "{}"
    assert coverage_problems(inline) == ["the alert policies do not come from infra/alerts/"]


def test_apis_rule_catches(tf: dict[str, Any]) -> None:
    guide = GUIDE.read_text().replace("billingbudgets.googleapis.com", "", 1)
    assert apis_problems(tf, guide) == ["the guide does not enable billingbudgets.googleapis.com"]


def test_names_rule_catches(tf: dict[str, Any]) -> None:
    broken = copy.deepcopy(tf)
    broken["variable"]["events_topic"]["default"] = "nunis-events"
    assert names_problems(broken)


def test_pubsub_rule_catches(tf: dict[str, Any]) -> None:
    no_retry = copy.deepcopy(tf)
    trigger = block(
        no_retry["resource"]["google_cloudfunctions2_function"]["ingest"], "event_trigger"
    )
    trigger["retry_policy"] = "RETRY_POLICY_DO_NOT_RETRY"
    assert pubsub_function_problems(no_retry) == ["ingest: no retry policy"]
    no_invoker = copy.deepcopy(tf)
    del no_invoker["resource"]["google_cloud_run_v2_service_iam_member"]["trigger_invokes_ingest"]
    assert pubsub_function_problems(no_invoker)
    no_dead = copy.deepcopy(tf)
    del no_dead["resource"]["terraform_data"]["ingest_dead_letter"]
    assert pubsub_function_problems(no_dead)
    no_ack = copy.deepcopy(tf)
    del no_ack["resource"]["google_project_iam_member"]["agent_acknowledges_dead_letters"]
    assert pubsub_function_problems(no_ack) == [
        "Pub/Sub's service agent cannot acknowledge forwarded dead letters"
    ]


def test_webhook_account_rule_catches(tf: dict[str, Any]) -> None:
    reads_bucket = copy.deepcopy(tf)
    reads_bucket["resource"]["google_storage_bucket_iam_member"]["webhook_reads"] = {
        "bucket": "${google_storage_bucket.data.name}",
        "role": "roles/storage.objectViewer",
        "member": "serviceAccount:${google_service_account.webhook[0].email}",
    }
    assert webhook_account_problems(reads_bucket)
    reads_token = copy.deepcopy(tf)
    reads_token["resource"]["google_secret_manager_secret_iam_member"]["x"] = {
        "secret_id": "${google_secret_manager_secret.client_secret.id}",
        "role": "roles/secretmanager.secretAccessor",
        "member": "serviceAccount:${google_service_account.webhook[0].email}",
    }
    assert webhook_account_problems(reads_token)
    as_runtime = copy.deepcopy(tf)
    config = block(
        as_runtime["resource"]["google_cloudfunctions2_function"]["webhook"], "service_config"
    )
    config["service_account_email"] = "${google_service_account.runtime.email}"
    assert webhook_account_problems(as_runtime)


def test_agreement_rule_catches(tf: dict[str, Any]) -> None:
    broken = copy.deepcopy(tf)
    config = block(
        broken["resource"]["google_cloudfunctions2_function"]["events"], "service_config"
    )
    config["environment_variables"] = (
        "${merge(local.function_env, {NUNIS_INGEST_TOPIC = var.topic})}"
    )
    assert agreement_problems(broken, load_build())


def test_storage_rule_catches(tf: dict[str, Any]) -> None:
    broken = copy.deepcopy(tf)
    broken["resource"]["google_storage_bucket"]["data"]["force_destroy"] = True
    assert storage_problems(broken)
    archive_file = copy.deepcopy(tf)
    archive_file["resource"]["google_storage_bucket_object"]["bundle"]["source"] = "x.zip"
    assert storage_problems(archive_file) == [
        "the function bundle is not the zip `make infra-bundle` writes"
    ]


# --- alerts and log metrics: the same on both routes --------------------------------------


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def alert_mapping_problems(tf_text: str) -> list[str]:
    """Every field the alert files use is mapped by monitoring.tf (none silently dropped)."""
    import yaml

    keys: set[str] = set()
    for path in sorted((INFRA / "alerts").rglob("*.yaml")):
        keys |= _keys(yaml.safe_load(path.read_text()))
    return [
        f"monitoring.tf does not map the alert files' {k!r}"
        for k in sorted(keys)
        if f".{k}" not in tf_text and f'"{k}"' not in tf_text
    ]


def _plain(text: str, tf: dict[str, Any]) -> str:
    text = re.sub(r"\$\{var\.(\w+)\}", lambda m: str(default(tf, m.group(1))), text)
    return " ".join(text.replace('\\"', "").replace('"', "").split())


def metric_problems(tf: dict[str, Any], guide: str) -> list[str]:
    from tests.deploy.guidewalk import commands

    in_guide = {}
    for cmd in commands(guide):
        match = re.search(r"gcloud logging metrics create (\S+) .*--log-filter=(.*)$", cmd.line)
        if match:
            in_guide[match.group(1)] = _plain(match.group(2), tf)
    in_tf = {
        m["name"]: _plain(m["filter"], tf) for m in _resources(tf, "google_logging_metric").values()
    }
    problems = [
        f"{n}: Terraform's filter differs from the guide's"
        for n in sorted(in_tf)
        if in_guide.get(n) != in_tf[n]
    ]
    problems += [f"{n}: in the guide only" for n in sorted(set(in_guide) - set(in_tf))]
    return problems


def test_terraform_maps_every_field_of_the_alert_files() -> None:
    assert alert_mapping_problems((INFRA / "monitoring.tf").read_text()) == []


def test_log_metrics_filter_the_same_on_both_routes(tf: dict[str, Any]) -> None:
    assert metric_problems(tf, GUIDE.read_text()) == []


def test_alert_and_metric_rules_catch(tf: dict[str, Any]) -> None:
    text = (INFRA / "monitoring.tf").read_text()
    assert alert_mapping_problems(text.replace(".thresholdValue", ".threshold")) == [
        "monitoring.tf does not map the alert files' 'thresholdValue'"
    ]
    guide = GUIDE.read_text().replace('AND resource.labels.job_id!=\\"${EVENTS_JOB}\\"', "")
    assert metric_problems(tf, guide) == [
        "nunis-scheduler-failures: Terraform's filter differs from the guide's"
    ]


# --- the onboarding page's account: what enrolment writes, nothing else -------------------

ONBOARD_SA_REF = "google_service_account.onboard"
ALLOWED_ONBOARD_ROLES = {
    (
        "google_storage_bucket_iam_member",
        "roles/storage.objectCreator",
        "google_storage_bucket.data",
    ),
    ("google_pubsub_topic_iam_member", "roles/pubsub.publisher", "google_pubsub_topic.ingest"),
    (
        "google_secret_manager_secret_iam_member",
        "roles/secretmanager.secretAccessor",
        "google_secret_manager_secret.onboard_secret",
    ),
    (
        "google_secret_manager_secret_iam_member",
        "roles/secretmanager.secretAccessor",
        "google_secret_manager_secret.client_secret",
    ),
}


def onboard_account_problems(tf: dict[str, Any], guide: str) -> list[str]:
    problems = [
        f"the onboarding account gets {body.get('role')} via {rtype}.{name}"
        for rtype, name, body in grants_outside(tf, ONBOARD_SA_REF, ALLOWED_ONBOARD_ROLES)
    ]
    for body in _resources(tf, "google_storage_bucket_iam_member").values():
        if ONBOARD_SA_REF in str(body.get("member")) and body.get("role") == (
            "roles/storage.objectCreator"
        ):
            condition = block(body, "condition").get("expression", "")
            if "/objects/onboard/" not in str(condition):
                problems.append("the onboarding account may create objects outside onboard/")
    page = _resources(tf, "google_cloudfunctions2_function").get("onboard", {})
    if ONBOARD_SA_REF not in str(block(page, "service_config").get("service_account_email")):
        problems.append("the onboarding page does not run as its own account")
    # the guide grants the same, and only that
    grants = re.findall(
        r'--member="serviceAccount:\$\{ONBOARD_SA\}" --role=(\S+)', guide.replace("\\\n", "")
    )
    grants += re.findall(r'--member="serviceAccount:\$\{ONBOARD_SA\}"\s*\\\n\s*--role=(\S+)', guide)
    allowed = {
        "roles/storage.objectCreator",
        "roles/pubsub.publisher",
        "roles/secretmanager.secretAccessor",
    }
    problems += [f"the guide grants the onboarding account {g}" for g in grants if g not in allowed]
    if not re.search(r'objects/onboard/\\"\)"', guide):
        problems.append("the guide's object-creator grant is not limited to onboard/")
    return problems


def test_the_onboarding_account_may_only_write_what_enrolment_writes(tf: dict[str, Any]) -> None:
    assert onboard_account_problems(tf, GUIDE.read_text()) == []


def test_the_onboarding_account_rule_catches(tf: dict[str, Any]) -> None:
    reads_tokens = copy.deepcopy(tf)
    reads_tokens["resource"]["google_storage_bucket_iam_member"]["onboard_reads"] = {
        "bucket": "${google_storage_bucket.data.name}",
        "role": "roles/storage.objectViewer",
        "member": "serviceAccount:${google_service_account.onboard[0].email}",
    }
    assert onboard_account_problems(reads_tokens, GUIDE.read_text())
    unconditioned = copy.deepcopy(tf)
    grant = unconditioned["resource"]["google_storage_bucket_iam_member"][
        "onboard_creates_handovers"
    ]
    del grant["condition"]
    assert onboard_account_problems(unconditioned, GUIDE.read_text()) == [
        "the onboarding account may create objects outside onboard/"
    ]
    guide = GUIDE.read_text().replace(
        '--member="serviceAccount:${ONBOARD_SA}" --role=roles/pubsub.publisher',
        '--member="serviceAccount:${ONBOARD_SA}" --role=roles/bigquery.dataEditor',
    )
    assert onboard_account_problems(tf, guide) == [
        "the guide grants the onboarding account roles/bigquery.dataEditor"
    ]
