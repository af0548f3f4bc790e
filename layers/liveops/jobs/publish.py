"""The `publish` job (02:30 UTC and on demand): each app's static dashboard, its data and a dated
snapshot in the site bucket, then the archive kept to `retention.archive_snapshots_keep`.

Order per app (readers never see a half-updated dashboard; see liveops.storage.site_bucket):
1. render everything in memory (figures -> page, data.json, CSVs);
2. upload the snapshot `archive/<UTC timestamp>/` — nothing names it yet;
3. switch, all or nothing: the archive index (index.json, index.html), then `index.html`, then
   `current.json`, one atomic PUT each; a failed PUT puts back every object already written;
4. prune snapshots beyond the newest N.
A failure in 1-3 leaves the previous dashboard served as it was (a snapshot nothing named is
removed, best effort), reports the app failed with what readers now see (`live`: "previous", or
"partial" with the objects showing the new snapshot when even the restore failed) and opens a
`publish` incident saying the same. The Lambda handler then fails the invocation, so the
function's Errors alarm notifies the admins' ops topic whatever the app's alert settings.
`dry_run` renders and lists the files, uploads nothing and opens no incident.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from liveops.jobs import JobError
from liveops.models.app_config import AppConfig
from liveops.publish.render import Rendered, render_site
from liveops.services.figures import Figures, default_range
from liveops.storage.site_bucket import SiteBucket, SwitchFailed

# the dashboard's range: the last 90 whole UTC days up to today (the metrics API allows 120)
DASHBOARD_DAYS = 90
SNAPSHOT_FORMAT = "%Y%m%dT%H%M%SZ"  # sorts chronologically as text


class Apps(Protocol):
    def list_apps(self) -> list[tuple[str, int]]: ...
    def get_config(self, app_id: str) -> tuple[AppConfig, int] | None: ...


class Collector(Protocol):
    def collect(self, app_id: str, start: datetime, end: datetime) -> Figures: ...


class JobIncidents(Protocol):
    def open_job_incident(
        self, app_id: str, source: str, summary: str, severity: str = "critical"
    ) -> Any: ...


class PublishJob:
    def __init__(
        self,
        apps: Apps,
        figures: Collector,
        site: SiteBucket,
        incidents: Callable[[], JobIncidents],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Callable[[str], None] = lambda message: None,
        days: int = DASHBOARD_DAYS,
    ) -> None:
        self._apps = apps
        self._figures = figures
        self._site = site
        self._incidents = incidents  # built on first failure only
        self._clock = clock
        self._progress = progress
        self._days = days

    def run(self, app_id: str | None, options: dict[str, Any]) -> dict[str, Any]:
        dry_run = bool(options.get("dry_run"))
        if app_id is not None:
            found = self._apps.get_config(app_id)
            if found is None:
                raise JobError(f"unknown app {app_id!r}")
            configs = [found[0]]
        else:
            configs = [c[0] for a, _ in self._apps.list_apps() if (c := self._apps.get_config(a)) is not None]
        reports = {config.app_id: self._publish(config, dry_run) for config in configs}
        return {"job": "publish", "dry_run": dry_run, "bucket": self._site.bucket, "apps": reports}

    def _publish(self, config: AppConfig, dry_run: bool) -> dict[str, Any]:
        app_id = config.app_id
        now = self._clock()
        rendered: Rendered | None = None
        unnamed = False  # a snapshot uploaded (maybe partly) that no switch object has named yet
        try:
            start, end = default_range(now, self._days)
            rendered = render_site(
                self._figures.collect(app_id, start, end), self._snapshot_id(app_id, now, dry_run)
            )
            listing = [f"archive/{rendered.snapshot_id}/{f.path}" for f in rendered.snapshot]
            listing += [f.path for f in rendered.switch]
            report: dict[str, Any] = {
                "status": "ok",
                "snapshot": rendered.snapshot_id,
                "prefix": f"apps/{app_id}/",
                "files": listing,
                "bytes": rendered.bytes,
                "page_bytes": len(rendered.switch[0].body),
            }
            if dry_run:
                self._progress(f"{app_id}: would publish {len(listing)} files ({rendered.bytes} bytes)")
                return report
            self._progress(f"{app_id}: uploading snapshot {rendered.snapshot_id}")
            unnamed = True
            self._site.upload_snapshot(app_id, rendered.snapshot_id, rendered.snapshot)
            entry = {
                "id": rendered.snapshot_id,
                "generated_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "from": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "to": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "files": len(rendered.snapshot),
                "bytes": rendered.bytes,
            }
            snapshots = [entry, *(s for s in self._site.snapshots(app_id) if s["id"] != entry["id"])]
            index = self._site.archive_index_files(app_id, config.name, snapshots)
            self._site.switch(app_id, [*index, *rendered.switch])
        except SwitchFailed as exc:
            # a snapshot any switch object named, even for a moment, stays (prune_archive removes it)
            return self._failed(config, exc, rendered if not exc.named_snapshot else None, exc)
        except Exception as exc:  # any other failure: nothing changed for readers
            return self._failed(config, exc, rendered if unnamed else None, None, dry_run)
        keep = config.retention.archive_snapshots_keep
        try:
            objects, size = self._site.prune_archive(app_id, keep, dry_run=False)
        except Exception as exc:  # the new dashboard is live; a failed prune is retried next run
            report["prune_error"] = f"{type(exc).__name__}: {exc}"
            objects, size = 0, 0
        report["pruned"] = {"objects": objects, "bytes": size, "keep": keep}
        self._progress(f"{app_id}: published {rendered.snapshot_id}; pruned {objects} old objects")
        return report

    def _snapshot_id(self, app_id: str, now: datetime, dry_run: bool) -> str:
        base = now.astimezone(UTC).strftime(SNAPSHOT_FORMAT)
        if dry_run:
            return base
        taken = {s["id"] for s in self._site.snapshots(app_id)}
        candidate, n = base, 1
        while candidate in taken:  # two publishes within one second
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def _failed(
        self,
        config: AppConfig,
        exc: Exception,
        partial: Rendered | None,
        switch: SwitchFailed | None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        app_id = config.app_id
        error = f"{type(exc).__name__}: {exc}"
        report: dict[str, Any] = {"status": "failed", "error": error, "live": "previous"}
        if switch is not None and switch.new:
            # even the restore failed: say exactly what readers see now
            report.update(live="partial", new_objects=switch.new, restore_error=switch.restore_error)
            shown = ", ".join(switch.new)
            summary = (
                f"The dashboard of {config.name} was only partly switched: {shown} show the new "
                f"snapshot, the other switch objects the previous one (each names a complete "
                f"snapshot). Re-run the publish. Cause: {error}; {switch.restore_error}"
            )
        else:
            summary = (
                f"The dashboard of {config.name} could not be published; the previous dashboard "
                f"is still served unchanged. Cause: {error}"
            )
        self._progress(f"{app_id}: publish failed ({report['live']} dashboard live): {error}")
        if partial is not None:
            try:
                self._site.remove_snapshot(app_id, partial.snapshot_id)
            except Exception as cleanup:  # left for prune_archive, which removes unlisted leftovers
                report["cleanup_error"] = f"{type(cleanup).__name__}: {cleanup}"
        if dry_run:  # nothing was to change: the caller sees the failure, no one is paged
            return report
        try:
            incident = self._incidents().open_job_incident(app_id, "publish", summary[:500])
            report["incident_id"] = getattr(incident, "incident_id", None)
            if getattr(incident, "notification_error", None):
                report["notification_error"] = incident.notification_error
        except Exception as notify:  # the run still reports failed; the log keeps both errors
            report["incident_error"] = f"{type(notify).__name__}: {notify}"
        return report
