"""The installed Google Cloud CLI as a reference we do not control.

* ``sdk()``: where gcloud lives and the Python it runs on. gcloud is required: a machine
  without it fails these checks with a message saying how to install it, never skips.
* ``list_files_for_upload(directory)``: what ``gcloud builds submit`` and ``gcloud
  functions deploy`` upload from ``directory`` (``gcloud meta list-files-for-upload``).
* ``parse(commands)``: every command run through gcloud's own parser, in one process
  (``gcloud_worker.py``), with an empty configuration and no credentials.

Every call gets a fresh, empty ``CLOUDSDK_CONFIG``: no account, no credentials, nothing
of the machine's own gcloud setup leaks in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

WORKER = Path(__file__).with_name("gcloud_worker.py")
PROJECT = "your-project-id"  # deployment-guide.md step 0's placeholder
INSTALL_HINT = (
    "gcloud (the Google Cloud CLI) is not installed: the deploy checks run every gcloud "
    "command of the docs through it. Install google-cloud-cli (Cloud Shell and the "
    "cloud-sdk image have it) and run the tests again."
)


class GcloudMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Sdk:
    root: Path
    python: str
    version: str


@dataclass(frozen=True)
class Command:
    where: str  # "deployment-guide.md:123", "cloudbuild.yaml step deploy", ...
    argv: tuple[str, ...]  # after `gcloud`
    cwd: str = ""  # where the command ran (relative file arguments resolve there)


@dataclass(frozen=True)
class Verdict:
    command: Command
    verdict: str  # ok | parse | error | file
    detail: str

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def __str__(self) -> str:
        shown = " ".join(self.command.argv)[:140]
        return f"{self.command.where}: gcloud {shown} -> {self.verdict}: {self.detail}"


def _env(config: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDSDK_", "GOOGLE_"))}
    return keep | {
        "CLOUDSDK_CONFIG": config,
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
        "CLOUDSDK_CORE_PROJECT": PROJECT,
    }


def sdk() -> Sdk:
    """The installed gcloud; ``GcloudMissing`` (with how to install it) when there is none."""
    found = shutil.which("gcloud")
    if found is None:
        raise GcloudMissing(INSTALL_HINT)
    root = Path(found).resolve().parents[1]
    if not (root / "lib" / "googlecloudsdk").is_dir():
        raise GcloudMissing(f"{found} is not a Google Cloud CLI installation. {INSTALL_HINT}")
    bundled = root / "platform" / "bundledpythonunix" / "bin" / "python3"
    python = os.environ.get("CLOUDSDK_PYTHON") or (
        str(bundled) if bundled.exists() else shutil.which("python3") or "python3"
    )
    version_file = root / "VERSION"
    version = version_file.read_text().strip() if version_file.exists() else "unknown"
    return Sdk(root, python, version)


def list_files_for_upload(directory: Path) -> list[str]:
    """The files gcloud uploads from ``directory`` (POSIX paths, sorted)."""
    sdk()
    with tempfile.TemporaryDirectory() as config:
        out = subprocess.run(
            ["gcloud", "meta", "list-files-for-upload", str(directory)],
            env=_env(config),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if out.returncode != 0:
        raise RuntimeError(f"gcloud meta list-files-for-upload failed: {out.stderr[-500:]}")
    return sorted(Path(line).as_posix() for line in out.stdout.splitlines() if line.strip())


def parse(commands: list[Command]) -> list[Verdict]:
    """Each distinct command through gcloud's parser (first ``where`` wins for duplicates)."""
    found = sdk()
    seen: dict[tuple[tuple[str, ...], str], Command] = {}
    for command in commands:
        seen.setdefault((command.argv, command.cwd), command)
    verdicts: list[Verdict] = []
    by_cwd: dict[str, list[Command]] = {}
    for command in seen.values():
        by_cwd.setdefault(command.cwd, []).append(command)
    for cwd, group in by_cwd.items():
        lines = "".join(json.dumps({"where": c.where, "argv": list(c.argv)}) + "\n" for c in group)
        with tempfile.TemporaryDirectory() as config:
            results = Path(config) / "results.jsonl"
            out = subprocess.run(
                [found.python, str(WORKER), str(found.root), str(results)],
                input=lines,
                cwd=cwd or None,
                env=_env(config),
                capture_output=True,
                text=True,
                timeout=60 + 30 * len(group),
                check=False,
            )
            text = results.read_text() if results.exists() else ""
        answers = [json.loads(line) for line in text.splitlines() if line.strip()]
        if len(answers) != len(group):
            raise RuntimeError(
                f"the gcloud worker answered {len(answers)} of {len(group)} commands "
                f"(exit {out.returncode}): {out.stderr[-1500:]}"
            )
        verdicts += [
            Verdict(command, answer["verdict"], answer["detail"])
            for command, answer in zip(group, answers, strict=True)
        ]
    return verdicts
