"""The scheduled jobs, by name. Each is a Lambda handler (its schedule is in template.yaml) and
`liveops jobs run NAME [--app A]`; both go through `liveops.wiring.job(name)`.

A job runner is called as `runner(app_id or None for every app, options)` and returns a report
`{"job": name, "apps": {app_id: {"status": "ok" | "failed" | "skipped", ...}}, ...}`.
Options every runner accepts (and may ignore): `engine` (rollups), `dry_run` (list, change nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# name -> one line for `liveops jobs run --help`
JOBS: dict[str, str] = {
    "rollup": "hourly rollups of the hours that received events (every 15 min)",
    "rollup-daily": "daily tables: rollups, KPIs, spans, funnels, experiments (02:00 UTC)",
    "retention": "delete what is older than each category's retention; cleanup report (03:00 UTC)",
    "alerts": "evaluate thresholds, open/update/resolve incidents, deliver notifications (every 5 min)",
    "publish": "static HTML dashboard, its data and a dated archive snapshot per app (02:30 UTC)",
    "weekly-report": "each app's weekly report to its Discord channel at its configured day and hour",
}

JobRunner = Callable[[str | None, dict[str, Any]], dict[str, Any]]


class JobError(Exception):
    """A job cannot run as asked (unknown job, app or option)."""


def failed(report: dict[str, Any]) -> bool:
    """Whether any app of a job report failed."""
    return any(r.get("status") == "failed" for r in report.get("apps", {}).values())
