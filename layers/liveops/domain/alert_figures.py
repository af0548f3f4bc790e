"""The figure a threshold is compared with, from the curated rollups (see docs/decisions.md,
"Alert evaluation window").

- Additive figures (`events.*`, a measure's `count` or `sum`, a span's `count`) grow during their
  bucket, so a partial bucket would always look low: they are read from the last complete bucket
  (the previous UTC hour of rollup_hourly; the previous UTC day of span_daily for spans). No row
  means nothing happened: the figure is 0.
- Everything else (averages, min/max, percentiles, KPI ratios) is a level, comparable at any time:
  it is read from the current bucket as rolled up so far, else the previous one. No row means
  there is no figure, and the threshold is not evaluated.
A scope (`where`) names at most one dimension: rollups keep the total and each dimension alone.
Figures are not k-anonymity filtered: alerts go to the app's own team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from liveops.domain.metrics import MetricRef, Selection, Window, parse_metric, span_rollup, timeseries
from liveops.models.app_config import AppConfig, ThresholdSpec


@dataclass(frozen=True)
class Figure:
    value: float
    bucket: datetime  # the start of the hour or day the value describes
    grain: str  # "hour" or "day"


def is_additive(ref: MetricRef) -> bool:
    return ref.kind == "events" or ref.agg in ("count", "sum")


def bucket_starts(now: datetime, grain: str) -> tuple[datetime, datetime]:
    """(current, previous) bucket starts at `now`."""
    now = now.astimezone(UTC)
    if grain == "hour":
        current = now.replace(minute=0, second=0, microsecond=0)
        return current, current - timedelta(hours=1)
    current = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return current, current - timedelta(days=1)


def grain_of(config: AppConfig, threshold: ThresholdSpec) -> str:
    return "day" if parse_metric(config, threshold.metric).kind == "span" else "hour"


def figure(config: AppConfig, threshold: ThresholdSpec, rows: pa.Table, now: datetime) -> Figure | None:
    """The threshold's figure at `now`. `rows`: rollup_hourly rows (or span_daily rows for a span
    metric) covering at least the previous and the current bucket."""
    ref = parse_metric(config, threshold.metric)
    grain = "day" if ref.kind == "span" else "hour"
    if ref.kind == "span":
        rows = span_rollup(rows)
    current, previous = bucket_starts(now, grain)
    selection = Selection(*next(iter(threshold.where.items()))) if threshold.where else Selection()
    span = Window(previous, current + (timedelta(hours=1) if grain == "hour" else timedelta(days=1)))
    series, _ = timeseries(rows, ref, selection, span, grain, 0)  # type: ignore[arg-type]
    points = {point["t"]: point["value"] for entry in series for point in entry["points"]}

    def at(moment: datetime) -> float | None:
        value = points.get(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
        return None if value is None else float(value)

    if is_additive(ref):
        value = at(previous)
        return Figure(0.0 if value is None else value, previous, grain)
    for moment in (current, previous):
        value = at(moment)
        if value is not None:
            return Figure(value, moment, grain)
    return None
