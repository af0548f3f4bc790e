"""The weekly report: figures of one week from the curated rows and the incident statistics, and
the Discord message that shows them (pure: rows in, message payload out).

Sections (the app config's `discord.weekly_report.sections`, in that order):
- alerts_by_severity: liveops incidents opened this week by severity; for apps that declare a
  `severity` dimension, also their span start events (e.g. Ash-Bot's alert_created) by severity;
- response_times: the week's average of each span of the app (e.g. time to acknowledge / contact /
  first response) and the incidents' mean time to acknowledge and resolve;
- sessions: session start events (`session_start`, `session_started`) and, with a `session_mode`
  dimension, their split (Ash-Bot: manual / auto / opted out);
- busiest: the day and the hour of day (UTC) with the most events;
- top_responders: who acknowledged and resolved incidents; Discord users as `<@id>` mentions, which
  the message's `allowed_mentions: {"parse": []}` keeps from pinging;
- kpis, measures: the week's KPI values and measure averages; incidents: counts by status.
A week without events or incidents says so. Groups behind fewer than `kanon_min` users are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from liveops.discord.limits import fit_message
from liveops.models.app_config import WEEKDAYS, AppConfig

TOTAL = "*"  # the rollups' "every value" marker (liveops.rollups.schema.TOTAL, without pyarrow)
SESSION_EVENTS = ("session_start", "session_started")
SESSION_MODE_DIMENSION = "session_mode"
SEVERITY_DIMENSION = "severity"
COLOR = 0x5865F2
TOP_RESPONDERS = 5
SECTION_TITLES = {
    "alerts_by_severity": "Alerts by severity",
    "response_times": "Response times (average)",
    "sessions": "Sessions started",
    "busiest": "Busiest times (UTC)",
    "top_responders": "Top responders",
    "kpis": "KPIs",
    "measures": "Measures (average)",
    "incidents": "Incidents",
}

Row = Mapping[str, Any]


@dataclass(frozen=True)
class WeekData:
    """What the report reads for [start, end): rollup-shaped daily rows (kind, name, dim_name,
    dim_value, n, num, users), hourly event totals (ts, n), span_daily rows (span, dim_name, n,
    avg, users) and IncidentService.stats of the incidents opened in the week."""

    start: datetime
    end: datetime
    daily: Sequence[Row] = ()
    hourly_totals: Sequence[tuple[datetime, int]] = ()
    spans: Sequence[Row] = ()
    incident_stats: Mapping[str, Any] = field(default_factory=dict)


def week_window(now: datetime) -> tuple[datetime, datetime]:
    """The seven days up to `now` (a report asked for by hand)."""
    end = now.astimezone(UTC)
    return end - timedelta(days=7), end


def week_key(now: datetime) -> int:
    """The ISO week of `now` as one number (2026-W49 -> 202649): a report is posted once per key."""
    year, week, _ = now.astimezone(UTC).isocalendar()
    return year * 100 + week


def is_due(config: AppConfig, now: datetime) -> bool:
    """Whether `now` falls in the app's configured posting hour (day and hour, UTC)."""
    spec = config.discord.weekly_report
    if spec is None:
        return False
    moment = now.astimezone(UTC)
    return WEEKDAYS[moment.weekday()] == spec.day and moment.hour == spec.hour


# --- figures -----------------------------------------------------------------------------------


def _total_rows(rows: Iterable[Row], kind: str, name: str | None = None, dim: str = TOTAL) -> list[Row]:
    return [
        r for r in rows if r["kind"] == kind and r["dim_name"] == dim and (name is None or r["name"] == name)
    ]


def _sum_by(rows: Iterable[Row], key: str, kanon_min: int) -> dict[str, int]:
    counts: Counter[str] = Counter()
    users: dict[str, int] = {}
    for row in rows:
        counts[row[key]] += int(row["n"])
        users[row[key]] = max(users.get(row[key], 0), int(row.get("users") or 0))
    return {k: v for k, v in counts.items() if users[k] >= kanon_min}


