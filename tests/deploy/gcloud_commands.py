"""Every ``gcloud`` command the project tells someone (or something) to run, as argv.

Where they come from:

* the docs (deployment-guide.md, docs/*.md, infra/README.md): every fenced ``bash``
  block and every inline code span that starts with ``gcloud``, in document order;
* cloudbuild.yaml: every step, with its substitutions resolved as Cloud Build does
  (``$$`` is a literal ``$``), the guarded ``bash -c`` steps included;
* infra/*.tf: the ``local-exec`` commands, with Terraform's interpolations filled in;
* scripts/*.py and the Makefile: the gcloud command lines they run.

Shell text is never split by our own rules: it is run by ``bash`` itself in a sandbox
whose ``PATH`` holds stand-ins for ``gcloud`` and every tool that could change anything
(``bq``, ``git``, ``pip``, ``rm``, ``nunis-ingest``...). The ``gcloud`` stand-in records
the argv bash hands it (quoting, continuations, loops, heredocs, ``xargs`` all resolved
by bash) and prints a plausible answer for ``--format=value(...)`` lookups, so a later
line that uses ``$TRIGGER_SUB`` gets a subscription path. A block bash cannot parse is
reported too: a reader pasting it would fail the same way.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.deploy.buildconf import ROOT
from tests.deploy.gcloudcli import PROJECT, Command

DOCS = ("deployment-guide.md", "docs/*.md", "infra/README.md")
SHELL_LANGS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"(?<!`)`(gcloud [^`]+)`(?!`)")
REAL_TOOLS = (
    "cat", "sed", "grep", "head", "tail", "tr", "mktemp", "date", "jq", "xargs", "envsubst",
    "sort", "dirname", "basename", "wc", "cut", "tee", "env", "true", "false", "mkdir",
)  # fmt: skip
NO_OP_TOOLS = (
    "bq", "git", "pip", "pip3", "nunis-ingest", "curl", "terraform", "make", "rm", "open",
    "uv", "cp", "mv", "chmod", "tar", "docker", "kubectl", "sleep",
)  # fmt: skip
NUMBER = "123456789012"
ANSWERS = {  # --format=value(FIELD) -> what a real project would print
    "projectNumber": NUMBER,
    "eventTrigger.trigger": f"projects/{PROJECT}/locations/us-central1/triggers/nunis-ingest-417",
    "transport.pubsub.subscription": (
        f"projects/{PROJECT}/subscriptions/eventarc-us-central1-nunis-ingest-417-sub-001"
    ),
    "serviceConfig.uri": "https://nunis-fn-abc123-uc.a.run.app",
    "billingAccountName": "billingAccounts/000000-AAAAAA-BBBBBB",
    "installation.sdk_root": "/usr/lib/google-cloud-sdk",
    "email": f"nunis-x@{PROJECT}.iam.gserviceaccount.com",
}
NAMES = {  # value(name) by command group
    "channels": f"projects/{PROJECT}/notificationChannels/1234",
    "policies": f"projects/{PROJECT}/alertPolicies/5678",
    "budgets": "billingAccounts/000000-AAAAAA-BBBBBB/budgets/abcd",
}
PULLED = [  # `gcloud pubsub subscriptions pull --format=json`, one dead letter
    {
        "ackId": "ack-0001",
        "message": {
            "data": "eyJhdGhsZXRlX2lkIjogMTIzLCAibW9kZSI6ICJhbGwifQ==",
            "attributes": {"athlete_id": "123", "CloudPubSubDeadLetterSourceDeliveryCount": "10"},
            "messageId": "1",
            "publishTime": "2026-01-01T00:00:00Z",
        },
    }
]


@dataclass(frozen=True)
class Segment:
    where: str
    text: str


@dataclass
class Capture:
    commands: list[Command]
    problems: list[str]  # shell text bash could not run


# --- the docs -----------------------------------------------------------------------------


def doc_paths(root: Path = ROOT) -> list[Path]:
    found: list[Path] = []
    for pattern in DOCS:
        found += sorted(root.glob(pattern))
    return found


def doc_segments(name: str, text: str) -> tuple[list[Segment], list[str]]:
    """(segments to run, problems): shell blocks and inline ``gcloud`` spans, in order.
    A gcloud command in a block not marked as shell is a problem: nothing would check it."""
    found: list[tuple[int, Segment]] = []
    problems: list[str] = []
    blanked = text
    for match in FENCE.finditer(text):
        lang, body = match.group(1).lower(), match.group(2)
        line = text.count("\n", 0, match.start()) + 2
        if lang in SHELL_LANGS:
            if lang == "console":
                body = "\n".join(re.sub(r"^\$ ", "", row) for row in body.splitlines())
            found.append((match.start(), Segment(f"{name}:{line}", body)))
        elif re.search(r"^\s*gcloud\s", body, re.M):
            problems.append(f"{name}:{line}: gcloud in a ``` block not marked bash")
        blanked = blanked[: match.start()] + " " * len(match.group(0)) + blanked[match.end() :]
    for match in INLINE.finditer(blanked):
        line = text.count("\n", 0, match.start()) + 1
        span = " ".join(match.group(1).split())
        found.append((match.start(), Segment(f"{name}:{line}", span)))
    return [s for _, s in sorted(found, key=lambda pair: pair[0])], problems


# --- cloudbuild.yaml ------------------------------------------------------------------------

BUILTINS = ("PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION", "REPO_NAME", "BRANCH_NAME")
CLOUD_BUILD_VAR = re.compile(r"\$\$|\$\{([A-Z_][A-Z0-9_]*)\}|\$([A-Z_][A-Z0-9_]*)")


def build_substitutions(build: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    values = {k: str(v) for k, v in (build.get("substitutions") or {}).items()}
    values |= {"PROJECT_ID": PROJECT, "PROJECT_NUMBER": NUMBER, "BUILD_ID": "b-1"}
    values |= {"LOCATION": "global", "REPO_NAME": "nunis-ingest", "BRANCH_NAME": "main"}
    return values | overrides


def cloud_build_resolve(text: str, values: dict[str, str]) -> str:
    """Cloud Build's substitution: ``$$`` is a literal ``$``; ``${X}`` and ``$X`` are
    replaced when X is a built-in or declared substitution, and left alone otherwise."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return CLOUD_BUILD_VAR.sub(one, text)


