"""Figures for the metrics API, computed from the curated tables (docs/rollups.md) as pyarrow tables.

Aggregating stored rows over time does only what the stored figures allow:
- counts and sums add; avg = sum(num) / sum(n); min and max combine;
- percentiles cannot be combined: a percentile is served only from a single stored row at its own
  grain (an hour of rollup_hourly, a day of rollup_daily), never averaged;
- distinct users cannot be added either: max(users) of the combined rows is a lower bound of the
  distinct users behind them, and k-anonymity is checked against that bound.
Rollups store the total and each dimension alone (never two together), so a query names at most
one dimension.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from liveops.errors import BadRequest
from liveops.models.app_config import SPAN_AGGS, AppConfig, FunnelSpec
from liveops.rollups.schema import ROLLUP, TOTAL

Granularity = Literal["hour", "day"]
PERCENTILES = ("p50", "p95", "p99")
ROLLUP_KEYS = ["ts", "kind", "name", "dim_name", "dim_value"]
# spreadsheet programs run a cell starting with one of these as a formula; dimension values come
# from game clients, so CSV cells that start with one are prefixed with ' (OWASP's advice)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = dict[str, Any]


# ---------------------------------------------------------------------------- the query


@dataclass(frozen=True)
class Window:
    """The half-open range [start, end) of a query, in UTC. A bucket (hour or day) belongs to the
    answer when it overlaps the range."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, start: datetime, end: datetime, max_days: int) -> Window:
        start, end = _utc(start), _utc(end)
        if end <= start:
            raise BadRequest("`to` must be later than `from`", code="invalid_range")
        if end - start > timedelta(days=max_days):
            raise BadRequest(
                f"the range spans more than {max_days} days (METRICS_MAX_RANGE_DAYS); ask for less",
                code="range_too_long",
            )
        return cls(start, end)

    def first_bucket(self, granularity: Granularity) -> datetime:
        if granularity == "hour":
            return self.start.replace(minute=0, second=0, microsecond=0)
        return self.start.replace(hour=0, minute=0, second=0, microsecond=0)

    def days(self) -> tuple[date, date]:
        """The first and last UTC day the range touches (the curated partitions to read)."""
        return self.start.date(), (self.end - timedelta(microseconds=1)).date()


def _utc(moment: datetime) -> datetime:
    # a time without an offset is read as UTC, the lake's only time zone
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class MetricRef:
    """A metric name resolved against the app config."""

    kind: Literal["events", "measure", "kpi", "span"]
    name: str  # event type (or * for every event), measure, KPI or span name
    agg: str  # count, sum, avg, min, max, p50, p95, p99, or ratio for a KPI


def parse_metric(config: AppConfig, metric: str) -> MetricRef:
    """`events.count`, `events.<event_type>`, `<measure>.<agg>`, `<kpi>` or `<span>.<agg>`."""
    head, dot, agg = metric.partition(".")
    if not dot and metric in config.kpis:
        return MetricRef("kpi", metric, "ratio")
    if dot and head == "events":
        if agg == "count":
            return MetricRef("events", TOTAL, "count")
        if agg in config.events:
            return MetricRef("events", agg, "count")
    elif dot and head in config.measures:
        if agg in config.measures[head].aggs:
            return MetricRef("measure", head, agg)
    elif dot and head in config.spans and agg in SPAN_AGGS:
        return MetricRef("span", head, agg)
    known = sorted(config.metric_names() | {f"events.{event}" for event in config.events})
    raise BadRequest(
        f"unknown metric {metric!r} for app {config.app_id}", code="unknown_metric", details=known
    )


@dataclass(frozen=True)
class Selection:
    """Which grouping set to read: the total, every value of one dimension, or one value of it."""

    dimension: str | None = None
    value: str | None = None

    def dims(self, dim_value: str) -> dict[str, str]:
        return {} if self.dimension is None else {self.dimension: dim_value}


