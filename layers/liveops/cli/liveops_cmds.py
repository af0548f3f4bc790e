"""`liveops events ...` (live events and seasons) and `liveops experiments report ID`."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from liveops import wiring
from liveops.cli.output import emit, fail
from liveops.models.liveops import LiveEventIn, utc_text
from liveops.settings import get_settings


def add_parsers(sub: argparse._SubParsersAction) -> None:
    events = sub.add_parser("events", help="live events and seasons").add_subparsers(
        dest="action", required=True
    )
    create = events.add_parser("create", help="create or replace a live event or season")
    create.add_argument("--app", required=True)
    create.add_argument("--id", required=True, dest="event_id")
    create.add_argument("--type", choices=("event", "season"), default="event")
    create.add_argument("--start", required=True, help="ISO 8601 with offset, e.g. 2026-12-01T00:00:00Z")
    create.add_argument("--end", required=True, help="ISO 8601 with offset (exclusive)")
    create.add_argument("--content-version", default="*")
    create.add_argument("--rules", default="{}", help="rules as a JSON object")
    create.add_argument("--json", action="store_true")
    create.set_defaults(run=run_create)
    listing = events.add_parser("list", help="list an app's live events")
    listing.add_argument("--app", required=True)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)
    end = events.add_parser("end", help="end a live event now")
    end.add_argument("--app", required=True)
    end.add_argument("event_id")
    end.set_defaults(run=run_end)

    experiments = sub.add_parser("experiments", help="experiment readouts").add_subparsers(
        dest="action", required=True
    )
    report = experiments.add_parser("report", help="an experiment's readout (lift, CI, p-values, SRM)")
    report.add_argument("experiment_id")
    report.add_argument("--app", required=True)
    report.add_argument("--days", type=int, default=30, help="how many days back (default 30)")
    report.add_argument("--format", choices=("json", "csv"), default="json")
    report.set_defaults(run=run_report)


def _known_app(app_id: str) -> bool:
    return wiring.apps_store().get_config(app_id) is not None


def run_create(args: argparse.Namespace) -> int:
    if not _known_app(args.app):
        return fail(f"no app {args.app!r}")
    try:
        rules = json.loads(args.rules)
        event = LiveEventIn(
            type=args.type,
            start_at=args.start,
            end_at=args.end,
            content_version=args.content_version,
            rules=rules,
        )
    except (ValueError, ValidationError) as exc:
        return fail(f"invalid live event: {exc}")
    doc = event.document()
    record = wiring.liveops_store().put_event(args.app, args.event_id, doc)
    emit(args.json, record, f"{args.event_id}: {event.type} from {doc['start_at']} to {doc['end_at']}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    events = sorted(wiring.liveops_store().list_events(args.app), key=lambda e: e["start_at"])
    lines = [
        f"{e['id']}\t{e['type']}\t{e['start_at']}\t{e['end_at']}\t{e['content_version']}" for e in events
    ]
    emit(
        args.json,
        {"app_id": args.app, "events": events},
        "\n".join(lines) or f"{args.app} has no live events",
    )
    return 0


def run_end(args: argparse.Namespace) -> int:
    store = wiring.liveops_store()
    found = next((e for e in store.list_events(args.app) if e["id"] == args.event_id), None)
    if found is None:
        return fail(f"{args.app} has no live event {args.event_id!r}")
    now = datetime.now(UTC)
    if datetime.fromisoformat(found["end_at"]) <= now:
        return fail(f"{args.event_id} already ended at {found['end_at']}")
    doc = {k: found[k] for k in ("type", "start_at", "content_version", "rules")}
    doc["end_at"] = utc_text(max(now, datetime.fromisoformat(found["start_at"])))
    store.put_event(args.app, args.event_id, doc)
    print(f"{args.event_id} ended at {doc['end_at']}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from liveops.domain import metrics as domain
    from liveops.domain.readout import readout_csv
    from liveops.services.readouts import experiment_readout

    found = wiring.apps_store().get_config(args.app)
    if found is None:
        return fail(f"no app {args.app!r}")
    config = found[0]
    definition = wiring.liveops_store().get_experiment(args.app, args.experiment_id)
    if definition is None:
        return fail(f"{args.app} has no experiment {args.experiment_id!r}")
    end = datetime.now(UTC)
    window = domain.Window.parse(end - timedelta(days=args.days), end, 10_000)
    first, last = window.days()
    rows = wiring.curated_lake().read("experiment_daily", args.app, first, last)
    kanon = get_settings().metrics_kanon_min
    metrics, suppressed = domain.experiment(
        rows, args.experiment_id, config.experiments.metrics, window, kanon
    )
    result = experiment_readout(config, definition, metrics)
    if args.format == "csv":
        print(readout_csv(result), end="")
    else:
        print(
            json.dumps(
                {
                    "app_id": args.app,
                    "experiment": args.experiment_id,
                    "status": definition["status"],
                    "from": first.isoformat(),
                    "to": last.isoformat(),
                    "suppressed_variants": suppressed,
                    "readout": result,
                },
                indent=2,
            )
        )
    return 0