def _average(rows: Iterable[Row], kanon_min: int) -> float | None:
    """The n-weighted average of rows carrying `num` (sum) or `avg`."""
    n = 0
    total = 0.0
    users = 0
    for row in rows:
        count = int(row["n"] or 0)
        if not count:
            continue
        value = row.get("num")
        total += float(value) if value is not None else float(row["avg"]) * count
        n += count
        users = max(users, int(row.get("users") or 0))
    return total / n if n and users >= kanon_min else None


def figures(config: AppConfig, data: WeekData, kanon_min: int) -> dict[str, Any]:
    """Every section's figures (computed whether or not the config shows the section)."""
    daily = list(data.daily)
    stats = data.incident_stats
    events = _sum_by(_total_rows(daily, "events"), "name", kanon_min)
    total_events = events.get(TOTAL, 0)

    span_starts = sorted({spec.start for spec in config.spans.values()})
    telemetry_severity: dict[str, int] = {}
    if any(d.name == SEVERITY_DIMENSION for d in config.dimension_specs()):
        rows = [r for r in daily if r["kind"] == "events" and r["name"] in span_starts]
        telemetry_severity = _sum_by(
            _total_rows(rows, "events", None, SEVERITY_DIMENSION), "dim_value", kanon_min
        )

    spans = {
        name: _average([r for r in data.spans if r["span"] == name and r["dim_name"] == TOTAL], kanon_min)
        for name in config.spans
    }

    sessions: dict[str, Any] = {}
    for event in SESSION_EVENTS:
        if event in config.events:
            count = events.get(event, 0)
            split = _sum_by(
                _total_rows(daily, "events", event, SESSION_MODE_DIMENSION), "dim_value", kanon_min
            )
            sessions[event] = {"total": count, "by_mode": split}

    by_day: Counter[str] = Counter()
    by_hour: Counter[int] = Counter()
    for ts, n in data.hourly_totals:
        moment = ts.astimezone(UTC)
        by_day[moment.date().isoformat()] += int(n)
        by_hour[moment.hour] += int(n)

    kpis: dict[str, float | None] = {}
    for name in config.kpis:
        rows = _total_rows(daily, "kpi", name)
        denominator = sum(int(r["n"]) for r in rows)
        value = _average(rows, kanon_min) if denominator else None
        kpis[name] = value

    measures: dict[str, float | None] = {
        name: _average(_total_rows(daily, "measure", name), kanon_min)
        for name, spec in config.measures.items()
        if "avg" in spec.aggs or "sum" in spec.aggs
    }
    return {
        "events": total_events,
        "incidents_total": int(stats.get("total") or 0),
        "alerts_by_severity": {
            "incidents": dict(stats.get("by_severity") or {}),
            "telemetry": telemetry_severity,
        },
        "response_times": {
            "spans_ms": spans,
            "incident_acknowledge_seconds": (stats.get("time_to_acknowledge_seconds") or {}).get("mean"),
            "incident_resolve_seconds": (stats.get("time_to_resolve_seconds") or {}).get("mean"),
        },
        "sessions": sessions,
        "busiest": {
            "day": max(sorted(by_day.items()), key=lambda kv: kv[1]) if by_day else None,
            "hour": max(sorted(by_hour.items()), key=lambda kv: kv[1]) if by_hour else None,
        },
        "top_responders": list(stats.get("responders") or [])[:TOP_RESPONDERS],
        "kpis": kpis,
        "measures": measures,
        "incidents": {"by_status": dict(stats.get("by_status") or {}), "total": int(stats.get("total") or 0)},
    }


# --- the message -------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """A readable duration ("3m 05s", "2h 10m", "1d 4h"); "-" when unknown."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def number(value: float | int | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"


