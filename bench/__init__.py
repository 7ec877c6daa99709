"""Benchmarks: Strava requests, time, memory, cold start and warehouse writes (issue 6).

Run with ``make bench`` (or ``.venv/bin/python -m bench --help``). Not part of ``make test``.
"""
