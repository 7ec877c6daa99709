"""Walk deployment-guide.md's shell blocks in order, as a reader pasting them would.

Shell variables are tracked (``export X=...``, ``X=...``; a ``$(...)`` value becomes an opaque
placeholder), each logical command line is expanded, and the Google Cloud resources it
creates, uses and deletes are read off it. A ``gcloud builds submit`` is expanded through
cloudbuild.yaml with the substitutions it passes: it creates the functions its active steps
deploy and uses the secrets, accounts and topics those deploys name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.deploy.buildconf import deploys, secrets_of

SECTION = re.compile(r"^## (\d+)\. (.+)$", re.M)
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)
ASSIGN = re.compile(r"(?:^|\s|')(?:export\s+)?([A-Z_][A-Z0-9_]*)=(\"[^\"]*\"|'[^']*'|\S*)")
VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}|\$([A-Z_][A-Z0-9_]*)")
OPTIONAL_MARK = "# Only if you did step"
Resource = tuple[str, str]  # (kind, name)

NAMES = r"((?:\s+[^\s-][^\s]*)+)"  # one or more positional names


@dataclass
class Command:
    section: int
    title: str
    block: int
    line: str  # expanded, quotes removed
    optional: bool


@dataclass
class Effects:
    creates: set[Resource] = field(default_factory=set)
    uses: set[Resource] = field(default_factory=set)
    deletes: set[Resource] = field(default_factory=set)
    accounts_of: dict[str, set[str]] = field(default_factory=dict)  # function -> accounts


def _logical_lines(text: str) -> list[str]:
    text = re.sub(r"\\\n\s*", " ", text)
    lines = []
    heredoc: str | None = None
    for raw in text.splitlines():
        if heredoc is not None:
            if raw.strip() == heredoc:
                heredoc = None
            lines.append(raw)  # heredoc bodies still carry `export X=...`
            continue
        match = re.search(r"<<'?(\w+)'?", raw)
        if match:
            heredoc = match.group(1)
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(re.sub(r"\s+#\s[^\"']*$", "", line))
    return lines


def _expand(text: str, env: dict[str, str]) -> str:
    for _ in range(5):
        new = VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)
        if new == text:
            break
        text = new
    return text


def commands(guide: str) -> list[Command]:
    """Every logical command line of the guide, in order, expanded."""
    sections = [(m.start(), int(m.group(1)), m.group(2)) for m in SECTION.finditer(guide)]
    env: dict[str, str] = {}
    out: list[Command] = []
    for index, block in enumerate(BLOCK.finditer(guide)):
        before = [s for s in sections if s[0] < block.start()]
        number, title = (before[-1][1], before[-1][2]) if before else (-1, "")
        optional = "optional" in title.lower() or block.group(1).startswith(OPTIONAL_MARK)
        for line in _logical_lines(block.group(1)):
            for name, value in ASSIGN.findall(line):
                value = value.strip("\"'")
                env[name] = f"<{name}>" if "$(" in value else _expand(value, env)
            expanded = _expand(line, env).replace('\\"', '"')
            plain = re.sub(r"\s+", " ", re.sub(r"[\"']", "", expanded))
            out.append(Command(number, title, index, plain, optional))
    return out


def _names(text: str) -> list[str]:
    names = (t.rstrip(");,") for t in text.split())
    return [t for t in names if t and not t.startswith("<")]


PATTERNS: list[tuple[str, str, str]] = [
    # (effect, kind, regex with the name(s) in group 1)
    ("creates", "topic", r"gcloud pubsub topics create" + NAMES),
    ("creates", "subscription", r"gcloud pubsub subscriptions create (\S+)"),
    ("creates", "secret", r"gcloud secrets create (\S+)"),
    ("creates", "service_account", r"gcloud iam service-accounts create (\S+)"),
    ("creates", "bucket", r"gcloud storage buckets create gs://([^\s/]+)"),
    ("creates", "dataset", r"bq .*mk --dataset .*?[\w-]+:(\w+)"),
    ("creates", "scheduler_job", r"gcloud scheduler jobs create (?:pubsub|http) (\S+)"),
    ("creates", "repository", r"gcloud artifacts repositories create (\S+)"),
    ("creates", "role", r"gcloud iam roles create (\S+)"),
    ("creates", "log_metric", r"gcloud logging metrics create (\S+)"),
    ("creates", "alert_policy", r"gcloud (?:alpha )?monitoring policies create()"),
    ("creates", "channel", r"gcloud beta monitoring channels create()"),
    ("creates", "budget", r"gcloud billing budgets create()"),
    ("creates", "log_exclusion", r"--add-exclusion=name=([\w-]+)"),
    ("creates", "build_trigger", r"gcloud builds triggers create \w+ --name=(\S+)"),
    ("creates", "push_subscription", r"nunis-ingest webhook subscribe()"),
    ("uses", "topic", r"--(?:dead-letter-)?topic=(\S+)"),
    ("uses", "topic", r"gcloud pubsub topics (?:add-iam-policy-binding|publish) (\S+)"),
    (
        "uses",
        "subscription",
        r"gcloud pubsub subscriptions (?:add-iam|update|pull|desc|modify)\S* (\S+)",
    ),
    ("uses", "repository", r"gcloud artifacts repositories (?:set-cleanup|add-iam)\S* (\S+)"),
    ("uses", "role", r"projects/[\w-]+/roles/(\w+)"),
    ("uses", "secret", r"gcloud secrets (?:add-iam-policy-binding|versions add) (\S+)"),
    ("uses", "secret", r"--secret=(\S+)"),
    ("uses", "service_account", r"serviceAccount:([\w.-]+@[\w-]+\.iam\.gserviceaccount\.com)"),
    ("uses", "service_account", r"gcloud iam service-accounts add-iam-policy-binding (\S+)"),
    ("uses", "bucket", r"(?<!create )gs://([^\s/]+)"),
    (
        "uses",
        "dataset",
        r"(?<![@\w-])[a-z][\w-]*[:.](?!iam\b|cloudfunctions\b)([A-Za-z_]\w*)\b(?=[\s.`]|$)",
    ),
    ("uses", "function", r"gcloud functions (?:describe|add-invoker-policy-binding) (\S+)"),
    ("uses", "scheduler_job", r"gcloud scheduler jobs (?:run|update pubsub|pause|describe) (\S+)"),
    ("uses", "log_metric", r"logging\.googleapis\.com/user/([\w-]+)"),
    ("uses", "channel", r"--notification-channels=()"),
    ("uses", "push_subscription", r"nunis-ingest webhook (?:list|unsubscribe)()"),
    ("deletes", "topic", r"gcloud pubsub topics delete" + NAMES),
    ("deletes", "subscription", r"gcloud pubsub subscriptions delete (\S+)"),
    ("deletes", "secret", r"gcloud secrets delete (\S+)"),
    ("deletes", "service_account", r"gcloud iam service-accounts delete (\S+)"),
    ("deletes", "bucket", r"gcloud storage rm -r gs://([^\s/]+)"),
    ("deletes", "dataset", r"bq rm .*?[\w-]+:(\w+)"),
    ("deletes", "scheduler_job", r"gcloud scheduler jobs delete (\S+)"),
    ("deletes", "function", r"gcloud functions delete (\S+)"),
    ("deletes", "log_metric", r"gcloud logging metrics delete (\S+)"),
    ("deletes", "alert_policy", r"gcloud (?:alpha )?monitoring policies delete()"),
    ("deletes", "repository", r"gcloud artifacts repositories delete (\S+)"),
    ("deletes", "role", r"gcloud iam roles delete (\S+)"),
    ("deletes", "channel", r"gcloud beta monitoring channels delete()"),
    ("deletes", "budget", r"gcloud billing budgets delete()"),
    ("deletes", "log_exclusion", r"--remove-exclusions=([\w-]+)"),
    ("deletes", "build_trigger", r"gcloud builds triggers delete (\S+)"),
    ("deletes", "push_subscription", r"nunis-ingest webhook unsubscribe()"),
]


def effects(command: Command, build: dict[str, Any], project: str) -> Effects:
    found = Effects()
    line = command.line
    for effect, kind, pattern in PATTERNS:
        for match in re.finditer(pattern, line):
            raw = match.group(1)
            names = _names(raw) if raw else ["*"]
            if kind == "service_account" and effect == "creates":
                names = [f"{n}@{project}.iam.gserviceaccount.com" for n in names]
            if kind == "service_account" and not all(project in n for n in names):
                continue  # Google's service agents are not ours to create
            if kind == "dataset" and effect == "uses" and project not in match.group(0):
                continue
            getattr(found, effect).update((kind, n) for n in names)
    for config, subs in builds_of(line):
        if config == "cloudbuild.yaml":  # the check build: it deploys nothing
            found.uses.add(("service_account", subs.get("_CHECK_SA", "")))
        else:
            _build_effects(found, build, subs)
    # a create line does not also "use" what it creates
    found.uses -= found.creates
    return found


BUILD = re.compile(r"gcloud builds submit \S+ --config=(\S+)(.*?)(?=&& gcloud builds submit|$)")


def builds_of(line: str) -> list[tuple[str, dict[str, str]]]:
    """(config, substitutions) of every `gcloud builds submit` in an expanded line."""
    found = []
    for match in BUILD.finditer(line):
        subs = re.search(r"--substitutions=(\S+)", match.group(2))
        pairs = subs.group(1).split(",") if subs else []
        found.append((match.group(1), dict(p.split("=", 1) for p in pairs if "=" in p)))
    return found


def _build_effects(found: Effects, build: dict[str, Any], subs: dict[str, str]) -> None:
    found.uses.add(("service_account", subs.get("_BUILD_SA", "")))
    values = {k: str(v) for k, v in (build.get("substitutions") or {}).items()} | subs
    found.uses.add(("topic", values.get("_DLQ_TOPIC", "")))  # the dead-letter step
    for _, name, f in deploys(build, subs, resolved=True):
        repository = re.search(r"/repositories/(\S+)$", str(f.get("--docker-repository") or ""))
        if repository:
            found.uses.add(("repository", repository.group(1)))
        found.creates.add(("function", name))
        found.uses.update(("secret", s) for s in secrets_of(f))
        for flag in ("--service-account", "--trigger-service-account"):
            if f.get(flag):
                found.uses.add(("service_account", str(f[flag])))
                found.accounts_of.setdefault(name, set()).add(str(f[flag]))
        if f.get("--trigger-topic"):
            found.uses.add(("topic", str(f["--trigger-topic"])))
        env = f.get("--set-env-vars") or ""
        for key in ("NUNIS_EVENTS_TOPIC", "NUNIS_INGEST_TOPIC"):
            match = re.search(rf"{key}=([^,]+)", env)
            if match:
                found.uses.add(("topic", match.group(1)))
        match = re.search(r"NUNIS_EVENTS_SUBSCRIPTION=([^,]+)", env)
        if match:
            found.uses.add(("subscription", match.group(1)))
        match = re.search(r"NUNIS_BUCKET=([^,]+)", env)
        if match:
            found.uses.add(("bucket", match.group(1)))


def build_substitutions(command: Command) -> dict[str, str] | None:
    """The substitutions of the deploy build the command submits (None if it submits none)."""
    for config, subs in builds_of(command.line):
        if config == "cloudbuild-deploy.yaml":
            return subs
    return None


def environment(guide: str) -> dict[str, str]:
    """The variables of step 0's ~/nunis.env (PROJECT_ID left as written)."""
    env: dict[str, str] = {}
    block = BLOCK.search(guide)
    assert block is not None
    for name, value in ASSIGN.findall(block.group(1)):
        env.setdefault(name, _expand(value.strip("\"'"), env))
    return env
