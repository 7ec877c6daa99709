"""Every gcloud command of the docs, cloudbuild.yaml, infra/ and scripts, parsed by the
installed gcloud itself (no credentials, an empty configuration): what gcloud refuses
while parsing fails here, before a deployer pastes it. Policy and metric files are read
with gcloud's own message classes. Each rule also runs on a deliberately broken copy.

Needs gcloud: without it these tests fail with how to install it (never skip: a deploy
check that silently does not run is how the broken commands got in)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.deploy.buildconf import GUIDE
from tests.deploy.gcloud_commands import Capture, capture_all
from tests.deploy.gcloudcli import Command, GcloudMissing, Verdict, parse, sdk


@pytest.fixture(scope="module")
def gcloud() -> str:
    try:
        return sdk().version
    except GcloudMissing as missing:
        pytest.fail(str(missing), pytrace=False)


def _check(base: Path, docs: dict[str, str] | None = None) -> tuple[Capture, list[Verdict]]:
    capture = capture_all(base, docs=docs, only_docs=docs is not None)
    return capture, parse(capture.commands)


def _step0() -> str:
    """The guide's step 0 (its variables), so a snippet runs as it would in the guide."""
    return "```".join(GUIDE.read_text().split("```")[:2]) + "```\n"


@pytest.fixture(scope="module")
def checked(gcloud: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Capture, list[Verdict]]:
    started = time.monotonic()
    result = _check(tmp_path_factory.mktemp("gcloud"))
    seconds = time.monotonic() - started
    print(f"\ngcloud {gcloud}: {len(result[1])} distinct commands parsed in {seconds:.1f} s")
    return result


def _refused(verdicts: list[Verdict]) -> list[str]:
    return [str(v) for v in verdicts if not v.ok]


def test_every_gcloud_command_parses(checked: tuple[Capture, list[Verdict]]) -> None:
    capture, verdicts = checked
    assert capture.problems == []
    assert _refused(verdicts) == []


def test_the_commands_come_from_every_source(checked: tuple[Capture, list[Verdict]]) -> None:
    """A floor, so that an extraction that silently finds nothing cannot pass."""
    _, verdicts = checked
    sources = {v.command.where.split(":")[0].split(" ")[0] for v in verdicts}
    assert {"deployment-guide.md", "docs/runbook.md", "infra/README.md"} <= sources
    assert "cloudbuild-deploy.yaml" in sources
    assert any(s.endswith(".tf") for s in sources)
    assert len(verdicts) >= 100
    argvs = [" ".join(v.command.argv) for v in verdicts]
    assert any(a.startswith("alpha monitoring policies create --policy-from-file=") for a in argvs)
    assert any(a.startswith("functions deploy ") and "--trigger-http" in a for a in argvs)
    # the runbook's replay loop, reached through jq and a pulled dead letter
    assert any(a.startswith("pubsub subscriptions ack ") for a in argvs)


# --- the rules can fail -------------------------------------------------------------------

TODAYS_ALERT = (
    "```bash\n"
    'gcloud monitoring policies create --notification-channels="$CHANNEL" \\\n'
    '  --display-name="Nunis: failed runs" --combiner=OR \\\n'
    '  --condition-display-name="a run failed in the last 10 minutes" \\\n'
    "  --condition-filter='metric.type=\"logging.googleapis.com/user/nunis-failed-runs\"' \\\n"
    '  --aggregation=\'{"alignmentPeriod": "600s", "perSeriesAligner": "ALIGN_DELTA"}\' \\\n'
    "  --if='> 0' --duration=0s\n"
    "```\n"
)


def _broken(gcloud: str, tmp_path: Path, extra: str) -> list[Verdict]:
    """The guide's variables and ``extra`` (a broken snippet), through gcloud's parser."""
    _, verdicts = _check(tmp_path, {"deployment-guide.md": _step0() + "\n" + extra})
    return [v for v in verdicts if not v.ok]


def test_the_alert_commands_of_the_old_guide_are_refused(gcloud: str, tmp_path: Path) -> None:
    refused = _broken(gcloud, tmp_path, TODAYS_ALERT + "`gcloud monitoring policies list`\n")
    assert [(v.verdict, v.detail) for v in refused] == [
        ("parse", "ERROR: (gcloud.monitoring) Invalid choice: 'policies'."),
        ("parse", "ERROR: (gcloud.monitoring) Invalid choice: 'policies'."),
    ]


BROKEN = {  # a line of shell -> what gcloud says of it
    # a misspelt flag
    'gcloud pubsub subscriptions update "$DLQ_SUB" --max-delivery-attempt=10': (
        "unrecognized arguments: --max-delivery-attempt=10"
    ),
    # a flag value of the wrong shape
    'gcloud pubsub subscriptions create x --topic="$TOPIC" --ack-deadline=ten': (
        "argument --ack-deadline"
    ),
    # a required flag left out
    'gcloud scheduler jobs create pubsub "$NEW_JOB" --location="$REGION"': "Must be specified",
    # a duration gcloud cannot read
    'gcloud functions deploy "$FUNCTION" --region="$REGION" --timeout=forever': (
        "argument --timeout"
    ),
}


@pytest.fixture(scope="module")
def broken(gcloud: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Verdict]:
    """Every line of BROKEN in its own block after the guide's variables, checked in one
    pass: the refusals by the line they came from."""
    head = _step0() + "\n"
    text, lines = head, {}
    for line in BROKEN:
        lines[f"deployment-guide.md:{text.count(chr(10)) + 2}"] = line
        text += f"```bash\n{line}\n```\n"
    _, verdicts = _check(tmp_path_factory.mktemp("broken"), {"deployment-guide.md": text})
    return {lines[v.command.where]: v for v in verdicts if not v.ok}


@pytest.mark.parametrize("line", list(BROKEN))
def test_a_broken_command_is_refused(broken: dict[str, Verdict], line: str) -> None:
    assert set(broken) == set(BROKEN)  # each refused, and nothing else
    assert BROKEN[line] in broken[line].detail


def test_a_policy_file_with_a_field_the_api_does_not_know_is_refused(
    gcloud: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "displayName: x\ncombiner: OR\nconditions:\n- displayName: c\n  conditionThreshold:\n"
        '    filter: metric.type="x"\n    comparison: COMPARISON_GT\n    treshold: 3\n'
    )
    unexpanded = tmp_path / "unexpanded.yaml"
    unexpanded.write_text("displayName: ${FUNCTION} down\ncombiner: OR\n")
    verdicts = parse(
        [
            Command("t", ("alpha", "monitoring", "policies", "create", f"--policy-from-file={p}"))
            for p in (policy, unexpanded)
        ]
    )
    assert [v.verdict for v in verdicts] == ["file", "file"]
    assert "has no field conditions.conditionThreshold.treshold" in verdicts[0].detail
    assert "still holds a shell variable" in verdicts[1].detail


def test_a_gcloud_command_outside_a_bash_block_is_reported(gcloud: str, tmp_path: Path) -> None:
    guide = _step0() + "\n```\ngcloud pubsub topics create x\n```\n"
    capture = capture_all(tmp_path, docs={"deployment-guide.md": guide}, only_docs=True)
    assert [p for p in capture.problems if "not marked bash" in p]


def test_shell_that_bash_cannot_parse_is_reported(gcloud: str, tmp_path: Path) -> None:
    guide = _step0() + '\n```bash\ngcloud pubsub topics create "x\n```\n'
    capture = capture_all(tmp_path, docs={"deployment-guide.md": guide}, only_docs=True)
    assert [p for p in capture.problems if "bash cannot parse" in p]
