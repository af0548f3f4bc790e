"""The weekly-report job against moto (apps, job state, incidents) and a FakeDiscord: posted once
per app and week at the configured day and hour, a missing or wrong channel skipped with a warning
(Discord's 404 / 403 and its JSON error codes, e.g. 400/50008 for a non-text channel), nothing
posted twice."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveops import wiring
from liveops.discord.rest import DiscordRest, Response
from liveops.jobs import JobError
from liveops.jobs.weekly_report import WeeklyReportJob
from liveops.local.fake_discord import FakeDiscord
from liveops.services.apps import apply_config, parse_config_file

ROOT = Path(__file__).resolve().parents[2]
ASH = parse_config_file(ROOT / "examples" / "apps" / "ash-bot.yaml")
CHANNEL = ASH.discord.report_channel_id
MONDAY_9 = datetime(2026, 11, 30, 9, 0, 5, tzinfo=UTC)


@pytest.fixture
def fake(fake_discord: FakeDiscord) -> FakeDiscord:
    """The fake Discord, and Ash-Bot's config applied."""
    apply_config(wiring.apps_store(), ASH)
    return fake_discord


def job_at(now: datetime) -> WeeklyReportJob:
    return WeeklyReportJob(
        wiring.apps_store(),
        wiring.discord_report_data,
        wiring.discord_rest,
        wiring.job_state(),
        clock=lambda: now,
    )


def posts(fake: FakeDiscord) -> list[Any]:
    """The messages posted to the report channel (accepted by Discord)."""
    return [
        c.json
        for c in fake.calls
        if c.method == "POST" and c.path.endswith(f"/channels/{CHANNEL}/messages") and c.status == 200
    ]


def test_posted_once_at_the_configured_hour_and_not_again(fake: FakeDiscord) -> None:
    report = job_at(MONDAY_9).run("ash-bot", {})
    result = report["apps"]["ash-bot"]
    assert result["status"] == "ok" and result["channel_id"] == CHANNEL
    assert result["from"] == "2026-11-23T09:00:00+00:00" and result["to"] == "2026-11-30T09:00:00+00:00"
    (posted,) = posts(fake)
    assert posted["allowed_mentions"] == {"parse": []}
    assert posted["embeds"][0]["title"] == "Weekly report · Ash-Bot crisis response"
    assert "A quiet week: no events and no incidents." in posted["embeds"][0]["description"]
    assert fake.message(result["message_id"]) is not None
    # a retry in the same hour, or a later run of the catch-up day, posts nothing
    for later in (MONDAY_9 + timedelta(minutes=30), MONDAY_9 + timedelta(hours=5)):
        again = job_at(later).run("ash-bot", {})["apps"]["ash-bot"]
        assert again["status"] == "skipped" and "already posted" in again["reason"]
    assert len(posts(fake)) == 1
    # next week posts again
    assert job_at(MONDAY_9 + timedelta(days=7)).run("ash-bot", {})["apps"]["ash-bot"]["status"] == "ok"
    assert len(posts(fake)) == 2


def test_a_missed_hour_is_made_up_within_a_day_and_not_later(fake: FakeDiscord) -> None:
    late = job_at(MONDAY_9 + timedelta(days=1, hours=1)).run("ash-bot", {})["apps"]["ash-bot"]
    assert late["status"] == "skipped" and "not due" in late["reason"]
    assert job_at(MONDAY_9 + timedelta(hours=6)).run("ash-bot", {})["apps"]["ash-bot"]["status"] == "ok"
    assert len(posts(fake)) == 1


def test_an_incident_week_shows_the_figures(fake: FakeDiscord) -> None:
    incidents = wiring.incident_service()
    incident = incidents.open_job_incident("ash-bot", "publish", "publish failed")
    incidents.acknowledge("ash-bot", incident.incident_id, by="discord:123456789012345678")
    fake.clear_calls()  # the alert message
    after = datetime.now(UTC) + timedelta(seconds=2)
    result = job_at(after).run("ash-bot", {"force": True})["apps"]["ash-bot"]
    assert result["status"] == "ok"
    (posted,) = posts(fake)
    text = "\n".join(e.get("description", "") for e in posted["embeds"])
    assert "Incidents: warning 0, critical 1" in text
    assert "1. <@123456789012345678>: 1 acknowledged, 0 resolved" in text
    assert posted["allowed_mentions"] == {"parse": []}
    # forced runs record nothing: the scheduled post still happens
    assert wiring.job_state().watermark("weekly-report", "ash-bot") is None


