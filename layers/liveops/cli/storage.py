"""`liveops storage --app A`: bytes and objects (or items) of every retention category where it
is stored, the retention job's last cleanup report and its last dry run (what GET
/v1/metrics/storage serves)."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    storage = sub.add_parser("storage", help="storage per data category and the retention job's last reports")
    storage.add_argument("--app", required=True, help="the app id")
    storage.set_defaults(run=run_storage)


def run_storage(args: argparse.Namespace) -> int:
    from liveops import wiring
    from liveops.cli.output import fail
    from liveops.services.storage_stats import storage_summary

    backend = wiring.admin_services().metrics
    if backend.configs.get_config(args.app) is None:
        return fail(f"no app {args.app!r}")
    body, _ = storage_summary(
        args.app, backend.usage, backend.prefixes(args.app), backend.last_cleanup(args.app)
    )
    print(json.dumps(body, indent=2, sort_keys=True))
    return 0
