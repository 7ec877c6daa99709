"""Running `nunis-ingest` as a person does, and checking what they would read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from nunis_ingest.drivers.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


def run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    """In process, through click; ``result.stderr`` is what went to stderr."""
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def console_script() -> str:
    return str(Path(sys.executable).parent / "nunis-ingest")


def spawn(env: dict[str, str], *args: str, module: bool = False, **kw: Any) -> subprocess.Popen:
    """The installed console script (or ``python -m nunis_ingest.drivers.cli.main``)."""
    cmd = [sys.executable, "-m", "nunis_ingest.drivers.cli.main"] if module else [console_script()]
    return subprocess.Popen(
        [*cmd, *args],
        cwd=ROOT,
        env=dict(os.environ) | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def one_error_line(stderr: str, *needles: str, forbidden: tuple[str, ...] = ()) -> str:
    """Exactly one line on stderr, no traceback, every needle in it, no forbidden text."""
    lines = stderr.rstrip("\n").split("\n")
    assert len(lines) == 1, stderr
    assert lines[0].strip(), stderr
    assert "Traceback" not in stderr
    line = lines[0]
    for needle in needles:
        assert needle in line, line
    for secret in forbidden:
        assert secret not in stderr
    return line
