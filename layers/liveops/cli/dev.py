"""`liveops dev`: run the local stack until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from liveops.local.stack import LocalStack, StackOptions


def add_parser(sub: argparse._SubParsersAction) -> None:
    dev = sub.add_parser("dev", help="run the local stack (moto, gateway, writer, scheduler, example apps)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8080, help="local API gateway port")
    dev.add_argument("--aws-port", type=int, default=5000, help="moto server port")
    dev.add_argument("--no-examples", action="store_true", help="do not apply examples/apps")
    dev.add_argument("--verbose", action="store_true", help="show the functions' INFO logs")
    dev.add_argument(
        "--no-fake-discord",
        action="store_true",
        help="do not start the local fake Discord API (DISCORD_API_BASE_URL stays the template's)",
    )
    dev.add_argument(
        "--faults",
        type=float,
        default=0.0,
        metavar="RATE",
        help="fail this share (0-1) of the functions' S3, SQS and DynamoDB calls (throttles, 5xx, timeouts)",
    )
    dev.set_defaults(run=run, needs_connection=lambda a: False)


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.faults <= 1.0:
        print("error: --faults is a share between 0 and 1", file=sys.stderr)
        return 2
    stack = LocalStack(
        StackOptions(
            host=args.host,
            port=args.port,
            aws_port=args.aws_port,
            state_dir=Path(args.state_dir),
            apply_examples=not args.no_examples,
            log_level="INFO" if args.verbose else "WARNING",
            fake_discord=not args.no_fake_discord,
            fault_rate=args.faults,
        )
    )
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        info = stack.start()
    except OSError as exc:
        stack.stop()
        print(
            f"error: cannot start the local stack: {exc} (is another stack using these ports? "
            "try --port/--aws-port/--state-dir)"
        )
        return 1
    shown = {k: v for k, v in info.items() if k not in ("environment", "pid")}
    print(json.dumps(shown, indent=2))
    print(f"\nliveops local stack is up: API {info['api_url']}, AWS {info['aws_endpoint_url']}")
    print(
        f"state written to {Path(args.state_dir) / 'dev.json'}; try: liveops demo --app "
        f"{next(iter(info['apps']), 'APP')} --rate 50"
    )
    print("Ctrl-C stops it.", flush=True)
    stopping.wait()
    print("\nstopping...", flush=True)
    stack.stop()
    print("stopped.")
    return 0
