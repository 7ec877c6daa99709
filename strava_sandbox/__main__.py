"""Command line: python -m strava_sandbox --host 127.0.0.1 --port PORT ..."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from types import FrameType

from werkzeug.serving import make_server

from strava_sandbox.app import create_app
from strava_sandbox.sandbox import Config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m strava_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--athletes", type=int, default=2)
    parser.add_argument("--activities", type=int, default=60, help="per athlete")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--anchor", type=int, default=None, help="clock start, epoch seconds (default: now)"
    )
    parser.add_argument("--webhook-retry-delay", type=float, default=0.5)
    parser.add_argument(
        "--stream-points", type=int, default=None, help="every stream this long (default ≤1000)"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.WARNING)
    config = Config(
        seed=args.seed,
        athletes=args.athletes,
        activities=args.activities,
        anchor=int(time.time()) if args.anchor is None else args.anchor,
        retry_delay=args.webhook_retry_delay,
        stream_points=args.stream_points,
    )
    app = create_app(config)
    server = make_server(args.host, args.port, app, threaded=True)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.extensions["sandbox"].deliverer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
