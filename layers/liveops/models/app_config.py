"""The app config: one YAML per app, a user-facing format as stable as the HTTP API.

Structure is checked by pydantic (unknown keys are errors); cross-references (a measure naming an
event field, a threshold naming a metric...) are checked by `semantic_problems`, so that
`load_app_config` can list every problem with its path before anything is applied.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
APP_ID_PATTERN = r"^[a-z0-9-]{3,40}$"
SNOWFLAKE_PATTERN = r"^[0-9]{5,25}$"

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Scalar = str | bool | int | float
FieldType = Literal["string", "integer", "number", "boolean"]
Agg = Literal["count", "sum", "avg", "min", "max", "p50", "p95", "p99"]
SPAN_AGGS: tuple[str, ...] = ("count", "avg", "min", "max", "p50", "p95", "p99")
ENVELOPE_DIMENSIONS: tuple[str, ...] = ("platform", "client_version", "content_version")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKLY_SECTIONS = (
    "alerts_by_severity",
    "response_times",
    "sessions",
    "busiest",
    "top_responders",
    "kpis",
    "measures",
    "incidents",
)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(StrictModel):
    type: FieldType
    required: bool = False
    enum: list[str | int] | None = Field(default=None, min_length=1)
    min: float | None = None
    max: float | None = None
    max_length: int | None = Field(default=None, ge=1, le=16384)
    description: str | None = None

    @model_validator(mode="after")
    def _options_fit_type(self) -> FieldSpec:
        numeric = self.type in ("integer", "number")
        if (self.min is not None or self.max is not None) and not numeric:
            raise ValueError("min/max apply only to integer and number fields")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        for bound in (self.min, self.max):
            if bound is not None and not math.isfinite(bound):
                raise ValueError("min/max must be finite")
        if self.max_length is not None and self.type != "string":
            raise ValueError("max_length applies only to string fields")
        if self.enum is not None:
            if self.type == "string" and not all(isinstance(v, str) for v in self.enum):
                raise ValueError("enum values of a string field must be strings")
            if self.type == "integer" and not all(isinstance(v, int) for v in self.enum):
                raise ValueError("enum values of an integer field must be integers")
            if self.type not in ("string", "integer"):
                raise ValueError("enum applies only to string and integer fields")
        return self


class EventSpec(StrictModel):
    description: str | None = None
    fields: dict[Name, FieldSpec] = Field(default_factory=dict)


class DimensionSpec(StrictModel):
    name: Name
    source: str = Field(alias="from")

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value in ENVELOPE_DIMENSIONS or re.match(r"^payload\.[a-z][a-z0-9_]{0,63}$", value):
            return value
        raise ValueError(f"must be one of {', '.join(ENVELOPE_DIMENSIONS)} or payload.<field>")


class MeasureSpec(StrictModel):
    event: Name
    field: Name
    aggs: list[Agg] = Field(min_length=1)
    where: dict[Name, Scalar] = Field(default_factory=dict)
    description: str | None = None


class CountFilter(StrictModel):
    event: Name
    where: dict[Name, Scalar] = Field(default_factory=dict)


class KpiSpec(StrictModel):
    numerator: CountFilter
    denominator: CountFilter
    description: str | None = None


class SpanSpec(StrictModel):
    start: Name
    end: Name
    key: Name
    max_minutes: int = Field(default=7 * 24 * 60, ge=1)
    description: str | None = None


class FunnelSpec(StrictModel):
    by: Literal["session", "user"] = "session"
    window_minutes: int = Field(ge=1, le=31 * 24 * 60)
    steps: list[Name] = Field(min_length=2, max_length=20)
    description: str | None = None


class ExperimentsSpec(StrictModel):
    metrics: list[str] = Field(default_factory=list)
    min_sample_per_variant: int = Field(default=100, ge=1)


class ThresholdSpec(StrictModel):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    metric: str
    op: Literal[">", "<", ">=", "<=", "=", "!="]
    value: float
    severity: Literal["warning", "critical"] = "warning"
    for_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)
    where: dict[Name, str] = Field(default_factory=dict)
    auto_resolve: bool = True
    suggested_actions: list[str] = Field(default_factory=list)
    notify: list[Literal["discord", "webhook"]] = Field(default_factory=lambda: ["discord"])  # type: ignore[arg-type]
    description: str | None = None
    enabled: bool = True  # false: not evaluated (an API override can switch a config default off)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class RetentionSpec(StrictModel):
    enabled: bool = True
    raw_events_days: int = Field(default=90, ge=1)
    rollup_hourly_days: int = Field(default=35, ge=1)
    rollup_daily_days: int = Field(default=365, ge=1)
    spans_days: int = Field(default=90, ge=1)
    incidents_days: int = Field(default=365, ge=1)
    assignments_days: int = Field(default=180, ge=1)
    archive_snapshots_keep: int = Field(default=30, ge=1)
    exports_days: int = Field(default=30, ge=1)


class WeeklyReportSpec(StrictModel):
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    hour: int = Field(ge=0, le=23)
    sections: list[Literal[WEEKLY_SECTIONS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(WEEKLY_SECTIONS)
    )


class DiscordSpec(StrictModel):
    guild_id: Annotated[str, Field(pattern=SNOWFLAKE_PATTERN)] | None = None
    alerts_channel_id: Annotated[str, Field(pattern=SNOWFLAKE_PATTERN)] | None = None
    report_channel_id: Annotated[str, Field(pattern=SNOWFLAKE_PATTERN)] | None = None
    responder_role_ids: list[Annotated[str, Field(pattern=SNOWFLAKE_PATTERN)]] = Field(default_factory=list)
    webhook_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    weekly_report: WeeklyReportSpec | None = None


class AppConfig(StrictModel):
    app_id: Annotated[str, Field(pattern=APP_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    platforms: list[Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]] = Field(min_length=1)
    max_event_age_days: int = Field(default=30, ge=1, le=3650)
    events: dict[Name, EventSpec] = Field(min_length=1)
    dimensions: list[Name | DimensionSpec] = Field(default_factory=list)
    measures: dict[Name, MeasureSpec] = Field(default_factory=dict)
    kpis: dict[Name, KpiSpec] = Field(default_factory=dict)
    spans: dict[Name, SpanSpec] = Field(default_factory=dict)
    funnels: dict[Name, FunnelSpec] = Field(default_factory=dict)
    experiments: ExperimentsSpec = Field(default_factory=ExperimentsSpec)
    thresholds: list[ThresholdSpec] = Field(default_factory=list)
    retention: RetentionSpec = Field(default_factory=RetentionSpec)
    discord: DiscordSpec = Field(default_factory=DiscordSpec)
    # embedded: pyarrow inside the rollup Lambda; athena: the same SQL on Athena, for big apps
    rollup_engine: Literal["embedded", "athena"] = "embedded"

    def dimension_specs(self) -> list[DimensionSpec]:
        """Dimensions in their long form; a bare name is an envelope field of that name."""
        # model_construct: a bare name that is no envelope field is reported by semantic_problems
        return [
            DimensionSpec.model_construct(name=d, source=d) if isinstance(d, str) else d
            for d in self.dimensions
        ]

    def metric_names(self) -> set[str]:
        """Every figure a threshold or an experiment may name."""
        names = {"events.count"}
        for name, measure in self.measures.items():
            names.update(f"{name}.{agg}" for agg in measure.aggs)
        names.update(self.kpis)
        for name in self.spans:
            names.update(f"{name}.{agg}" for agg in SPAN_AGGS)
        return names


class Problem(BaseModel):
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.message}"


class AppConfigError(Exception):
    """The config was refused; `problems` lists every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


