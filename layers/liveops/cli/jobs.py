"""`liveops jobs run NAME [--app A] [--engine E] [--dry-run]`: run a job by hand, with progress."""

from __future__ import annotations

import argparse
import json
import sys

from liveops import wiring
from liveops.cli.output import fail
from liveops.jobs import JOBS, JobError, failed
from liveops.rollups import ENGINES


def add_parser(sub: argparse._SubParsersAction) -> None:
    jobs = sub.add_parser("jobs", help="run scheduled jobs by hand").add_subparsers(
        dest="action", required=True
    )
    run = jobs.add_parser(
        "run",
        help="run one job now against the target deployment",
        description="jobs: " + "; ".join(f"{name}: {what}" for name, what in JOBS.items()),
    )
    run.add_argument("name", choices=list(JOBS))
    run.add_argument("--app", default=None, help="only this app (default: every app)")
    run.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="rollup engine (default: the app config's rollup_engine)",
    )
    run.add_argument("--dry-run", action="store_true", help="report what the job would do and change nothing")
    run.set_defaults(run=run_job)


def run_job(args: argparse.Namespace) -> int:
    progress = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    try:
        runner = wiring.job(args.name, progress)
        report = runner(args.app, {"engine": args.engine, "dry_run": args.dry_run})
    except JobError as exc:
        return fail(str(exc))
    print(json.dumps(report, indent=2, sort_keys=True, default=str))
    return 1 if failed(report) else 0
