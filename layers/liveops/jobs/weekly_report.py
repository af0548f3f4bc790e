"""The `weekly-report` job (hourly): posts each app's weekly report to its discord.report_channel_id
at its configured day and hour (UTC).

- Due: within CATCH_UP_HOURS of the app's last configured posting moment (so a failed or missed
  hourly run is made up by the next one), and that moment not posted yet. The posted moment is
  recorded as the job's watermark (hours since the epoch): a retry never posts twice. A lease keeps
  two concurrent runs from posting the same report.
- The report covers the seven days before the configured moment (domain.weekly_report).
- A missing, inaccessible or wrong channel logs a warning and skips the app (a configuration
  problem the operator fixes in the app config; the week is not recorded, so the next hourly run of
  the catch-up day posts once it is fixed): HTTP 404 / 403, or any refusal carrying one of Discord's
  JSON error codes for it (`WRONG_CHANNEL_CODES`: a post to a voice, category or forum channel is a
  400 with 50008 / 40058). Other Discord failures mark the app failed and the next run tries again.
- Options: `dry_run` (render the report and say whether this run would post it; post nothing),
  `force` (post now for the last seven days, whatever the schedule, without recording the week).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from liveops.domain.weekly_report import render, week_window
from liveops.jobs import JobError
from liveops.models.app_config import WEEKDAYS, AppConfig

logger = Logger(service="liveops")

JOB = "weekly-report"
CATCH_UP_HOURS = 24
LEASE_SECONDS = 300
MISSING_CHANNEL_STATUSES = (403, 404)
# Discord JSON error codes that mean "this channel cannot take the report", whatever the HTTP status
WRONG_CHANNEL_CODES = {
    10003: "unknown channel",
    50001: "missing access",
    50008: "not a text channel",  # "Cannot send messages in a non-text channel" (e.g. voice, category)
    50013: "missing permissions",
    40058: "a forum channel",  # "Cannot send a message in a forum channel"
}


def wrong_channel(exc: Any) -> str | None:
    """Why a Discord refusal (DiscordError) means the channel is missing or wrong; None otherwise."""
    code = getattr(exc, "code", None)
    if code in WRONG_CHANNEL_CODES:
        return WRONG_CHANNEL_CODES[code]
    if getattr(exc, "retryable", False):  # 429 / 5xx / no answer: a failure, retried next run
        return None
    if getattr(exc, "status", None) in MISSING_CHANNEL_STATUSES:
        return "missing or not accessible"
    return None


def last_scheduled(config: AppConfig, now: datetime) -> datetime | None:
    """The app's latest configured posting moment at or before `now` (None without a schedule)."""
    spec = config.discord.weekly_report
    if spec is None:
        return None
    moment = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    days_back = (moment.weekday() - WEEKDAYS.index(spec.day)) % 7
    scheduled = (moment - timedelta(days=days_back)).replace(hour=spec.hour)
    if scheduled > now:
        scheduled -= timedelta(days=7)
    return scheduled


class WeeklyReportJob:
    def __init__(
        self,
        apps: Any,  # AppsStore
        data: Callable[[], Any],  # -> ReportData
        rest: Callable[[], Any],  # -> DiscordRest
        state: Any,  # JobState: leases and watermarks
        progress: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.apps = apps
        self.data = data
        self.rest = rest
        self.state = state
        self.progress = progress or (lambda message: None)
        self.clock = clock

    def run(self, app_id: str | None, options: dict[str, Any]) -> dict[str, Any]:
        if app_id is not None and self.apps.get_config(app_id) is None:
            raise JobError(f"no app {app_id!r}")
        app_ids = [app_id] if app_id is not None else [a for a, _ in self.apps.list_apps()]
        report: dict[str, Any] = {"job": JOB, "apps": {}}
        for app in app_ids:
            try:
                report["apps"][app] = self._app(app, options)
            except Exception as exc:  # one app's failure never stops the others
                logger.exception("weekly report failed", extra={"app_id": app})
                report["apps"][app] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            self.progress(f"{JOB} {app}: {report['apps'][app]['status']}")
        return report

    def _app(self, app_id: str, options: dict[str, Any]) -> dict[str, Any]:
        found = self.apps.get_config(app_id)
        if found is None:
            return {"status": "skipped", "reason": "the app was deleted"}
        config: AppConfig = found[0]
        spec = config.discord.weekly_report
        channel = config.discord.report_channel_id
        if spec is None or channel is None:
            return {"status": "skipped", "reason": "no discord.weekly_report / report_channel_id configured"}
        now = self.clock()
        force = bool(options.get("force"))
        scheduled = last_scheduled(config, now)
        assert scheduled is not None
        week = int(scheduled.timestamp()) // 3600
        not_due = f"not due (every {spec.day} at {spec.hour:02d}:00 UTC)"
        posted = f"already posted for {scheduled:%Y-%m-%d %H:00} UTC"
        due = now - scheduled < timedelta(hours=CATCH_UP_HOURS)
        if force or not due:  # forced, or a dry run's preview outside the posting window
            start, end = week_window(now)
        else:
            start, end = scheduled - timedelta(days=7), scheduled
        if options.get("dry_run"):  # the report as it would look, and whether this run would post it
            skip = None if force else (not_due if not due else posted if self._posted(app_id, week) else None)
            data = self.data()
            payload = render(config, list(spec.sections), data.week(config, start, end), data.kanon_min)
            return {
                "status": "ok",
                "dry_run": True,
                "would_post": skip is None,
                **({"reason": skip} if skip else {}),
                "channel_id": channel,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "message": payload,
            }
        if not force and not due:
            return {"status": "skipped", "reason": not_due}
        if not force and self._posted(app_id, week):
            return {"status": "skipped", "reason": posted}
        data = self.data()
        payload = render(config, list(spec.sections), data.week(config, start, end), data.kanon_min)
        result: dict[str, Any] = {"channel_id": channel, "from": start.isoformat(), "to": end.isoformat()}
        owner = uuid.uuid4().hex
        if not self.state.acquire(JOB, app_id, owner, LEASE_SECONDS):
            return {"status": "skipped", "reason": "another weekly-report run holds this app"}
        try:
            # read again under the lease: a concurrent run may have posted meanwhile
            if not force and self._posted(app_id, week):
                return {"status": "skipped", "reason": posted}
            return self._post(app_id, channel, payload, week if not force else None, result)
        finally:
            self.state.release(JOB, app_id, owner)

    def _posted(self, app_id: str, week: int) -> bool:
        return bool(self.state.watermark(JOB, app_id) == week)

    def _post(
        self, app_id: str, channel: str, payload: dict[str, Any], week: int | None, result: dict[str, Any]
    ) -> dict[str, Any]:
        from liveops.discord.rest import DiscordError

        try:
            message = self.rest().create_message(channel, payload)
        except DiscordError as exc:
            why = wrong_channel(exc)
            if why is None:
                raise
            logger.warning(
                "weekly report channel missing or wrong; skipped",
                extra={
                    "app_id": app_id,
                    "channel_id": channel,
                    "why": why,
                    "status": exc.status,
                    "code": exc.code,
                    "error": str(exc),
                },
            )
            return {
                "status": "skipped",
                "reason": f"channel {channel} cannot take the report ({why}): "
                "check discord.report_channel_id and the bot's permissions",
                **result,
            }
        if week is not None:
            self.state.set_watermark(JOB, app_id, week)
        return {"status": "ok", "message_id": message.get("id"), **result}
