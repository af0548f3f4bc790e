"""`liveops thresholds list | put -f FILE | delete ID --app A`: an app's alert thresholds.

`put` reads YAML or JSON: one threshold (the app config's shape, with its `id`) or a list of them;
each is validated against the app like the admin API does, and nothing is stored unless all are
valid. Stored thresholds override the app config's of the same id (see liveops.services.thresholds).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from liveops import wiring
from liveops.cli.output import emit, fail
from liveops.errors import LiveopsError
from liveops.services.thresholds import validate_threshold


def add_parsers(sub: argparse._SubParsersAction) -> None:
    thresholds = sub.add_parser(
        "thresholds", help="alert thresholds (overrides of the app config's)"
    ).add_subparsers(dest="action", required=True)
    listing = thresholds.add_parser("list", help="the thresholds an app is evaluated against")
    listing.add_argument("--app", required=True)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)
    put = thresholds.add_parser("put", help="create or replace thresholds from a YAML/JSON file")
    put.add_argument("--app", required=True)
    put.add_argument("-f", "--file", required=True, help="one threshold or a list of thresholds")
    put.add_argument("--json", action="store_true")
    put.set_defaults(run=run_put)
    delete = thresholds.add_parser(
        "delete", help="delete a stored threshold (the config default applies again)"
    )
    delete.add_argument("--app", required=True)
    delete.add_argument("threshold_id")
    delete.add_argument("--json", action="store_true")
    delete.set_defaults(run=run_delete)


def _problem(exc: LiveopsError) -> str:
    details = [
        f"  {d.get('path') or '<threshold>'}: {d.get('message')}" for d in exc.details if isinstance(d, dict)
    ]
    return "\n".join([exc.message, *details])


def _line(threshold: dict[str, Any]) -> str:
    scope = ",".join(f"{k}={v}" for k, v in sorted(threshold.get("where", {}).items())) or "*"
    state = "" if threshold.get("enabled", True) else "\t(disabled)"
    return (
        f"{threshold['id']}\t{threshold['metric']} {threshold['op']} {threshold['value']:g}\t"
        f"for {threshold['for_minutes']}m\t{threshold['severity']}\t{scope}\t{threshold['source']}{state}"
    )


def run_list(args: argparse.Namespace) -> int:
    try:
        found = [t.to_json() for t in wiring.threshold_service().effective(args.app)]
    except LiveopsError as exc:
        return fail(_problem(exc))
    emit(
        args.json,
        {"app_id": args.app, "thresholds": found},
        "\n".join(_line(t) for t in found) or f"{args.app} has no thresholds",
    )
    return 0


def run_put(args: argparse.Namespace) -> int:
    try:
        document = yaml.safe_load(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return fail(f"cannot read {args.file}: {exc}")
    entries = document if isinstance(document, list) else [document]
    service = wiring.threshold_service()
    try:
        config = service.config(args.app)
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                return fail(f"{args.file}: entry {index} needs an `id` (and the threshold's fields)")
            validate_threshold(config, entry["id"], entry)  # every entry valid before any is stored
        stored = [service.put(args.app, entry["id"], entry).to_json() for entry in entries]
    except LiveopsError as exc:
        return fail(f"{args.file}: {_problem(exc)}; nothing was stored")
    emit(args.json, {"app_id": args.app, "thresholds": stored}, "\n".join(_line(t) for t in stored))
    return 0


def run_delete(args: argparse.Namespace) -> int:
    try:
        restored = wiring.threshold_service().delete(args.app, args.threshold_id)
    except LiveopsError as exc:
        return fail(_problem(exc))
    effective = restored.to_json() if restored else None
    text = f"deleted {args.threshold_id}" + (" (the app config's default applies again)" if restored else "")
    emit(args.json, {"deleted": args.threshold_id, "effective": effective}, text)
    return 0
