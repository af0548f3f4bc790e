"""`liveops export`: JSON/CSV artifacts of an app's figures for CI (see liveops.exporters)."""

from __future__ import annotations

import argparse
import json
import sys

from liveops.cli.output import fail

EPILOG = """\
exit status: 0 every artifact written; 1 some writer failed (the others still ran) or the figures
could not be collected (an AWS error: no artifact written); 2 a malformed argument (nothing
written, the error on stderr), or an unknown app or a refused range/size (no artifact written).
Except for a malformed argument, the summary JSON is always printed on stdout, with every failure
in "failures", and --ci-metadata / --github-output are always written.
artifacts: <app>_<from>_<to>.json (every table) and <app>_<from>_<to>_<table>.csv (one per table);
with --s3 also uploaded under <prefix>/app_id=<app>/dt=<export day>/<export id>/ (in the lake
bucket's exports/ prefix, the retention job deletes them after retention.exports_days).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser(
        "export",
        help="write an app's figures over a range as JSON/CSV artifacts (for CI)",
        description="Prints a summary JSON on stdout: artifacts (paths, sizes, sha256, timings), failures.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("--app", required=True, help="the app id")
    export.add_argument(
        "--from",
        dest="start",
        required=True,
        help="start, ISO 8601 date or date-time (UTC without an offset)",
    )
    export.add_argument("--to", dest="end", required=True, help="end, exclusive, ISO 8601")
    export.add_argument("--format", default="json,csv", help="json, csv or json,csv (default)")
    export.add_argument("--out", required=True, help="directory for the files (created if missing)")
    export.add_argument(
        "--s3", default=None, metavar="s3://BUCKET/PREFIX", help="also upload every artifact here"
    )
    export.add_argument(
        "--ci-metadata", default=None, metavar="FILE", help="write a JSON a CI upload step can read"
    )
    export.add_argument(
        "--github-output", default=None, metavar="FILE", help='append step outputs (pass "$GITHUB_OUTPUT")'
    )
    export.set_defaults(run=run_export_command)


def run_export_command(args: argparse.Namespace) -> int:
    from liveops import wiring
    from liveops.exporters.artifacts import ExportError
    from liveops.exporters.run import ExportRequest, run_export
    from liveops.services.figures import collect_figures

    settings = wiring.get_settings()
    try:
        request = ExportRequest.parse(
            app=args.app,
            start=args.start,
            end=args.end,
            formats=args.format,
            out=args.out,
            max_range_days=settings.metrics_max_range_days,
            s3=args.s3,
            ci_metadata=args.ci_metadata,
            github_output=args.github_output,
        )
        summary, status = run_export(
            request,
            collect=lambda app, start, end: collect_figures(app, start, end),
            max_rows=settings.export_max_rows,
            s3=wiring.export_s3,
        )
    except ExportError as exc:
        return fail(str(exc), 2)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    for failure in summary["failures"]:
        if failure["writer"] in ("collect", "artifacts"):  # no artifact at all: say why on stderr too
            print(f"error: {failure['message']}", file=sys.stderr)
    return status