PYDANTIC_TAGS = frozenset({"str", "int", "float", "bool"})


def _path(loc: tuple[Any, ...], data: Any) -> str:
    """A problem's location in the user's document. pydantic adds the names of union members and
    validators to `loc`; only parts that exist in the document are kept."""
    parts: list[str] = []
    current = data
    for item in loc:
        if isinstance(current, dict) and item in current:
            parts.append(str(item))
            current = current[item]
        elif isinstance(current, list) and isinstance(item, int) and 0 <= item < len(current):
            parts.append(f"[{item}]")
            current = current[item]
        elif (
            isinstance(current, dict)
            and isinstance(item, str)
            and re.fullmatch(r"[a-z_][a-z0-9_]*", item)
            and item not in PYDANTIC_TAGS
        ):
            parts.append(item)  # a missing key
            current = None
        elif not isinstance(current, dict | list):
            break
    return ".".join(parts).replace(".[", "[")


def _check_where(
    problems: list[Problem], path: str, config: AppConfig, event: str, where: dict[str, Any]
) -> None:
    spec = config.events.get(event)
    if spec is None:
        return
    for key, value in where.items():
        field = spec.fields.get(key)
        if field is None:
            problems.append(
                Problem(path=f"{path}.where.{key}", message=f"event {event!r} has no field {key!r}")
            )
        elif not _value_fits(field, value):
            problems.append(
                Problem(path=f"{path}.where.{key}", message=f"{value!r} is not a valid {field.type} value")
            )


