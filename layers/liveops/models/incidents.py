"""Incidents: what the `alerts` job (a breached threshold) or a failed job (e.g. `publish`) opens,
what people acknowledge and resolve (admin API, Discord buttons), and what reports aggregate.

Lifecycle: new -> acknowledged -> resolved (new -> resolved also allowed); nothing leaves resolved.
Times are UTC datetimes; actors are strings such as "token:<token_id>", "discord:<user_id>" or
"system:auto-resolve".
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["warning", "critical"]
IncidentStatus = Literal["new", "acknowledged", "resolved"]
NotifyTarget = Literal["discord", "webhook"]
OPEN_STATUSES: tuple[IncidentStatus, ...] = ("new", "acknowledged")
INCIDENT_ID_PATTERN = r"^inc-[0-9]{17}-[0-9a-f]{8}$"
IncidentId = Annotated[str, Field(pattern=INCIDENT_ID_PATTERN)]


class IncidentNote(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    by: str
    action: Literal["acknowledge", "resolve", "note"]
    text: str = ""


class Incident(BaseModel):
    model_config = ConfigDict(frozen=True)

    incident_id: str
    app_id: str
    source: str = "threshold"  # "threshold" or the name of the job that failed ("publish", ...)
    threshold_id: str | None = None  # None for job incidents
    scope: dict[str, str] = Field(default_factory=dict)  # the threshold's dimension filters
    metric: str | None = None
    op: str | None = None
    threshold_value: float | None = None
    observed_value: float | None = None
    severity: Severity = "warning"
    status: IncidentStatus = "new"
    summary: str = ""
    suggested_actions: list[str] = Field(default_factory=list)
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    notes: list[IncidentNote] = Field(default_factory=list)
    time_to_acknowledge_seconds: float | None = None
    time_to_resolve_seconds: float | None = None
    # notification state: where the alert message lives and what is still to be delivered
    notify: list[NotifyTarget] = Field(default_factory=list)
    discord_channel_id: str | None = None
    discord_message_id: str | None = None
    notification_pending: bool = False
    revision: int = 1  # bumped on every change the alert message shows
    discord_revision: int = 0  # the revision the Discord message shows
    webhook_status: IncidentStatus | None = None  # the status the webhook last announced
    notify_claim_until: datetime | None = None  # a run posting the first message holds this claim
    notification_error: str | None = None  # the last delivery failure, shown to operators
    # bookkeeping: one open incident per dedupe key; interaction ids already applied (replays)
    dedupe_key: str = ""
    interaction_ids: list[str] = Field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


INTERNAL_FIELDS = frozenset({"dedupe_key", "interaction_ids", "notify_claim_until"})


def public_incident(incident: Incident) -> dict[str, Any]:
    """The incident as the API and exports show it (JSON types, without internal bookkeeping)."""
    return incident.model_dump(mode="json", exclude=set(INTERNAL_FIELDS))


class IncidentList(BaseModel):
    """GET /v1/admin/apps/{app_id}/incidents"""

    incidents: list[Incident]


class IncidentAction(BaseModel):
    """The body of POST .../incidents/{incident_id}/acknowledge|resolve."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(max_length=1000)] | None = None
