"""Unit tests for the metrics API's figures over curated tables (domain/metrics.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from liveops.domain import metrics as m
from liveops.errors import BadRequest
from liveops.models.app_config import load_app_config
from liveops.rollups.schema import EXPERIMENT_DAILY, FUNNEL_DAILY, ROLLUP, SPAN_DAILY, TABLES
from liveops.storage.lake_usage import CURATED_TABLES, category_prefixes

CONFIG = load_app_config(
    {
        "app_id": "demo-app",
        "name": "Demo",
        "platforms": ["web", "ios"],
        "events": {
            "session_start": {},
            "run_end": {
                "fields": {
                    "outcome": {"type": "string", "enum": ["win", "loss"], "required": True},
                    "duration_ms": {"type": "number", "min": 0},
                    "challenge": {"type": "string"},
                    "alert_id": {"type": "string"},
                }
            },
            "alert_ack": {"fields": {"alert_id": {"type": "string"}}},
        },
        "dimensions": ["platform", {"name": "challenge", "from": "payload.challenge"}, "content_version"],
        "measures": {
            "duration": {
                "event": "run_end",
                "field": "duration_ms",
                "aggs": ["count", "sum", "avg", "min", "max", "p95"],
            }
        },
        "kpis": {
            "win_rate": {
                "numerator": {"event": "run_end", "where": {"outcome": "win"}},
                "denominator": {"event": "run_end"},
            },
            "loss_rate": {
                "numerator": {"event": "run_end", "where": {"outcome": "loss"}},
                "denominator": {"event": "run_end"},
            },
        },
        "spans": {"ttr": {"start": "run_end", "end": "alert_ack", "key": "alert_id"}},
        "funnels": {
            "by_session": {"by": "session", "window_minutes": 60, "steps": ["session_start", "run_end"]},
            "by_user": {
                "by": "user",
                "window_minutes": 60,
                "steps": ["session_start", "run_end", "alert_ack"],
            },
        },
        "experiments": {"metrics": ["win_rate", "duration.avg"]},
    }
)
D1, D2, D3 = date(2025, 12, 1), date(2025, 12, 2), date(2025, 12, 3)
K = 10


def at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def window(first: date, last_exclusive: date) -> m.Window:
    return m.Window.parse(at(first), at(last_exclusive), 120)


def rollup(*rows: dict[str, Any]) -> pa.Table:
    defaults = {"kind": "events", "name": "*", "dim_name": "*", "dim_value": "*", "users": 50}
    return pa.Table.from_pylist([{**defaults, **row} for row in rows], schema=ROLLUP)


def measure(
    ts: datetime, n: int, num: float, lo: float, hi: float, p95: float | None, **extra: Any
) -> dict[str, Any]:
    return {
        "ts": ts,
        "kind": "measure",
        "name": "duration",
        "n": n,
        "num": num,
        "min": lo,
        "max": hi,
        "p95": p95,
        **extra,
    }


def kpi(ts: datetime, num: int, n: int, name: str = "win_rate", **extra: Any) -> dict[str, Any]:
    return {"ts": ts, "kind": "kpi", "name": name, "n": n, "num": float(num), **extra}


# ---------------------------------------------------------------------------- parsing the query


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("events.count", m.MetricRef("events", "*", "count")),
        ("events.run_end", m.MetricRef("events", "run_end", "count")),
        ("duration.avg", m.MetricRef("measure", "duration", "avg")),
        ("duration.p95", m.MetricRef("measure", "duration", "p95")),
        ("win_rate", m.MetricRef("kpi", "win_rate", "ratio")),
        ("ttr.p99", m.MetricRef("span", "ttr", "p99")),
        ("ttr.count", m.MetricRef("span", "ttr", "count")),
    ],
)
def test_metric_names_resolve_against_the_config(metric: str, expected: m.MetricRef) -> None:
    assert m.parse_metric(CONFIG, metric) == expected


@pytest.mark.parametrize(
    "metric", ["duration.p99", "ttr.sum", "events.nope", "nope", "nope.avg", "duration", "win_rate.avg", ""]
)
def test_unknown_metrics_are_400_listing_the_known_ones(metric: str) -> None:
    with pytest.raises(BadRequest) as info:
        m.parse_metric(CONFIG, metric)
    assert info.value.code == "unknown_metric" and info.value.status == 400
    assert {"events.count", "events.run_end", "duration.p95", "win_rate", "ttr.p50"} <= set(
        info.value.details
    )


def test_dimension_selection() -> None:
    assert m.select_dimension(CONFIG, None, {}) == m.Selection()
    assert m.select_dimension(CONFIG, "platform", {}) == m.Selection("platform")
    assert m.select_dimension(CONFIG, None, {"challenge": "défi"}) == m.Selection("challenge", "défi")
    assert m.select_dimension(CONFIG, "challenge", {"challenge": "x"}) == m.Selection("challenge", "x")
    assert m.Selection("platform").dims("web") == {"platform": "web"}
    assert m.Selection().dims("*") == {}


@pytest.mark.parametrize(
    ("group_by", "filters", "code"),
    [
        (None, {"platform": "web", "challenge": "x"}, "too_many_dimensions"),
        ("platform", {"challenge": "x"}, "too_many_dimensions"),
        ("locale", {}, "unknown_dimension"),
        (None, {"platfrom": "web"}, "unknown_dimension"),
    ],
)
def test_dimension_selection_refusals(group_by: str | None, filters: dict[str, str], code: str) -> None:
    with pytest.raises(BadRequest) as info:
        m.select_dimension(CONFIG, group_by, filters)
    assert info.value.code == code


def test_window_is_utc_half_open_and_bounded() -> None:
    naive = m.Window.parse(datetime(2025, 12, 1, 10, 30), datetime(2025, 12, 3), 120)
    assert naive.start == datetime(2025, 12, 1, 10, 30, tzinfo=UTC)
    shifted = m.Window.parse(datetime(2025, 12, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))), at(D2), 120)
    assert shifted.start == datetime(2025, 11, 30, 23, 0, tzinfo=UTC)
    assert naive.first_bucket("hour") == at(D1, 10)
    assert naive.first_bucket("day") == at(D1)
    assert naive.days() == (D1, D2)  # `to` at midnight excludes that day
    assert m.Window.parse(at(D1), at(D1) + timedelta(days=120), 120).days()[1] == D1 + timedelta(days=119)
    for start, end, code in [
        (at(D2), at(D1), "invalid_range"),
        (at(D1), at(D1), "invalid_range"),
        (at(D1), at(D1) + timedelta(days=120, seconds=1), "range_too_long"),
    ]:
        with pytest.raises(BadRequest) as info:
            m.Window.parse(start, end, 120)
        assert info.value.code == code


# ---------------------------------------------------------------------------- combining over time


def test_combining_adds_counts_and_sums_and_never_averages_percentiles() -> None:
    table = rollup(
        measure(at(D1, 1), 2, 30.0, 10.0, 20.0, 19.5, users=12),
        measure(at(D1, 2), 3, 90.0, 5.0, 40.0, 39.0, users=20),
        measure(at(D2, 1), 1, 7.0, 7.0, 7.0, 7.0, users=3),
    )
    day_of = [at(D1), at(D1), at(D2)]
    table = table.set_column(0, "ts", pa.array(day_of, ROLLUP.field("ts").type))
    by_day = {row["ts"].date(): row for row in m.combine(table, ["ts"])}
    first = by_day[D1]
    assert (first["n"], first["num"], first["min"], first["max"], first["users"]) == (5, 120.0, 5.0, 40.0, 20)
    assert first["p95"] is None  # two stored rows: a percentile cannot be combined
    assert by_day[D2]["p95"] == 7.0  # one stored row: its percentile is exact
    avg = m.value_of(m.MetricRef("measure", "duration", "avg"), first)
    assert avg == 120.0 / 5  # sum(num) / sum(n), not the mean of the hourly averages (15, 30)


def test_daily_view_prefers_daily_rows_and_fills_missing_days_from_hourly() -> None:
    daily = rollup({"ts": at(D1), "n": 100, "users": 40}, measure(at(D1), 4, 40.0, 1.0, 19.0, 18.0))
    hourly = rollup(
        {"ts": at(D1, 5), "n": 7, "users": 7},  # D1 has a daily row: hourly rows are not used
        {"ts": at(D2, 1), "n": 10, "users": 8},
        {"ts": at(D2, 2), "n": 15, "users": 11},
        measure(at(D2, 1), 2, 10.0, 4.0, 6.0, 5.9),
        measure(at(D2, 2), 2, 30.0, 14.0, 16.0, 15.9),
        measure(at(D3, 4), 1, 3.0, 3.0, 3.0, 3.0),
    )
    assert m.missing_days(daily, D1, D3, today=D3 + timedelta(days=1)) == [D2, D3]
    view = m.fill_from_hourly(daily, hourly, [D2, D3])
    rows = {(r["ts"].date(), r["kind"]): r for r in view.to_pylist()}
    assert rows[(D1, "events")]["n"] == 100
    assert (rows[(D2, "events")]["n"], rows[(D2, "events")]["users"]) == (25, 11)
    assert (rows[(D2, "measure")]["num"], rows[(D2, "measure")]["min"], rows[(D2, "measure")]["max"]) == (
        40.0,
        4.0,
        16.0,
    )
    assert rows[(D2, "measure")]["p95"] is None
    assert rows[(D3, "measure")]["p95"] == 3.0  # the day's only hourly row holds all of its values
    assert view.schema == ROLLUP


def test_today_is_always_combined_from_hourly_rows() -> None:
    # the 02:00 daily run also wrote today's first hours: that row must not hide the later hours
    partial = rollup({"ts": at(D2), "n": 2, "users": 2}, {"ts": at(D1), "n": 100, "users": 40})
    hourly = rollup({"ts": at(D2, 1), "n": 2, "users": 2}, {"ts": at(D2, 14), "n": 10, "users": 5})
    assert m.missing_days(partial, D1, D2, today=D2) == [D2]
    view = m.fill_from_hourly(partial, hourly, [D2])
    rows = {r["ts"].date(): r for r in view.to_pylist() if r["kind"] == "events"}
    assert (rows[D1]["n"], rows[D2]["n"]) == (100, 12)
    assert len(view) == 2  # today's partial daily row is gone, not added to


def test_span_rows_combine_like_measures_and_keep_their_stored_average() -> None:
    spans = pa.Table.from_pylist(
        [
            {
                "ts": at(D1),
                "span": "ttr",
                "dim_name": "*",
                "dim_value": "*",
                "n": 3,
                "avg": 0.1,
                "min": 0.05,
                "max": 0.2,
                "p50": 0.1,
                "p95": 0.19,
                "p99": 0.2,
                "users": 12,
            },
            {
                "ts": at(D2),
                "span": "ttr",
                "dim_name": "*",
                "dim_value": "*",
                "n": 1,
                "avg": 0.5,
                "min": 0.5,
                "max": 0.5,
                "p50": 0.5,
                "p95": 0.5,
                "p99": 0.5,
                "users": 11,
            },
        ],
        schema=SPAN_DAILY,
    )
    table = m.span_rollup(spans)
    avg = m.MetricRef("span", "ttr", "avg")
    series, _ = m.timeseries(table, avg, m.Selection(), window(D1, D3), "day", K)
    assert [p["value"] for p in series[0]["points"]] == [0.1, 0.5]  # exactly as stored
    (both,) = m.combine(table, ["kind"])
    assert m.value_of(avg, both) == pytest.approx((0.1 * 3 + 0.5) / 4)
    assert m.value_of(m.MetricRef("span", "ttr", "p95"), both) is None


# ---------------------------------------------------------------------------- timeseries


def test_timeseries_groups_filters_suppresses_and_keeps_the_window() -> None:
    table = rollup(
        {"ts": at(D1, 9), "n": 99, "users": 99},  # before the window's first hour
        {"ts": at(D1, 10), "n": 30, "users": 25},
        {"ts": at(D1, 11), "n": 40, "users": 30},
        {"ts": at(D1, 12), "n": 99, "users": 99},  # at `to`: excluded
        {"ts": at(D1, 10), "dim_name": "platform", "dim_value": "web", "n": 25, "users": 20},
        {"ts": at(D1, 10), "dim_name": "platform", "dim_value": "ios", "n": 5, "users": 5},
        {"ts": at(D1, 11), "dim_name": "platform", "dim_value": "web", "n": 28, "users": 19},
        {"ts": at(D1, 11), "dim_name": "platform", "dim_value": "ios", "n": 12, "users": 11},
        {"ts": at(D1, 10), "dim_name": "challenge", "dim_value": "défi 🐉", "n": 11, "users": 10},
        {"ts": at(D1, 10), "kind": "events", "name": "run_end", "n": 12, "users": 12},
    )
    span = m.Window.parse(datetime(2025, 12, 1, 10, 30, tzinfo=UTC), at(D1, 12), 120)
    count = m.MetricRef("events", "*", "count")
    total, suppressed = m.timeseries(table, count, m.Selection(), span, "hour", K)
    assert suppressed == 0
    assert total == [
        {
            "dims": {},
            "points": [
                {"t": "2025-12-01T10:00:00Z", "value": 30, "n": 30},
                {"t": "2025-12-01T11:00:00Z", "value": 40, "n": 40},
            ],
        }
    ]
    grouped, suppressed = m.timeseries(table, count, m.Selection("platform"), span, "hour", K)
    assert suppressed == 1  # ios at 10:00: 5 users
    assert [(s["dims"], [p["value"] for p in s["points"]]) for s in grouped] == [
        ({"platform": "ios"}, [12]),
        ({"platform": "web"}, [25, 28]),
    ]
    filtered, _ = m.timeseries(table, count, m.Selection("challenge", "défi 🐉"), span, "hour", K)
    assert filtered == [
        {"dims": {"challenge": "défi 🐉"}, "points": [{"t": "2025-12-01T10:00:00Z", "value": 11, "n": 11}]}
    ]
    typed, _ = m.timeseries(table, m.MetricRef("events", "run_end", "count"), m.Selection(), span, "hour", K)
    assert typed[0]["points"][0]["value"] == 12


def test_timeseries_of_measures_and_kpis() -> None:
    table = rollup(
        measure(at(D1), 4, 100.0, 10.0, 40.0, 39.0),
        measure(at(D2), 2, 10.0, 4.0, 6.0, None),
        kpi(at(D1), 3, 4),
        kpi(at(D2), 0, 5, users=9),
    )
    span = window(D1, D3)
    values = {
        agg: [
            p["value"]
            for p in m.timeseries(
                table, m.MetricRef("measure", "duration", agg), m.Selection(), span, "day", K
            )[0][0]["points"]
        ]
        for agg in ("count", "sum", "avg", "min", "max")
    }
    assert values == {
        "count": [4, 2],
        "sum": [100.0, 10.0],
        "avg": [25.0, 5.0],
        "min": [10.0, 4.0],
        "max": [40.0, 6.0],
    }
    p95, _ = m.timeseries(table, m.MetricRef("measure", "duration", "p95"), m.Selection(), span, "day", K)
    assert p95[0]["points"] == [
        {"t": "2025-12-01T00:00:00Z", "value": 39.0, "n": 4}
    ]  # D2: no percentile stored
    rate, suppressed = m.timeseries(
        table, m.MetricRef("kpi", "win_rate", "ratio"), m.Selection(), span, "day", K
    )
    assert rate[0]["points"] == [{"t": "2025-12-01T00:00:00Z", "value": 0.75, "n": 4}]
    assert suppressed == 1


# ---------------------------------------------------------------------------- range answers


def test_kpis_over_the_range() -> None:
    table = rollup(
        kpi(at(D1), 3, 10, users=10),
        kpi(at(D2), 5, 10, users=12),
        kpi(at(D1), 2, 6, dim_name="platform", dim_value="web", users=15),
        kpi(at(D1), 1, 4, dim_name="platform", dim_value="ios", users=4),
        kpi(at(D2), 1, 4, dim_name="platform", dim_value="ios", users=6),
        kpi(at(D3), 9, 9),  # outside the window
    )
    span = window(D1, D3)
    total, suppressed = m.kpis(table, CONFIG, m.Selection(), span, K)
    assert suppressed == 0
    assert total == [
        {"kpi": "win_rate", "dims": {}, "numerator": 8, "denominator": 20, "value": 0.4},
        {"kpi": "loss_rate", "dims": {}, "numerator": 0, "denominator": 0, "value": None},
    ]
    grouped, suppressed = m.kpis(table, CONFIG, m.Selection("platform"), span, K)
    assert suppressed == 1  # ios: at most 6 distinct users on any day
    assert grouped == [
        {"kpi": "win_rate", "dims": {"platform": "web"}, "numerator": 2, "denominator": 6, "value": 2 / 6}
    ]


def test_overview() -> None:
    table = rollup(
        {"ts": at(D1), "n": 100, "users": 30},
        {"ts": at(D2), "n": 50, "users": 45},
        {"ts": at(D1), "name": "run_end", "n": 60, "users": 30},
        {"ts": at(D2), "name": "run_end", "n": 20, "users": 25},
        {"ts": at(D1), "name": "session_start", "n": 90, "users": 30},
        {"ts": at(D1), "name": "alert_ack", "n": 4, "users": 2},
        {"ts": at(D1), "dim_name": "platform", "dim_value": "web", "n": 100, "users": 30},
        kpi(at(D1), 6, 60, users=30),
        kpi(at(D1), 50, 60, name="loss_rate", users=30),
        kpi(at(D2), 10, 20, name="loss_rate", users=25),
    )
    answer = m.overview(table, CONFIG, window(D1, D3), K, top=1)
    assert answer["totals"] == {"events": 150, "users_lower_bound": 45}
    assert answer["events_by_type"] == [
        {"event_type": "session_start", "count": 90},
        {"event_type": "run_end", "count": 80},
    ]
    assert answer["top_kpis"] == [
        {"kpi": "loss_rate", "dims": {}, "numerator": 60, "denominator": 80, "value": 0.75}
    ]
    assert answer["latest_incidents"] == [] and answer["suppressed"] == 1
    small = m.overview(rollup({"ts": at(D1), "n": 5, "users": 3}), CONFIG, window(D1, D2), K)
    assert small["totals"] is None and small["suppressed"] == 1
    empty = m.overview(rollup(), CONFIG, window(D1, D2), K)
    assert empty["totals"] == {"events": 0, "users_lower_bound": 0} and empty["suppressed"] == 0


def funnel_rows(*rows: tuple[date, str, str, int, str, int]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "ts": at(day),
                "funnel": name,
                "dim_name": "*" if value == "*" else "platform",
                "dim_value": value,
                "step": step,
                "step_name": step_name,
                "units": units,
            }
            for day, name, value, step, step_name, units in rows
        ],
        schema=FUNNEL_DAILY,
    )


def test_funnel_by_user_sums_days_and_converts() -> None:
    rows = funnel_rows(
        (D1, "by_user", "*", 0, "session_start", 40),
        (D1, "by_user", "*", 1, "run_end", 20),
        (D1, "by_user", "*", 2, "alert_ack", 5),
        (D2, "by_user", "*", 0, "session_start", 60),
        (D2, "by_user", "*", 1, "run_end", 30),
        (D2, "by_user", "*", 1, "old_step", 999),  # an older definition of the funnel
        (D2, "by_session", "*", 0, "session_start", 999),
        (D1, "by_user", "web", 0, "session_start", 9),
        (D2, "by_user", "web", 0, "session_start", 9),  # 18 entries, but at most 9 distinct users
        (D1, "by_user", "ios", 0, "session_start", 12),
        (D1, "by_user", "ios", 2, "alert_ack", 3),
    )
    spec = CONFIG.funnels["by_user"]
    (group,), suppressed = m.funnel(rows, "by_user", spec, m.Selection(), window(D1, D3), K)
    assert suppressed == 0 and group["dims"] == {}
    assert [(s["step"], s["name"], s["units"]) for s in group["steps"]] == [
        (0, "session_start", 100),
        (1, "run_end", 50),
        (2, "alert_ack", 5),
    ]
    assert [s["conversion_from_start"] for s in group["steps"]] == [1.0, 0.5, 0.05]
    assert [s["conversion_from_previous"] for s in group["steps"]] == [None, 0.5, 0.1]
    grouped, suppressed = m.funnel(rows, "by_user", spec, m.Selection("platform"), window(D1, D3), K)
    assert suppressed == 1
    (ios,) = grouped
    assert ios["dims"] == {"platform": "ios"}
    assert [s["units"] for s in ios["steps"]] == [12, 0, 3]
    assert ios["steps"][2]["conversion_from_previous"] is None  # nobody reached the previous step


def test_funnel_by_session_is_bounded_by_the_entry_events_users() -> None:
    rows = funnel_rows(
        (D1, "by_session", "*", 0, "session_start", 50), (D1, "by_session", "*", 1, "run_end", 20)
    )
    spec = CONFIG.funnels["by_session"]
    daily = rollup({"ts": at(D1), "name": "session_start", "n": 60, "users": 4})
    users = m.entry_users(daily, "session_start", m.Selection(), window(D1, D2))
    assert users == {"*": 4}
    groups, suppressed = m.funnel(rows, "by_session", spec, m.Selection(), window(D1, D2), K, users)
    assert (groups, suppressed) == ([], 1)  # 50 sessions, but only 4 users behind them
    groups, _ = m.funnel(rows, "by_session", spec, m.Selection(), window(D1, D2), K, {"*": 10})
    assert [s["units"] for s in groups[0]["steps"]] == [50, 20]


def test_experiment_sums_sufficient_statistics_per_variant() -> None:
    def stat(day: date, variant: str, metric: str, units: int, x: float) -> dict[str, Any]:
        return {
            "ts": at(day),
            "experiment_id": "exp-1",
            "variant_id": variant,
            "metric": metric,
            "units": units,
            "sum_x": x,
            "sum_x2": x * 2,
            "sum_y": float(units),
            "sum_y2": float(units),
            "sum_xy": x,
        }

    rows = pa.Table.from_pylist(
        [
            stat(D1, "control", "win_rate", 20, 5.0),
            stat(D2, "control", "win_rate", 30, 7.0),
            stat(D1, "b", "win_rate", 25, 9.0),
            stat(D1, "b", "duration.avg", 25, 900.0),
            stat(D1, "tiny", "win_rate", 3, 1.0),
            {**stat(D1, "b", "win_rate", 99, 99.0), "experiment_id": "other"},
        ],
        schema=EXPERIMENT_DAILY,
    )
    metrics, suppressed = m.experiment(rows, "exp-1", ["duration.avg", "win_rate"], window(D1, D3), K)
    assert suppressed == 1
    assert [x["metric"] for x in metrics] == ["duration.avg", "win_rate"]
    win = metrics[1]["variants"]
    assert win == [
        {
            "variant": "b",
            "units": 25,
            "sum_x": 9.0,
            "sum_x2": 18.0,
            "sum_y": 25.0,
            "sum_y2": 25.0,
            "sum_xy": 9.0,
        },
        {
            "variant": "control",
            "units": 50,
            "sum_x": 12.0,
            "sum_x2": 24.0,
            "sum_y": 50.0,
            "sum_y2": 50.0,
            "sum_xy": 12.0,
        },
    ]
    assert m.experiment(rows, "nope", [], window(D1, D3), K) == ([], 0)


# ---------------------------------------------------------------------------- CSV


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_is_flat_with_a_header_unicode_and_no_formulas() -> None:
    series = [
        {
            "dims": {"challenge": "=HYPERLINK(1)"},
            "points": [{"t": "2025-12-01T00:00:00Z", "value": 1.5, "n": 2}],
        },
        {"dims": {"challenge": 'défi, "🐉"'}, "points": [{"t": "2025-12-01T00:00:00Z", "value": 3, "n": 3}]},
    ]
    columns, rows = m.timeseries_table(series, m.Selection("challenge"))
    text = m.render_csv(columns, rows)
    assert parse_csv(text) == [
        ["t", "challenge", "value", "n"],
        ["2025-12-01T00:00:00Z", "'=HYPERLINK(1)", "1.5", "2"],
        ["2025-12-01T00:00:00Z", 'défi, "🐉"', "3", "3"],
    ]
    assert m.render_csv(["a", "b"], [[None, -1]]) == "a,b\n,-1\n"  # numbers are never escaped
    # a dimension named like a fixed column gets a prefix
    assert m.timeseries_table([], m.Selection("value"))[0] == ["t", "dim_value", "value", "n"]
    assert m.kpis_table([], m.Selection())[0] == ["kpi", "numerator", "denominator", "value"]


def test_csv_tables_of_each_answer() -> None:
    overview = {
        "totals": {"events": 5, "users_lower_bound": 12},
        "events_by_type": [{"event_type": "run_end", "count": 5}],
        "top_kpis": [{"kpi": "win_rate", "dims": {}, "numerator": 1, "denominator": 5, "value": 0.2}],
    }
    assert m.overview_table(overview)[1] == [
        ["totals", "events", 5, None],
        ["totals", "users_lower_bound", 12, None],
        ["events_by_type", "run_end", 5, None],
        ["top_kpis", "win_rate", 0.2, 5],
    ]
    groups = [
        {
            "dims": {"platform": "web"},
            "steps": [
                {
                    "step": 0,
                    "name": "a",
                    "units": 4,
                    "conversion_from_start": 1.0,
                    "conversion_from_previous": None,
                }
            ],
        }
    ]
    assert m.funnel_table(groups, m.Selection("platform")) == (
        ["platform", "step", "name", "units", "conversion_from_start", "conversion_from_previous"],
        [["web", 0, "a", 4, 1.0, None]],
    )
    metrics = [
        {
            "metric": "w",
            "variants": [
                {
                    "variant": "a",
                    "units": 1,
                    "sum_x": 1.0,
                    "sum_x2": 2.0,
                    "sum_y": 3.0,
                    "sum_y2": 4.0,
                    "sum_xy": 5.0,
                }
            ],
        }
    ]
    assert m.experiment_table(metrics) == (
        ["metric", "variant", "units", "sum_x", "sum_x2", "sum_y", "sum_y2", "sum_xy"],
        [["w", "a", 1, 1.0, 2.0, 3.0, 4.0, 5.0]],
    )


def test_storage_categories_cover_every_curated_table() -> None:
    assert set(CURATED_TABLES) == set(TABLES)
    prefixes = category_prefixes("acme")
    assert prefixes["raw_events"] == "raw/events/app_id=acme/"
    assert prefixes["rollup_daily"] == "curated/rollup_daily/app_id=acme/"
    assert prefixes["exports"] == "exports/app_id=acme/"
    assert len(prefixes) == len(TABLES) + 2
