"""Shapes of the metrics API answers. They document the routes in OpenAPI; the integration tests
validate real answers against them, so the document cannot drift from what is served."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SUPPRESSED = "groups or points left out: fewer than METRICS_KANON_MIN distinct users are behind them"
DIMS = "{} for the total, else {dimension: value}"


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RangeOut(Out):
    app: str
    start: str = Field(alias="from", description="start of the range (UTC)")
    end: str = Field(alias="to", description="end of the range, exclusive (UTC)")


class Point(Out):
    t: str = Field(description="start of the hour or day (UTC)")
    value: float
    n: int = Field(description="events (or span pairs) behind the value; a KPI's denominator")


class Series(Out):
    dims: dict[str, str] = Field(description=DIMS)
    points: list[Point]


class TimeseriesOut(Out):
    app: str
    metric: str
    granularity: Literal["hour", "day"]
    series: list[Series]
    suppressed: int = Field(description=SUPPRESSED)


class KpiValue(Out):
    kpi: str
    dims: dict[str, str] = Field(description=DIMS)
    numerator: int
    denominator: int
    value: float | None = Field(description="numerator / denominator; null without denominator events")


class KpisOut(RangeOut):
    kpis: list[KpiValue]
    suppressed: int = Field(description=SUPPRESSED)


class Totals(Out):
    events: int
    users_lower_bound: int = Field(description="the most distinct users of a single day in the range")


class EventCount(Out):
    event_type: str
    count: int


class OverviewOut(RangeOut):
    totals: Totals | None = Field(description="null when suppressed")
    events_by_type: list[EventCount]
    top_kpis: list[KpiValue] = Field(description="the KPIs with the most denominator events")
    latest_incidents: list[dict[str, Any]]
    suppressed: int = Field(description=SUPPRESSED)


class FunnelStep(Out):
    step: int
    name: str
    units: int = Field(description="sessions or users reaching the step, summed over the days")
    conversion_from_start: float
    conversion_from_previous: float | None


class FunnelGroup(Out):
    dims: dict[str, str] = Field(description=DIMS)
    steps: list[FunnelStep]


class FunnelOut(RangeOut):
    funnel: str
    by: Literal["session", "user"]
    window_minutes: int
    groups: list[FunnelGroup]
    suppressed: int = Field(description=SUPPRESSED)


class VariantStats(Out):
    variant: str
    units: int = Field(description="user-days: users active in the variant, summed over the days")
    sum_x: float
    sum_x2: float
    sum_y: float
    sum_y2: float
    sum_xy: float


class ExperimentMetric(Out):
    metric: str
    variants: list[VariantStats]


class ExperimentOut(RangeOut):
    experiment: str
    status: str
    metrics: list[ExperimentMetric]
    readout: dict[str, Any] = Field(
        description="per variant exposures, means, lift with 95% CI, p-values (raw and Benjamini-Hochberg), "
        "minimum-sample gating and the sample-ratio-mismatch check"
    )
    suppressed: int = Field(description=SUPPRESSED)


class StorageCategory(Out):
    category: str = Field(
        description="a retention category: a lake table, assignments_export, incidents, assignments, archive"
    )
    prefix: str = Field(
        description="where it is stored: a key prefix in the lake bucket, or dynamodb://<table>/<key "
        "prefix> (incidents, assignments), or s3://<site bucket>/apps/<app>/archive/"
    )
    bytes: int = Field(description="bytes (approximate for DynamoDB items)")
    objects: int = Field(description="S3 objects, or DynamoDB items")


class StorageTotal(Out):
    bytes: int
    objects: int


class StorageOut(Out):
    app: str
    categories: list[StorageCategory]
    total: StorageTotal
    last_cleanup: dict[str, Any] | None = Field(
        description="the retention job's last real run's report (null until it runs)"
    )
    last_dry_run: dict[str, Any] | None = Field(
        default=None, description="the retention job's last dry run's report (what it would delete)"
    )
