"""The weekly report's figures and message (pure), on Ash-Bot's example config and layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from liveops.discord.limits import message_problems
from liveops.domain.weekly_report import WeekData, figures, is_due, render, week_key, week_window
from liveops.jobs.weekly_report import last_scheduled
from liveops.services.apps import parse_config_file

ROOT = Path(__file__).resolve().parents[2]
ASH = parse_config_file(ROOT / "examples" / "apps" / "ash-bot.yaml")
END = datetime(2026, 11, 30, 9, tzinfo=UTC)  # a Monday, Ash-Bot's posting hour
START = END - timedelta(days=7)


def row(
    kind: str, name: str, n: int, *, dim: str = "*", value: str = "*", num: float | None = None
) -> dict[str, Any]:
    return {"kind": kind, "name": name, "dim_name": dim, "dim_value": value, "n": n, "num": num, "users": 50}


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
    return WeekData(START, END, daily, hourly, spans, stats)


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
    assert f["alerts_by_severity"] == {
        "incidents": {"warning": 2, "critical": 1},
        "telemetry": {"high": 30, "critical": 10},
    }
    spans = f["response_times"]["spans_ms"]
    assert spans["time_to_acknowledge"] == 75_000.0  # n-weighted: (30*90 + 10*30) / 40 seconds
    assert spans["time_to_contact"] == 300_000.0 and spans["time_to_first_response"] is None
    assert f["response_times"]["incident_acknowledge_seconds"] == 125.0
    assert f["sessions"] == {
        "session_started": {"total": 25, "by_mode": {"manual": 12, "auto": 9, "opted_out": 4}}
    }
    # 03:00 ties 14:00: the earlier hour wins
    assert f["busiest"] == {"day": ("2026-11-25", 220), "hour": (3, 190)}
    assert f["kpis"]["opt_out_rate"] == 4 / 25
    assert f["measures"]["ash_session_ms"] == 60_000


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
    assert "Day: Wednesday 2026-11-25 (220 events)" in text
    assert "1. <@123456789012345678>: 2 acknowledged, 1 resolved" in text and "`token:abc`" in text


def test_an_empty_week_says_so() -> None:
    payload = render(ASH, ["alerts_by_severity", "busiest"], WeekData(START, END), kanon_min=10)
    assert len(payload["embeds"]) == 1
    assert "A quiet week: no events and no incidents." in payload["embeds"][0]["description"]


def test_small_groups_are_left_out() -> None:
    week = ash_week()
    thin = WeekData(
        week.start,
        week.end,
        [dict(r, users=3) for r in week.daily],
        week.hourly_totals,
        week.spans,
        week.incident_stats,
    )
    f = figures(ASH, thin, kanon_min=10)
    assert f["alerts_by_severity"]["telemetry"] == {} and f["sessions"]["session_started"]["by_mode"] == {}


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
    daily = [*week.daily, *[row("events", "alert_created", 5, dim="severity", value=n) for n in names]]
    payload = render(
        ASH,
        list(ASH.discord.weekly_report.sections),
        WeekData(START, END, daily, week.hourly_totals, week.spans, stats),
        1,
    )  # type: ignore[union-attr]
    assert message_problems(payload) == []
