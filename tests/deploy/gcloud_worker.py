"""Runs inside the installed gcloud's own Python: every command through gcloud's parser.

Not a test module: ``gcloudcli.py`` starts it as
``<gcloud's python> gcloud_worker.py SDK_ROOT RESULTS < commands`` with an empty
``CLOUDSDK_CONFIG`` and no credentials, and reads one JSON line per command back from RESULTS.

Each command is executed by gcloud's own CLI object, in this one process (about 1 s per
command as separate ``gcloud`` processes, a few milliseconds here). With no credentials a
command can get as far as gcloud's credential check and no further, so no request ever
leaves the machine. The verdicts:

* ``ok``: gcloud parsed the command and stopped at the credential check (or needed none);
* ``parse``: gcloud's parser refused it (``Invalid choice``, ``unrecognized arguments``, a
  flag value of the wrong shape, a missing required flag): exit status 2;
* ``error``: gcloud raised anything else before the credential check (a resource path
  it cannot parse, a file it cannot read...);
* ``file``: a policy or metric file (``--policy-from-file``, ``--config-from-file``) that
  gcloud's own message classes do not accept in full: a field the API does not know, or a
  ``$VARIABLE`` left unexpanded. gcloud itself reads those files only after the
  credential check, so this worker reads them the way the command would, with gcloud's
  own helpers.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile

SDK, RESULTS = sys.argv[1], sys.argv[2]
sys.path[:0] = [os.path.join(SDK, "lib"), os.path.join(SDK, "lib", "third_party")]

from googlecloudsdk import gcloud_main  # noqa: E402
from googlecloudsdk.calliope import cli as calliope_cli  # noqa: E402

CREDENTIAL_ERRORS = {
    "NoActiveAccountException",
    "NoCredentialsForAccountException",
    "RefreshError",
    "ReauthenticationException",
}
FILE_FLAGS = {
    "--policy-from-file": ("monitoring", "v3", "AlertPolicy"),
    "--config-from-file": ("logging", "v2", "LogMetric"),
}


class Stopped(Exception):
    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.exc = exc


def _stop(self: object, exc: BaseException, path: str, names: object) -> None:
    raise Stopped(exc)


class Hung(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hung()


def unrecognized(message: object, path: str = "") -> list[str]:
    """Field paths apitools kept aside because the message class has no such field."""
    from apitools.base.protorpclite import messages

    found = [f"{path}{name}" for name in message.all_unrecognized_fields()]
    for field in message.all_fields():
        value = message.get_assigned_value(field.name)
        values = value if field.repeated else [value]
        for item in values or []:
            if isinstance(item, messages.Message):
                found += unrecognized(item, f"{path}{field.name}.")
    return found


def check_file(flag: str, path: str) -> str | None:
    """None when gcloud's own parser takes the whole file, else what it does not take."""
    from apitools.base.py import encoding
    from googlecloudsdk.api_lib.util import apis
    from googlecloudsdk.core import yaml

    api, version, kind = FILE_FLAGS[flag]
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        return f"{flag}: cannot read {path}: {exc}"
    if "$" in text:
        return f"{flag}: {path} still holds a shell variable: {text[text.index('$') :][:40]!r}"
    message_class = getattr(apis.GetMessagesModule(api, version), kind)
    try:
        message = encoding.PyValueToMessage(message_class, yaml.load(text))
    except Exception as exc:  # gcloud's own error for a file it cannot take
        return f"{flag}: {type(exc).__name__}: {exc}"
    extra = unrecognized(message)
    if extra:
        return f"{flag}: {kind} has no field {', '.join(extra)} ({path})"
    return None


def _execute(cli: object, argv: list[str]) -> tuple[str, str]:
    try:
        result = cli.Execute(argv, call_arg_complete=False)  # type: ignore[attr-defined]
        if hasattr(result, "__next__"):
            list(result)
        return "ok", "parsed; needs no credentials"
    except Stopped as stopped:
        name = type(stopped.exc).__name__
        first = (str(stopped.exc).strip().splitlines() or [""])[0]
        if name in CREDENTIAL_ERRORS:
            return "ok", f"reached the credential check ({name})"
        if name == "EOFError":  # an interactive command (a login) waiting for its user
            return "ok", "parsed; stopped at an interactive prompt"
        return "error", f"{name}: {first}"
    except SystemExit as exc:
        return ("parse" if exc.code == 2 else "error"), f"exit status {exc.code}"
    except Hung:
        return "error", "did not finish in 60 s (a network call before credentials?)"
    except BaseException as exc:  # a crash inside gcloud is a finding too
        return "error", f"{type(exc).__name__}: {exc}"


def run(cli: object, argv: list[str]) -> tuple[str, str]:
    """One command; gcloud's own messages (written straight to file descriptors 1 and 2)
    are captured, and the first ERROR line becomes the detail of a refusal."""
    with tempfile.TemporaryFile(mode="w+") as captured:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(captured.fileno(), 1)
        os.dup2(captured.fileno(), 2)
        signal.alarm(60)
        try:
            verdict, detail = _execute(cli, argv)
        finally:
            signal.alarm(0)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        captured.seek(0)
        errors = [line for line in captured.read().splitlines() if line.startswith("ERROR")]
    if verdict != "ok" and errors:
        detail = errors[0]
    if verdict == "ok":
        for arg in argv:
            flag, _, value = arg.partition("=")
            if flag in FILE_FLAGS and value:
                problem = check_file(flag, value)
                if problem:
                    return "file", problem
    return verdict, detail


def main() -> None:
    signal.signal(signal.SIGALRM, _alarm)
    calliope_cli.CLI._HandleAllErrors = _stop  # type: ignore[method-assign]
    commands = [json.loads(line) for line in sys.stdin.read().splitlines() if line.strip()]
    # a command reading standard input (`--data-file=-`, a login prompt) finds it empty
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - fd 0 lives as long as the process
    cli = gcloud_main.CreateCLI([])
    with open(RESULTS, "a", encoding="utf-8") as results:  # gcloud may close stdout
        for command in commands:
            verdict, detail = run(cli, command["argv"])
            results.write(json.dumps({**command, "verdict": verdict, "detail": detail}) + "\n")
            results.flush()


main()
