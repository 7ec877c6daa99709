"""The runtime as every ``nunis-ingest`` command gets it (log level from ``--verbose``)."""

from __future__ import annotations

import logging

import click

from nunis_ingest.errors import ConfigError
from nunis_ingest.runtime import Runtime, get_runtime


def cli_runtime() -> Runtime:
    rt = get_runtime()
    # Failures end as one line each; the log (retries, progress) shows with --verbose.
    verbose = bool(click.get_current_context().find_root().params.get("verbose"))
    logging.getLogger().setLevel(logging.INFO if verbose else logging.ERROR)
    if rt.settings.backend == "local":
        data_dir = rt.settings.data_dir
        if data_dir.exists() and not data_dir.is_dir():
            raise ConfigError(
                f"NUNIS_DATA_DIR {data_dir} is a file, not a folder.",
                action="point NUNIS_DATA_DIR at a folder (it is created when missing).",
            )
    return rt
