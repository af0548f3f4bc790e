"""The weekly report's figures and message (pure), on Ash-Bot's example config and layout
(seeds/002: alerts by severity, response times, Ash sessions, peak day and hour of alerts, CRT
responders by acknowledgements)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from liveops.discord.limits import message_problems
from liveops.domain.weekly_report import (
    WeekData,
    alert_events,
    figures,
    is_due,
    render,
    week_key,
    week_window,
)
from liveops.jobs.weekly_report import last_scheduled
from liveops.services.apps import parse_config_file

ROOT = Path(__file__).resolve().parents[2]
ASH = parse_config_file(ROOT / "examples" / "apps" / "ash-bot.yaml")
END = datetime(2026, 11, 30, 9, tzinfo=UTC)  # a Monday, Ash-Bot's posting hour
START = END - timedelta(days=7)


def row(
    kind: str,
    name: str,
    n: int,
    *,
    dim: str = "*",
    value: str = "*",
    num: float | None = None,
    users: int = 50,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "dim_name": dim,
        "dim_value": value,
        "n": n,
        "num": num,
        "users": users,
    }


CRT_1, CRT_2, CRT_FEW = "crt_4f2a9c1d0b7e", "crt_91bd33aa0c12", "crt_0000aaaa1111"
DISCORD_RESPONDER = "806251937421623399"


def ash_week() -> WeekData:
    daily = [
        row("events", "*", 500),
        row("events", "alert_created", 40),
        row("events", "alert_created", 30, dim="severity", value="high"),
        row("events", "alert_created", 10, dim="severity", value="critical"),
        row("events", "session_started", 25),
        row("events", "session_started", 12, dim="session_mode", value="manual"),
        row("events", "session_started", 9, dim="session_mode", value="auto"),
        row("events", "session_started", 4, dim="session_mode", value="opted_out"),
        row("kpi", "opt_out_rate", 25, num=4),
        row("measure", "ash_session_ms", 20, num=20 * 60_000),
        # Ash-Bot's own responders (its `responder` dimension, from payload.responder_id)
        row("events", "alert_acknowledged", 5, dim="responder", value=CRT_1, users=12),
        row("events", "alert_resolved", 4, dim="responder", value=CRT_1, users=12),
        row("events", "responder_contacted", 3, dim="responder", value=CRT_1, users=12),
        row("events", "*", 12, dim="responder", value=CRT_1, users=12),
        row("events", "alert_acknowledged", 7, dim="responder", value=CRT_2, users=15),
        row("events", "alert_acknowledged", 2, dim="responder", value=DISCORD_RESPONDER, users=11),
        row("events", "alert_acknowledged", 9, dim="responder", value=CRT_FEW, users=4),
    ]
    spans = [
        {"span": "time_to_acknowledge", "dim_name": "*", "n": 30, "avg": 90_000.0, "users": 30},
        {"span": "time_to_acknowledge", "dim_name": "*", "n": 10, "avg": 30_000.0, "users": 30},
        {"span": "time_to_contact", "dim_name": "*", "n": 20, "avg": 300_000.0, "users": 30},
        {"span": "time_to_acknowledge", "dim_name": "severity", "n": 10, "avg": 1.0, "users": 30},
    ]
    hourly = [
        (datetime(2026, 11, 25, 14, tzinfo=UTC), 100),
        (datetime(2026, 11, 25, 15, tzinfo=UTC), 120),
        (datetime(2026, 11, 27, 14, tzinfo=UTC), 90),
        (datetime(2026, 11, 28, 3, tzinfo=UTC), 190),
    ]
    # alert_created per hour: the busiest events are not the busiest alerts
    alerts = [
        (datetime(2026, 11, 25, 14, tzinfo=UTC), 6),
        (datetime(2026, 11, 26, 22, tzinfo=UTC), 9),
        (datetime(2026, 11, 26, 23, tzinfo=UTC), 7),
        (datetime(2026, 11, 27, 22, tzinfo=UTC), 8),
        (datetime(2026, 11, 28, 3, tzinfo=UTC), 10),
    ]
    stats = {
        "total": 3,
        "by_severity": {"warning": 2, "critical": 1},
        "by_status": {"new": 1, "acknowledged": 1, "resolved": 1},
        "time_to_acknowledge_seconds": {"mean": 125.0, "median": 100.0},
        "time_to_resolve_seconds": {"mean": 7300.0, "median": 7300.0},
        "responders": [
            {"actor": "discord:123456789012345678", "acknowledged": 2, "resolved": 1},
            {"actor": "token:abc", "acknowledged": 0, "resolved": 1},
        ],
    }
    return WeekData(START, END, daily, hourly, spans, stats, alerts)


def test_ash_bot_declares_its_weekly_report_layout() -> None:
    spec = ASH.discord.weekly_report
    assert spec is not None and (spec.day, spec.hour) == ("monday", 9)
    assert spec.sections[:5] == [
        "alerts_by_severity",
        "response_times",
        "sessions",
        "busiest",
        "top_responders",
    ]


def test_figures_of_an_ash_bot_week() -> None:
    f = figures(ASH, ash_week(), kanon_min=10)
    assert f["events"] == 500
    assert f["alerts_by_severity"] == {
        "incidents": {"warning": 2, "critical": 1},
        "telemetry": {"high": 30, "critical": 10},
        "has_alerts": True,
        "left_out": 0,
    }
    spans = f["response_times"]["spans_ms"]
    assert spans["time_to_acknowledge"] == 75_000.0  # n-weighted: (30*90 + 10*30) / 40 seconds
    assert spans["time_to_contact"] == 300_000.0 and spans["time_to_first_response"] is None
    assert f["response_times"]["incident_acknowledge_seconds"] == 125.0
    assert f["sessions"] == {
        "session_started": {
            "total": 25,
            "by_mode": {"manual": 12, "auto": 9, "opted_out": 4},
            "modes_left_out": 0,
        }
    }
    # Ash-Bot's layout counts alerts (alert_created), not events; 22:00 makes 17 over the week
    assert f["busiest"] == {"unit": "alerts", "day": ("2026-11-26", 16), "hour": (22, 17), "note": None}
    assert f["kpis"]["opt_out_rate"] == 4 / 25
    assert f["measures"]["ash_session_ms"] == 60_000


def test_ash_bots_alerts_are_its_span_start_events() -> None:
    assert alert_events(ASH) == ["alert_created"]


def test_top_responders_include_ash_bots_own_acknowledgers() -> None:
    f = figures(ASH, ash_week(), kanon_min=10)
    # by acknowledgements first (Ash-Bot's "5 acknowledgments"); the all-events row only bounds users
    assert f["app_responders"] == [
        {"responder": CRT_2, "acknowledged": 7, "resolved": 0, "other": 0},
        {"responder": CRT_1, "acknowledged": 5, "resolved": 4, "other": 3},
        {"responder": DISCORD_RESPONDER, "acknowledged": 2, "resolved": 0, "other": 0},
    ]
    assert f["app_responders_left_out"] == 1  # CRT_FEW: 4 users behind its events
    payload = render(ASH, ["top_responders"], ash_week(), kanon_min=10)
    text = payload["embeds"][1]["description"]
    lines = text.splitlines()
    assert lines[:5] == [
        "**Alerts** (the app's responders)",
        f"1. `{CRT_2}`: 7 acknowledged, 0 resolved",
        f"2. `{CRT_1}`: 5 acknowledged, 4 resolved, 3 other actions",
        f"3. <@{DISCORD_RESPONDER}>: 2 acknowledged, 0 resolved",  # a Discord id: a mention
        "Left out: 1 responder with fewer than 10 users.",
    ]
    assert (
        "**liveops incidents**" in lines and "1. <@123456789012345678>: 2 acknowledged, 1 resolved" in lines
    )
    assert CRT_FEW not in text and payload["allowed_mentions"] == {"parse": []}


def test_apps_without_a_responder_dimension_list_incident_responders_only() -> None:
    config = ASH.model_copy(
        update={"dimensions": [d for d in ASH.dimensions if getattr(d, "name", d) != "responder"]}
    )
    f = figures(config, ash_week(), kanon_min=10)
    assert f["app_responders"] is None
    text = render(config, ["top_responders"], ash_week(), kanon_min=10)["embeds"][1]["description"]
    assert text.splitlines() == [
        "1. <@123456789012345678>: 2 acknowledged, 1 resolved",
        "2. `token:abc`: 0 acknowledged, 1 resolved",
    ]


def test_apps_without_alert_events_count_busiest_events() -> None:
    config = ASH.model_copy(update={"dimensions": ["platform"]})
    assert alert_events(config) == []
    f = figures(config, ash_week(), kanon_min=10)
    # 03:00 ties 14:00: the earlier hour wins
    assert f["busiest"] == {"unit": "events", "day": ("2026-11-25", 220), "hour": (3, 190), "note": None}


def test_the_message_shows_every_section_and_pings_nobody() -> None:
    payload = render(ASH, list(ASH.discord.weekly_report.sections), ash_week(), kanon_min=10)  # type: ignore[union-attr]
    assert message_problems(payload) == []
    assert payload["allowed_mentions"] == {"parse": []}
    text = "\n".join(e.get("description", "") for e in payload["embeds"])
    titles = [e["title"] for e in payload["embeds"]]
    assert titles[0] == "Weekly report · Ash-Bot crisis response"
    assert titles[1:] == [
        "Alerts by severity",
        "Response times (average)",
        "Sessions started",
        "Busiest times (UTC)",
        "Top responders",
        "Incidents",
    ]
    assert "Alerts: critical 10, high 30" in text
    assert "time to acknowledge: 1m 15s" in text and "time to contact: 5m 00s" in text
    assert "Incidents, time to resolve: 2h 01m" in text
    assert "session_started: 25 (auto 9, manual 12, opted out 4)" in text
    assert "Day: Thursday 2026-11-26 (16 alerts)" in text
    assert "Hour: 22:00-22:59 (17 alerts over the week)" in text
    assert "1. <@123456789012345678>: 2 acknowledged, 1 resolved" in text and "`token:abc`" in text
    assert "Left out" in text  # CRT_FEW


def test_an_empty_week_says_so() -> None:
    payload = render(ASH, ["alerts_by_severity", "busiest"], WeekData(START, END), kanon_min=10)
    assert len(payload["embeds"]) == 1
    assert "A quiet week: no events and no incidents." in payload["embeds"][0]["description"]


def test_a_week_of_few_users_is_not_quiet_and_says_what_was_left_out() -> None:
    # 500 events from 3 users: the app-wide total is no small group; the per-group figures are
    week = ash_week()
    thin = WeekData(
        week.start,
        week.end,
        [dict(r, users=3) for r in week.daily],
        week.hourly_totals,
        [dict(r, users=3) for r in week.spans],
        {},
        week.hourly_alerts,
    )
    f = figures(ASH, thin, kanon_min=10)
    assert f["events"] == 500
    assert f["alerts_by_severity"]["telemetry"] == {} and f["alerts_by_severity"]["left_out"] == 2
    assert f["sessions"]["session_started"] == {"total": None, "by_mode": {}, "modes_left_out": 3}
    payload = render(ASH, list(ASH.discord.weekly_report.sections), thin, kanon_min=10)  # type: ignore[union-attr]
    assert message_problems(payload) == []
    text = "\n".join(e.get("description", "") for e in payload["embeds"])
    assert "quiet week" not in text and "· 500 events" in payload["embeds"][0]["description"]
    assert len(payload["embeds"]) == 7
    assert "Left out: 2 severities with fewer than 10 users." in text
    assert "time to acknowledge: hidden (fewer than 10 users)" in text
    assert "session_started: hidden (fewer than 10 users)" in text
    assert "Left out: 3 session modes with fewer than 10 users." in text
    # alerts from 3 users: the busiest times are counted over every event instead, and say so
    assert "Alerts came from fewer than 10 users: counted over all events." in text
    assert "Day: Wednesday 2026-11-25 (220 events)" in text
    assert "Left out: 4 responders with fewer than 10 users." in text


def test_only_a_week_without_events_and_incidents_is_quiet() -> None:
    hourly_only = WeekData(START, END, hourly_totals=[(START + timedelta(hours=1), 3)])
    assert "quiet" not in render(ASH, ["busiest"], hourly_only, kanon_min=10)["embeds"][0]["description"]
    incidents_only = WeekData(START, END, incident_stats={"total": 1, "by_severity": {"critical": 1}})
    payload = render(ASH, ["alerts_by_severity"], incidents_only, kanon_min=10)
    assert "quiet" not in payload["embeds"][0]["description"]
    assert "Incidents: critical 1" in payload["embeds"][1]["description"]


def test_schedule_helpers() -> None:
    assert is_due(ASH, END) and is_due(ASH, END + timedelta(minutes=59))
    assert not is_due(ASH, END + timedelta(hours=1)) and not is_due(ASH, END - timedelta(days=1))
    assert week_window(END) == (START, END)
    assert week_key(END) == 202649
    assert last_scheduled(ASH, END) == END
    assert last_scheduled(ASH, END - timedelta(minutes=1)) == END - timedelta(days=7)
    assert last_scheduled(ASH, END + timedelta(days=3, hours=5)) == END


@settings(max_examples=25, deadline=None)
@given(
    actors=st.lists(st.text(min_size=1, max_size=300), max_size=20),
    names=st.lists(st.text(min_size=1, max_size=200), max_size=30),
)
def test_any_week_fits_discord_limits(actors: list[str], names: list[str]) -> None:
    week = ash_week()
    stats = {
        **week.incident_stats,
        "responders": [{"actor": a, "acknowledged": 1, "resolved": 0} for a in actors],
    }
    daily = [
        *week.daily,
        *[row("events", "alert_created", 5, dim="severity", value=n) for n in names],
        *[row("events", "alert_acknowledged", 3, dim="responder", value=n) for n in names],
    ]
    payload = render(
        ASH,
        list(ASH.discord.weekly_report.sections),
        WeekData(START, END, daily, week.hourly_totals, week.spans, stats, week.hourly_alerts),
        1,
    )  # type: ignore[union-attr]
    assert message_problems(payload) == []
