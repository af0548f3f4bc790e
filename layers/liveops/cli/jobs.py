"""`liveops jobs run NAME [--app A] [--engine E]`: run a job by hand, with progress."""

from __future__ import annotations

import argparse
import json
import sys

from liveops import wiring
from liveops.cli.output import fail
from liveops.rollups import ENGINES, JOBS


def add_parser(sub: argparse._SubParsersAction) -> None:
    jobs = sub.add_parser("jobs", help="run scheduled jobs by hand").add_subparsers(
        dest="action", required=True
    )
    run = jobs.add_parser("run", help="run one job now against the target deployment")
    run.add_argument("name", choices=JOBS)
    run.add_argument("--app", default=None, help="only this app (default: every app)")
    run.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="rollup engine (default: the app config's rollup_engine)",
    )
    run.set_defaults(run=run_job)


def run_job(args: argparse.Namespace) -> int:
    from liveops.rollups.jobs import JobError  # pyarrow loads only for job runs

    jobs = wiring.rollup_jobs(progress=lambda message: print(message, file=sys.stderr, flush=True))
    try:
        report = jobs.run(args.name, args.app, args.engine)
    except JobError as exc:
        return fail(str(exc))
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0 if all(r.get("status") != "failed" for r in report["apps"].values()) else 1
