"""The weekly report: figures of one week from the curated rows and the incident statistics, and
the Discord message that shows them (pure: rows in, message payload out).

Sections (the app config's `discord.weekly_report.sections`, in that order):
- alerts_by_severity: liveops incidents opened this week by severity; for apps with their own alerts
  (`alert_events`: the span start events of an app that declares a `severity` dimension, e.g.
  Ash-Bot's alert_created), also those alerts by severity;
- response_times: the week's average of each span of the app (e.g. time to acknowledge / contact /
  first response) and the incidents' mean time to acknowledge and resolve;
- sessions: session start events (`session_start`, `session_started`) and, with a `session_mode`
  dimension, their split (Ash-Bot: manual / auto / opted out);
- busiest: the day and the hour of day (UTC) with the most of the app's own alerts (Ash-Bot's
  layout: "Peak Day: Wednesday (4 alerts)"), or with the most events for apps without alerts;
- top_responders: with a `responder` dimension (Ash-Bot's `payload.responder_id`), the app's own
  responders by acknowledgements (events named `*acknowledged`), resolutions (`*resolved`) and
  other actions; and who acknowledged and resolved liveops incidents. Discord user ids are shown as
  `<@id>` mentions, which the message's `allowed_mentions: {"parse": []}` keeps from pinging;
- kpis, measures: the week's KPI values and measure averages; incidents: counts by status.

A week is "quiet" only when it had no events at all and no incidents: the app-wide event total is
shown whatever the number of users (it is no small group). Per-group figures (an event type, a
dimension value, a KPI, a span) behind fewer than `kanon_min` users are left out, and the section
says so.
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
RESPONDER_DIMENSION = "responder"
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
    avg, users), IncidentService.stats of the incidents opened in the week, and the hourly counts
    (ts, n) of the app's own alert events (`alert_events`), summed over those events."""

    start: datetime
    end: datetime
    daily: Sequence[Row] = ()
    hourly_totals: Sequence[tuple[datetime, int]] = ()
    spans: Sequence[Row] = ()
    incident_stats: Mapping[str, Any] = field(default_factory=dict)
    hourly_alerts: Sequence[tuple[datetime, int]] = ()


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


def has_dimension(config: AppConfig, name: str) -> bool:
    return any(d.name == name for d in config.dimension_specs())


def alert_events(config: AppConfig) -> list[str]:
    """The app's own alert events, which the report counts as alerts: the start events of its spans
    when the app declares a `severity` dimension (Ash-Bot: alert_created); none otherwise."""
    if not has_dimension(config, SEVERITY_DIMENSION):
        return []
    return sorted({spec.start for spec in config.spans.values()})


# --- figures -----------------------------------------------------------------------------------


def _total_rows(rows: Iterable[Row], kind: str, name: str | None = None, dim: str = TOTAL) -> list[Row]:
    return [
        r for r in rows if r["kind"] == kind and r["dim_name"] == dim and (name is None or r["name"] == name)
    ]


def _sum_by(rows: Iterable[Row], key: str, kanon_min: int) -> tuple[dict[str, int], int]:
    """Counts per `key` over the rows, and how many groups were left out for having fewer than
    `kanon_min` users (the busiest day's users: a lower bound of the week's)."""
    counts: Counter[str] = Counter()
    users: dict[str, int] = {}
    for row in rows:
        counts[row[key]] += int(row["n"])
        users[row[key]] = max(users.get(row[key], 0), int(row.get("users") or 0))
    kept = {k: v for k, v in counts.items() if users[k] >= kanon_min}
    return kept, len(counts) - len(kept)


def _average(rows: Iterable[Row], kanon_min: int) -> tuple[float | None, bool]:
    """The n-weighted average of rows carrying `num` (sum) or `avg`, and whether it was left out
    for having fewer than `kanon_min` users (then None)."""
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
    if not n:
        return None, False
    if users < kanon_min:
        return None, True
    return total / n, False


