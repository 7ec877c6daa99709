"""``nunis-ingest import PATH [--athlete ID]``: load a Strava bulk export, no Strava API."""

from __future__ import annotations

import click
from rich.progress import Progress

from nunis_ingest.bulk_export.importer import Importer
from nunis_ingest.bulk_export.source import open_source
from nunis_ingest.runtime import get_runtime


@click.command("import")
@click.argument("path")
@click.option("--athlete", "athlete_id", type=int, default=None, help="Strava athlete id.")
def import_export(path: str, athlete_id: int | None) -> None:
    """Import a Strava bulk export (zip, unzipped folder, or gs:// object on gcp)."""
    rt = get_runtime()
    if athlete_id is None:
        raise click.UsageError("--athlete ID is needed (the export does not name the athlete)")
    client = None
    if path.startswith("gs://"):
        from google.cloud import storage

        client = storage.Client(project=rt.settings.project)
    with open_source(path, client) as source, Progress(transient=True) as progress:
        task = progress.add_task("files", total=None)
        importer = Importer(
            rt.warehouse, rt.store, athlete_id, on_file=lambda: progress.advance(task)
        )
        report = importer.run(source)
    click.echo(
        f"imported {report.activities} activities ({report.language} CSV): "
        f"{report.inserted} written, {report.unchanged} unchanged, "
        f"{report.kept_api} already loaded (kept); {report.files} files, "
        f"{report.laps} laps, {report.points} stream points"
    )
    for name, reason in report.problems:
        click.echo(f"skipped {name}: {reason}", err=True)
