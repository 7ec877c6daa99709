"""Nunis Ingest: Strava activities into an analytics warehouse."""

__version__ = "0.1.0"