def _busiest(series: Iterable[tuple[datetime, int]]) -> tuple[Any, Any]:
    by_day: Counter[str] = Counter()
    by_hour: Counter[int] = Counter()
    for ts, n in series:
        moment = ts.astimezone(UTC)
        by_day[moment.date().isoformat()] += int(n)
        by_hour[moment.hour] += int(n)
    by_day = Counter({k: v for k, v in by_day.items() if v})
    by_hour = Counter({k: v for k, v in by_hour.items() if v})
    day = max(sorted(by_day.items()), key=lambda kv: kv[1]) if by_day else None
    hour = max(sorted(by_hour.items()), key=lambda kv: kv[1]) if by_hour else None
    return day, hour


def _responder_kind(event: str) -> str:
    if event.endswith("acknowledged"):
        return "acknowledged"
    if event.endswith("resolved"):
        return "resolved"
    return "other"


def _app_responders(daily: Sequence[Row], kanon_min: int) -> tuple[list[dict[str, Any]], int]:
    """The app's own responders (its `responder` dimension): per responder, acknowledgements,
    resolutions and other actions, busiest first; and how many were left out (fewer than
    `kanon_min` users behind their events)."""
    counts: dict[str, Counter[str]] = {}
    users: dict[str, int] = {}
    for row in daily:
        if row["kind"] != "events" or row["dim_name"] != RESPONDER_DIMENSION or not row["dim_value"]:
            continue
        responder = str(row["dim_value"])
        users[responder] = max(users.get(responder, 0), int(row.get("users") or 0))
        tally = counts.setdefault(responder, Counter())
        if row["name"] != TOTAL:  # the all-events row only bounds the users
            tally[_responder_kind(str(row["name"]))] += int(row["n"])
    kept: list[dict[str, Any]] = []
    left_out = 0
    for responder, tally in counts.items():
        if not tally.total():
            continue
        if users[responder] < kanon_min:
            left_out += 1
            continue
        kept.append(
            {"responder": responder, **{kind: tally[kind] for kind in ("acknowledged", "resolved", "other")}}
        )
    kept.sort(
        key=lambda r: (-int(r["acknowledged"]), -int(r["resolved"]), -int(r["other"]), str(r["responder"]))
    )
    return kept[:TOP_RESPONDERS], left_out


