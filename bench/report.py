"""Figures: one record per measured value, a printed table, and ``bench/results.json``."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    """One figure, as written to results.json (the issue's record shape)."""

    scenario: str
    n: int
    metric: str
    value: float
    unit: str
    floor: float | None = None
    target: float | None = None
    spread: str = ""  # "min..max of k runs" when repeated; printed, not in results.json

    def holds(self) -> bool | None:
        """Whether ``value`` meets ``target`` (targets are upper bounds); None without one."""
        if self.target is None:
            return None
        return self.value <= self.target + 1e-9

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        del out["spread"]
        return out


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def spread(values: list[float], digits: int = 3) -> str:
    if len(values) < 2:
        return "1 run"
    return f"{min(values):.{digits}g}..{max(values):.{digits}g} of {len(values)}"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def table(records: list[Record]) -> str:
    header = ("scenario", "n", "metric", "value", "unit", "floor", "target", "ok", "spread")
    rows = [header]
    for r in records:
        ok = {True: "yes", False: "NO", None: ""}[r.holds()]
        rows.append(
            (
                r.scenario,
                str(r.n),
                r.metric,
                _fmt(r.value),
                r.unit,
                _fmt(r.floor),
                _fmt(r.target),
                ok,
                r.spread,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def write_json(records: list[Record], path: Path) -> None:
    path.write_text(json.dumps([r.to_json() for r in records], indent=1) + "\n")
