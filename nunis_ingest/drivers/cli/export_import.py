"""``nunis-ingest import PATH [--athlete ID]``: load a bulk export, no Strava API needed."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress

from nunis_ingest.drivers.cli import errors as cli_errors
from nunis_ingest.errors import ExportError
from nunis_ingest.runtime import get_runtime
from nunis_ingest.usecases.bulk_export.importer import WAIT_SECONDS, run_import

EXIT_PARTIAL = 3
"""The import ran to its end, but some files or rows could not be read (each listed)."""

HELP_EPILOG = (
    "Exit codes: 0 everything loaded; 3 loaded, but some files or rows could not be read "
    "(each is listed on stderr with the reason; importing again retries them); 1 nothing "
    "was imported (the message says why and what to do); 2 usage error."
)


def _storage_client(path: str, project: str | None) -> Any:
    try:
        from google.cloud import storage

        return storage.Client(project=project)
    except Exception as error:  # no gcp extra, no credentials, no project
        raise ExportError(
            f"{path}: cannot reach Cloud Storage ({type(error).__name__}).",
            action="run on the gcp backend (NUNIS_BACKEND=gcp, NUNIS_PROJECT) with "
            "credentials (gcloud auth application-default login), or download the zip and "
            "import the local file.",
        ) from None


@click.command("import", epilog=HELP_EPILOG)
@click.argument("path")
@click.option(
    "--athlete",
    "athlete_id",
    type=click.IntRange(1, 2**63 - 1),
    default=None,
    help="Strava athlete id. Optional for a Strava export (its profile.csv names the "
    "athlete; a different id is refused); needed for other platforms' files.",
)
@click.option(
    "--wait",
    type=click.FloatRange(0),
    default=WAIT_SECONDS,
    show_default=True,
    help="Seconds to wait for a sync of the same athlete to finish first.",
)
def import_export(path: str, athlete_id: int | None, wait: float) -> None:
    """Import a bulk export: Strava's zip (or its unzipped folder), or a folder or zip of
    FIT/GPX/TCX files from Garmin, COROS, Wahoo, Suunto or a watch; gs://bucket/x.zip on
    the gcp backend. Importing again changes nothing; an API row is never replaced."""
    rt = get_runtime()
    client = None
    if path.startswith("gs://"):
        client = _storage_client(path, rt.settings.project)
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("reading the export", total=None)

        def started(athlete: int, kind: str) -> None:
            what = "Strava export" if kind == "strava" else "activity files"
            progress.update(task, description=f"athlete {athlete}: {what}")

        report = run_import(
            path,
            rt.warehouse,
            rt.store,
            athlete_id=athlete_id,
            storage_client=client,
            on_file=lambda: progress.advance(task),
            on_start=started,
            wait=wait,
        )
    click.echo(report.summary())
    for warning in report.all_warnings():
        click.echo(f"warning: {cli_errors.one_line(warning)}", err=True)
    for name, reason in report.problems:
        click.echo(f"not read: {cli_errors.one_line(name, 300)}: {reason}", err=True)
    hidden = report.problem_count - len(report.problems)
    if hidden > 0:
        click.echo(f"... and {hidden} more not read (not listed)", err=True)
    if report.problem_count:
        sys.exit(EXIT_PARTIAL)