def figures(config: AppConfig, data: WeekData, kanon_min: int) -> dict[str, Any]:
    """Every section's figures (computed whether or not the config shows the section)."""
    daily = list(data.daily)
    stats = data.incident_stats
    # the app-wide total is no small group: counted whatever the number of users
    total_events = sum(int(r["n"] or 0) for r in _total_rows(daily, "events", TOTAL))
    any_events = total_events > 0 or any(int(n) for _, n in data.hourly_totals)
    events, _ = _sum_by(_total_rows(daily, "events"), "name", kanon_min)

    alerts = alert_events(config)
    telemetry_severity: dict[str, int] = {}
    severity_left_out = 0
    if alerts:
        rows = [r for r in daily if r["kind"] == "events" and r["name"] in alerts]
        telemetry_severity, severity_left_out = _sum_by(
            _total_rows(rows, "events", None, SEVERITY_DIMENSION), "dim_value", kanon_min
        )

    spans: dict[str, float | None] = {}
    spans_hidden: list[str] = []
    for name in config.spans:
        value, hidden = _average(
            [r for r in data.spans if r["span"] == name and r["dim_name"] == TOTAL], kanon_min
        )
        spans[name] = value
        if hidden:
            spans_hidden.append(name)

    sessions: dict[str, Any] = {}
    for event in SESSION_EVENTS:
        if event in config.events:
            counted, total_left_out = _sum_by(_total_rows(daily, "events", event), "name", kanon_min)
            split, modes_left_out = _sum_by(
                _total_rows(daily, "events", event, SESSION_MODE_DIMENSION), "dim_value", kanon_min
            )
            sessions[event] = {
                "total": None if total_left_out else counted.get(event, 0),
                "by_mode": split,
                "modes_left_out": modes_left_out,
            }

    # busiest: the app's own alerts where it has them (Ash-Bot's layout), else every event
    unit, series, busiest_note = "events", data.hourly_totals, None
    if alerts:
        alert_rows = [r for r in _total_rows(daily, "events") if r["name"] in alerts]
        alert_users = max((int(r.get("users") or 0) for r in alert_rows), default=0)
        alert_count = sum(int(r["n"] or 0) for r in alert_rows) or sum(int(n) for _, n in data.hourly_alerts)
        if alert_count and alert_users < kanon_min:
            busiest_note = f"Alerts came from fewer than {kanon_min} users: counted over all events."
        else:
            unit, series = "alerts", data.hourly_alerts
    day, hour = _busiest(series)

    kpis: dict[str, float | None] = {}
    kpis_hidden: list[str] = []
    for name in config.kpis:
        value, hidden = _average(_total_rows(daily, "kpi", name), kanon_min)
        kpis[name] = value
        if hidden:
            kpis_hidden.append(name)

    measures: dict[str, float | None] = {}
    measures_hidden: list[str] = []
    for name, spec in config.measures.items():
        if "avg" in spec.aggs or "sum" in spec.aggs:
            value, hidden = _average(_total_rows(daily, "measure", name), kanon_min)
            measures[name] = value
            if hidden:
                measures_hidden.append(name)

    app_responders: list[dict[str, Any]] | None = None
    responders_left_out = 0
    if has_dimension(config, RESPONDER_DIMENSION):
        app_responders, responders_left_out = _app_responders(daily, kanon_min)

    return {
        "kanon_min": kanon_min,
        "events": total_events,
        "any_events": any_events,
        "events_by_type": events,
        "incidents_total": int(stats.get("total") or 0),
        "alerts_by_severity": {
            "incidents": dict(stats.get("by_severity") or {}),
            "telemetry": telemetry_severity,
            "has_alerts": bool(alerts),
            "left_out": severity_left_out,
        },
        "response_times": {
            "spans_ms": spans,
            "hidden": spans_hidden,
            "incident_acknowledge_seconds": (stats.get("time_to_acknowledge_seconds") or {}).get("mean"),
            "incident_resolve_seconds": (stats.get("time_to_resolve_seconds") or {}).get("mean"),
        },
        "sessions": sessions,
        "busiest": {"unit": unit, "day": day, "hour": hour, "note": busiest_note},
        "top_responders": list(stats.get("responders") or [])[:TOP_RESPONDERS],
        "app_responders": app_responders,
        "app_responders_left_out": responders_left_out,
        "kpis": kpis,
        "kpis_hidden": kpis_hidden,
        "measures": measures,
        "measures_hidden": measures_hidden,
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


def responder_name(value: str) -> str:
    """An app's own responder id: a Discord user id (a snowflake) as a non-pinging mention, any
    other id (Ash-Bot sends pseudonyms) as text."""
    if value.isascii() and value.isdigit() and 15 <= len(value) <= 21:
        return f"<@{value}>"
    return f"`{value.replace('`', '')[:64]}`"


def _left_out(count: int, singular: str, plural: str, kanon_min: int) -> str:
    what = singular if count == 1 else plural
    return f"Left out: {count} {what} with fewer than {kanon_min} users."


def _hidden(kanon_min: int) -> str:
    return f"hidden (fewer than {kanon_min} users)"


def _lines(section: str, f: Mapping[str, Any]) -> list[str]:
    k = int(f["kanon_min"])
    if section == "alerts_by_severity":
        alerts = f["alerts_by_severity"]
        lines = [f"Incidents: {', '.join(f'{k} {v}' for k, v in alerts['incidents'].items()) or 'none'}"]
        if alerts["telemetry"]:
            counts = ", ".join(f"{k} {number(v)}" for k, v in sorted(alerts["telemetry"].items()))
            lines.append(f"Alerts: {counts}")
        elif alerts["has_alerts"] and not alerts["left_out"]:
            lines.append("Alerts: none")
        if alerts["left_out"]:
            lines.append(_left_out(alerts["left_out"], "severity", "severities", k))
        return lines
    if section == "response_times":
        times = f["response_times"]
        lines = [
            f"{name.replace('_', ' ')}: "
            + (_hidden(k) if name in times["hidden"] else duration(None if ms is None else ms / 1000))
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
            total = _hidden(k) if counts["total"] is None else number(counts["total"])
            lines.append(f"{event}: {total}" + (f" ({split})" if split else ""))
            if counts["modes_left_out"]:
                lines.append(_left_out(counts["modes_left_out"], "session mode", "session modes", k))
        return lines
    if section == "busiest":
        busiest = f["busiest"]
        day, hour, unit = busiest["day"], busiest["hour"], busiest["unit"]
        lines = [busiest["note"]] if busiest["note"] else []
        if day is None:
            return [*lines, f"No {unit}."]
        weekday = WEEKDAYS[datetime.fromisoformat(day[0]).weekday()].capitalize()
        return [
            *lines,
            f"Day: {weekday} {day[0]} ({number(day[1])} {unit})",
            f"Hour: {hour[0]:02d}:00-{hour[0]:02d}:59 ({number(hour[1])} {unit} over the week)",
        ]
    if section == "top_responders":
        incidents = [
            f"{i}. {mention(r['actor'])}: {r.get('acknowledged', 0)} acknowledged, "
            f"{r.get('resolved', 0)} resolved"
            for i, r in enumerate(f["top_responders"], start=1)
        ] or ["Nobody acknowledged or resolved an incident."]
        own = f["app_responders"]
        if own is None:  # no `responder` dimension: liveops incidents only
            return incidents
        lines = ["**Alerts** (the app's responders)"]
        for i, r in enumerate(own, start=1):
            other = f", {number(r['other'])} other actions" if r["other"] else ""
            lines.append(
                f"{i}. {responder_name(r['responder'])}: {number(r['acknowledged'])} acknowledged, "
                f"{number(r['resolved'])} resolved{other}"
            )
        if not own and not f["app_responders_left_out"]:
            lines.append("No responder actions.")
        if f["app_responders_left_out"]:
            lines.append(_left_out(f["app_responders_left_out"], "responder", "responders", k))
        return [*lines, "**liveops incidents**", *incidents]
    if section == "kpis":
        if not f["kpis"]:
            return ["This app has no KPIs."]
        return [f"{n}: {_hidden(k) if n in f['kpis_hidden'] else number(v)}" for n, v in f["kpis"].items()]
    if section == "measures":
        if not f["measures"]:
            return ["This app has no measures."]
        return [
            f"{n}: {_hidden(k) if n in f['measures_hidden'] else number(v)}" for n, v in f["measures"].items()
        ]
    if section == "incidents":
        status = f["incidents"]["by_status"]
        return [f"Opened: {f['incidents']['total']}"] + [f"{k}: {v}" for k, v in status.items()]
    raise ValueError(f"unknown weekly report section {section!r}")


def render(config: AppConfig, sections: Sequence[str], data: WeekData, kanon_min: int) -> dict[str, Any]:
    """The weekly report message (within Discord's limits; nothing in it pings). "A quiet week"
    only when there were no events at all and no incidents."""
    f = figures(config, data, kanon_min)
    span = f"{data.start:%Y-%m-%d %H:%M} to {data.end:%Y-%m-%d %H:%M} UTC"
    title = f"Weekly report · {config.name}"
    if not f["any_events"] and f["incidents_total"] == 0:
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