def select_dimension(config: AppConfig, group_by: str | None, filters: dict[str, str]) -> Selection:
    """`group_by=d` and/or `d=value` filters; more than one dimension is refused (not stored)."""
    known = [spec.name for spec in config.dimension_specs()]
    named = [*filters, *([group_by] if group_by else [])]
    for name in named:
        if name not in known:
            raise BadRequest(
                f"{name!r} is neither a parameter of this route nor a dimension of {config.app_id}",
                code="unknown_dimension",
                details=known,
            )
    if len(set(named)) > 1:
        raise BadRequest(
            "rollups keep the total and each dimension alone, never two together: "
            "filter and group by one dimension at most",
            code="too_many_dimensions",
        )
    if not named:
        return Selection()
    return Selection(named[0], filters.get(named[0]))


# ---------------------------------------------------------------------------- row selection


def _in_window(table: pa.Table, window: Window, granularity: Granularity) -> pa.Table:
    ts = table["ts"]
    first = pa.scalar(window.first_bucket(granularity), type=pa.timestamp("us", tz="UTC"))
    end = pa.scalar(window.end, type=pa.timestamp("us", tz="UTC"))
    return table.filter(pc.and_(pc.greater_equal(ts, first), pc.less(ts, end)))


def _selected(table: pa.Table, selection: Selection) -> pa.Table:
    if selection.dimension is None:
        return table.filter(pc.equal(table["dim_name"], TOTAL))
    mask = pc.equal(table["dim_name"], selection.dimension)
    if selection.value is not None:
        mask = pc.and_(mask, pc.equal(table["dim_value"], selection.value))
    return table.filter(mask)


def _figure(table: pa.Table, kind: str, name: str | None) -> pa.Table:
    mask = pc.equal(table["kind"], kind)
    if name is not None:
        mask = pc.and_(mask, pc.equal(table["name"], name))
    return table.filter(mask)


# ---------------------------------------------------------------------------- combining rows


def combine(table: pa.Table, keys: list[str]) -> list[Row]:
    """One row per key over rollup-shaped rows, combined as the module docstring says."""
    names = set(table.column_names)
    aggs: list[tuple[str, str]] = [
        ("n", "sum"),
        ("n", "count"),
        ("num", "sum"),
        ("min", "min"),
        ("max", "max"),
        ("users", "max"),
    ]
    # `min` of a group's percentiles is the value itself when the group is a single stored row
    aggs += [(column, "min") for column in (*PERCENTILES, "avg") if column in names]
    out = []
    for got in table.group_by(keys, use_threads=False).aggregate(aggs).to_pylist():
        single = got["n_count"] == 1
        row: Row = {key: got[key] for key in keys}
        row.update(
            n=got["n_sum"],
            rows=got["n_count"],
            num=got["num_sum"],
            min=got["min_min"],
            max=got["max_max"],
            users=got["users_max"],
        )
        for column in (*PERCENTILES, "avg"):
            if column in names:
                row[column] = got[f"{column}_min"] if single else None
        out.append(row)
    return out


def missing_days(daily: pa.Table, first: date, last: date, today: date) -> list[date]:
    """Days of [first, last] to combine from hourly rows: those without rollup_daily rows (before
    the first daily run) and today and later, whose daily rows, if any, were written while the day
    was still going (the 02:00 run also rolls up the first hours of its own day)."""
    present = {moment.date() for moment in pc.unique(daily["ts"]).to_pylist()}
    count = (last - first).days + 1
    days = (first + timedelta(days=i) for i in range(count))
    return [day for day in days if day not in present or day >= today]


