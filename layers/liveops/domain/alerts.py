"""Threshold evaluation, pure: compare a figure with a threshold and decide, from the stored
breach episode, whether to wait, fire, update, resolve or do nothing.

A breach episode starts at the first evaluation whose figure breaches the threshold and ends at
the first one that does not. The threshold fires once the episode has lasted `for_minutes`
(0: at once). One episode opens at most one incident: if that incident is resolved by hand while
the figure still breaches, nothing reopens until the figure recovers and breaches again. An
evaluation without a figure (no data for an average, a ratio, a percentile) changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from liveops.models.app_config import ThresholdSpec

Action = Literal["wait", "fire", "update", "resolve", "recovered", "suppressed", "no_data", "ok"]


def compare(op: str, observed: float, value: float) -> bool:
    """Whether `observed op value` holds. `=` and `!=` compare with a relative tolerance of 1e-9,
    so that a ratio such as 0.1 + 0.2 equals 0.3."""
    if op == ">":
        return observed > value
    if op == "<":
        return observed < value
    if op == ">=":
        return observed >= value
    if op == "<=":
        return observed <= value
    equal = math.isclose(observed, value, rel_tol=1e-9, abs_tol=1e-12)
    if op == "=":
        return equal
    if op == "!=":
        return not equal
    raise ValueError(f"unknown operator {op!r}")


def scope_key(threshold_id: str, scope: dict[str, str]) -> str:
    """The key of a (threshold, scope) pair: breach episodes and open incidents are kept per key."""
    canonical = json.dumps(scope, sort_keys=True, separators=(",", ":"))
    return f"{threshold_id}#{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"


def incident_dedupe_key(threshold_id: str, scope: dict[str, str]) -> str:
    return f"T#{scope_key(threshold_id, scope)}"


@dataclass(frozen=True)
class BreachState:
    since: datetime  # the first evaluation of this episode that breached
    last_value: float
    incident_id: str | None = None  # the incident this episode opened

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "last_value": self.last_value,
            "incident_id": self.incident_id,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> BreachState:
        return cls(datetime.fromisoformat(doc["since"]), float(doc["last_value"]), doc.get("incident_id"))


@dataclass(frozen=True)
class Step:
    action: Action
    state: BreachState | None  # what to keep for the next run (None: no episode)
    observed: float | None


def step(
    threshold: ThresholdSpec,
    observed: float | None,
    state: BreachState | None,
    open_incident_id: str | None,
    now: datetime,
) -> Step:
    """One evaluation of a threshold at `now`. `open_incident_id`: the incident open for this
    threshold and scope, if any (it may predate the episode when auto_resolve is off)."""
    if observed is None:
        return Step("no_data", state, None)
    if not compare(threshold.op, observed, threshold.value):
        if open_incident_id is not None:
            return Step("resolve" if threshold.auto_resolve else "recovered", None, observed)
        return Step("ok", None, observed)
    since = state.since if state is not None else now
    episode_incident = state.incident_id if state is not None else None
    if open_incident_id is not None:
        return Step("update", BreachState(since, observed, open_incident_id), observed)
    if episode_incident is not None:
        # resolved by hand while still breaching: quiet until the figure recovers
        return Step("suppressed", BreachState(since, observed, episode_incident), observed)
    if now - since >= timedelta(minutes=threshold.for_minutes):
        return Step("fire", BreachState(since, observed, None), observed)
    return Step("wait", BreachState(since, observed, None), observed)


def summary(threshold: ThresholdSpec, observed: float) -> str:
    scope = ", ".join(f"{k}={v}" for k, v in sorted(threshold.where.items()))
    text = f"{threshold.metric} = {observed:g} ({threshold.op} {threshold.value:g})"
    if scope:
        text += f" where {scope}"
    return f"{threshold.description}: {text}" if threshold.description else f"{threshold.id}: {text}"
