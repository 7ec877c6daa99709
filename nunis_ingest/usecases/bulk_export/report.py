"""What one import did, and how the CLI says it (one summary, one line per problem)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nunis_ingest.usecases.bulk_export.limits import MAX_PROBLEMS_SHOWN


@dataclass
class ImportReport:
    kind: str = "strava"
    """``strava`` (a Strava export, ``activities.csv``) or ``files`` (other platforms)."""
    language: str = ""
    rows: int = 0
    """``activities.csv`` rows, or activity files found (``files``)."""
    activities: int = 0
    """Rows or files read into an activity."""
    inserted: int = 0
    unchanged: int = 0
    """Activities already in the warehouse, left as they were (the API's row wins)."""
    quarantined: int = 0
    files: int = 0
    """Activity files read (for their laps and streams)."""
    laps: int = 0
    points: int = 0
    skipped: int = 0
    """Files with no recording in them (FIT monitoring or settings files, routes, a GPX
    or TCX without a point)."""
    duplicates: int = 0
    """File activities not loaded because Strava's copy (or the same file) is there."""
    replaced_files: int = 0
    """File activities removed because Strava's copy of them was loaded."""
    dropped_positions: int = 0
    """Track points of the files read whose position was impossible (off the globe, not a
    number, or one half missing): stored without one (``track.Track.add``)."""
    dropped_elevations: int = 0
    """Track points whose elevation was not finite or outside the plausible range."""
    sources: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, name: str, reason: str) -> None:
        """One file or row that could not be read: listed (up to a bound), always counted."""
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append((name[:300], " ".join(reason.split())[:400]))

    def warn_count(self, text: str) -> None:
        """A warning that counts its occurrences ("3 files over ...")."""
        self.counted[text] = self.counted.get(text, 0) + 1

    def all_warnings(self) -> list[str]:
        return self.warnings + [f"{n} {text}" for text, n in self.counted.items()]

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def summary(self) -> str:
        what = (
            f"{self.rows} rows of activities.csv ({self.language})"
            if self.kind == "strava"
            else f"{self.rows} activity files ({', '.join(sorted(self.sources)) or 'none'})"
        )
        parts = [
            f"{self.inserted} activities written",
            f"{self.unchanged} already loaded (kept as they were)",
        ]
        if self.duplicates:
            parts.append(f"{self.duplicates} also on Strava or twice in the export (not loaded)")
        if self.replaced_files:
            parts.append(f"{self.replaced_files} file copies replaced by Strava's")
        if self.skipped:
            parts.append(f"{self.skipped} files with no recording in them skipped")
        if self.quarantined:
            parts.append(f"{self.quarantined} set aside in quarantine")
        parts.append(f"{self.files} files read: {self.laps} laps, {self.points} stream points")
        if self.dropped_positions or self.dropped_elevations:
            parts.append(
                f"{self.dropped_positions} impossible positions and {self.dropped_elevations} "
                "impossible elevations dropped (the points kept without them)"
            )
        unread = f"; {self.problem_count} could not be read" if self.problem_count else ""
        return f"imported {what}: " + ", ".join(parts) + unread
