"""`liveops demo`: realistic traffic for an app, sent over HTTP to a running stack."""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from liveops import wiring
from liveops.cli.connect import read_state
from liveops.cli.http_client import JsonClient
from liveops.cli.output import fail


def add_parser(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="send realistic telemetry for an example app to the running stack")
    demo.add_argument("--app", required=True)
    demo.add_argument("--rate", type=float, default=50.0, help="events per second (default 50)")
    demo.add_argument("--duration", type=float, default=0.0, help="seconds to run (default: until Ctrl-C)")
    demo.add_argument("--seed", type=int, default=None)
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from liveops.demo.scenarios import make_batches

    if args.rate <= 0:
        return fail("--rate must be positive", 2)
    state = read_state(Path(args.state_dir))
    app = state.get("apps", {}).get(args.app)
    found = wiring.apps_store().get_config(args.app)
    if app is None or found is None:
        return fail(
            f"the local stack has no app {args.app!r}; known: {', '.join(sorted(state.get('apps', {})))}"
        )
    config = found[0]
    client = JsonClient(state["api_url"], {"x-api-key": app["api_key"]})
    rng = random.Random(args.seed)
    started = time.monotonic()
    sent = accepted = rejected = failures = 0
    last_report = started
    try:
        while not args.duration or time.monotonic() - started < args.duration:
            for body in make_batches(config, rng, datetime.now(UTC)):
                status, _, answer = client.request("POST", "/v1/telemetry/batch", body)
                sent += len(body["events"])
                if status == 202:
                    accepted += answer["accepted"]
                    rejected += len(answer["rejected"])
                else:
                    failures += 1
                    print(f"\n{status}: {answer}", file=sys.stderr)
            # hold the requested event rate
            ahead = sent / args.rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
            now = time.monotonic()
            if now - last_report >= 1:
                last_report = now
                print(
                    f"\r{args.app}: {sent} events sent, {accepted} accepted, {rejected} rejected, "
                    f"{failures} failed requests ({sent / (now - started):.0f} ev/s)",
                    end="",
                    flush=True,
                )
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    summary = f"{sent} events sent, {accepted} accepted, {rejected} rejected, {failures} failed requests"
    print(f"\n{args.app}: {summary}")
    return 1 if failures else 0
