"""Pure incident state changes (new -> acknowledged -> resolved) and their statistics.

Each change returns the changed incident, or None when it would change nothing (a replayed
interaction id, acknowledging an acknowledged or resolved incident, resolving a resolved one):
callers then keep the stored incident as it is, which makes every action idempotent.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from liveops.models.incidents import Incident, IncidentNote

KEEP_INTERACTION_IDS = 25  # Discord retries a button press within seconds; a few ids suffice


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, round((end - start).total_seconds(), 3))


def _notes(incident: Incident, at: datetime, by: str, action: str, note: str | None) -> list[IncidentNote]:
    if not note:
        return list(incident.notes)
    return [*incident.notes, IncidentNote(at=at, by=by, action=action, text=note)]


def _interactions(incident: Incident, interaction_id: str | None) -> list[str]:
    if interaction_id is None:
        return list(incident.interaction_ids)
    return [*incident.interaction_ids, interaction_id][-KEEP_INTERACTION_IDS:]


def revise(incident: Incident, **changes: Any) -> Incident:
    """The incident with `changes`, a new revision and a pending notification if it has targets."""
    updated = incident.model_copy(update=changes)
    return updated.model_copy(
        update={"revision": incident.revision + 1, "notification_pending": bool(updated.notify)}
    )


def acknowledge(
    incident: Incident, *, by: str, at: datetime, note: str | None = None, interaction_id: str | None = None
) -> Incident | None:
    if interaction_id is not None and interaction_id in incident.interaction_ids:
        return None
    if incident.status != "new":
        return None
    return revise(
        incident,
        status="acknowledged",
        acknowledged_at=at,
        acknowledged_by=by,
        time_to_acknowledge_seconds=_seconds(incident.opened_at, at),
        updated_at=at,
        notes=_notes(incident, at, by, "acknowledge", note),
        interaction_ids=_interactions(incident, interaction_id),
    )


def resolve(
    incident: Incident, *, by: str, at: datetime, note: str | None = None, interaction_id: str | None = None
) -> Incident | None:
    if interaction_id is not None and interaction_id in incident.interaction_ids:
        return None
    if incident.status == "resolved":
        return None
    return revise(
        incident,
        status="resolved",
        resolved_at=at,
        resolved_by=by,
        time_to_resolve_seconds=_seconds(incident.opened_at, at),
        updated_at=at,
        notes=_notes(incident, at, by, "resolve", note),
        interaction_ids=_interactions(incident, interaction_id),
    )


def observe(incident: Incident, observed: float, at: datetime) -> Incident | None:
    """A still-open incident's new figure; None when the value did not change (no message edit)."""
    if not incident.is_open or incident.observed_value == observed:
        return None
    return revise(incident, observed_value=observed, updated_at=at)


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None}
    return {"mean": round(statistics.fmean(values), 3), "median": round(statistics.median(values), 3)}


def stats(incidents: Iterable[Incident]) -> dict[str, Any]:
    """Counts by severity and status, time to acknowledge / resolve (mean, median, seconds) and
    per-responder counts (actor id -> acknowledgements and resolutions)."""
    by_severity: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    by_source: Counter[str] = Counter()
    acknowledge_times: list[float] = []
    resolve_times: list[float] = []
    responders: dict[str, dict[str, int]] = {}
    total = 0
    for incident in incidents:
        total += 1
        by_severity[incident.severity] += 1
        by_status[incident.status] += 1
        by_source[incident.source] += 1
        if incident.time_to_acknowledge_seconds is not None:
            acknowledge_times.append(incident.time_to_acknowledge_seconds)
        if incident.time_to_resolve_seconds is not None:
            resolve_times.append(incident.time_to_resolve_seconds)
        for actor, kind in ((incident.acknowledged_by, "acknowledged"), (incident.resolved_by, "resolved")):
            if actor and not actor.startswith("system:"):
                counts = responders.setdefault(actor, {"acknowledged": 0, "resolved": 0})
                counts[kind] += 1
    return {
        "total": total,
        "by_severity": {key: by_severity.get(key, 0) for key in ("warning", "critical")},
        "by_status": {key: by_status.get(key, 0) for key in ("new", "acknowledged", "resolved")},
        "by_source": dict(sorted(by_source.items())),
        "time_to_acknowledge_seconds": _summary(acknowledge_times),
        "time_to_resolve_seconds": _summary(resolve_times),
        "responders": [
            {"actor": actor, **counts}
            for actor, counts in sorted(
                responders.items(), key=lambda kv: (-(kv[1]["acknowledged"] + kv[1]["resolved"]), kv[0])
            )
        ],
    }
