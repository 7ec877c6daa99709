"""``nunis-ingest report``: one self-contained HTML training report (and PNGs)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nunis_ingest.errors import AthleteNotConfigured, ConfigError
from nunis_ingest.runtime import get_runtime

if TYPE_CHECKING:
    from nunis_ingest.runtime import Runtime
    from nunis_ingest.usecases.reporting.build import ReportParams

QUIET_LOGGERS = ("kaleido", "choreographer", "logistro")


def _athlete(store: object, athlete_id: int | None) -> int:
    from nunis_ingest.usecases.athletes import AthleteRepo

    if athlete_id is not None:
        return athlete_id
    ids = AthleteRepo(store).list_ids()  # type: ignore[arg-type]
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise AthleteNotConfigured(
            "No athletes configured.",
            action="run `nunis-ingest auth` or `nunis-ingest athlete add`, then `sync`.",
        )
    raise click.UsageError(f"{len(ids)} athletes configured: pass --athlete ID.")


@click.command()
@click.option("--athlete", "athlete_id", type=click.IntRange(1, 2**63 - 1), default=None,
              help="Athlete id. Default: the only configured athlete.")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), show_default=True,
              default=Path("report.html"), help="HTML file to write.")  # fmt: skip
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="First day (YYYY-MM-DD). Default: a year before today.")  # fmt: skip
@click.option("--png", "png_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Also write each figure as a PNG into this folder.")  # fmt: skip
@click.option("--max-hr", type=click.IntRange(80, 250), default=None,
              envvar="NUNIS_MAX_HEARTRATE", show_envvar=True,
              help="Max heart rate for the zones. Default: the highest one recorded.")  # fmt: skip
def report(
    athlete_id: int | None,
    out: Path,
    since: datetime | None,
    png_dir: Path | None,
    max_hr: int | None,
) -> None:
    """Write a training report (weekly volume, calendar, months, runs, efforts, zones)."""
    try:
        from nunis_ingest.usecases.reporting.build import ReportParams
    except ImportError as exc:
        raise ConfigError(
            f"The report needs {exc.name}, which is not installed.",
            action="pip install nunis-ingest (and 'nunis-ingest[report]' for --png).",
        ) from None

    rt = get_runtime()
    verbose = bool(click.get_current_context().find_root().params.get("verbose"))
    logging.getLogger().setLevel(logging.INFO if verbose else logging.ERROR)
    for name in QUIET_LOGGERS:  # kaleido's browser steps are no news, even with -v
        logging.getLogger(name).setLevel(logging.WARNING)
    aid = _athlete(rt.store, athlete_id)
    params = ReportParams.last_year(aid, max_hr=max_hr)
    if since is not None:
        params = ReportParams(aid, since.date(), params.until, max_hr)
        if params.since > params.until:
            raise click.BadParameter("must not be after today", param_hint="--since")
    for path in _write(rt, params, out, png_dir):
        click.echo(str(path))


def _write(rt: Runtime, params: ReportParams, out: Path, png_dir: Path | None) -> list[Path]:
    from nunis_ingest.adapters.warehouses.report_source import open_source
    from nunis_ingest.usecases.reporting.build import write_report

    with open_source(rt.warehouse) as source:
        return write_report(source, rt.store, params, out, png_dir)


def report_for_runtime(rt: Runtime, athlete_id: int, out: Path) -> Path:
    """The report of the last year for one athlete of a ``Runtime`` (``make demo``)."""
    from nunis_ingest.usecases.reporting.build import ReportParams

    return _write(rt, ReportParams.last_year(athlete_id), out, None)[0]