def test_a_missing_or_forbidden_channel_is_skipped_and_dry_run_posts_nothing(fake: FakeDiscord) -> None:
    for status in (404, 403):
        fake.fail_next(1, status=status, message="Unknown Channel")
        result = job_at(MONDAY_9).run("ash-bot", {})["apps"]["ash-bot"]
        assert result["status"] == "skipped" and "missing or not accessible" in result["reason"]
        assert wiring.job_state().watermark("weekly-report", "ash-bot") is None
    dry = job_at(MONDAY_9).run("ash-bot", {"dry_run": True})["apps"]["ash-bot"]
    assert dry["status"] == "ok" and dry["dry_run"] and dry["would_post"] and dry["message"]["embeds"]
    # outside the posting window a dry run still previews the report, and says why it would wait
    preview = job_at(MONDAY_9 + timedelta(days=3)).run("ash-bot", {"dry_run": True})["apps"]["ash-bot"]
    assert preview["would_post"] is False and "not due" in preview["reason"] and preview["message"]["embeds"]
    assert posts(fake) == [] and wiring.job_state().watermark("weekly-report", "ash-bot") is None


def test_apps_without_a_weekly_report_are_skipped_and_unknown_apps_refused(fake: FakeDiscord) -> None:
    runner = wiring.job("weekly-report")
    with pytest.raises(JobError):
        runner("nope", {})
    config = ASH.model_copy(
        update={"app_id": "quiet-app", "discord": ASH.discord.model_copy(update={"weekly_report": None})}
    )
    apply_config(wiring.apps_store(), config)
    report = runner(None, {})
    assert report["job"] == "weekly-report"
    assert report["apps"]["quiet-app"] == {
        "status": "skipped",
        "reason": "no discord.weekly_report / report_channel_id configured",
    }


