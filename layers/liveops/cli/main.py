"""The `liveops` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from liveops.cli import apps, demo, dev, discord_cmds, export, jobs, liveops_cmds, storage, thresholds, tokens
from liveops.cli.connect import ConnectError, connect


def run_openapi(args: argparse.Namespace) -> int:
    from liveops.api.openapi import document_json

    text = document_json()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveops", description="liveops: live-ops telemetry backend")
    parser.add_argument("--state-dir", default=".liveops", help="local stack state folder (default .liveops)")
    parser.add_argument(
        "--stack", default=None, help="a deployed CloudFormation stack instead of the local one"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    dev.add_parser(sub)
    apps.add_parsers(sub)
    tokens.add_parsers(sub)
    demo.add_parser(sub)
    jobs.add_parser(sub)
    export.add_parser(sub)
    storage.add_parser(sub)
    liveops_cmds.add_parsers(sub)
    thresholds.add_parsers(sub)
    discord_cmds.add_parsers(sub)
    openapi = sub.add_parser("openapi", help="print or write the OpenAPI document")
    openapi.add_argument("-o", "--output")
    openapi.set_defaults(run=run_openapi, needs_connection=lambda a: False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    needs_connection = getattr(args, "needs_connection", lambda a: True)(args)
    try:
        if needs_connection:
            connect(Path(args.state_dir), args.stack)
        return int(args.run(args))
    except ConnectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:
        print(f"error: AWS call failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
