"""An app's figures over a range as flat, JSON-able tables: what the published dashboard draws and
what `liveops export` writes. Built on the MetricsBackend (the metrics API's own composition of
`liveops.domain.metrics`), so k-anonymity suppression applies exactly as in the API.

Tables (name -> rows; every row of a table has the same keys):
- `overview`: section (totals | events_by_type | top_kpis), name, value, n
- `kpis`: kpi, numerator, denominator, value — over the whole range
- `timeseries`: metric, t, value, n — daily points of events.count, every measure aggregation and
  every KPI (percentiles only on days with a stored daily row, never averaged)
- `spans`: span, t, n, avg, p50, p95, p99 — daily response times
- `funnels`: funnel, by, step, name, units, conversion_from_start, conversion_from_previous
- `experiments`: one row per experiment, metric and variant of the readout (lift, CI, p, significance)
- `slo`: one row per threshold: its latest daily value and whether it holds (ok | breached | no_data)
- `incidents`: open incidents, newest first; `incident_stats`: name, value (flattened stats)
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from liveops.models.app_config import AppConfig
from liveops.services.configs import applied_config
from liveops.services.readouts import experiment_readout

if TYPE_CHECKING:
    import pyarrow as pa

    from liveops.api.metrics import MetricsBackend
    from liveops.domain.metrics import MetricRef, Selection, Window
    from liveops.models.incidents import Incident

Row = dict[str, Any]
# how many experiments a dashboard shows (the most recently updated)
MAX_EXPERIMENTS = 10
MAX_INCIDENTS = 50
# IncidentService.stats keys left out of the figures: people, and what the metadata already says
PRIVATE_STATS = ("responders", "app_id", "from", "to")
EXPERIMENT_COLUMNS = (
    "units",
    "mean",
    "relative_lift",
    "relative_lift_ci_low",
    "relative_lift_ci_high",
    "p_value",
    "p_adjusted",
    "significant",
    "gated",
)
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "=": operator.eq,
    "!=": operator.ne,
}


class Experiments(Protocol):
    def list_experiments(self, app_id: str) -> list[dict[str, Any]]: ...


class Incidents(Protocol):
    def list(self, app_id: str, status: str | None = None, limit: int = 50) -> list[Incident]: ...
    def stats(self, app_id: str, start: datetime, end: datetime) -> dict[str, Any]: ...


# each table's columns in order: an empty table still gets its CSV header (CI consumers parse it)
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "kpis": ("kpi", "numerator", "denominator", "value"),
    "timeseries": ("metric", "t", "value", "n"),
    "spans": ("span", "t", "n", "avg", "p50", "p95", "p99"),
    "funnels": ("funnel", "by", "step", "name", "units", "conversion_from_start", "conversion_from_previous"),
    "experiments": (
        "experiment",
        "experiment_name",
        "status",
        "metric",
        "variant",
        "is_control",
        *EXPERIMENT_COLUMNS,
        "srm_warning",
    ),
    "slo": ("threshold_id", "metric", "where", "op", "value", "severity", "observed", "t", "status"),
    "incidents": ("incident_id", "severity", "status", "source", "metric", "summary", "opened_at"),
    "incident_stats": ("name", "value"),
}


@dataclass(frozen=True)
class Figures:
    app_id: str
    app_name: str
    start: datetime
    end: datetime
    generated_at: datetime
    tables: dict[str, list[Row]]
    suppressed: dict[str, int] = field(default_factory=dict)  # table -> groups left out (k-anonymity)

    def metadata(self) -> Row:
        return {
            "app": self.app_id,
            "name": self.app_name,
            "from": _iso(self.start),
            "to": _iso(self.end),
            "generated_at": _iso(self.generated_at),
            "suppressed": self.suppressed,
        }

    def to_json(self) -> bytes:
        document = {**self.metadata(), "tables": self.tables}
        return json.dumps(document, ensure_ascii=False, sort_keys=False, default=str).encode("utf-8")

    def to_csv(self, name: str) -> bytes:
        """One table as CSV (header: the table's known columns, then any other key of its rows;
        cells a spreadsheet would run are quoted)."""
        from liveops.domain.metrics import render_csv

        rows = self.tables[name]
        columns: list[str] = list(TABLE_COLUMNS.get(name, ()))
        for row in rows:
            columns += [key for key in row if key not in columns]
        cells = ([_csv_value(row.get(column)) for column in columns] for row in rows)
        return render_csv(columns, cells).encode("utf-8")


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FiguresCollector:
    """Reads through the MetricsBackend; experiments and incidents come from their own stores."""

    def __init__(
        self,
        backend: MetricsBackend,
        experiments: Experiments,
        incidents: Incidents | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._backend = backend
        self._experiments = experiments
        self._incidents = incidents
        self._clock = clock

    def collect(self, app_id: str, start: datetime, end: datetime) -> Figures:
        from liveops.domain import metrics as domain

        config = applied_config(self._backend.configs, app_id)[0]
        settings = self._backend.settings
        span = domain.Window.parse(start, end, settings.metrics_max_range_days)
        kanon = settings.metrics_kanon_min
        daily = self._backend.daily_rollups(app_id, span)
        # every section but the SLOs (whose thresholds may name a dimension) reads the totals only
        totals = _totals(daily)
        first, last = span.days()
        tables: dict[str, list[Row]] = {}
        suppressed: dict[str, int] = {}

        overview = domain.overview(totals, config, span, kanon)
        columns, rows = domain.overview_table(overview)
        tables["overview"] = [dict(zip(columns, row, strict=True)) for row in rows]
        suppressed["overview"] = overview["suppressed"]

        kpi_rows, suppressed["kpis"] = domain.kpis(totals, config, domain.Selection(), span, kanon)
        tables["kpis"] = [
            {key: r[key] for key in ("kpi", "numerator", "denominator", "value")} for r in kpi_rows
        ]

        tables["timeseries"], suppressed["timeseries"] = self._timeseries(config, totals, span, kanon)
        spans_table = self._backend.lake.read("span_daily", app_id, first, last)
        tables["spans"], suppressed["spans"] = _spans(
            config, _totals(domain.span_rollup(spans_table)), span, kanon
        )
        tables["funnels"], suppressed["funnels"] = self._funnels(app_id, config, totals, span, kanon)
        tables["experiments"], suppressed["experiments"] = self._experiment_rows(app_id, config, span, kanon)
        tables["slo"] = _slo(config, daily, span, kanon)
        tables["incidents"], tables["incident_stats"] = self._incident_rows(app_id, span)
        return Figures(app_id, config.name, span.start, span.end, self._clock(), tables, suppressed)

    # ---------------------------------------------------------------- sections

    def _timeseries(
        self, config: AppConfig, daily: pa.Table, span: Window, kanon: int
    ) -> tuple[list[Row], int]:
        from liveops.domain import metrics as domain

        names = ["events.count"]
        names += [f"{measure}.{agg}" for measure, spec in config.measures.items() for agg in spec.aggs]
        names += list(config.kpis)
        rows: list[Row] = []
        suppressed = 0
        for name in names:
            ref = domain.parse_metric(config, name)
            points, hidden = _points(daily, ref, domain.Selection(), span, kanon)
            suppressed += hidden
            rows += [{"metric": name, **point} for point in points]
        return rows, suppressed

    def _funnels(
        self, app_id: str, config: AppConfig, daily: pa.Table, span: Window, kanon: int
    ) -> tuple[list[Row], int]:
        from liveops.domain import metrics as domain

        if not config.funnels:
            return [], 0
        first, last = span.days()
        table = self._backend.lake.read("funnel_daily", app_id, first, last)
        rows: list[Row] = []
        suppressed = 0
        for name, spec in config.funnels.items():
            entered = None
            if spec.by == "session":
                entered = domain.entry_users(daily, spec.steps[0], domain.Selection(), span)
            groups, hidden = domain.funnel(table, name, spec, domain.Selection(), span, kanon, entered)
            suppressed += hidden
            for group in groups:
                rows += [{"funnel": name, "by": spec.by, **step} for step in group["steps"]]
        return rows, suppressed

    def _experiment_rows(
        self, app_id: str, config: AppConfig, span: Window, kanon: int
    ) -> tuple[list[Row], int]:
        from liveops.domain import metrics as domain

        listed = [e for e in self._experiments.list_experiments(app_id) if e.get("status") != "draft"]
        listed.sort(key=lambda e: str(e.get("updated_at", "")), reverse=True)
        if not listed:
            return [], 0
        first, last = span.days()
        table = self._backend.lake.read("experiment_daily", app_id, first, last)
        rows: list[Row] = []
        suppressed = 0
        for definition in listed[:MAX_EXPERIMENTS]:
            metrics, hidden = domain.experiment(
                table, definition["id"], config.experiments.metrics, span, kanon
            )
            suppressed += hidden
            result = experiment_readout(config, definition, metrics)
            for metric in result["metrics"]:
                for variant in metric["variants"]:
                    rows.append(
                        {
                            "experiment": definition["id"],
                            "experiment_name": definition.get("name") or definition["id"],
                            "status": definition.get("status"),
                            "metric": metric["metric"],
                            "variant": variant["variant_id"],
                            "is_control": variant["is_control"],
                            **{column: variant.get(column) for column in EXPERIMENT_COLUMNS},
                            "srm_warning": bool(result["srm"].get("srm_warning")),
                        }
                    )
        return rows, suppressed

    def _incident_rows(self, app_id: str, span: Window) -> tuple[list[Row], list[Row]]:
        if self._incidents is None:
            return [], []
        open_ones = [
            incident
            for status in ("new", "acknowledged")
            for incident in self._incidents.list(app_id, status=status, limit=MAX_INCIDENTS)
        ]
        open_ones.sort(key=lambda incident: incident.opened_at, reverse=True)
        rows = [
            {
                "incident_id": i.incident_id,
                "severity": i.severity,
                "status": i.status,
                "source": i.source,
                "metric": i.metric,
                "summary": i.summary,
                "opened_at": _iso(i.opened_at),
            }
            for i in open_ones[:MAX_INCIDENTS]
        ]
        stats = self._incidents.stats(app_id, span.start, span.end)
        # the published figures name no people: responders (Discord user ids) stay out
        kept = {key: value for key, value in stats.items() if key not in PRIVATE_STATS}
        return rows, [{"name": name, "value": value} for name, value in _flatten(kept)]


def _totals(table: pa.Table) -> pa.Table:
    import pyarrow.compute as pc

    from liveops.rollups.schema import TOTAL

    return table.filter(pc.equal(table["dim_name"], TOTAL))


def _points(
    table: pa.Table, ref: MetricRef, selection: Selection, span: Window, kanon: int
) -> tuple[list[Row], int]:
    from liveops.domain import metrics as domain

    series, suppressed = domain.timeseries(table, ref, selection, span, "day", kanon)
    return [point for s in series for point in s["points"]], suppressed


def _spans(config: AppConfig, table: pa.Table, span: Window, kanon: int) -> tuple[list[Row], int]:
    from liveops.domain import metrics as domain

    rows: list[Row] = []
    suppressed = 0
    for name in config.spans:
        by_day: dict[str, Row] = {}
        for agg in ("count", "avg", "p50", "p95", "p99"):
            ref = domain.MetricRef("span", name, agg)
            points, hidden = _points(table, ref, domain.Selection(), span, kanon)
            if agg == "count":
                suppressed += hidden  # the same groups are left out for every aggregation
            for point in points:
                empty = {
                    "span": name,
                    "t": point["t"],
                    "n": point["n"],
                    "avg": None,
                    "p50": None,
                    "p95": None,
                    "p99": None,
                }
                row = by_day.setdefault(point["t"], empty)
                if agg != "count":
                    row[agg] = point["value"]
        rows += sorted(by_day.values(), key=lambda row: str(row["t"]))
    return rows, suppressed


def _slo(config: AppConfig, daily: pa.Table, span: Window, kanon: int) -> list[Row]:
    """Each threshold against the latest daily value of its metric (the alerts job watches finer
    grains; this is the health summary the dashboard shows)."""
    from liveops.domain import metrics as domain
    from liveops.errors import BadRequest

    rows: list[Row] = []
    for threshold in config.thresholds:
        observed: float | None = None
        at: str | None = None
        try:
            ref = domain.parse_metric(config, threshold.metric)
            selection = domain.select_dimension(config, None, dict(threshold.where))
            if ref.kind != "span":
                points, _ = _points(daily, ref, selection, span, kanon)
                latest = [p for p in points if p["value"] is not None]
                if latest:
                    observed, at = float(latest[-1]["value"]), latest[-1]["t"]
        except BadRequest:
            pass  # a threshold on a figure the daily rollups cannot give: shown without data
        status = (
            "no_data"
            if observed is None
            else ("breached" if OPS[threshold.op](observed, threshold.value) else "ok")
        )
        rows.append(
            {
                "threshold_id": threshold.id,
                "metric": threshold.metric,
                "where": ", ".join(f"{k}={v}" for k, v in sorted(threshold.where.items())),
                "op": threshold.op,
                "value": threshold.value,
                "severity": threshold.severity,
                "observed": observed,
                "t": at,
                "status": status,
            }
        )
    return rows


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            yield from _flatten(inner, f"{prefix}.{index}")
    else:
        yield prefix, value.isoformat() if isinstance(value, datetime) else value


def default_range(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The last `days` whole UTC days up to the end of today: [today - days + 1, tomorrow)."""
    tomorrow = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return tomorrow - timedelta(days=days), tomorrow


def collect_figures(
    app_id: str, start: datetime, end: datetime, *, collector: FiguresCollector | None = None
) -> Figures:
    """The figures of `app_id` over [start, end); `collector` defaults to `liveops.wiring.figures()`."""
    if collector is None:
        from liveops import wiring

        collector = wiring.figures()
    return collector.collect(app_id, start, end)
