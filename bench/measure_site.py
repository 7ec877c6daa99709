"""Copied as ``sitecustomize.py`` onto ``PYTHONPATH`` of every command the side-by-side runs.

Python imports ``sitecustomize`` at start-up, before the command's own code, so the same
file serves every tool without touching its code:

- ``BENCH_MEASURE_OUT=<file>``: at exit, write this process's CPU time (user + system,
  interpreter start-up and imports included) and peak RSS (``VmHWM``, this process's own
  high-water mark) as JSON to that file.
- ``BENCH_STRAVA_URL=<url>``: send every ``requests`` call for ``https://www.strava.com``
  to ``<url>`` instead (``strava_sandbox``), for a tool whose Strava address is fixed.

Standard library only (it runs in other tools' virtualenvs); ``requests`` is patched only
when the redirect is asked for, by the tool that imports it anyway.
"""

from __future__ import annotations

import atexit
import json
import os
from typing import Any

STRAVA = "https://www.strava.com"


def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _write(path: str) -> None:
    times = os.times()
    figures = {"cpu": times.user + times.system, "peak_rss_mb": _peak_rss_mb()}
    with open(path, "w", encoding="utf-8") as out:
        json.dump(figures, out)


def _redirect(base: str) -> None:
    import requests

    send = requests.Session.send

    def redirected(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        url = request.url or ""
        if url.startswith(STRAVA + "/"):
            request.url = base.rstrip("/") + url[len(STRAVA) :]
        return send(self, request, **kwargs)

    requests.Session.send = redirected  # type: ignore[method-assign]


if _out := os.environ.get("BENCH_MEASURE_OUT"):
    atexit.register(_write, _out)
if _url := os.environ.get("BENCH_STRAVA_URL"):
    _redirect(_url)