def _day_starts(ts: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Each timestamp's UTC day start, as int64 in the column's unit: integer arithmetic, ~10x
    faster than a time-zone aware floor_temporal (rollup times are after 1970: no negatives)."""
    per_day = 86_400 * {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[ts.type.unit]
    return pc.multiply(pc.divide(pc.cast(ts, pa.int64()), per_day), per_day)


def fill_from_hourly(daily: pa.Table, hourly: pa.Table, days: Iterable[date]) -> pa.Table:
    """rollup_daily rows of the other days plus, for `days`, day rows combined from rollup_hourly:
    every figure but the percentiles, which stay empty unless the day has a single hourly row."""
    ts_type = ROLLUP.field("ts").type
    wanted = pc.cast(
        pa.array([datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days], ts_type), pa.int64()
    )
    hour_days = _day_starts(hourly["ts"].cast(ts_type))
    keep = pc.is_in(hour_days, value_set=wanted)
    hours = hourly.filter(keep).set_column(0, "ts", pc.cast(hour_days.filter(keep), ts_type))
    filled = pa.Table.from_pylist(combine(hours, ROLLUP_KEYS), schema=ROLLUP)
    daily = daily.select(ROLLUP.names).cast(ROLLUP)
    # the filled days' daily rows (written while the day was going) give way; usually there are none
    stored_days = _day_starts(pc.unique(daily["ts"]))
    if pc.any(pc.is_in(stored_days, value_set=wanted)).as_py():
        daily = daily.filter(pc.invert(pc.is_in(_day_starts(daily["ts"]), value_set=wanted)))
    return pa.concat_tables([daily, filled])


def span_rollup(spans: pa.Table) -> pa.Table:
    """span_daily rows in the rollup shape (kind `span`, num = avg * n) so they combine alike;
    `avg` is kept so that a single row serves its stored average exactly."""
    n = spans["n"]
    return pa.table(
        {
            "ts": spans["ts"],
            "kind": pa.array(["span"] * spans.num_rows, pa.string()),
            "name": spans["span"],
            "dim_name": spans["dim_name"],
            "dim_value": spans["dim_value"],
            "n": n,
            "num": pc.multiply(spans["avg"], pc.cast(n, pa.float64())),
            "min": spans["min"],
            "max": spans["max"],
            "p50": spans["p50"],
            "p95": spans["p95"],
            "p99": spans["p99"],
            "users": spans["users"],
            "avg": spans["avg"],
        }
    )


def value_of(ref: MetricRef, row: Row) -> float | int | None:
    """The metric's figure from a combined row; None when this grain cannot give it."""
    if ref.kind == "events" or ref.agg == "count":
        return int(row["n"])
    if ref.agg == "avg" and row.get("avg") is not None:
        return float(row["avg"])
    if ref.kind == "kpi" or ref.agg == "avg":
        return float(row["num"]) / row["n"] if row["n"] and row["num"] is not None else None
    if ref.agg == "sum":
        return row["num"]
    value = row.get(ref.agg)  # min, max, or a percentile (None once rows were combined)
    return None if value is None else float(value)


# ---------------------------------------------------------------------------- the answers


def timeseries(
    table: pa.Table,
    ref: MetricRef,
    selection: Selection,
    window: Window,
    granularity: Granularity,
    kanon_min: int,
) -> tuple[list[Row], int]:
    """Series of points `{t, value, n}` per dimension value, and how many points were suppressed.
    `table` holds rows at the granularity's grain (rollup_hourly, the daily view, span_rollup)."""
    rows = _selected(_figure(_in_window(table, window, granularity), ref.kind, ref.name), selection)
    series: dict[str, list[Row]] = {}
    suppressed = 0
    for row in sorted(combine(rows, ["dim_value", "ts"]), key=lambda r: (r["dim_value"], r["ts"])):
        if row["users"] < kanon_min:
            suppressed += 1
            continue
        value = value_of(ref, row)
        if value is None:
            continue  # a percentile of a day rolled up only hourly so far: not served, never averaged
        series.setdefault(row["dim_value"], []).append({"t": iso(row["ts"]), "value": value, "n": row["n"]})
    return [{"dims": selection.dims(value), "points": points} for value, points in series.items()], suppressed


def kpis(
    daily: pa.Table, config: AppConfig, selection: Selection, window: Window, kanon_min: int
) -> tuple[list[Row], int]:
    """Every KPI of the config over the whole range (numerator, denominator, value) per group."""
    # the dimension first: it keeps the fewest rows for the next filter
    rows = _figure(_selected(_in_window(daily, window, "day"), selection), "kpi", None)
    combined: dict[str, list[Row]] = {}
    for row in sorted(combine(rows, ["name", "dim_value"]), key=lambda r: r["dim_value"]):
        combined.setdefault(row["name"], []).append(row)
    out: list[Row] = []
    suppressed = 0
    for name in config.kpis:
        groups = combined.get(name, [])
        if not groups and (selection.dimension is None or selection.value is not None):
            # the KPI had no denominator events in the range: listed, with no value
            dims = selection.dims(selection.value or "")
            out.append({"kpi": name, "dims": dims, "numerator": 0, "denominator": 0, "value": None})
        for row in groups:
            if row["users"] < kanon_min:
                suppressed += 1
                continue
            out.append(
                {
                    "kpi": name,
                    "dims": selection.dims(row["dim_value"]),
                    "numerator": round(row["num"] or 0),
                    "denominator": row["n"],
                    "value": value_of(MetricRef("kpi", name, "ratio"), row),
                }
            )
    return out, suppressed


def overview(daily: pa.Table, config: AppConfig, window: Window, kanon_min: int, top: int = 5) -> Row:
    """Totals (events, a lower bound of distinct users), events per type and the busiest KPIs."""
    rows = _selected(_in_window(daily, window, "day"), Selection())
    suppressed = 0
    everything = _figure(rows, "events", TOTAL)
    users = pc.max(everything["users"]).as_py() or 0
    totals: Row | None = {"events": pc.sum(everything["n"]).as_py() or 0, "users_lower_bound": users}
    if 0 < users < kanon_min:
        totals, suppressed = None, suppressed + 1
    by_type = []
    typed = _figure(rows, "events", None)
    typed = typed.filter(pc.not_equal(typed["name"], TOTAL))
    for row in combine(typed, ["name"]):
        if row["users"] < kanon_min:
            suppressed += 1
            continue
        by_type.append({"event_type": row["name"], "count": row["n"]})
    by_type.sort(key=lambda r: (-r["count"], r["event_type"]))
    # `rows` is `daily` already filtered as kpis() filters it: it only re-checks a few rows
    kpi_rows, kpi_suppressed = kpis(rows, config, Selection(), window, kanon_min)
    busiest = sorted((r for r in kpi_rows if r["denominator"]), key=lambda r: (-r["denominator"], r["kpi"]))
    return {
        "totals": totals,
        "events_by_type": by_type,
        "top_kpis": busiest[:top],
        "latest_incidents": [],  # incidents arrive with the alerts job
        "suppressed": suppressed + kpi_suppressed,
    }


def entry_users(daily: pa.Table, event_type: str, selection: Selection, window: Window) -> dict[str, int]:
    """Per dimension value, a lower bound of the distinct users with a `event_type` event in the
    range: the k-anonymity bound of a funnel counted by session (whose units are sessions)."""
    rows = _selected(_figure(_in_window(daily, window, "day"), "events", event_type), selection)
    return {row["dim_value"]: row["users"] for row in combine(rows, ["dim_value"])}


def funnel(
    table: pa.Table,
    name: str,
    spec: FunnelSpec,
    selection: Selection,
    window: Window,
    kanon_min: int,
    session_entry_users: dict[str, int] | None = None,
) -> tuple[list[Row], int]:
    """Units per step summed over the days, with conversion from step 0 and from the previous step.
    A group is suppressed when fewer than `kanon_min` users (a lower bound) entered it."""
    rows = _in_window(table, window, "day")
    rows = _selected(rows.filter(pc.equal(rows["funnel"], name)), selection)
    units: dict[str, list[int]] = {}
    entered: dict[str, int] = {}
    for row in rows.select(["dim_value", "step", "step_name", "units"]).to_pylist():
        step = row["step"]
        if step >= len(spec.steps) or spec.steps[step] != row["step_name"]:
            continue  # a row of an older definition of this funnel
        units.setdefault(row["dim_value"], [0] * len(spec.steps))[step] += row["units"]
        if step == 0:
            # by user, a day's units are distinct users; their max over days is a lower bound
            entered[row["dim_value"]] = max(entered.get(row["dim_value"], 0), row["units"])
    if spec.by == "session":
        entered = session_entry_users or {}
    groups: list[Row] = []
    suppressed = 0
    for dim_value in sorted(units):
        counts = units[dim_value]
        if counts[0] == 0:
            continue
        if entered.get(dim_value, 0) < kanon_min:
            suppressed += 1
            continue
        steps = [
            {
                "step": i,
                "name": step_name,
                "units": counts[i],
                "conversion_from_start": counts[i] / counts[0],
                "conversion_from_previous": counts[i] / counts[i - 1] if i and counts[i - 1] else None,
            }
            for i, step_name in enumerate(spec.steps)
        ]
        groups.append({"dims": selection.dims(dim_value), "steps": steps})
    return groups, suppressed


SUFFICIENT = ("sum_x", "sum_x2", "sum_y", "sum_y2", "sum_xy")


def experiment(
    table: pa.Table, experiment_id: str, metric_order: Sequence[str], window: Window, kanon_min: int
) -> tuple[list[Row], int]:
    """Per metric and variant, the sufficient statistics summed over the days (units are
    user-days). A variant whose busiest day had fewer than `kanon_min` users is suppressed."""
    rows = _in_window(table, window, "day")
    rows = rows.filter(pc.equal(rows["experiment_id"], experiment_id))
    aggs = [("units", "sum"), ("units", "max"), *[(column, "sum") for column in SUFFICIENT]]
    grouped = rows.group_by(["metric", "variant_id"], use_threads=False).aggregate(aggs).to_pylist()
    order = {metric: i for i, metric in enumerate(metric_order)}
    grouped.sort(key=lambda r: (order.get(r["metric"], len(order)), r["metric"], r["variant_id"]))
    metrics: dict[str, list[Row]] = {}
    suppressed = 0
    for row in grouped:
        if row["units_max"] < kanon_min:
            suppressed += 1
            continue
        stats = {column: row[f"{column}_sum"] for column in SUFFICIENT}
        metrics.setdefault(row["metric"], []).append(
            {"variant": row["variant_id"], "units": row["units_sum"], **stats}
        )
    return [{"metric": metric, "variants": variants} for metric, variants in metrics.items()], suppressed


# ---------------------------------------------------------------------------- CSV


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def render_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


def _dimension_columns(selection: Selection, taken: Sequence[str]) -> list[str]:
    if selection.dimension is None:
        return []
    name = selection.dimension
    return [f"dim_{name}" if name in taken else name]


def timeseries_table(series: list[Row], selection: Selection) -> tuple[list[str], list[list[Any]]]:
    dims = _dimension_columns(selection, ("t", "value", "n"))
    rows = [
        [point["t"], *s["dims"].values(), point["value"], point["n"]] for s in series for point in s["points"]
    ]
    return ["t", *dims, "value", "n"], rows


def kpis_table(entries: list[Row], selection: Selection) -> tuple[list[str], list[list[Any]]]:
    fixed = ("kpi", "numerator", "denominator", "value")
    dims = _dimension_columns(selection, fixed)
    rows = [[e["kpi"], *e["dims"].values(), e["numerator"], e["denominator"], e["value"]] for e in entries]
    return ["kpi", *dims, "numerator", "denominator", "value"], rows


def overview_table(answer: Row) -> tuple[list[str], list[list[Any]]]:
    rows: list[list[Any]] = []
    totals = answer["totals"]
    if totals is not None:
        rows += [["totals", "events", totals["events"], None]]
        rows += [["totals", "users_lower_bound", totals["users_lower_bound"], None]]
    rows += [["events_by_type", e["event_type"], e["count"], None] for e in answer["events_by_type"]]
    rows += [["top_kpis", k["kpi"], k["value"], k["denominator"]] for k in answer["top_kpis"]]
    return ["section", "name", "value", "n"], rows


def funnel_table(groups: list[Row], selection: Selection) -> tuple[list[str], list[list[Any]]]:
    fixed = ("step", "name", "units", "conversion_from_start", "conversion_from_previous")
    dims = _dimension_columns(selection, fixed)
    rows = [[*g["dims"].values(), *(s[column] for column in fixed)] for g in groups for s in g["steps"]]
    return [*dims, *fixed], rows


def experiment_table(metrics: list[Row]) -> tuple[list[str], list[list[Any]]]:
    columns = ["metric", "variant", "units", *SUFFICIENT]
    rows = [[m["metric"], *(v[c] for c in columns[1:])] for m in metrics for v in m["variants"]]
    return columns, rows
