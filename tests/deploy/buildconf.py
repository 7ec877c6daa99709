"""Reading the build configs as Cloud Build would: which steps run for a set of
substitutions, and the gcloud command line each one runs. Shared by the deploy tests.
``cloudbuild.yaml`` is the check build (tests, on an account without deploy rights);
``cloudbuild-deploy.yaml`` the deploy build."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CLOUDBUILD = ROOT / "cloudbuild-deploy.yaml"  # the deploy build
CHECK_BUILD = ROOT / "cloudbuild.yaml"  # the check build (tests, no deploy rights)
GUIDE = ROOT / "deployment-guide.md"
NAMES_FILE = ROOT / "infra" / "names.json"
SUBST = re.compile(r"\$\{(_[A-Z0-9_]+)\}|\$(_[A-Z0-9_]+)")
GUARD = re.compile(r'^if \[ "\$\{(_[A-Z0-9_]+)\}" = (\w+) \]; then exec gcloud "\$\$@"; fi;')
WEBHOOK_ONLY = ("_WEBHOOK_SA", "_VERIFY_TOKEN_SECRET_NAME", "_PATH_SECRET_NAME")


def names() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(NAMES_FILE.read_text())
    return data


def load_build(path: Path = CLOUDBUILD) -> dict[str, Any]:
    """The deploy build (cloudbuild-deploy.yaml), or the build config at ``path``."""
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name} must be a mapping"
    return data


def load_check() -> dict[str, Any]:
    """The check build (cloudbuild.yaml)."""
    return load_build(CHECK_BUILD)


def gcloud_args(step: dict[str, Any]) -> list[str]:
    """The arguments after `gcloud` (plain gcloud steps and guarded `bash -c` ones)."""
    args = [str(a) for a in step.get("args") or []]
    if step.get("entrypoint") == "gcloud":
        return args
    guarded = len(args) > 3 and args[0] == "-c" and GUARD.match(args[1]) and args[2] == "gcloud"
    if step.get("entrypoint") == "bash" and guarded:
        return args[3:]
    return []


def condition(step: dict[str, Any]) -> tuple[str, str] | None:
    """(substitution, value) a guarded step runs under, or None for an unconditional one."""
    args = [str(a) for a in step.get("args") or []]
    if step.get("entrypoint") == "bash" and len(args) > 1 and args[0] == "-c":
        match = GUARD.match(args[1])
        if match:
            return match.group(1), match.group(2)
    return None


def values(build: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, str]:
    declared = {k: str(v) for k, v in (build.get("substitutions") or {}).items()}
    return declared | (overrides or {})


def active_steps(
    build: dict[str, Any], overrides: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The steps that do something for these substitutions (guarded ones whose test fails
    only echo)."""
    subs = values(build, overrides)
    out = []
    for step in build.get("steps") or []:
        cond = condition(step)
        if cond is None or subs.get(cond[0]) == cond[1]:
            out.append(step)
    return out


def flags(args: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for arg in args:
        if arg.startswith("--"):
            name, sep, value = arg.partition("=")
            out[name] = value if sep else None
    return out


def resolve(value: str, subs: dict[str, str]) -> str:
    return SUBST.sub(lambda m: subs.get(m.group(1) or m.group(2), m.group(0)), value)


def deploys(
    build: dict[str, Any], overrides: dict[str, str] | None = None, *, resolved: bool = False
) -> list[tuple[dict[str, Any], str, dict[str, str | None]]]:
    """(step, function name, flags) of every active `gcloud functions deploy`."""
    subs = values(build, overrides)
    out = []
    for step in active_steps(build, overrides):
        args = gcloud_args(step)
        if args[:2] == ["functions", "deploy"]:
            if resolved:
                args = [resolve(a, subs) for a in args]
            out.append((step, args[2], flags(args)))
    return out


def secrets_of(deploy_flags: dict[str, str | None]) -> list[str]:
    """Secret names a deploy mounts (`ENV=name:version,...`)."""
    text = deploy_flags.get("--set-secrets") or ""
    return [item.split("=", 1)[1].split(":", 1)[0] for item in text.split(",") if "=" in item]
