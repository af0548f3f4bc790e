"""The `rollup` and `rollup-daily` jobs: recompute the partitions that changed, atomically.

rollup: the writer marks every (app, hour) it writes; this job recomputes the hourly rollups of
each day with marked hours (the whole day, so that dedupe sees every copy of an event), replaces
that day's `rollup_hourly` file, then marks the day for `rollup-daily` and clears the hour marks
it consumed (unless they changed meanwhile).

rollup-daily: for each marked day, recompute every daily table of the days it can affect (spans
ending up to `max_minutes` later, funnels entered up to `window_minutes` earlier), then clear the
mark. A run that fails halfway leaves the previous files readable and its marks in place, so the
next run finishes the work. Re-running gives byte-identical files.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import pyarrow as pa

from liveops.jobs import JobError
from liveops.models.app_config import AppConfig
from liveops.rollups import ROLLUP_JOBS
from liveops.rollups.embedded import DAY_MS, HOUR_MS, kpi_daily
from liveops.rollups.engines import Engine, funnel_lookahead_days, span_lookback_days
from liveops.storage.job_state import DirtyMark, JobState

LEASE_SECONDS = 15 * 60


class Apps(Protocol):
    def list_apps(self) -> list[tuple[str, int]]: ...
    def get_config(self, app_id: str) -> tuple[AppConfig, int] | None: ...


class Curated(Protocol):
    def write(self, table_name: str, app_id: str, day: date, table: pa.Table) -> str: ...
    def location(self, table_name: str, app_id: str, day: date) -> str: ...


class Catalog(Protocol):
    def register(self, partitions: list[tuple[list[str], str]]) -> None: ...


def day_start_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


class RollupJobs:
    def __init__(
        self,
        apps: Apps,
        state: JobState,
        curated: Curated,
        catalogs: Callable[[str], Catalog],
        engines: Mapping[str, Engine],
        clock: Callable[[], float] = time.time,
        progress: Callable[[str], None] = lambda message: None,
        export_assignments: Callable[[str], int] | None = None,
    ) -> None:
        self._export_assignments = export_assignments
        self._apps = apps
        self._state = state
        self._curated = curated
        self._catalogs = catalogs
        self._engines = engines
        self._clock = clock
        self._progress = progress

    def run(
        self, job: str, app_id: str | None = None, engine: str | None = None, dry_run: bool = False
    ) -> dict[str, Any]:
        """Roll up every app (or one); `dry_run` lists the days and hours a run would recompute
        and changes nothing (no lease, no files, no marks cleared)."""
        if job not in ROLLUP_JOBS:
            raise JobError(f"unknown job {job!r}; one of {', '.join(ROLLUP_JOBS)}")
        if engine is not None and engine not in self._engines:
            raise JobError(f"unknown engine {engine!r}; one of {', '.join(sorted(self._engines))}")
        app_ids = [app_id] if app_id else [a for a, _ in self._apps.list_apps()]
        reports = {}
        for app in app_ids:
            found = self._apps.get_config(app)
            if found is None:
                raise JobError(f"no app {app!r}")
            if dry_run:
                reports[app] = self._plan(job, found[0], engine or found[0].rollup_engine)
            else:
                reports[app] = self._run_app(job, found[0], engine or found[0].rollup_engine)
        return {"job": job, "dry_run": dry_run, "apps": reports}

    def _plan(self, job: str, config: AppConfig, engine_name: str) -> dict[str, Any]:
        if job == "rollup":
            by_day = self._hours_by_day(config.app_id)
            days = sorted(by_day)
            hours = sum(len(marks) for marks in by_day.values())
            report: dict[str, Any] = {"days": [d.isoformat() for d in days], "hours": hours}
        else:
            report = {"days": [d.isoformat() for d in sorted(self._days_to_roll_up(config)[1])]}
        self._progress(f"{job} {config.app_id}: would recompute {len(report['days'])} day(s)")
        return {"status": "dry_run", "engine": engine_name, **report}

    def _hours_by_day(self, app: str) -> dict[date, list[DirtyMark]]:
        by_day: dict[date, list[DirtyMark]] = {}
        for mark in self._state.dirty("hour", app):
            by_day.setdefault(date.fromisoformat(mark.key[:10]), []).append(mark)
        return by_day

    def _days_to_roll_up(self, config: AppConfig) -> tuple[list[DirtyMark], set[date]]:
        """The day marks, and the days they make the daily run recompute (funnels look ahead,
        spans look back; never after today)."""
        marks = self._state.dirty("day", config.app_id)
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        before, after = funnel_lookahead_days(config), span_lookback_days(config)
        days: set[date] = set()
        for mark in marks:
            changed = date.fromisoformat(mark.key)
            days.update(changed + timedelta(days=offset) for offset in range(-before, after + 1))
        return marks, {d for d in days if d <= today}

    def _run_app(self, job: str, config: AppConfig, engine_name: str) -> dict[str, Any]:
        owner = uuid.uuid4().hex
        started = self._clock()
        if not self._state.acquire(job, config.app_id, owner, LEASE_SECONDS):
            self._progress(f"{job} {config.app_id}: another run holds the lease; skipped")
            return {"status": "skipped", "reason": "another run is in progress"}
        try:
            engine = self._engines[engine_name]
            report = self._hourly(config, engine) if job == "rollup" else self._daily(config, engine)
            report.update(status="ok", engine=engine_name, seconds=round(self._clock() - started, 3))
            self._state.set_watermark(job, config.app_id, int(started * 1000))
        except Exception as exc:
            report = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "engine": engine_name}
            self._state.record_run(job, config.app_id, started, report)
            raise
        finally:
            self._state.release(job, config.app_id, owner)
        self._state.record_run(job, config.app_id, started, report)
        return report

    def _write(self, table_name: str, app_id: str, day: date, table: pa.Table) -> None:
        self._curated.write(table_name, app_id, day, table)
        self._catalogs(table_name).register(
            [([app_id, day.isoformat()], self._curated.location(table_name, app_id, day))]
        )

    def _hourly(self, config: AppConfig, engine: Engine) -> dict[str, Any]:
        app = config.app_id
        by_day = self._hours_by_day(app)
        rows = 0
        for index, (day, day_marks) in enumerate(sorted(by_day.items()), start=1):
            start = day_start_ms(day)
            table = engine.rollup(config, start, start + DAY_MS, HOUR_MS)
            self._write("rollup_hourly", app, day, table)
            self._state.mark("day", app, day.isoformat())
            for mark in day_marks:
                self._state.clear("hour", app, mark)
            rows += table.num_rows
            self._progress(
                f"rollup {app}: {day} ({len(day_marks)} changed hours) -> {table.num_rows} rows "
                f"[{index}/{len(by_day)}]"
            )
        hours = sum(len(marks) for marks in by_day.values())
        return {"days": [d.isoformat() for d in sorted(by_day)], "hours": hours, "rows": rows}

    def _daily(self, config: AppConfig, engine: Engine) -> dict[str, Any]:
        app = config.app_id
        marks, days = self._days_to_roll_up(config)
        rows: dict[str, int] = {}
        if days and self._export_assignments is not None:
            # experiment_daily (either engine) reads assignments from the lake: export them first
            rows["assignments"] = self._export_assignments(app)
        for index, day in enumerate(sorted(days), start=1):
            start = day_start_ms(day)
            daily = engine.rollup(config, start, start + DAY_MS, DAY_MS)
            tables = {
                "rollup_daily": daily,
                "kpi_daily": kpi_daily(daily),
                "span_daily": engine.span_daily(config, start),
                "funnel_daily": engine.funnel_daily(config, start),
                "experiment_daily": engine.experiment_daily(config, start),
            }
            for name, table in tables.items():
                self._write(name, app, day, table)
                rows[name] = rows.get(name, 0) + table.num_rows
            self._progress(
                f"rollup-daily {app}: {day} -> "
                + ", ".join(f"{n} {t.num_rows}" for n, t in tables.items())
                + f" [{index}/{len(days)}]"
            )
        for mark in marks:
            self._state.clear("day", app, mark)
        return {"days": [d.isoformat() for d in sorted(days)], "rows": rows}
