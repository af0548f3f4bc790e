"""Live events and experiments as the client endpoints see them: pure logic, no AWS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from liveops.domain.assignment import ExperimentPlan, assign, targeted
from liveops.domain.semver import parse_semver
from liveops.errors import BadRequest


def version(text: str, field: str) -> Any:
    """A comparable semantic version, or a 400 naming the field."""
    try:
        return parse_semver(text)
    except ValueError:
        raise BadRequest(
            f"{field} {text!r} is not a semantic version (MAJOR.MINOR.PATCH)",
            code="invalid_version",
            details=[{"field": field}],
        ) from None


def rollback_target(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The manifest a rollback returns to: the one active before the current one was set.

    The history is replayed as a stack (a set pushes, a rollback pops), so repeated rollbacks walk
    back through A <- B <- C in turn, and a re-publish of the same version with a new hash rolls
    back to the previous hash, not to another version.
    """
    stack: list[dict[str, Any]] = []
    for entry in sorted(history, key=lambda e: e["seq"]):
        if entry["action"] == "set" or not stack:
            stack.append(entry)
        else:
            stack.pop()
    return stack[-2] if len(stack) >= 2 else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def active_events(
    events: list[dict[str, Any]], now: datetime, content_version: str | None
) -> list[dict[str, Any]]:
    """Events whose window contains now (start inclusive, end exclusive) for this content version."""
    active = []
    for event in events:
        start, end = _moment(event["start_at"]), _moment(event["end_at"])
        if start is None or end is None or not start <= now < end:
            continue
        if event.get("content_version", "*") not in ("*", content_version):
            continue
        shown = {key: event[key] for key in ("id", "type", "start_at", "end_at", "rules")}
        active.append((start, event["id"], shown))
    # by moment, not by text: events stored before times were normalised to UTC may carry offsets
    return [shown for _, _, shown in sorted(active, key=lambda a: (a[0], a[1]))]


@dataclass(frozen=True)
class LiveExperiment:
    id: str
    status: str
    start_at: datetime | None
    end_at: datetime | None
    plan: ExperimentPlan
    parameters: dict[str, dict[str, Any]]

    @classmethod
    def build(cls, stored: dict[str, Any]) -> LiveExperiment:
        config = stored["config"]
        variants = config["variants"]
        namespace = config.get("namespace")
        targeting = config.get("targeting") or {}
        plan = ExperimentPlan.build(
            key=stored["id"],
            variant_ids=[v["id"] for v in variants],
            weights=[float(v["weight"]) for v in variants],
            coverage=float(config.get("coverage", 1.0)),
            namespace=(namespace["id"], float(namespace["range"][0]), float(namespace["range"][1]))
            if namespace
            else None,
            platforms=frozenset(targeting["platforms"]) if targeting.get("platforms") else None,
            min_client_version=targeting.get("min_client_version"),
            max_client_version=targeting.get("max_client_version"),
        )
        return cls(
            id=stored["id"],
            status=stored["status"],
            start_at=_moment(stored.get("start_at")),
            end_at=_moment(stored.get("end_at")),
            plan=plan,
            parameters={v["id"]: v.get("parameters", {}) for v in variants},
        )

    def in_window(self, now: datetime) -> bool:
        return (self.start_at is None or self.start_at <= now) and (self.end_at is None or now < self.end_at)

    def targets(self, platform: str | None, client_version: str | None) -> bool:
        return targeted(self.plan, platform, client_version)

    def choose(self, user_id: str, platform: str | None, client_version: str | None) -> str | None:
        return self.plan.variant_id(
            assign(self.plan, user_id, platform=platform, client_version=client_version)
        )