def build_segments(
    build: dict[str, Any], overrides: dict[str, str]
) -> tuple[list[Command], list[tuple[str, list[str]]]]:
    """(direct gcloud steps, [(where, bash argv)] for script steps)."""
    values = build_substitutions(build, overrides)
    direct: list[Command] = []
    scripts: list[tuple[str, list[str]]] = []
    for number, step in enumerate(build.get("steps") or []):
        where = f"cloudbuild.yaml step {step.get('id', number)}"
        args = [cloud_build_resolve(str(a), values) for a in step.get("args") or []]
        entry = str(step.get("entrypoint") or "")
        if entry == "gcloud" or (not entry and "cloud-sdk" in str(step.get("name"))):
            if args and args[0] == "gcloud":
                args = args[1:]
            direct.append(Command(where, tuple(args)))
        elif entry in ("bash", "sh") and args[:1] == ["-c"]:
            scripts.append((where, ["-c", *args[1:]]))
        elif step.get("script"):
            scripts.append((where, ["-c", cloud_build_resolve(str(step["script"]), values)]))
    return direct, scripts


# --- infra/*.tf local-exec ------------------------------------------------------------------

TF_INTERPOLATION = re.compile(r"(?<!\$)\$\{([^}]*)\}")
TF_ANSWERS = {
    "trigger": ANSWERS["eventTrigger.trigger"],
    "pubsub_agent": f"serviceAccount:service-{NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com",
    "project_id": PROJECT,
    "number": NUMBER,
}


def _tf_value(expression: str, variables: dict[str, Any]) -> str:
    expression = expression.strip()
    if expression.startswith("var."):
        default = variables.get(expression[4:], {}).get("default")
        return PROJECT if expression == "var.project_id" else str(default or "x1")
    last = re.split(r"[.\[\]]+", expression.rstrip("]"))[-1] or expression
    if last in TF_ANSWERS:
        return TF_ANSWERS[last]
    if last in ("id", "name"):
        resource = expression.split(".")[1] if "." in expression else "x1"
        return f"projects/{PROJECT}/topics/nunis-{resource.replace('_', '-')}"
    return "x1"


def terraform_segments(infra: Path) -> list[Segment]:
    import hcl2

    from tests.deploy.tfconf import OPTIONS, _clean

    segments: list[Segment] = []
    variables: dict[str, Any] = {}
    docs: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(infra.glob("*.tf")):
        with path.open() as handle:
            doc = _clean(hcl2.load(handle, serialization_options=OPTIONS))
        docs.append((path, doc))
        for item in doc.get("variable", []):
            variables.update(item)
    for path, doc in docs:
        for item in doc.get("resource", []):
            for rtype, named in item.items():
                for name, body in named.items():
                    for provisioner in body.get("provisioner", []):
                        local = provisioner.get("local-exec")
                        if not local:
                            continue
                        command = re.sub(r'\\([\\"])', r"\1", str(local.get("command", "")))
                        command = TF_INTERPOLATION.sub(
                            lambda m: _tf_value(m.group(1), variables), command
                        ).replace("$${", "${")
                        segments.append(Segment(f"{path.name} {rtype}.{name}", command))
    return segments


