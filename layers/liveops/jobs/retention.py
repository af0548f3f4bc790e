"""The `retention` job (03:00 UTC): delete what is older than each data category's retention.

Per app with `retention.enabled` (otherwise reported as skipped), per category:
- lake partitions (raw events by hour; rollups, KPIs, funnels, experiments, spans and exports by
  day): Glue partitions first, then the S3 objects, so Athena never lists a partition whose files
  are gone; registered partitions without files are found from Glue and removed too;
- incidents: resolved ones, through IncidentService.prune;
- assignments of experiments finished more than `assignments_days` ago: their DynamoDB items and
  their rows in the curated assignments export;
- archive snapshots beyond the last `archive_snapshots_keep` (the site bucket's own pruning).
The boundary rule is liveops.domain.retention's. A category that fails is reported and the others
still run. `dry_run` lists what would go and changes nothing. Every run records its report (what,
how many objects or items, bytes, and what every category stores after it) in the jobs table,
where /v1/metrics/storage and `liveops storage` read it: real runs (and apps skipped by config) as
`retention` (`last_cleanup`), dry runs as `retention-dry-run` (`last_dry_run`, so a dry run never
hides the last real cleanup), and runs skipped because another run held the app's lease as
`retention-skipped` (and logged).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from liveops.domain import retention as rules
from liveops.jobs import JobError
from liveops.models.app_config import AppConfig, RetentionSpec

if TYPE_CHECKING:
    import pyarrow as pa

JOB = rules.RUN_LOG
DRY_RUN_LOG = rules.DRY_RUN_LOG
SKIPPED_LOG = rules.SKIPPED_LOG
LEASE_SECONDS = 15 * 60
ASSIGNMENTS_EXPORT_PREFIX = "curated/assignments/app_id={app_id}/"


class Apps(Protocol):
    def list_apps(self) -> list[tuple[str, int]]: ...
    def get_config(self, app_id: str) -> tuple[AppConfig, int] | None: ...


class RunLog(Protocol):
    def acquire(self, job: str, app_id: str, owner: str, seconds: int) -> bool: ...
    def release(self, job: str, app_id: str, owner: str) -> None: ...
    def record_run(self, job: str, app_id: str, started: float, report: dict[str, Any]) -> None: ...


class LakeObjects(Protocol):
    def objects(self, prefix: str) -> Any: ...  # iterable of (key, bytes)
    def usage(self, prefix: str) -> tuple[int, int]: ...
    def delete(self, keys: list[str]) -> None: ...


class Catalog(Protocol):
    def partitions(self, expression: str) -> list[list[str]]: ...
    def delete(self, partitions: list[list[str]]) -> None: ...


class Experiments(Protocol):
    def list_experiments(self, app_id: str) -> list[dict[str, Any]]: ...


class Assignments(Protocol):
    def usage(self, app_id: str, experiment_id: str) -> tuple[int, int]: ...
    def set_expiry(self, app_id: str, experiment_id: str, expires_at: int) -> int: ...
    def prune(self, app_id: str, experiment_id: str, dry_run: bool) -> tuple[int, int]: ...


class AssignmentsExport(Protocol):
    def assignments(self, app_id: str) -> pa.Table: ...
    def write_assignments(self, app_id: str, table: pa.Table) -> str: ...


class IncidentPruner(Protocol):
    def prune(self, app_id: str, before: datetime, dry_run: bool) -> tuple[int, int]: ...
    def usage(self, app_id: str) -> tuple[int, int]: ...


class ArchivePruner(Protocol):
    def prune_archive(self, app_id: str, keep: int, dry_run: bool) -> tuple[int, int]: ...
    def archive_usage(self, app_id: str) -> dict[str, int]: ...


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RetentionJob:
    def __init__(
        self,
        apps: Apps,
        runs: RunLog,
        lake: LakeObjects,
        catalogs: Callable[[str], Catalog],
        experiments: Experiments,
        assignments: Assignments,
        assignments_export: AssignmentsExport,
        incidents: Callable[[], IncidentPruner] | None = None,
        archive: Callable[[], ArchivePruner] | None = None,
        clock: Callable[[], float] = time.time,
        progress: Callable[[str], None] = lambda message: None,
    ) -> None:
        self._apps = apps
        self._runs = runs
        self._lake = lake
        self._catalogs = catalogs
        self._experiments = experiments
        self._assignments = assignments
        self._export = assignments_export
        # built on first use: a deployment without incidents or a site bucket still prunes the rest
        self._incidents = incidents
        self._archive = archive
        self._clock = clock
        self._progress = progress

    def run(self, app_id: str | None = None, dry_run: bool = False) -> dict[str, Any]:
        app_ids = [app_id] if app_id else [a for a, _ in self._apps.list_apps()]
        configs = {}
        for app in app_ids:
            found = self._apps.get_config(app)
            if found is None:
                raise JobError(f"no app {app!r}")
            configs[app] = found[0]
        return {
            "job": JOB,
            "dry_run": dry_run,
            "apps": {a: self._run_app(c, dry_run) for a, c in configs.items()},
        }

    # ---------------------------------------------------------------- one app

    def _run_app(self, config: AppConfig, dry_run: bool) -> dict[str, Any]:
        app = config.app_id
        started = self._clock()
        now = datetime.fromtimestamp(started, UTC)
        report: dict[str, Any] = {"dry_run": dry_run, "at": _iso(now)}
        log = DRY_RUN_LOG if dry_run else JOB
        if not config.retention.enabled:
            report.update(status="skipped", reason="retention.enabled is false in the app config")
            self._progress(f"retention {app}: disabled in the app config; skipped")
            self._runs.record_run(log, app, started, report)
            return report
        owner = uuid.uuid4().hex
        # a dry run changes nothing, so it may run beside a real one
        if not dry_run and not self._runs.acquire(JOB, app, owner, LEASE_SECONDS):
            report.update(status="skipped", reason="another retention run holds this app's lease")
            self._progress(f"retention {app}: skipped: another run holds the lease")
            self._runs.record_run(SKIPPED_LOG, app, started, report)
            return report
        try:
            categories, errors = self._categories(config, now, dry_run)
        finally:
            if not dry_run:
                self._runs.release(JOB, app, owner)
        report.update(
            status="failed" if errors else "ok",
            categories=categories,
            deleted={
                "objects": sum(c["deleted"]["objects"] for c in categories.values() if "deleted" in c),
                "bytes": sum(c["deleted"]["bytes"] for c in categories.values() if "deleted" in c),
            },
            seconds=round(self._clock() - started, 3),
        )
        if errors:
            report["errors"] = errors
        self._runs.record_run(log, app, started, report)
        return report

    def _categories(
        self, config: AppConfig, now: datetime, dry_run: bool
    ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        spec = config.retention
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            (c.name, lambda c=c: self._lake_category(config.app_id, c, spec, now, dry_run))  # type: ignore[misc]
            for c in rules.LAKE_CATEGORIES
        ]
        steps += [
            ("incidents", lambda: self._incident_category(config.app_id, spec, now, dry_run)),
            ("assignments", lambda: self._assignment_category(config.app_id, spec, now, dry_run)),
            ("archive", lambda: self._archive_category(config.app_id, spec, dry_run)),
        ]
        categories: dict[str, dict[str, Any]] = {}
        errors: dict[str, str] = {}
        verb = "would delete" if dry_run else "deleted"
        for name, step in steps:
            try:
                categories[name] = step()
            except Exception as exc:  # one category failing must not stop the others
                errors[name] = f"{type(exc).__name__}: {exc}"
                categories[name] = {"status": "failed", "error": errors[name]}
                self._progress(f"retention {config.app_id}: {name} failed: {errors[name]}")
                continue
            deleted = categories[name].get("deleted")
            if deleted:
                self._progress(
                    f"retention {config.app_id}: {name}: {verb} {deleted['objects']} "
                    f"{categories[name]['unit']}, {deleted['bytes']} bytes"
                )
        return categories, errors

    # ---------------------------------------------------------------- categories

    def _lake_category(
        self, app_id: str, category: rules.LakeCategory, spec: RetentionSpec, now: datetime, dry_run: bool
    ) -> dict[str, Any]:
        days = int(getattr(spec, category.setting))
        prefix = category.prefix(app_id)
        selection = rules.select_expired(self._lake.objects(prefix), prefix, category.hourly, now, days)
        labels = {partition.label() for partition in selection.expired}
        glue_stale: list[list[str]] = []
        if category.glue_table is not None:
            catalog = self._catalogs(category.glue_table)
            # registered partitions up to the edge day, including any whose files are already gone
            edge = rules.first_kept_day(now, days).isoformat()
            registered = catalog.partitions(f"app_id = '{app_id}' AND dt <= '{edge}'")
            for values in registered:
                partition = rules.glue_partition(values, category.hourly)
                if partition is not None and rules.is_expired(partition.day, partition.hour, now, days):
                    glue_stale.append(values)
                    labels.add(partition.label())
            if glue_stale and not dry_run:
                catalog.delete(glue_stale)
        keys = selection.keys
        if keys and not dry_run:
            self._lake.delete(keys)
        freed = selection.expired_bytes
        kept_objects = selection.total_objects - (0 if dry_run else len(keys))
        kept_bytes = selection.total_bytes - (0 if dry_run else freed)
        return {
            "unit": "objects",
            "retention_days": days,
            "cutoff": _iso(rules.cutoff(now, days)),
            "deleted": {
                "objects": len(keys),
                "bytes": freed,
                "glue_partitions": len(glue_stale),
                **rules.listed(sorted(labels)),
            },
            "stored": {"objects": kept_objects, "bytes": kept_bytes},
        }

    def _incident_category(
        self, app_id: str, spec: RetentionSpec, now: datetime, dry_run: bool
    ) -> dict[str, Any]:
        if self._incidents is None:
            return {"status": "skipped", "reason": "no incident store in this deployment"}
        # the day rule: incidents resolved on a day wholly older than the retention
        before = rules.day_start(rules.first_kept_day(now, spec.incidents_days))
        incidents = self._incidents()
        items, size = incidents.prune(app_id, before, dry_run)
        stored_items, stored_bytes = incidents.usage(app_id)  # after the prune (all on a dry run)
        return {
            "unit": "items",
            "retention_days": spec.incidents_days,
            "cutoff": _iso(before),
            "deleted": {"objects": items, "bytes": size},
            "stored": {"objects": stored_items, "bytes": stored_bytes},
        }

    def _assignment_category(
        self, app_id: str, spec: RetentionSpec, now: datetime, dry_run: bool
    ) -> dict[str, Any]:
        days = spec.assignments_days
        experiments = self._experiments.list_experiments(app_id)
        expired = rules.expired_experiments(experiments, now, days)
        items = size = 0
        for experiment_id in expired:
            found, found_bytes = self._assignments.prune(app_id, experiment_id, dry_run)
            items += found
            size += found_bytes
        export_rows, export_bytes = self._prune_export(app_id, expired, dry_run)
        ttl_set = 0 if dry_run else self._expire_finished(app_id, experiments, expired, days)
        stored_items = stored_bytes = 0
        for experiment in experiments:
            if dry_run or experiment["id"] not in expired:
                count, count_bytes = self._assignments.usage(app_id, experiment["id"])
                stored_items += count
                stored_bytes += count_bytes
        return {
            "unit": "items",
            "retention_days": days,
            "cutoff": _iso(rules.day_start(rules.first_kept_day(now, days))),
            "deleted": {
                "objects": items,
                "bytes": size,
                "experiments": expired[: rules.REPORT_LIST_LIMIT],
                "export_rows": export_rows,
                "export_bytes": export_bytes,
            },
            "stored": {"objects": stored_items, "bytes": stored_bytes},
            "ttl_set": ttl_set,
        }

    def _expire_finished(
        self, app_id: str, experiments: list[dict[str, Any]], expired: list[str], days: int
    ) -> int:
        """A backstop only (this job deletes them itself): once an experiment finished, its
        assignments carry the TTL of the day retention deletes them."""
        changed = 0
        for experiment in experiments:
            finished = rules.experiment_finished_day(experiment)
            if finished is None or experiment["id"] in expired:
                continue
            until = rules.expires_at(finished, days)
            changed += self._assignments.set_expiry(app_id, experiment["id"], int(until.timestamp()))
        return changed

    def _prune_export(self, app_id: str, experiment_ids: list[str], dry_run: bool) -> tuple[int, int]:
        """Remove those experiments' rows from the curated assignments export: (rows, bytes freed;
        approximate, by row share, on a dry run)."""
        if not experiment_ids:
            return 0, 0
        import pyarrow as pa
        import pyarrow.compute as pc

        prefix = ASSIGNMENTS_EXPORT_PREFIX.format(app_id=app_id)
        before, _ = self._lake.usage(prefix)
        table = self._export.assignments(app_id)
        gone = pc.is_in(table["experiment_id"], value_set=pa.array(experiment_ids, pa.string()))
        rows = int(pc.sum(gone).as_py() or 0)
        if rows == 0:
            return 0, 0
        if dry_run:
            return rows, before * rows // max(table.num_rows, 1)
        self._export.write_assignments(app_id, table.filter(pc.invert(gone)))
        after, _ = self._lake.usage(prefix)
        return rows, max(before - after, 0)

    def _archive_category(self, app_id: str, spec: RetentionSpec, dry_run: bool) -> dict[str, Any]:
        if self._archive is None:
            return {"status": "skipped", "reason": "no site bucket in this deployment"}
        archive = self._archive()
        objects, size = archive.prune_archive(app_id, spec.archive_snapshots_keep, dry_run)
        return {
            "unit": "objects",
            "keep_snapshots": spec.archive_snapshots_keep,
            "deleted": {"objects": objects, "bytes": size},
            "stored": archive.archive_usage(app_id),  # after the prune (all on a dry run)
        }