def _curated(table_name: str, day: datetime, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    from liveops.rollups.schema import TABLES

    schema = TABLES[table_name]
    full = [{name: row.get(name) for name in schema.names} for row in rows]
    wiring.curated_lake().write(table_name, "ash-bot", day.date(), pa.Table.from_pylist(full, schema=schema))


def test_a_week_with_figures_from_the_curated_tables(fake: FakeDiscord) -> None:
    day = datetime(2026, 11, 25, tzinfo=UTC)
    base = {"dim_name": "*", "dim_value": "*", "users": 40}
    _curated(
        "rollup_daily",
        day,
        [
            {"ts": day, "kind": "events", "name": "*", "n": 300, **base},
            {"ts": day, "kind": "events", "name": "session_started", "n": 20, **base},
            {
                **base,
                "ts": day,
                "kind": "events",
                "name": "session_started",
                "n": 15,
                "dim_name": "session_mode",
                "dim_value": "manual",
            },
            {
                **base,
                "ts": day,
                "kind": "events",
                "name": "alert_created",
                "n": 12,
                "dim_name": "severity",
                "dim_value": "high",
            },
            {"ts": day, "kind": "kpi", "name": "opt_out_rate", "n": 20, "num": 5.0, **base},
            {"ts": day, "kind": "events", "name": "alert_created", "n": 12, **base},
            {
                **base,
                "ts": day,
                "kind": "events",
                "name": "alert_acknowledged",
                "n": 7,
                "dim_name": "responder",
                "dim_value": "crt_4f2a9c1d0b7e",
            },
        ],
    )
    _curated(
        "rollup_hourly",
        day,
        [
            {"ts": day + timedelta(hours=13), "kind": "events", "name": "*", "n": 100, **base},
            {"ts": day + timedelta(hours=20), "kind": "events", "name": "*", "n": 200, **base},
            # Ash-Bot's alerts: busiest at 13:00, while most events came at 20:00
            {"ts": day + timedelta(hours=13), "kind": "events", "name": "alert_created", "n": 8, **base},
            {"ts": day + timedelta(hours=20), "kind": "events", "name": "alert_created", "n": 4, **base},
            {
                **base,
                "ts": day + timedelta(hours=20),
                "kind": "events",
                "name": "alert_created",
                "n": 4,
                "dim_name": "severity",
                "dim_value": "high",
            },
        ],
    )
    _curated(
        "span_daily",
        day,
        [
            {
                "ts": day,
                "span": "time_to_acknowledge",
                "dim_name": "*",
                "dim_value": "*",
                "n": 12,
                "avg": 150_000.0,
                "min": 1.0,
                "max": 9.0,
                "p50": 2.0,
                "p95": 8.0,
                "p99": 9.0,
                "users": 40,
            }
        ],
    )
    result = job_at(MONDAY_9).run("ash-bot", {})["apps"]["ash-bot"]
    assert result["status"] == "ok", result
    (posted,) = posts(fake)
    text = "\n".join(e.get("description", "") for e in posted["embeds"])
    assert "300 events" in text and "Alerts: high 12" in text
    assert "time to acknowledge: 2m 30s" in text
    assert "session_started: 20 (manual 15)" in text
    # busiest times count Ash-Bot's alerts, as its layout asks ("Peak Day: Wednesday (4 alerts)")
    assert "Day: Wednesday 2026-11-25 (12 alerts)" in text and "Hour: 13:00-13:59 (8 alerts" in text
    assert "1. `crt_4f2a9c1d0b7e`: 7 acknowledged, 0 resolved" in text
    # the same curated rows through /telemetry_report's figures
    figures = wiring.discord_report_data().telemetry(ASH, ["overview", "kpis", "spans"], MONDAY_9)
    assert figures["overview"]["totals"]["events"] == 300
    assert {k["kpi"]: k["value"] for k in figures["kpis"]}["opt_out_rate"] == 0.25
    assert figures["spans"][0]["name"] == "time_to_acknowledge" and figures["spans"][0]["avg"] == 150_000.0


class Refusing:
    """A Discord transport that refuses every request with `status` and a Discord JSON error code."""

    def __init__(self, status: int, code: int, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        self.calls = 0

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        self.calls += 1
        payload = json.dumps({"message": self.message, "code": self.code}).encode()
        return Response(self.status, {"content-type": "application/json"}, payload)


def refusing_job(transport: Refusing) -> WeeklyReportJob:
    rest = DiscordRest(
        base_url="http://127.0.0.1:9/api/v10", token="t", transport=transport, sleep=lambda s: None
    )
    return WeeklyReportJob(
        wiring.apps_store(),
        wiring.discord_report_data,
        lambda: rest,
        wiring.job_state(),
        clock=lambda: MONDAY_9,
    )


@pytest.mark.parametrize(
    ("status", "code", "message", "why"),
    [
        (400, 50008, "Cannot send messages in a non-text channel", "not a text channel"),
        (400, 40058, "Cannot send a message in a forum channel", "a forum channel"),
        (403, 50013, "Missing Permissions", "missing permissions"),
        (403, 50001, "Missing Access", "missing access"),
        (404, 10003, "Unknown Channel", "unknown channel"),
        (403, 0, "Forbidden", "missing or not accessible"),
        (404, 0, "Not Found", "missing or not accessible"),
    ],
)
def test_a_wrong_channel_is_skipped_with_a_warning(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture, status: int, code: int, message: str, why: str
) -> None:
    transport = Refusing(status, code, message)
    with caplog.at_level(logging.WARNING, logger="liveops"):
        report = refusing_job(transport).run(None, {})
    result = report["apps"]["ash-bot"]
    assert result["status"] == "skipped" and f"({why})" in result["reason"] and CHANNEL in result["reason"]
    assert transport.calls == 1  # refused at once, not retried
    warnings = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "weekly report channel" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # nothing recorded: once the channel is fixed, the next run of the catch-up day posts
    assert wiring.job_state().watermark("weekly-report", "ash-bot") is None
    assert job_at(MONDAY_9 + timedelta(hours=1)).run("ash-bot", {})["apps"]["ash-bot"]["status"] == "ok"


@pytest.mark.parametrize(("status", "code"), [(400, 50035), (401, 0), (500, 0)])
def test_other_discord_refusals_still_fail_the_app(fake: FakeDiscord, status: int, code: int) -> None:
    result = refusing_job(Refusing(status, code, "nope")).run(None, {})["apps"]["ash-bot"]
    assert result["status"] == "failed" and f"Discord answered {status}" in result["error"]
    assert wiring.job_state().watermark("weekly-report", "ash-bot") is None


def test_a_busy_week_of_few_users_is_reported_not_called_quiet(fake: FakeDiscord) -> None:
    # 500 events from 3 users: the app-wide total is shown; per-group figures are left out, and say so
    day = datetime(2026, 11, 25, tzinfo=UTC)
    few = {"dim_name": "*", "dim_value": "*", "users": 3}
    _curated(
        "rollup_daily",
        day,
        [
            {"ts": day, "kind": "events", "name": "*", "n": 500, **few},
            {"ts": day, "kind": "events", "name": "session_started", "n": 40, **few},
            {
                **few,
                "ts": day,
                "kind": "events",
                "name": "alert_created",
                "n": 9,
                "dim_name": "severity",
                "dim_value": "low",
            },
        ],
    )
    _curated(
        "rollup_hourly",
        day,
        [{"ts": day + timedelta(hours=5), "kind": "events", "name": "*", "n": 500, **few}],
    )
    result = job_at(MONDAY_9).run("ash-bot", {})["apps"]["ash-bot"]
    assert result["status"] == "ok", result
    (posted,) = posts(fake)
    text = "\n".join(e.get("description", "") for e in posted["embeds"])
    assert "quiet week" not in text and "· 500 events" in posted["embeds"][0]["description"]
    assert "session_started: hidden (fewer than 10 users)" in text
    assert "Left out: 1 severity with fewer than 10 users." in text
