"""GET /v1/metrics/*: figures from the curated tables, as JSON or CSV, for viewers and up.

The figures are computed by `liveops.domain.metrics` (pyarrow), imported on the first metrics
request so that building this resolver stays cheap (e.g. for `liveops openapi`).
"""

# No `from __future__ import annotations` here: the routes' RBAC dependency is a closure, and
# Powertools reads dependencies from the evaluated annotations.

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from liveops.api.admin_docs import BEARER, protected_responses
from liveops.api.http import json_response
from liveops.errors import BadRequest, NotFound
from liveops.models.app_config import APP_ID_PATTERN, NAME_PATTERN, AppConfig
from liveops.models.metrics import (
    ExperimentOut,
    FunnelOut,
    KpisOut,
    OverviewOut,
    StorageOut,
    TimeseriesOut,
)
from liveops.services.configs import ConfigSource, applied_config
from liveops.settings import Settings
from liveops.storage.tokens_store import TokenRecord

if TYPE_CHECKING:
    import pyarrow as pa

    from liveops.domain.metrics import Selection, Window

# ---------------------------------------------------------------------------- what the routes need


class CuratedReader(Protocol):
    def read(
        self, table_name: str, app_id: str, first: date, last: date, dimension: str | None = None
    ) -> "pa.Table": ...


class PrefixUsage(Protocol):
    def usage(self, prefix: str) -> tuple[int, int]: ...


@dataclass(frozen=True)
class MetricsBackend:
    configs: ConfigSource
    lake: CuratedReader
    usage: PrefixUsage
    prefixes: Callable[[str], dict[str, str]]  # data category -> lake prefix, per app
    settings: Settings
    # (app, experiment id) -> the stored experiment (its variants and weights), or None
    experiments: Callable[[str, str], dict[str, Any] | None] = lambda app_id, experiment_id: None
    # app -> the retention job's last report (None until it runs)
    last_cleanup: Callable[[str], dict[str, Any] | None] = lambda app_id: None
    # app -> its newest incidents (JSON), for the overview
    latest_incidents: Callable[[str], list[dict[str, Any]]] = lambda app_id: []
    # the UTC date: from it on, daily figures are combined from hourly rows (see daily_rollups)
    today: Callable[[], date] = lambda: datetime.now(UTC).date()

    def daily_rollups(self, app_id: str, span: "Window", dimension: str | None = None) -> "pa.Table":
        """rollup_daily rows of the range; days not rolled up daily yet (today, or before the first
        daily run) are combined from hourly rows. `dimension`: only that dimension's rows (TOTAL
        for the totals), as read, so a 120-day range holds only what its caller uses. Shared by
        the routes and the figures collector."""
        from liveops.domain.metrics import fill_from_hourly, missing_days

        first, last = span.days()
        daily = self.lake.read("rollup_daily", app_id, first, last, dimension)
        missing = missing_days(daily, first, last, self.today())
        if not missing:
            return daily
        hourly = self.lake.read("rollup_hourly", app_id, missing[0], missing[-1], dimension)
        return fill_from_hourly(daily, hourly, missing)


# ---------------------------------------------------------------------------- parameters and docs

AppParam = Annotated[str, Query(alias="app", pattern=APP_ID_PATTERN, description="the app id")]
FromParam = Annotated[
    datetime, Query(alias="from", description="start of the range, ISO 8601 (without an offset: UTC)")
]
ToParam = Annotated[datetime, Query(alias="to", description="end of the range, exclusive, ISO 8601")]
FormatParam = Annotated[Literal["json", "csv"], Query(alias="format", description="json or csv (flat rows)")]
GroupByParam = Annotated[
    str | None, Query(pattern=NAME_PATTERN, description="a dimension: one series or group per value")
]
COMMON = {"app", "from", "to", "format"}
DIMENSION_FILTERS = (
    " Any other query parameter `<dimension>=<value>` keeps that dimension's value only. Rollups store "
    "the total and each dimension alone, so at most one dimension may be named (group_by and filters "
    "together): more is a 400."
)
RANGE_RULES = (
    " Ranges longer than METRICS_MAX_RANGE_DAYS and answers longer than EXPORT_MAX_ROWS rows are a 400. "
    "Groups behind fewer than METRICS_KANON_MIN distinct users are left out and counted in `suppressed`."
)


