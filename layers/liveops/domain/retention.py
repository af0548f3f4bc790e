"""Retention rules (pure): which partitions and items of an app are past their category's retention.

The boundary rule, one for every category: with `cutoff = now - N days` (N the category's
`retention.*_days`), a partition covering [start, end) is deleted only when `end <= cutoff`, i.e.
when the whole day (or hour) is older than the retention. For day partitions this means
`dt < (now - N days).date()`: the day at the edge is kept. Items without a partition (incidents,
assignments of finished experiments) count by the day of the event that ends their life (resolved,
finished), with the same day rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

# the first path segments below an app's prefix: dt=YYYY-MM-DD[/hour=HH]/...
_PARTITION = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})/(?:hour=(\d{2})/)?")
# partitions named in a stored report, per category (the counts are always complete)
REPORT_LIST_LIMIT = 100


@dataclass(frozen=True)
class LakeCategory:
    """A data category stored as Hive partitions in the lake bucket."""

    name: str  # report key
    setting: str  # the RetentionSpec field holding its retention in days
    root: str  # lake prefix of the table, without the app partition
    glue_table: str | None  # its Glue table (None: not in the catalog)
    hourly: bool = False  # partitioned by dt and hour (else by dt)

    def prefix(self, app_id: str) -> str:
        return f"{self.root}/app_id={app_id}/"


LAKE_CATEGORIES: tuple[LakeCategory, ...] = (
    LakeCategory("raw_events", "raw_events_days", "raw/events", "raw_events", hourly=True),
    LakeCategory("rollup_hourly", "rollup_hourly_days", "curated/rollup_hourly", "rollup_hourly"),
    LakeCategory("rollup_daily", "rollup_daily_days", "curated/rollup_daily", "rollup_daily"),
    LakeCategory("kpi_daily", "rollup_daily_days", "curated/kpi_daily", "kpi_daily"),
    LakeCategory("funnel_daily", "rollup_daily_days", "curated/funnel_daily", "funnel_daily"),
    LakeCategory("experiment_daily", "rollup_daily_days", "curated/experiment_daily", "experiment_daily"),
    LakeCategory("span_daily", "spans_days", "curated/span_daily", "span_daily"),
    # written by `liveops export --s3 s3://<lake bucket>/exports`: exports/app_id=/dt=<export day>/<id>/
    LakeCategory("exports", "exports_days", "exports", None),
)
OTHER_CATEGORIES = ("incidents", "assignments", "archive")
# the jobs table's run logs of the retention job: real runs (and apps skipped by config), dry runs
# (kept apart, so a dry run never hides the last real cleanup), runs that found the lease taken
RUN_LOG = "retention"
DRY_RUN_LOG = "retention-dry-run"
SKIPPED_LOG = "retention-skipped"


def cutoff(now: datetime, days: int) -> datetime:
    """Everything that ended at or before this moment is past a retention of `days`."""
    return now.astimezone(UTC) - timedelta(days=days)


def first_kept_day(now: datetime, days: int) -> date:
    """The oldest day kept: day partitions strictly before it are deleted."""
    return cutoff(now, days).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def expires_at(day: date, days: int) -> datetime:
    """The moment the day rule deletes what ended on `day` (an incident resolved, an experiment
    finished) under a retention of `days`: the TTL to set on such items (a backstop: the job
    deletes them itself from that moment on)."""
    return day_start(day) + timedelta(days=days + 1)


def partition_end(day: date, hour: int | None) -> datetime:
    if hour is None:
        return day_start(day) + timedelta(days=1)
    return day_start(day) + timedelta(hours=hour + 1)


def is_expired(day: date, hour: int | None, now: datetime, days: int) -> bool:
    """The boundary rule: the partition's whole day (or hour) ended at or before the cutoff."""
    return partition_end(day, hour) <= cutoff(now, days)


@dataclass(frozen=True, order=True)
class PartitionId:
    day: date
    hour: int | None = None

    def label(self) -> str:
        base = f"dt={self.day.isoformat()}"
        return base if self.hour is None else f"{base}/hour={self.hour:02d}"

    def glue_values(self, app_id: str) -> list[str]:
        values = [app_id, self.day.isoformat()]
        return values if self.hour is None else [*values, f"{self.hour:02d}"]


def parse_partition(relative_key: str, hourly: bool) -> PartitionId | None:
    """The partition of a key below an app prefix; None when the key follows no partition layout
    (such objects are never deleted)."""
    match = _PARTITION.match(relative_key)
    if match is None or (hourly and match.group(2) is None):
        return None
    try:
        day = date.fromisoformat(match.group(1))
    except ValueError:
        return None
    hour = int(match.group(2)) if hourly else None
    if hour is not None and hour > 23:
        return None
    return PartitionId(day, hour)


def glue_partition(values: list[str], hourly: bool) -> PartitionId | None:
    """The partition of Glue partition values (app_id, dt[, hour]); None when malformed."""
    try:
        day = date.fromisoformat(values[1])
        hour = int(values[2]) if hourly else None
    except (IndexError, ValueError):
        return None
    return PartitionId(day, hour)


@dataclass
class Selection:
    """A category's objects split by the boundary rule."""

    expired: dict[PartitionId, list[tuple[str, int]]] = field(default_factory=dict)  # -> (key, bytes)
    total_bytes: int = 0
    total_objects: int = 0

    @property
    def keys(self) -> list[str]:
        return [key for objects in self.expired.values() for key, _ in objects]

    @property
    def expired_bytes(self) -> int:
        return sum(size for objects in self.expired.values() for _, size in objects)


def select_expired(
    objects: Iterable[tuple[str, int]], prefix: str, hourly: bool, now: datetime, days: int
) -> Selection:
    """Group an app's listed objects (key, bytes) by partition and keep those past retention."""
    selection = Selection()
    for key, size in objects:
        selection.total_bytes += size
        selection.total_objects += 1
        partition = parse_partition(key[len(prefix) :], hourly) if key.startswith(prefix) else None
        if partition is not None and is_expired(partition.day, partition.hour, now, days):
            selection.expired.setdefault(partition, []).append((key, size))
    return selection


def experiment_finished_day(experiment: dict[str, Any]) -> date | None:
    """The day a finished experiment finished (finished experiments are immutable, so their
    `updated_at` is the moment they finished); None when it is not finished."""
    if experiment.get("status") != "finished":
        return None
    stamp = str(experiment.get("finished_at") or experiment.get("updated_at") or "")
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).date()
    except ValueError:
        return None


def expired_experiments(experiments: Iterable[dict[str, Any]], now: datetime, days: int) -> list[str]:
    """Ids of the experiments that finished on a day wholly older than the retention."""
    edge = first_kept_day(now, days)
    out = []
    for experiment in experiments:
        finished = experiment_finished_day(experiment)
        if finished is not None and finished < edge:
            out.append(str(experiment["id"]))
    return sorted(out)


def listed(labels: list[str]) -> dict[str, Any]:
    """What a report names: at most REPORT_LIST_LIMIT labels (reports are stored as one item)."""
    shown = sorted(labels)[:REPORT_LIST_LIMIT]
    out: dict[str, Any] = {"partitions": shown}
    if len(labels) > len(shown):
        out["partitions_not_listed"] = len(labels) - len(shown)
    return out
