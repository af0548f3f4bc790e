"""The Discord alert message of an incident: one embed (state, figure, scope, suggested actions,
who acknowledged / resolved and when) and Acknowledge / Resolve buttons while it is open.

Button custom ids are `ack:<app_id>:<incident_id>` and `resolve:<app_id>:<incident_id>`; the
Discord front parses them with `parse_custom_id`. Once resolved the buttons are removed (an empty
`components` list, so an edit clears them). Nothing in the message pings anyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from liveops.discord.limits import message_with_buttons
from liveops.models.incidents import Incident

ACK_PREFIX = "ack"
RESOLVE_PREFIX = "resolve"
COLORS = {"critical": 0xD83C3E, "warning": 0xF0B232, "acknowledged": 0x5865F2, "resolved": 0x23A55A}
STATUS_LABELS = {"new": "🔴 New", "acknowledged": "🟡 Acknowledged", "resolved": "🟢 Resolved"}


def ack_custom_id(app_id: str, incident_id: str) -> str:
    return f"{ACK_PREFIX}:{app_id}:{incident_id}"


def resolve_custom_id(app_id: str, incident_id: str) -> str:
    return f"{RESOLVE_PREFIX}:{app_id}:{incident_id}"


def parse_custom_id(custom_id: str) -> tuple[str, str, str] | None:
    """(action "ack"|"resolve", app_id, incident_id) of an alert button, None for anything else."""
    parts = custom_id.split(":")
    if len(parts) != 3 or parts[0] not in (ACK_PREFIX, RESOLVE_PREFIX) or not parts[1] or not parts[2]:
        return None
    return parts[0], parts[1], parts[2]


def _when(value: datetime | None) -> str:
    # Discord renders <t:unix:f> in each reader's own time zone
    return f"<t:{int(value.timestamp())}:f>" if value is not None else "-"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def _who(actor: str | None) -> str:
    """A Discord actor as a mention (allowed_mentions keeps it from pinging), others as text."""
    if actor and actor.startswith("discord:"):
        return f"<@{actor.removeprefix('discord:')}>"
    return f"`{actor}`" if actor else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f" after {hours}h {minutes:02d}m" if hours else f" after {minutes}m {secs:02d}s"


def alert_embed(incident: Incident) -> dict[str, Any]:
    status = incident.status
    color = COLORS[incident.severity] if status == "new" else COLORS[status]
    fields: list[dict[str, Any]] = [
        {"name": "Status", "value": STATUS_LABELS[status], "inline": True},
        {"name": "Severity", "value": incident.severity, "inline": True},
        {"name": "App", "value": f"`{incident.app_id}`", "inline": True},
    ]
    if incident.metric is not None:
        fields.append(
            {
                "name": "Figure",
                "value": f"`{incident.metric}` = **{_number(incident.observed_value)}** "
                f"(threshold {incident.op} {_number(incident.threshold_value)})",
                "inline": False,
            }
        )
    if incident.scope:
        scope = ", ".join(f"{k}={v}" for k, v in sorted(incident.scope.items()))
        fields.append({"name": "Scope", "value": f"`{scope}`", "inline": False})
    if incident.suggested_actions:
        actions = "\n".join(f"• {action}" for action in incident.suggested_actions)
        fields.append({"name": "Suggested actions", "value": actions, "inline": False})
    fields.append({"name": "Opened", "value": _when(incident.opened_at), "inline": True})
    if incident.acknowledged_at is not None:
        fields.append(
            {
                "name": "Acknowledged",
                "value": f"{_who(incident.acknowledged_by)} {_when(incident.acknowledged_at)}"
                f"{_duration(incident.time_to_acknowledge_seconds)}",
                "inline": True,
            }
        )
    if incident.resolved_at is not None:
        fields.append(
            {
                "name": "Resolved",
                "value": f"{_who(incident.resolved_by)} {_when(incident.resolved_at)}"
                f"{_duration(incident.time_to_resolve_seconds)}",
                "inline": True,
            }
        )
    if incident.notes:
        last = incident.notes[-1]
        if last.text:
            fields.append({"name": f"Note ({last.action})", "value": last.text, "inline": False})
    source = incident.threshold_id if incident.source == "threshold" else incident.source
    return {
        "title": f"[{incident.severity.upper()}] {incident.summary or source}",
        "color": color,
        "fields": fields,
        "footer": {"text": f"{incident.source}: {source} · {incident.incident_id}"},
        "timestamp": incident.updated_at.isoformat(),
    }


def render_alert_message(incident: Incident) -> dict[str, Any]:
    """The message payload (create or edit) for the incident's current state, within Discord limits."""
    buttons: list[tuple[str, str, str]] = []
    if incident.status == "new":
        buttons.append((ack_custom_id(incident.app_id, incident.incident_id), "Acknowledge", "primary"))
    if incident.status != "resolved":
        buttons.append((resolve_custom_id(incident.app_id, incident.incident_id), "Resolve", "success"))
    return message_with_buttons(None, [alert_embed(incident)], buttons, allowed_mentions={"parse": []})


def render_webhook_message(incident: Incident) -> dict[str, Any]:
    """The plain webhook post: the same embed, no buttons (a webhook cannot receive interactions)."""
    payload = message_with_buttons(None, [alert_embed(incident)], [], allowed_mentions={"parse": []})
    payload.pop("components", None)
    return payload