def _value_fits(field: FieldSpec, value: Any) -> bool:
    if field.type == "string":
        return isinstance(value, str)
    if field.type == "boolean":
        return isinstance(value, bool)
    if field.type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def semantic_problems(config: AppConfig) -> list[Problem]:
    """Cross-reference checks that a single field's type cannot express."""
    problems: list[Problem] = []
    events = config.events

    def need_event(path: str, event: str) -> None:
        if event not in events:
            problems.append(Problem(path=path, message=f"unknown event type {event!r}"))

    if len(set(config.platforms)) != len(config.platforms):
        problems.append(Problem(path="platforms", message="platforms must be unique"))

    payload_fields: dict[str, set[str]] = {}
    for event_spec in events.values():
        for name, declared in event_spec.fields.items():
            payload_fields.setdefault(name, set()).add(declared.type)
    seen_dims: set[str] = set()
    for i, dim in enumerate(config.dimension_specs()):
        if dim.name in seen_dims:
            problems.append(Problem(path=f"dimensions[{i}]", message=f"duplicate dimension {dim.name!r}"))
        seen_dims.add(dim.name)
        if dim.source.startswith("payload."):
            field = dim.source.removeprefix("payload.")
            types = payload_fields.get(field)
            if types is None:
                problems.append(
                    Problem(path=f"dimensions[{i}]", message=f"no event declares the payload field {field!r}")
                )
            elif not types <= {"string", "integer"}:
                # dimension values are text: numbers and booleans have no single exact spelling
                problems.append(
                    Problem(
                        path=f"dimensions[{i}]", message=f"payload.{field} must be a string or integer field"
                    )
                )
        elif dim.source not in ENVELOPE_DIMENSIONS:
            problems.append(
                Problem(
                    path=f"dimensions[{i}]",
                    message=f"{dim.source!r} is not an envelope field ({', '.join(ENVELOPE_DIMENSIONS)});"
                    " use {name: ..., from: payload.<field>} for payload fields",
                )
            )

    figure_names: dict[str, str] = {}
    for section in ("measures", "kpis", "spans"):
        for name in getattr(config, section):
            if name == "events":
                problems.append(Problem(path=f"{section}.{name}", message="'events' is reserved"))
            if name in figure_names:
                problems.append(
                    Problem(path=f"{section}.{name}", message=f"name already used in {figure_names[name]}")
                )
            figure_names[name] = section

    for name, measure in config.measures.items():
        path = f"measures.{name}"
        need_event(f"{path}.event", measure.event)
        spec = events.get(measure.event)
        if spec is not None:
            measured = spec.fields.get(measure.field)
            if measured is None:
                problems.append(
                    Problem(
                        path=f"{path}.field",
                        message=f"event {measure.event!r} has no field {measure.field!r}",
                    )
                )
            elif measured.type not in ("integer", "number"):
                problems.append(Problem(path=f"{path}.field", message=f"{measure.field!r} is not numeric"))
        _check_where(problems, path, config, measure.event, measure.where)
        if len(set(measure.aggs)) != len(measure.aggs):
            problems.append(Problem(path=f"{path}.aggs", message="aggregations must be unique"))

    for name, kpi in config.kpis.items():
        for part in ("numerator", "denominator"):
            flt: CountFilter = getattr(kpi, part)
            need_event(f"kpis.{name}.{part}.event", flt.event)
            _check_where(problems, f"kpis.{name}.{part}", config, flt.event, flt.where)

    for name, span in config.spans.items():
        for part in ("start", "end"):
            event = getattr(span, part)
            need_event(f"spans.{name}.{part}", event)
            if event in events and span.key not in events[event].fields:
                problems.append(
                    Problem(path=f"spans.{name}.key", message=f"event {event!r} has no field {span.key!r}")
                )
            elif event in events and events[event].fields[span.key].type not in ("string", "integer"):
                problems.append(
                    Problem(
                        path=f"spans.{name}.key", message=f"{span.key!r} must be a string or integer field"
                    )
                )
        if span.start == span.end:
            problems.append(Problem(path=f"spans.{name}", message="start and end must differ"))

    for name, funnel in config.funnels.items():
        for i, step in enumerate(funnel.steps):
            need_event(f"funnels.{name}.steps[{i}]", step)

    metrics = config.metric_names()
    for i, metric in enumerate(config.experiments.metrics):
        if metric not in metrics:
            problems.append(Problem(path=f"experiments.metrics[{i}]", message=f"unknown metric {metric!r}"))
        elif (
            metric.rsplit(".", 1)[-1] in ("min", "max", "p50", "p95", "p99")
            or metric.split(".")[0] in config.spans
        ):
            # readouts compare means (Welch t-test, delta method): a per-user mean must exist
            problems.append(
                Problem(
                    path=f"experiments.metrics[{i}]",
                    message=f"{metric!r}: experiments compare means; use a KPI, events.count "
                    "or a measure's count, sum or avg",
                )
            )

    seen_thresholds: set[str] = set()
    for i, threshold in enumerate(config.thresholds):
        path = f"thresholds[{i}]"
        if threshold.id in seen_thresholds:
            problems.append(Problem(path=f"{path}.id", message=f"duplicate threshold id {threshold.id!r}"))
        seen_thresholds.add(threshold.id)
        # thresholds may also count one event type (`events.<event_type>`), as the metrics API does
        head, _, event_type = threshold.metric.partition(".")
        if threshold.metric not in metrics and not (head == "events" and event_type in events):
            problems.append(Problem(path=f"{path}.metric", message=f"unknown metric {threshold.metric!r}"))
        for key in threshold.where:
            if key not in seen_dims:
                problems.append(Problem(path=f"{path}.where.{key}", message=f"{key!r} is not a dimension"))
        if len(threshold.where) > 1:
            # rollups keep the total and each dimension alone: a figure has at most one dimension
            problems.append(
                Problem(path=f"{path}.where", message="a threshold may filter on one dimension at most")
            )
        if "discord" in threshold.notify and config.discord.alerts_channel_id is None:
            problems.append(
                Problem(path=f"{path}.notify", message="notify: discord needs discord.alerts_channel_id")
            )
        if "webhook" in threshold.notify and config.discord.webhook_url is None:
            problems.append(
                Problem(path=f"{path}.notify", message="notify: webhook needs discord.webhook_url")
            )

    weekly = config.discord.weekly_report
    if weekly is not None and config.discord.report_channel_id is None:
        problems.append(
            Problem(path="discord.weekly_report", message="a weekly report needs discord.report_channel_id")
        )
    return problems


def load_app_config(data: Any) -> AppConfig:
    """Validate a parsed config document; raise AppConfigError listing every problem."""
    if not isinstance(data, dict):
        raise AppConfigError([Problem(path="", message="the config must be a mapping")])
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        raise AppConfigError(
            [Problem(path=_path(tuple(err["loc"]), data), message=err["msg"]) for err in exc.errors()]
        ) from None
    problems = semantic_problems(config)
    if problems:
        raise AppConfigError(problems)
    return config