# --- scripts and the Makefile ---------------------------------------------------------------


def script_commands(root: Path) -> tuple[list[Command], list[Segment]]:
    """gcloud argv lists written as list literals in scripts/*.py; Makefile recipe lines."""
    commands: list[Command] = []
    for path in sorted((root / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.List) or not node.elts:
                continue
            head = node.elts[0]
            named = isinstance(head, ast.Name) and head.id == "gcloud"
            if not (named or (isinstance(head, ast.Constant) and head.value == "gcloud")):
                continue
            argv = [e.value if isinstance(e, ast.Constant) else "x1" for e in node.elts[1:]]
            where = f"scripts/{path.name}:{node.lineno}"
            commands.append(Command(where, tuple(str(a) for a in argv)))
    segments = []
    makefile = root / "Makefile"
    for number, line in enumerate(makefile.read_text().splitlines(), 1):
        if line.startswith("\t") and re.search(r"(^|[;&|(\s])gcloud\s", line):
            text = line.strip().lstrip("@-").replace("$$", "$")
            segments.append(Segment(f"Makefile:{number}", text))
    return commands, segments


# --- running shell text in the sandbox -----------------------------------------------------

STUB = r"""#!/bin/bash
# Records the argv bash hands to gcloud; answers --format=value(...) lookups plausibly.
args=()
for arg in "$@"; do
  flag="${arg%%=*}"; value="${arg#*=}"
  if [[ "$arg" == --*-file=* && -f "$value" ]]; then  # keep the file as it was now
    copy="$NUNIS_SNAP/$$-$RANDOM-${value##*/}"
    cat "$value" > "$copy"
    arg="$flag=$copy"
  fi
  args+=("$arg")
done
{ printf '%s\n%s\n' "$NUNIS_AT" "$PWD"; printf '%s\0' "${args[@]}"; printf '\036'; } >> "$NUNIS_LOG"
format=""
for arg in "$@"; do [[ "$arg" == --format=* ]] && format="${arg#--format=}"; done
case "$1 $2 $3|$format" in
  "pubsub subscriptions pull|json") printf '%s\n' '__PULLED__' ;;
  "secrets versions access|"*) printf 'stub-secret-value-0123456789abcdef0123456789' ;;
esac
case "$format" in
__ANSWERS__
  "value(name)")
    case " $* " in
__NAMES__
      *) echo "projects/x/things/1" ;;
    esac ;;
esac
"""

PYTHON_STUB = """#!/bin/bash
if [ "$1" = "-c" ]; then exec {python} "$@"; fi
"""


class Sandbox:
    """A scratch HOME, TMPDIR and working copy, and a PATH of stand-ins."""

    def __init__(self, base: Path, root: Path = ROOT) -> None:
        self.base = base
        self.bin, self.home, self.tmp, self.snap = (
            base / n for n in ("bin", "home", "tmp", "snap")
        )
        self.work = base / "work" / "nunis-ingest"
        self.log = base / "gcloud.log"
        for folder in (self.bin, self.home, self.tmp, self.snap):
            folder.mkdir(parents=True)
        skip = shutil.ignore_patterns(".git", ".venv", ".local-gcp", "*_cache", "data", "demo-data")
        shutil.copytree(root, self.work, ignore=skip, symlinks=True)
        answers = "\n".join(f'  "value({k})") echo {_quote(v)} ;;' for k, v in ANSWERS.items())
        names = "\n".join(f"      *' {k} '*) echo {_quote(v)} ;;" for k, v in NAMES.items())
        stub = STUB.replace("__PULLED__", json.dumps(PULLED)).replace("__ANSWERS__", answers)
        self._tool("gcloud", stub.replace("__NAMES__", names))
        self._tool("python3", PYTHON_STUB.format(python=sys.executable))
        for name in NO_OP_TOOLS:
            self._tool(name, "#!/bin/bash\nexit 0\n")
        for name in REAL_TOOLS:
            real = shutil.which(name)
            if real:
                (self.bin / name).symlink_to(real)

    def _tool(self, name: str, text: str) -> None:
        path = self.bin / name
        path.write_text(text)
        path.chmod(0o755)

    def env(self) -> dict[str, str]:
        return {
            "PATH": str(self.bin),
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "LANG": "C.UTF-8",
            "NUNIS_SNAP": str(self.snap),
            "NUNIS_LOG": str(self.log),
        }

    def run(self, segments: Iterable[Segment], preamble: str = "") -> list[str]:
        """Run the segments in order in one bash session; return the ones bash refused."""
        problems = []
        script = [f"cd {_quote(str(self.work))}", preamble]
        for number, segment in enumerate(segments):
            path = self.base / f"segment-{number}.sh"
            path.write_text(segment.text + "\n")
            check = subprocess.run(["/bin/bash", "-n", str(path)], capture_output=True, text=True)
            if check.returncode != 0:
                problems.append(f"{segment.where}: bash cannot parse it: {check.stderr.strip()}")
                continue
            script.append(f"export NUNIS_AT={_quote(segment.where)}")
            script.append(f"source {_quote(str(path))} </dev/null")
        subprocess.run(
            ["/bin/bash", "-c", "\n".join(script)],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
        return problems

    def run_argv(self, where: str, argv: list[str]) -> None:
        """One ``bash -c SCRIPT ARGS...`` (a Cloud Build script step)."""
        subprocess.run(
            ["/bin/bash", *argv],
            cwd=self.work,
            env=self.env() | {"NUNIS_AT": where},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )

    def recorded(self) -> list[Command]:
        if not self.log.exists():
            return []
        found = []
        for record in self.log.read_bytes().decode().split("\036"):
            if record.strip():
                where, cwd, args = record.split("\n", 2)
                found.append(Command(where, tuple(args.split("\0")[:-1]), cwd))
        return found


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# --- everything -----------------------------------------------------------------------------

BUILD_ON = {"_WEBHOOK": "on", "_ONBOARD": "on"}
BUILD_CONFIGS = ("cloudbuild.yaml", "cloudbuild-deploy.yaml")


def required_values(build: dict[str, Any]) -> dict[str, str]:
    """Plausible values for the substitutions that have no default."""
    values = {}
    for key, default in (build.get("substitutions") or {}).items():
        if default in ("", None):
            if key.endswith("_SA"):
                values[key] = f"nunis-{key[1:-3].lower()}@{PROJECT}.iam.gserviceaccount.com"
            elif "ID" in key:
                values[key] = "12345"
            elif key == "_DATASET":
                values[key] = "nunis"
            else:
                values[key] = f"{PROJECT}-{key[1:].lower().replace('_', '-')}"
    return values


def capture_all(
    base: Path, root: Path = ROOT, docs: dict[str, str] | None = None, *, only_docs: bool = False
) -> Capture:
    """Every gcloud command of the project; ``docs`` replaces files' text (broken copies),
    and with ``only_docs`` nothing but those texts is read (a quick check of a snippet)."""
    sandbox = Sandbox(base, root)
    problems: list[str] = []
    segments: list[Segment] = []
    paths = [root / name for name in docs or {}] if only_docs else doc_paths(root)
    for path in paths:
        name = path.relative_to(root).as_posix()
        text = (docs or {}).get(name, path.read_text())
        found, bad = doc_segments(name, text)
        segments += found
        problems += bad
    direct: list[Command] = []
    scripts: list[tuple[str, list[str]]] = []
    if only_docs:
        problems += sandbox.run(segments)
        return Capture(sandbox.recorded(), problems)
    for config in BUILD_CONFIGS:
        build = _load_yaml(root / config)
        found_direct, found_scripts = build_segments(build, required_values(build) | BUILD_ON)
        direct += [
            Command(c.where.replace("cloudbuild.yaml", config), c.argv) for c in found_direct
        ]
        scripts += [(w.replace("cloudbuild.yaml", config), a) for w, a in found_scripts]
    scripted, make_lines = script_commands(root)
    problems += sandbox.run(segments + make_lines + terraform_segments(root / "infra"))
    for where, argv in scripts:
        sandbox.run_argv(where, argv)
    commands = [*direct, *scripted]
    commands = [Command(c.where, c.argv, str(sandbox.work)) for c in commands]
    return Capture(commands + sandbox.recorded(), problems)


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def main() -> None:  # pragma: no cover - a manual look: python -m tests.deploy.gcloud_commands
    import tempfile

    with tempfile.TemporaryDirectory() as base:
        capture = capture_all(Path(base))
        for command in capture.commands:
            print(command.where, "gcloud", " ".join(command.argv))
        for problem in capture.problems:
            print("PROBLEM", problem)
        print(len(capture.commands), "commands", file=sys.stderr)


if __name__ == "__main__":
    main()
