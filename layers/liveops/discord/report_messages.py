"""The messages the Discord worker answers with (pure: figures in, payloads out), every one within
Discord's limits (`limits.fit_message`) and pinging nobody (`allowed_mentions: {"parse": []}`).

- `/telemetry_report`: report fields split into pages of embeds (`limits.paginate_embeds`); with
  several pages, Previous / Next buttons whose custom id carries the page (`rpt:<app>:<section>:<n>`);
- `/incidents`: the open incidents, each with its Acknowledge / Resolve buttons (at most 12, as a
  message holds 25 buttons and the last row is kept for a note);
- `/experiment`: a readout summary; errors: a short notice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from liveops.discord.commands import REPORT_SECTIONS, page_custom_id
from liveops.discord.limits import fit_message, message_with_buttons, paginate_embeds, truncate
from liveops.domain.weekly_report import duration, mention, number

COLOR = 0x5865F2
NO_MENTIONS: dict[str, Any] = {"parse": []}
INCIDENTS_WITH_BUTTONS = 12  # two buttons each: 24 of the 25 a message holds
SECTION_TITLES = {
    "overview": "Overview",
    "kpis": "KPIs",
    "measures": "Measures",
    "spans": "Spans (response times)",
    "incidents": "Incidents",
}

Field = tuple[str, str]


def notice(text: str) -> dict[str, Any]:
    """A plain text answer (also used to replace a deferred response that failed)."""
    return {"content": truncate(text, 2000), "embeds": [], "components": [], "allowed_mentions": NO_MENTIONS}


def _when(moment: datetime | None) -> str:
    return f"<t:{int(moment.timestamp())}:R>" if moment is not None else "-"


def _mean_time(stats: Mapping[str, Any], key: str) -> str:
    return duration((stats.get(key) or {}).get("mean"))


def _figure_line(row: Mapping[str, Any], unit_ms: bool) -> str:
    def show(value: Any) -> str:
        if value is None:
            return "-"
        return duration(value / 1000) if unit_ms else number(value)

    parts = [f"n {number(row.get('n'))}", f"avg {show(row.get('avg'))}"]
    for key in ("p50", "p95"):
        if row.get(key) is not None:
            parts.append(f"{key} {show(row[key])}")
    parts += [f"min {show(row.get('min'))}", f"max {show(row.get('max'))}"]
    return " · ".join(parts)


def section_fields(section: str, figures: Mapping[str, Any]) -> list[Field]:
    """The embed fields of one report section."""
    if section == "overview":
        overview = figures.get("overview") or {}
        totals = overview.get("totals")
        fields: list[Field] = [
            (
                "Events",
                "hidden (fewer users than the k-anonymity minimum)"
                if totals is None
                else f"{number(totals['events'])} events · "
                f"at least {number(totals['users_lower_bound'])} users",
            )
        ]
        fields += [(f"`{r['event_type']}`", number(r["count"])) for r in overview.get("events_by_type", [])]
        return fields
    if section == "kpis":
        return [
            (f"`{r['kpi']}`", f"{number(r['value'])} ({number(r['numerator'])} / {number(r['denominator'])})")
            for r in figures.get("kpis", [])
        ] or [("KPIs", "no KPI figures in this range")]
    if section in ("measures", "spans"):
        rows = figures.get(section, [])
        return [(f"`{r['name']}`", _figure_line(r, section == "spans")) for r in rows] or [
            (SECTION_TITLES[section], "no figures in this range")
        ]
    if section == "incidents":
        data = figures.get("incidents") or {}
        stats = data.get("stats") or {}
        fields = [
            (
                "This week",
                f"opened {number(stats.get('total', 0))} · "
                + ", ".join(f"{k} {v}" for k, v in (stats.get("by_severity") or {}).items())
                + f" · time to acknowledge {_mean_time(stats, 'time_to_acknowledge_seconds')}"
                + f" · time to resolve {_mean_time(stats, 'time_to_resolve_seconds')}",
            ),
            ("Open now", number(data.get("open_count", 0))),
        ]
        for incident in data.get("open", []):
            fields.append(
                (
                    f"[{incident.severity}] {incident.summary or incident.incident_id}",
                    f"{incident.status} · opened {_when(incident.opened_at)} · `{incident.incident_id}`",
                )
            )
        return fields
    raise ValueError(f"unknown report section {section!r}")


def report_pages(app_name: str, section: str, figures: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    """Every page (a list of embeds) of `/telemetry_report` for `section` ("all": every section)."""
    sections = REPORT_SECTIONS if section == "all" else (section,)
    fields: list[Field] = []
    for name in sections:
        fields += [
            (f"{SECTION_TITLES[name]} · {label}", value) for label, value in section_fields(name, figures)
        ]
    start, end = figures.get("from"), figures.get("to")
    span = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC" if start and end else None
    return paginate_embeds(
        f"Telemetry report · {app_name}",
        fields,
        description=span,
        color=COLOR,
        max_fields_per_embed=12,
        max_embeds_per_page=2,
    )


def report_page(
    app_id: str, section: str, pages: Sequence[Sequence[Mapping[str, Any]]], page: int
) -> dict[str, Any]:
    """Page `page` (clamped) of the report with Previous / Next buttons when there are several."""
    last = len(pages) - 1
    index = min(max(page, 0), last)
    buttons: list[tuple[str, str, str, bool]] = []
    if last > 0:
        buttons = [
            (page_custom_id(app_id, section, max(index - 1, 0)), "◀ Previous", "secondary", index == 0),
            (page_custom_id(app_id, section, min(index + 1, last)), "Next ▶", "secondary", index == last),
        ]
    payload = message_with_buttons(None, list(pages[index]), buttons, allowed_mentions=NO_MENTIONS)
    payload.setdefault("components", [])  # an edit to a single page clears earlier buttons
    payload["content"] = ""
    return payload


def incidents_message(app_name: str, incidents: Sequence[Any]) -> dict[str, Any]:
    """The open incidents (newest first) with their Acknowledge / Resolve buttons."""
    from liveops.discord.alert_message import ack_custom_id, resolve_custom_id

    if not incidents:
        return notice(f"No open incidents for {app_name}. ✅")
    fields: list[dict[str, Any]] = []
    buttons: list[tuple[str, str, str]] = []
    for number_, incident in enumerate(incidents[:INCIDENTS_WITH_BUTTONS], start=1):
        who = f" · acknowledged by {mention(incident.acknowledged_by)}" if incident.acknowledged_by else ""
        fields.append(
            {
                "name": f"{number_}. [{incident.severity}] {incident.summary or incident.incident_id}",
                "value": f"{incident.status} · opened {_when(incident.opened_at)}{who} · "
                f"`{incident.incident_id}`",
            }
        )
        if incident.status == "new":
            buttons.append(
                (ack_custom_id(incident.app_id, incident.incident_id), f"Ack #{number_}", "primary")
            )
        buttons.append(
            (resolve_custom_id(incident.app_id, incident.incident_id), f"Resolve #{number_}", "success")
        )
    more = len(incidents) - INCIDENTS_WITH_BUTTONS
    embed = {
        "title": f"Open incidents · {app_name}",
        "color": COLOR,
        "fields": fields,
        **({"footer": {"text": f"{more} more open incidents: see the dashboard"}} if more > 0 else {}),
    }
    payload = message_with_buttons(None, [embed], buttons, allowed_mentions=NO_MENTIONS)
    payload["content"] = ""
    return payload


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def experiment_message(app_name: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """A readout summary: exposures and SRM, then per metric each variant's mean and lift."""
    readout = result["readout"]
    srm = readout.get("srm") or {}
    variants = ", ".join(
        f"{v['variant_id']}{' (control)' if v['is_control'] else ''} {number(v['exposures'])}"
        for v in readout.get("variants", [])
    )
    fields: list[dict[str, Any]] = [
        {"name": "Exposures (user-days)", "value": variants or "none"},
        {
            "name": "Sample ratio",
            "value": "⚠️ sample ratio mismatch"
            if srm.get("srm_warning")
            else f"ok (p = {number(srm.get('p_value'))})",
        },
    ]
    for metric in readout.get("metrics", []):
        lines = []
        for row in metric["variants"]:
            if row["is_control"]:
                lines.append(f"{row['variant_id']} (control): {number(row['mean'])}")
                continue
            verdict = (
                "gated: too few units"
                if row.get("gated")
                else ("significant" if row.get("significant") else "not significant")
            )
            lines.append(
                f"{row['variant_id']}: {number(row['mean'])} · lift {_percent(row.get('relative_lift'))} "
                f"[{_percent(row.get('relative_lift_ci_low'))}, "
                f"{_percent(row.get('relative_lift_ci_high'))}] · "
                f"p {number(row.get('p_adjusted'))} · {verdict}"
            )
        fields.append({"name": f"`{metric['metric']}`", "value": "\n".join(lines) or "-"})
    embed = {
        "title": f"Experiment {result['experiment']} · {app_name}",
        "description": f"{result.get('name')} · {result.get('status')} · "
        f"{result['from']:%Y-%m-%d} to {result['to']:%Y-%m-%d} UTC · "
        f"{int(readout.get('confidence_level', 0.95) * 100)}% intervals",
        "color": COLOR,
        "fields": fields,
    }
    if result.get("suppressed"):
        embed["footer"] = {"text": f"{result['suppressed']} variant figures hidden (k-anonymity)"}
    return fit_message({"content": "", "embeds": [embed], "components": [], "allowed_mentions": NO_MENTIONS})