def mention(actor: str) -> str:
    """A Discord actor as a mention (never pings: allowed_mentions parses nothing), others as text."""
    if actor.startswith("discord:") and actor.removeprefix("discord:").isdigit():
        return f"<@{actor.removeprefix('discord:')}>"
    return f"`{actor.replace('`', '')}`"


def _lines(section: str, f: Mapping[str, Any]) -> list[str]:
    if section == "alerts_by_severity":
        alerts = f["alerts_by_severity"]
        lines = [f"Incidents: {', '.join(f'{k} {v}' for k, v in alerts['incidents'].items()) or 'none'}"]
        if alerts["telemetry"]:
            counts = ", ".join(f"{k} {number(v)}" for k, v in sorted(alerts["telemetry"].items()))
            lines.append(f"Alerts: {counts}")
        return lines
    if section == "response_times":
        times = f["response_times"]
        lines = [
            f"{name.replace('_', ' ')}: {duration(None if ms is None else ms / 1000)}"
            for name, ms in times["spans_ms"].items()
        ]
        lines.append(f"Incidents, time to acknowledge: {duration(times['incident_acknowledge_seconds'])}")
        lines.append(f"Incidents, time to resolve: {duration(times['incident_resolve_seconds'])}")
        return lines
    if section == "sessions":
        if not f["sessions"]:
            return ["This app reports no session events."]
        lines = []
        for event, counts in f["sessions"].items():
            split = ", ".join(
                f"{mode.replace('_', ' ')} {number(n)}" for mode, n in sorted(counts["by_mode"].items())
            )
            lines.append(f"{event}: {number(counts['total'])}" + (f" ({split})" if split else ""))
        return lines
    if section == "busiest":
        day, hour = f["busiest"]["day"], f["busiest"]["hour"]
        if day is None:
            return ["No events."]
        weekday = WEEKDAYS[datetime.fromisoformat(day[0]).weekday()].capitalize()
        return [
            f"Day: {weekday} {day[0]} ({number(day[1])} events)",
            f"Hour: {hour[0]:02d}:00-{hour[0]:02d}:59 ({number(hour[1])} events over the week)",
        ]
    if section == "top_responders":
        responders = f["top_responders"]
        if not responders:
            return ["Nobody acknowledged or resolved an incident."]
        return [
            f"{i}. {mention(r['actor'])}: {r.get('acknowledged', 0)} acknowledged, "
            f"{r.get('resolved', 0)} resolved"
            for i, r in enumerate(responders, start=1)
        ]
    if section == "kpis":
        return [f"{k}: {number(v)}" for k, v in f["kpis"].items()] or ["This app has no KPIs."]
    if section == "measures":
        return [f"{k}: {number(v)}" for k, v in f["measures"].items()] or ["This app has no measures."]
    if section == "incidents":
        status = f["incidents"]["by_status"]
        return [f"Opened: {f['incidents']['total']}"] + [f"{k}: {v}" for k, v in status.items()]
    raise ValueError(f"unknown weekly report section {section!r}")


def render(config: AppConfig, sections: Sequence[str], data: WeekData, kanon_min: int) -> dict[str, Any]:
    """The weekly report message (within Discord's limits; nothing in it pings)."""
    f = figures(config, data, kanon_min)
    span = f"{data.start:%Y-%m-%d %H:%M} to {data.end:%Y-%m-%d %H:%M} UTC"
    title = f"Weekly report · {config.name}"
    if f["events"] == 0 and f["incidents_total"] == 0:
        embeds = [
            {
                "title": title,
                "description": f"{span}\nA quiet week: no events and no incidents.",
                "color": COLOR,
            }
        ]
    else:
        embeds = [{"title": title, "description": f"{span} · {number(f['events'])} events", "color": COLOR}]
        for section in sections:
            embeds.append(
                {
                    "title": SECTION_TITLES[section],
                    "description": "\n".join(_lines(section, f)),
                    "color": COLOR,
                }
            )
    return fit_message({"embeds": embeds, "allowed_mentions": {"parse": []}})
