"""`liveops apps ...` and `liveops keys ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from liveops import wiring
from liveops.cli.output import emit, fail
from liveops.errors import LiveopsError
from liveops.models.app_config import AppConfigError
from liveops.services.apps import apply_config, create_key, parse_config_file, parse_config_text


def add_parsers(sub: argparse._SubParsersAction) -> None:
    apps = sub.add_parser("apps", help="apply and inspect app configs").add_subparsers(
        dest="action", required=True
    )
    apply = apps.add_parser("apply", help="validate and apply an app config (YAML)")
    apply.add_argument("-f", "--file", required=True, help="config file, or - for stdin")
    apply.add_argument("--check", action="store_true", help="validate only; change nothing")
    apply.add_argument("--json", action="store_true")
    apply.set_defaults(run=run_apply, needs_connection=lambda a: not a.check)
    listing = apps.add_parser("list", help="list applied apps")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)
    show = apps.add_parser("show", help="print an app's applied config as JSON")
    show.add_argument("app_id")
    show.set_defaults(run=run_show)

    keys = sub.add_parser("keys", help="client API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a client key (printed once, stored hashed)")
    create.add_argument("--app", required=True)
    create.add_argument("--json", action="store_true")
    create.set_defaults(run=run_key_create)
    klist = keys.add_parser("list", help="list an app's keys (ids only)")
    klist.add_argument("--app", required=True)
    klist.add_argument("--json", action="store_true")
    klist.set_defaults(run=run_key_list)
    revoke = keys.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("--app", required=True)
    revoke.add_argument("key_id")
    revoke.set_defaults(run=run_key_revoke)


def run_apply(args: argparse.Namespace) -> int:
    try:
        config = (
            parse_config_text(sys.stdin.read()) if args.file == "-" else parse_config_file(Path(args.file))
        )
    except AppConfigError as exc:
        print(
            f"error: {args.file}: the config was refused ({len(exc.problems)} problems); nothing was applied",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    if args.check:
        emit(args.json, {"app_id": config.app_id, "valid": True}, f"{config.app_id}: valid")
        return 0
    applied = apply_config(wiring.apps_store(), config)
    verb = "created" if applied.created else "updated"
    emit(
        args.json,
        {"app_id": applied.app_id, "version": applied.version, "created": applied.created},
        f"{applied.app_id}: {verb} (config version {applied.version})",
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    apps = wiring.apps_store().list_apps()
    emit(
        args.json,
        {"apps": [{"app_id": a, "version": v} for a, v in apps]},
        "\n".join(f"{a}\tversion {v}" for a, v in apps) or "no apps yet",
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    found = wiring.apps_store().get_config(args.app_id)
    if found is None:
        return fail(f"no app {args.app_id!r}")
    print(found[0].model_dump_json(indent=2, by_alias=True, exclude_none=True))
    return 0


def run_key_create(args: argparse.Namespace) -> int:
    try:
        key = create_key(wiring.apps_store(), args.app)
    except LiveopsError as exc:
        return fail(exc.message)
    emit(
        args.json,
        {"app_id": key.app_id, "key_id": key.key_id, "api_key": key.api_key},
        f"key {key.key_id} for {key.app_id} (shown once; store it now):\n{key.api_key}",
    )
    return 0


def run_key_list(args: argparse.Namespace) -> int:
    keys = wiring.apps_store().list_keys(args.app)
    rows = [{"key_id": k.key_id, "created_at": k.created_at, "revoked_at": k.revoked_at} for k in keys]
    lines = [
        f"{k.key_id}\t{k.created_at}\t{(k.revoked_at and 'revoked ' + k.revoked_at) or 'active'}"
        for k in keys
    ]
    emit(args.json, {"app_id": args.app, "keys": rows}, "\n".join(lines) or f"{args.app} has no keys")
    return 0


def run_key_revoke(args: argparse.Namespace) -> int:
    if not wiring.apps_store().revoke_key(args.app, args.key_id):
        return fail(f"{args.app} has no key {args.key_id!r}")
    print(f"revoked {args.key_id} (running functions stop accepting it within their config cache time)")
    return 0
