"""The `alerts` job (every 5 minutes): evaluate each app's thresholds on the latest figures,
open / update / auto-resolve incidents, then deliver every pending notification (new messages,
edits, webhook announcements, and retries of what failed before).

Per app it holds the job lease (liveops.storage.job_state) so that overlapping runs never
evaluate the same breach episodes twice. `dry_run` evaluates and reports, and changes nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import pyarrow as pa

from liveops.domain.alert_figures import figure, grain_of
from liveops.domain.alerts import BreachState, incident_dedupe_key, scope_key, step, summary
from liveops.errors import LiveopsError
from liveops.jobs import JobError
from liveops.models.app_config import AppConfig, ThresholdSpec
from liveops.services.incidents import IncidentService, utc_now
from liveops.services.thresholds import ThresholdService
from liveops.storage.incidents_store import IncidentsStore
from liveops.storage.job_state import JobState

JOB = "alerts"
LEASE_SECONDS = 4 * 60
BREACH_TTL = timedelta(days=7)  # an episode not refreshed for a week (threshold gone) expires
AUTO_RESOLVER = "system:auto-resolve"


class Apps(Protocol):
    def list_apps(self) -> list[tuple[str, int]]: ...
    def get_config(self, app_id: str) -> tuple[AppConfig, int] | None: ...


class CuratedReader(Protocol):
    def read(self, table_name: str, app_id: str, first: Any, last: Any) -> pa.Table: ...


class AlertsJob:
    def __init__(
        self,
        apps: Apps,
        thresholds: ThresholdService,
        incidents: IncidentService,
        breaches: IncidentsStore,
        lake: CuratedReader,
        state: JobState,
        progress: Callable[[str], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._apps = apps
        self._thresholds = thresholds
        self._incidents = incidents
        self._breaches = breaches
        self._lake = lake
        self._state = state
        self._progress = progress or (lambda message: None)
        self._clock = clock

    def run(self, app_id: str | None, options: dict[str, Any]) -> dict[str, Any]:
        dry_run = bool(options.get("dry_run"))
        app_ids = [app_id] if app_id else [a for a, _ in self._apps.list_apps()]
        reports: dict[str, Any] = {}
        for app in app_ids:
            found = self._apps.get_config(app)
            if found is None:
                raise JobError(f"no app {app!r}")
            try:
                reports[app] = self._locked(found[0], dry_run)
            except Exception as exc:  # one app's failure must not keep the others from alerting
                reports[app] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                self._progress(f"alerts {app}: failed: {exc}")
        return {"job": JOB, "dry_run": dry_run, "apps": reports}

    def _locked(self, config: AppConfig, dry_run: bool) -> dict[str, Any]:
        if dry_run:
            return self._evaluate(config, dry_run=True)
        owner = uuid.uuid4().hex
        if not self._state.acquire(JOB, config.app_id, owner, LEASE_SECONDS):
            self._progress(f"alerts {config.app_id}: another run holds the lease; skipped")
            return {"status": "skipped", "reason": "another run is in progress"}
        started = time.time()
        try:
            report = self._evaluate(config, dry_run=False)
        finally:
            self._state.release(JOB, config.app_id, owner)
        self._state.record_run(JOB, config.app_id, started, report)
        return report

    def _rows(self, config: AppConfig, thresholds: list[ThresholdSpec], now: datetime) -> dict[str, pa.Table]:
        """The curated rows the thresholds need: rollup_hourly (previous and current hour) and
        span_daily (previous and current day), read once per app."""
        grains = {grain_of(config, t) for t in thresholds}
        rows: dict[str, pa.Table] = {}
        if "hour" in grains:
            rows["hour"] = self._lake.read(
                "rollup_hourly", config.app_id, (now - timedelta(hours=1)).date(), now.date()
            )
        if "day" in grains:
            rows["day"] = self._lake.read(
                "span_daily", config.app_id, (now - timedelta(days=1)).date(), now.date()
            )
        return rows

    def _evaluate(self, config: AppConfig, dry_run: bool) -> dict[str, Any]:
        app = config.app_id
        now = self._clock()
        thresholds = [t.spec for t in self._thresholds.effective(app, config) if t.spec.enabled]
        usable: list[ThresholdSpec] = []
        evaluations: list[dict[str, Any]] = []
        for threshold in thresholds:
            try:
                grain_of(config, threshold)
            except LiveopsError as exc:  # a stored override naming a metric the config dropped
                evaluations.append({"threshold_id": threshold.id, "action": "invalid", "error": exc.message})
                continue
            usable.append(threshold)
        rows = self._rows(config, usable, now)
        states = self._breaches.breach_states(app)
        counts: dict[str, int] = {}
        for threshold in usable:
            key = scope_key(threshold.id, threshold.where)
            stored = states.pop(key, None)
            evaluation = self._one(config, threshold, key, stored, rows, now, dry_run)
            counts[evaluation["action"]] = counts.get(evaluation["action"], 0) + 1
            evaluations.append(evaluation)
        if not dry_run:
            for stale in states:  # thresholds deleted, disabled or re-scoped
                self._breaches.delete_breach(app, stale)
        delivery = {"delivered": 0, "still_pending": 0} if dry_run else self._incidents.deliver_pending(app)
        self._progress(
            f"alerts {app}: {len(usable)} thresholds, "
            + ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
            + f"; notifications delivered {delivery['delivered']}, pending {delivery['still_pending']}"
        )
        return {
            "status": "ok",
            "evaluated_at": now.isoformat(),
            "thresholds": len(usable),
            "actions": counts,
            "notifications": delivery,
            "evaluations": evaluations,
        }

    def _one(
        self,
        config: AppConfig,
        threshold: ThresholdSpec,
        key: str,
        stored: dict[str, Any] | None,
        rows: dict[str, pa.Table],
        now: datetime,
        dry_run: bool,
    ) -> dict[str, Any]:
        app = config.app_id
        grain = grain_of(config, threshold)
        found = figure(config, threshold, rows[grain], now)
        state = BreachState.from_json(stored) if stored is not None else None
        dedupe = incident_dedupe_key(threshold.id, threshold.where)
        open_incident = self._incidents.open_incident(app, dedupe)
        decided = step(
            threshold,
            found.value if found is not None else None,
            state,
            open_incident.incident_id if open_incident is not None else None,
            now,
        )
        evaluation: dict[str, Any] = {
            "threshold_id": threshold.id,
            "scope": dict(threshold.where),
            "action": decided.action,
            "observed": decided.observed,
            "bucket": found.bucket.isoformat() if found is not None else None,
        }
        if dry_run:
            return evaluation
        observed = decided.observed
        new_state = decided.state
        if decided.action == "fire" and observed is not None:
            incident, _ = self._incidents.open_threshold_incident(
                app, threshold, dedupe, observed, summary(threshold, observed)
            )
            new_state = replace(new_state, incident_id=incident.incident_id) if new_state else None
            evaluation["incident_id"] = incident.incident_id
        elif open_incident is not None and observed is not None:
            self._incidents.observe(app, open_incident.incident_id, observed)
            evaluation["incident_id"] = open_incident.incident_id
            if decided.action == "resolve":
                self._incidents.resolve(
                    app,
                    open_incident.incident_id,
                    by=AUTO_RESOLVER,
                    note=f"recovered: {threshold.metric} = {observed:g}",
                    edit_message=False,  # delivered with every other notification below
                )
        if new_state is None:
            if stored is not None:
                self._breaches.delete_breach(app, key)
        else:  # refreshed every run, so that only abandoned episodes expire
            expires = int((now + BREACH_TTL).timestamp())
            self._breaches.put_breach(app, key, new_state.to_json(), expires)
        return evaluation
