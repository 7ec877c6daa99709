"""The progress bar of ``nunis-ingest sync``, and its stand-in when nothing is drawn."""

from __future__ import annotations

from typing import Any


class NoBar:
    """What ``sync`` needs of a progress bar, doing nothing: cron runs (no terminal) do not
    import rich, a fifth of an idle poll's start-up."""

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str) -> int:
        return 0

    def update(self, task: int, **fields: Any) -> None:
        return None

    def remove_task(self, task: int) -> None:
        return None


def progress_bar() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
    )
