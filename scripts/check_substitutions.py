#!/usr/bin/env python3
"""Step 0 of cloudbuild-deploy.yaml: every substitution checked before anything deploys.

The build passes each substitution as an environment variable of the same name. A value
that is empty where one is needed, or of a shape Google Cloud would refuse (a bucket name,
a service account email, a region, a memory size...), stops the build in seconds with one
line per problem naming the substitution and what it should look like, instead of a
deploy failing ten minutes in, or worse, deploying something half-configured.

Standard library only (it runs in the cloud-sdk image, before any install). The rules are
the documented naming rules of each service; deployment-guide.md step 7 lists every
substitution with its meaning, and tests/deploy/ checks that this table, the build and the
guide name the same substitutions.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

SA = r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com"
NAME = r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?"  # functions, repositories
TOPIC = r"[A-Za-z][A-Za-z0-9_.~+%-]{2,254}"  # Pub/Sub topics and subscriptions
RESOURCE_ID = r"[A-Za-z0-9_-]{1,255}"  # Secret Manager ids


@dataclass(frozen=True)
class Rule:
    pattern: str
    shape: str  # what a valid value looks like, for the message
    required: Callable[[Mapping[str, str]], bool] = lambda env: True

    def problem(self, key: str, env: Mapping[str, str]) -> str | None:
        value = env.get(key, "")
        if value == "":
            if self.required(env):
                return f"{key} is empty: set it to {self.shape} (deployment-guide.md step 7)"
            return None
        if not re.fullmatch(self.pattern, value):
            return f"{key}={value!r} is not {self.shape}"
        return None


def _on(switch: str) -> Callable[[Mapping[str, str]], bool]:
    return lambda env: env.get(switch) == "on"


def _bucket(value: str) -> bool:
    parts = value.split(".")
    return (
        3 <= len(value) <= 222
        and re.fullmatch(r"[a-z0-9][a-z0-9._-]*[a-z0-9]", value) is not None
        and all(1 <= len(p) <= 63 for p in parts)
        and not value.startswith("goog")
        and "google" not in value
    )


RULES: dict[str, Rule] = {
    "_BUCKET": Rule(r".+", "a Cloud Storage bucket name (3-63 lower-case letters, digits, - _ .)"),
    "_DATASET": Rule(r"[A-Za-z0-9_]{1,1024}", "a BigQuery dataset id (letters, digits, _)"),
    "_STRAVA_CLIENT_ID": Rule(r"[0-9]{1,12}", "your Strava application's numeric client id"),
    "_RUNTIME_SA": Rule(SA, "a service account email (NAME@PROJECT.iam.gserviceaccount.com)"),
    "_TRIGGER_SA": Rule(SA, "a service account email (NAME@PROJECT.iam.gserviceaccount.com)"),
    "_BUILD_SA": Rule(SA, "a service account email (NAME@PROJECT.iam.gserviceaccount.com)"),
    "_WEBHOOK": Rule(r"on|off", "on or off"),
    "_WEBHOOK_SA": Rule(
        SA, "the webhook's account email (needed with _WEBHOOK=on)", _on("_WEBHOOK")
    ),
    "_WEBHOOK_SUBSCRIPTION_ID": Rule(
        r"[0-9]{1,12}", "the id `nunis-ingest webhook subscribe` printed", lambda env: False
    ),
    "_ONBOARD": Rule(r"on|off", "on or off"),
    "_ONBOARD_SA": Rule(
        SA, "the onboarding account's email (needed with _ONBOARD=on)", _on("_ONBOARD")
    ),
    "_FUNCTION": Rule(NAME, "a function name (lower-case letters, digits, -; at most 63)"),
    "_REGION": Rule(r"[a-z]+-[a-z]+[0-9]{1,2}", "a region such as us-central1"),
    "_TOPIC": Rule(TOPIC, "a Pub/Sub topic id (3-255 characters, starting with a letter)"),
    "_DLQ_TOPIC": Rule(TOPIC, "a Pub/Sub topic id (3-255 characters, starting with a letter)"),
    "_BQ_LOCATION": Rule(
        r"[A-Za-z]+(-[a-z]+[0-9]{0,2})?", "a BigQuery location (US, EU, a region)"
    ),
    "_CLIENT_SECRET_NAME": Rule(RESOURCE_ID, "a Secret Manager secret id"),
    "_MEMORY": Rule(r"[1-9][0-9]*(Mi|Gi)", "a memory size such as 512Mi or 1Gi"),
    "_MAX_INSTANCES": Rule(r"([1-9]|10)", "a number from 1 to 10 (Strava's limits are shared)"),
    "_REPOSITORY": Rule(NAME, "an Artifact Registry repository id"),
    "_WEBHOOK_FUNCTION": Rule(NAME, "a function name", _on("_WEBHOOK")),
    "_EVENTS_FUNCTION": Rule(NAME, "a function name", _on("_WEBHOOK")),
    "_EVENTS_TOPIC": Rule(TOPIC, "a Pub/Sub topic id", _on("_WEBHOOK")),
    "_EVENTS_SUBSCRIPTION": Rule(TOPIC, "a Pub/Sub subscription id", _on("_WEBHOOK")),
    "_VERIFY_TOKEN_SECRET_NAME": Rule(RESOURCE_ID, "a Secret Manager secret id", _on("_WEBHOOK")),
    "_PATH_SECRET_NAME": Rule(RESOURCE_ID, "a Secret Manager secret id", _on("_WEBHOOK")),
    "_WEBHOOK_MIN_INSTANCES": Rule(r"[0-3]", "0 (the default) to 3 warm instances"),
    "_ONBOARD_FUNCTION": Rule(NAME, "a function name", _on("_ONBOARD")),
    "_ONBOARD_SECRET_NAME": Rule(RESOURCE_ID, "a Secret Manager secret id", _on("_ONBOARD")),
    "_ONBOARD_MAX_INSTANCES": Rule(r"[1-3]", "1 (the default) to 3: it bounds anonymous callers"),
}


def problems(env: Mapping[str, str]) -> list[str]:
    found = [p for key, rule in RULES.items() if (p := rule.problem(key, env))]
    bucket = env.get("_BUCKET", "")
    if bucket and not _bucket(bucket):
        found.append(f"_BUCKET={bucket!r} is not {RULES['_BUCKET'].shape}")
    accounts = [env.get(k, "") for k in ("_RUNTIME_SA", "_TRIGGER_SA", "_BUILD_SA")]
    if env.get("_WEBHOOK") == "on":
        accounts.append(env.get("_WEBHOOK_SA", ""))
    if env.get("_ONBOARD") == "on":
        accounts.append(env.get("_ONBOARD_SA", ""))
    accounts = [a for a in accounts if a]
    if len(set(accounts)) != len(accounts):
        found.append(
            "two roles share one service account: runtime, trigger, deploy, webhook and "
            "onboarding each need their own (least privilege; deployment-guide.md step 4)"
        )
    return found


def main() -> int:
    found = problems(os.environ)
    for problem in found:
        print(f"substitution: {problem}")
    if found:
        print("Fix the --substitutions of the build (deployment-guide.md step 7).")
        return 1
    print(f"substitutions: all {len(RULES)} checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