def _responses(model: type) -> dict[int, Any]:
    figures = {
        200: {
            "description": "The figures (CSV: flat rows with a header)",
            "content": {"application/json": {"model": model}, "text/csv": {"schema": {"type": "string"}}},
        }
    }
    return protected_responses("viewer", figures, invalid="Invalid parameters, range or result too large")


# ---------------------------------------------------------------------------- routes


def register(
    app: APIGatewayHttpResolver,
    backend: Callable[[], MetricsBackend],
    viewer: Callable[[], TokenRecord],
) -> None:
    """Add the metrics routes to the admin resolver; `viewer` is the RBAC dependency."""

    def load(app_id: str) -> AppConfig:
        return applied_config(backend().configs, app_id)[0]

    def window(start: datetime, end: datetime) -> "Window":
        from liveops.domain.metrics import Window

        return Window.parse(start, end, backend().settings.metrics_max_range_days)

    def selection(config: AppConfig, group_by: str | None, reserved: set[str]) -> "Selection":
        from liveops.domain.metrics import select_dimension

        params = app.current_event.query_string_parameters or {}
        filters = {name: value for name, value in params.items() if name not in reserved}
        return select_dimension(config, group_by, filters)

    def daily_rollups(app_id: str, span: "Window", chosen: "Selection") -> "pa.Table":
        """The range's daily rows of the chosen dimension only (the totals when none is chosen)."""
        from liveops.rollups.schema import TOTAL

        return backend().daily_rollups(app_id, span, chosen.dimension or TOTAL)

    def answer(
        fmt: str, body: dict[str, Any], table: tuple[list[str], list[list[Any]]], suppressed: int
    ) -> Response[Any]:
        from liveops.domain.metrics import render_csv

        columns, rows = table
        limit = backend().settings.export_max_rows
        if len(rows) > limit:
            raise BadRequest(
                f"the answer has {len(rows)} rows, more than EXPORT_MAX_ROWS ({limit}): "
                "narrow the range, use a coarser granularity or drop group_by",
                code="too_many_rows",
            )
        # figures behind a token: no shared cache may keep them
        headers = {"Cache-Control": "private, no-store", "X-Suppressed": str(suppressed)}
        if fmt == "csv":
            return Response(
                status_code=200,
                content_type="text/csv; charset=utf-8",
                body=render_csv(columns, rows),
                headers=headers,
            )
        return json_response(200, body, headers)

    def ranged(app_id: str, span: "Window") -> dict[str, str]:
        from liveops.domain.metrics import iso

        return {"app": app_id, "from": iso(span.start), "to": iso(span.end)}

    @app.get(
        "/v1/metrics/timeseries",
        summary="A metric over time",
        description=(
            "`metric` is `events.count`, `events.<event_type>`, `<measure>.<agg>`, `<kpi>` or "
            "`<span>.<agg>` (spans: day granularity only). Hour points come from rollup_hourly, day "
            "points from rollup_daily (days not rolled up daily yet are combined from hourly rows: "
            "counts and sums add, avg = sum/n, min/max combine). A percentile is served only at the "
            "grain it was computed for, never averaged, so such days have no percentile point."
            + DIMENSION_FILTERS
            + RANGE_RULES
        ),
        tags=["metrics"],
        security=BEARER,
        responses=_responses(TimeseriesOut),
    )
    def get_timeseries(
        caller: Annotated[TokenRecord, Depends(viewer)],
        app_id: AppParam,
        start: FromParam,
        end: ToParam,
        metric: Annotated[str, Query(min_length=1, max_length=200, description="the metric's name")],
        granularity: Annotated[Literal["hour", "day"], Query(description="hour or day points")],
        group_by: GroupByParam = None,
        fmt: FormatParam = "json",
    ) -> Response[Any]:
        from liveops.domain import metrics as domain

        config = load(app_id)
        ref = domain.parse_metric(config, metric)
        span = window(start, end)
        chosen = selection(config, group_by, COMMON | {"metric", "granularity", "group_by"})
        if ref.kind == "span" and granularity != "day":
            raise BadRequest(
                f"{metric} is a span: spans are rolled up by day only", code="invalid_granularity"
            )
        first, last = span.days()
        if ref.kind == "span":
            rows = domain.span_rollup(backend().lake.read("span_daily", app_id, first, last))
        elif granularity == "hour":
            rows = backend().lake.read("rollup_hourly", app_id, first, last)
        else:
            rows = daily_rollups(app_id, span, chosen)
        kanon = backend().settings.metrics_kanon_min
        series, suppressed = domain.timeseries(rows, ref, chosen, span, granularity, kanon)
        body = {
            "app": app_id,
            "metric": metric,
            "granularity": granularity,
            "series": series,
            "suppressed": suppressed,
        }
        return answer(fmt, body, domain.timeseries_table(series, chosen), suppressed)

    @app.get(
        "/v1/metrics/overview",
        summary="Totals, events per type, the busiest KPIs and the latest incidents",
        description=(
            "Daily figures of every day the range overlaps. `users_lower_bound` is the most distinct "
            "users of a single day (distinct users cannot be added across days). `latest_incidents`: "
            "the app's five newest incidents, whatever the range (JSON only)." + RANGE_RULES
        ),
        tags=["metrics"],
        security=BEARER,
        responses=_responses(OverviewOut),
    )
    def get_overview(
        caller: Annotated[TokenRecord, Depends(viewer)],
        app_id: AppParam,
        start: FromParam,
        end: ToParam,
        fmt: FormatParam = "json",
    ) -> Response[Any]:
        from liveops.domain import metrics as domain

        config = load(app_id)
        span = window(start, end)
        kanon = backend().settings.metrics_kanon_min
        figures = domain.overview(daily_rollups(app_id, span, domain.Selection()), config, span, kanon)
        figures["latest_incidents"] = backend().latest_incidents(app_id)
        body = {**ranged(app_id, span), **figures}
        return answer(fmt, body, domain.overview_table(figures), figures["suppressed"])

    @app.get(
        "/v1/metrics/kpis",
        summary="Every KPI over the range: numerator, denominator and value",
        description=(
            "Counts of every day the range overlaps, added; value = numerator / denominator."
            + DIMENSION_FILTERS
            + RANGE_RULES
        ),
        tags=["metrics"],
        security=BEARER,
        responses=_responses(KpisOut),
    )
    def get_kpis(
        caller: Annotated[TokenRecord, Depends(viewer)],
        app_id: AppParam,
        start: FromParam,
        end: ToParam,
        group_by: GroupByParam = None,
        fmt: FormatParam = "json",
    ) -> Response[Any]:
        from liveops.domain import metrics as domain

        config = load(app_id)
        span = window(start, end)
        chosen = selection(config, group_by, COMMON | {"group_by"})
        kanon = backend().settings.metrics_kanon_min
        entries, suppressed = domain.kpis(daily_rollups(app_id, span, chosen), config, chosen, span, kanon)
        body = {**ranged(app_id, span), "kpis": entries, "suppressed": suppressed}
        return answer(fmt, body, domain.kpis_table(entries, chosen), suppressed)

    @app.get(
        "/v1/metrics/funnel",
        summary="A funnel's steps: units reaching each step and conversion",
        description=(
            "Units (sessions or users, as the funnel counts) reaching each step, summed over the days "
            "the range overlaps, with conversion from step 0 and from the previous step."
            + DIMENSION_FILTERS
            + RANGE_RULES
        ),
        tags=["metrics"],
        security=BEARER,
        responses=_responses(FunnelOut),
    )
    def get_funnel(
        caller: Annotated[TokenRecord, Depends(viewer)],
        app_id: AppParam,
        start: FromParam,
        end: ToParam,
        funnel: Annotated[str, Query(min_length=1, max_length=64, description="the funnel's name")],
        group_by: GroupByParam = None,
        fmt: FormatParam = "json",
    ) -> Response[Any]:
        from liveops.domain import metrics as domain

        config = load(app_id)
        spec = config.funnels.get(funnel)
        if spec is None:
            raise BadRequest(
                f"unknown funnel {funnel!r} for app {app_id}",
                code="unknown_funnel",
                details=sorted(config.funnels),
            )
        span = window(start, end)
        chosen = selection(config, group_by, COMMON | {"funnel", "group_by"})
        first, last = span.days()
        rows = backend().lake.read("funnel_daily", app_id, first, last)
        entered = None
        if spec.by == "session":
            # funnel rows count sessions; the users behind them come from the entry event's rollup
            entered = domain.entry_users(daily_rollups(app_id, span, chosen), spec.steps[0], chosen, span)
        kanon = backend().settings.metrics_kanon_min
        groups, suppressed = domain.funnel(rows, funnel, spec, chosen, span, kanon, entered)
        body = {
            **ranged(app_id, span),
            "funnel": funnel,
            "by": spec.by,
            "window_minutes": spec.window_minutes,
            "groups": groups,
            "suppressed": suppressed,
        }
        return answer(fmt, body, domain.funnel_table(groups, chosen), suppressed)

    @app.get(
        "/v1/metrics/experiment",
        summary="An experiment's readout: per-variant statistics, lift, CI, p-values, SRM",
        description=(
            "For each metric of `experiments.metrics` and each variant: units, sum_x, sum_x2, sum_y, "
            "sum_y2, sum_xy summed over the days the range overlaps (units are user-days), from which "
            "a Welch t-test or the delta method can be computed." + RANGE_RULES
        ),
        tags=["metrics"],
        security=BEARER,
        responses=_responses(ExperimentOut),
    )
    def get_experiment(
        caller: Annotated[TokenRecord, Depends(viewer)],
        app_id: AppParam,
        start: FromParam,
        end: ToParam,
        experiment: Annotated[str, Query(min_length=1, max_length=128, description="the experiment id")],
        fmt: FormatParam = "json",
    ) -> Response[Any]:
        from liveops.domain import metrics as domain

        config = load(app_id)
        span = window(start, end)
        first, last = span.days()
        definition = backend().experiments(app_id, experiment)
        if definition is None:
            raise NotFound(f"no experiment {experiment!r} in {app_id!r}", code="unknown_experiment")
        rows = backend().lake.read("experiment_daily", app_id, first, last)
        kanon = backend().settings.metrics_kanon_min
        metrics, suppressed = domain.experiment(rows, experiment, config.experiments.metrics, span, kanon)
        from liveops.domain.readout import readout_csv
        from liveops.services.readouts import experiment_readout

        result = experiment_readout(config, definition, metrics)
        body = {
            **ranged(app_id, span),
            "experiment": experiment,
            "status": definition["status"],
            "metrics": metrics,
            "readout": result,
            "suppressed": suppressed,
        }
        if fmt == "csv":
            return Response(
                status_code=200,
                content_type="text/csv",
                body=readout_csv(result),
                headers={"X-Suppressed": str(suppressed), "Cache-Control": "private, no-store"},
            )
        return answer(fmt, body, domain.experiment_table(metrics), suppressed)

    @app.get(
        "/v1/metrics/storage",
        summary="Bytes and objects (or items) an app holds per data category",
        description=(
            "Every retention category where it lives: raw events, each curated table and exports "
            "in the lake, incidents and assignments in DynamoDB, dashboard snapshots in the site "
            "bucket's archive (`prefix` names the location). `last_cleanup` is the retention "
            "job's last real run (per category: what it deleted, objects or items, bytes, and what "
            "is stored after it); dry runs are recorded apart and never replace it."
        ),
        tags=["metrics"],
        security=BEARER,
        responses=_responses(StorageOut),
    )
    def get_storage(
        caller: Annotated[TokenRecord, Depends(viewer)],
        app_id: AppParam,
        fmt: FormatParam = "json",
    ) -> Response[Any]:
        from liveops.services.storage_stats import storage_summary

        load(app_id)
        services = backend()
        cleanup = services.last_cleanup(app_id)
        body, table = storage_summary(app_id, services.usage, services.prefixes(app_id), cleanup)
        return answer(fmt, body, table, 0)
