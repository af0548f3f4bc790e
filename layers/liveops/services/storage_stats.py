"""Storage per data category of an app: what every retention category holds now (listed live
from its store) and the retention job's last reports (the last real cleanup, and apart from it the
last dry run). Served by GET /v1/metrics/storage and printed by `liveops storage --app A`.

Categories and where they live (the `prefix` column names the location):
- the lake categories of liveops.domain.retention (raw events, rollups, KPIs, funnels,
  experiments, spans, exports) and the curated assignments export: key prefixes in the lake
  bucket (`raw/events/app_id=<app>/`, ...), objects;
- `incidents`: `dynamodb://<incidents table>/APP#<app>/INC#`, items (open and resolved);
- `assignments`: `dynamodb://<assignments table>/<app>#<experiment>`, items of every experiment;
- `archive`: `s3://<site bucket>/apps/<app>/archive/`, objects of the dashboard snapshots.
Bytes of DynamoDB items are approximate (attribute names and values as text), like the sizes the
retention job reports for what it deletes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from liveops.domain.retention import DRY_RUN_LOG, LAKE_CATEGORIES, RUN_LOG

COLUMNS = ["category", "prefix", "bytes", "objects"]
ASSIGNMENTS_EXPORT = "curated/assignments/app_id={app_id}/"


class PrefixUsage(Protocol):
    def usage(self, prefix: str) -> tuple[int, int]: ...  # (bytes, objects)


class IncidentUsage(Protocol):
    def usage(self, app_id: str) -> tuple[int, int]: ...  # (items, bytes)


class AssignmentUsage(Protocol):
    def usage(self, app_id: str, experiment_id: str) -> tuple[int, int]: ...  # (items, bytes)


class Experiments(Protocol):
    def list_experiments(self, app_id: str) -> list[dict[str, Any]]: ...


class ArchiveUsage(Protocol):
    def archive_usage(self, app_id: str) -> dict[str, int]: ...  # snapshots, objects, bytes


class RunLog(Protocol):
    def last_run(self, job: str, app_id: str) -> dict[str, Any] | None: ...


class StorageStats:
    """Every category's store behind one PrefixUsage: `prefixes(app)` names each category's
    location, `usage(location)` measures it (lake prefixes through `lake`). The stores are built
    on first use (callables), so the admin function pays for none until /v1/metrics/storage."""

    def __init__(
        self,
        lake: PrefixUsage,
        *,
        incidents_table: str,
        incidents: Callable[[], IncidentUsage],
        assignments_table: str,
        assignments: Callable[[], AssignmentUsage],
        experiments: Callable[[], Experiments],
        site_bucket: str,
        archive: Callable[[], ArchiveUsage],
        runs: Callable[[], RunLog],
    ) -> None:
        self._lake = lake
        self._incidents_at = f"dynamodb://{incidents_table}/APP#"
        self._incidents = incidents
        self._assignments_at = f"dynamodb://{assignments_table}/"
        self._assignments = assignments
        self._experiments = experiments
        self._archive_at = f"s3://{site_bucket}/apps/"
        self._archive = archive
        self._runs = runs

    def prefixes(self, app_id: str) -> dict[str, str]:
        """Data category -> where it is stored for the app (see the module docstring)."""
        return {
            **{category.name: category.prefix(app_id) for category in LAKE_CATEGORIES},
            "assignments_export": ASSIGNMENTS_EXPORT.format(app_id=app_id),
            "incidents": f"{self._incidents_at}{app_id}/INC#",
            "assignments": f"{self._assignments_at}{app_id}#<experiment>",
            "archive": f"{self._archive_at}{app_id}/archive/",
        }

    def usage(self, location: str) -> tuple[int, int]:
        """(bytes, objects or items) at a location `prefixes` named; anything else is a lake prefix."""
        if location.startswith(self._incidents_at) and location.endswith("/INC#"):
            items, size = self._incidents().usage(location[len(self._incidents_at) : -len("/INC#")])
            return size, items
        if location.startswith(self._assignments_at) and location.endswith("#<experiment>"):
            app_id = location[len(self._assignments_at) : -len("#<experiment>")]
            store = self._assignments()
            items = size = 0
            for experiment in self._experiments().list_experiments(app_id):
                count, count_bytes = store.usage(app_id, str(experiment["id"]))
                items += count
                size += count_bytes
            return size, items
        if location.startswith(self._archive_at) and location.endswith("/archive/"):
            found = self._archive().archive_usage(location[len(self._archive_at) : -len("/archive/")])
            return found["bytes"], found["objects"]
        return self._lake.usage(location)

    def last_cleanup(self, app_id: str) -> dict[str, Any] | None:
        """The retention job's last real run (dry runs are logged apart)."""
        return self._runs().last_run(RUN_LOG, app_id)

    def last_dry_run(self, app_id: str) -> dict[str, Any] | None:
        return self._runs().last_run(DRY_RUN_LOG, app_id)


def storage_summary(
    app_id: str, usage: PrefixUsage, prefixes: dict[str, str], last_cleanup: dict[str, Any] | None
) -> tuple[dict[str, Any], tuple[list[str], list[list[Any]]]]:
    """(the JSON body, its flat table for CSV). With the StorageStats the deployment builds as
    `usage`, the body also carries the last dry run (`last_dry_run`)."""
    with ThreadPoolExecutor(max_workers=max(len(prefixes), 1)) as pool:
        sizes = list(pool.map(usage.usage, prefixes.values()))
    rows: list[list[Any]] = [
        [category, prefix, size, objects]
        for (category, prefix), (size, objects) in zip(prefixes.items(), sizes, strict=True)
    ]
    body = {
        "app": app_id,
        "categories": [dict(zip(COLUMNS, row, strict=True)) for row in rows],
        "total": {"bytes": sum(size for size, _ in sizes), "objects": sum(n for _, n in sizes)},
        "last_cleanup": last_cleanup,
        "last_dry_run": usage.last_dry_run(app_id) if isinstance(usage, StorageStats) else None,
    }
    return body, (COLUMNS, rows)
