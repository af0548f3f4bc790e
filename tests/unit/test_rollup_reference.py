"""The embedded rollup engine against an independent reading of docs/rollups.md.

`Reference` below re-implements the contract row by row with dicts and sorted lists (no pyarrow
compute, no numpy) and every figure of every curated table the embedded engine computes on
tests/rollup_data.py must equal it. Hypothesis then checks invariants, and the same equality, on
random small raw tables.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveops.domain.raw_batch import RAW_EVENTS_SCHEMA
from liveops.models.app_config import AppConfig, CountFilter, DimensionSpec
from liveops.rollups import embedded
from liveops.rollups.schema import (
    EXPERIMENT_DAILY,
    FUNNEL_DAILY,
    KPI_DAILY,
    NONE_VALUE,
    ROLLUP,
    SORT_KEYS,
    SPAN_DAILY,
    TOTAL,
)
from tests import rollup_data as data

DAY_MS = data.DAY_MS
HOUR_MS = data.HOUR_MS
Row = dict[str, Any]
Key = tuple[Any, ...]


# ------------------------------------------------------------------------------ the reference
def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks of the sorted values (docs/rollups.md)."""
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def sql_integer_text(x: float) -> str:
    """CAST(CAST(x AS BIGINT) AS VARCHAR) in Trino: rounds half away from zero."""
    rounded = math.floor(abs(x) + 0.5)
    return str(rounded if x >= 0 else -rounded)


def rows_of(table: pa.Table) -> list[Row]:
    """Plain dicts: timestamps as epoch ms, maps as dicts (the first value of a key wins)."""
    columns: dict[str, list[Any]] = {}
    for field in table.schema:
        column = table[field.name]
        if pa.types.is_timestamp(field.type):
            column = column.cast(pa.int64())
        columns[field.name] = column.to_pylist()
    rows = []
    for i in range(table.num_rows):
        row = {name: values[i] for name, values in columns.items()}
        for name in ("nums", "attrs"):
            if name in row:
                mapping: dict[str, Any] = {}
                for key, value in row[name] or []:
                    mapping.setdefault(key, value)
                row[name] = mapping
        rows.append(row)
    return rows


class Reference:
    """docs/rollups.md, literally."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.dims: list[DimensionSpec] = config.dimension_specs()

    # --- input rules
    @staticmethod
    def dedupe(rows: Iterable[Row]) -> list[Row]:
        kept: dict[str, Row] = {}
        for row in rows:
            current = kept.get(row["event_id"])
            rank = (row["received_at"], row["batch_id"] or "")
            if current is None or rank < (current["received_at"], current["batch_id"] or ""):
                kept[row["event_id"]] = row
        return list(kept.values())

    @staticmethod
    def identity(row: Row) -> str:
        return row["user_hash"] if row["user_hash"] is not None else "session:" + row["session_id"]

    @staticmethod
    def payload_value(row: Row, field: str) -> str | None:
        if field in row["attrs"] and row["attrs"][field] is not None:
            return str(row["attrs"][field])
        if field in row["nums"] and row["nums"][field] is not None:
            return sql_integer_text(row["nums"][field])
        return None

    def dim_value(self, row: Row, dim: DimensionSpec) -> str:
        if dim.source.startswith("payload."):
            value = self.payload_value(row, dim.source.removeprefix("payload."))
        else:
            value = row[dim.source]
        return NONE_VALUE if value is None else value

    def grouping_sets(self, row: Row) -> Iterator[tuple[str, str]]:
        yield TOTAL, TOTAL
        for dim in self.dims:
            yield dim.name, self.dim_value(row, dim)

    @staticmethod
    def matches(row: Row, where: dict[str, Any]) -> bool:
        for key, expected in where.items():
            if isinstance(expected, str):
                if row["attrs"].get(key) != expected:
                    return False
            elif isinstance(expected, bool):
                if row["nums"].get(key) != (1.0 if expected else 0.0):
                    return False
            elif row["nums"].get(key) != float(expected):
                return False
        return True

    def counts(self, row: Row, flt: CountFilter) -> bool:
        return row["event_type"] == flt.event and self.matches(row, flt.where)

    def measure_value(self, row: Row, measure_name: str) -> float | None:
        m = self.config.measures[measure_name]
        if row["event_type"] != m.event or not self.matches(row, m.where):
            return None
        value = row["nums"].get(m.field)
        return None if value is None else float(value)

    # --- rollup_hourly / rollup_daily
    def rollup(self, raw: list[Row], granularity: int) -> dict[Key, Row]:
        events: dict[Key, list[str]] = defaultdict(list)
        measures: dict[Key, list[tuple[float, str]]] = defaultdict(list)
        kpis: dict[Key, dict[str, Any]] = defaultdict(lambda: {"den": 0, "num": 0, "users": set()})
        for row in self.dedupe(raw):
            ts = row["event_time"] // granularity * granularity
            ident = self.identity(row)
            for dim_name, dim_value in self.grouping_sets(row):
                for name in (row["event_type"], TOTAL):
                    events[(ts, "events", name, dim_name, dim_value)].append(ident)
                for measure_name in self.config.measures:
                    value = self.measure_value(row, measure_name)
                    if value is not None:
                        measures[(ts, "measure", measure_name, dim_name, dim_value)].append((value, ident))
                for kpi_name, kpi in self.config.kpis.items():
                    den, num = self.counts(row, kpi.denominator), self.counts(row, kpi.numerator)
                    if den or num:
                        acc = kpis[(ts, "kpi", kpi_name, dim_name, dim_value)]
                        acc["den"] += den
                        acc["num"] += num
                        if den:
                            acc["users"].add(ident)
        out: dict[Key, Row] = {}
        empty = dict.fromkeys(("num", "min", "max", "p50", "p95", "p99"))
        for key, idents in events.items():
            out[key] = {**empty, "n": len(idents), "users": len(set(idents))}
        for key, pairs in measures.items():
            values = [v for v, _ in pairs]
            out[key] = {
                "n": len(values),
                "num": sum(values),
                "min": min(values),
                "max": max(values),
                "p50": percentile(values, 0.5),
                "p95": percentile(values, 0.95),
                "p99": percentile(values, 0.99),
                "users": len({i for _, i in pairs}),
            }
        for key, acc in kpis.items():
            out[key] = {**empty, "n": acc["den"], "num": float(acc["num"]), "users": len(acc["users"])}
        return out

    @staticmethod
    def kpi_daily(daily: dict[Key, Row]) -> dict[Key, Row]:
        out = {}
        for (ts, kind, name, dim_name, dim_value), row in daily.items():
            if kind == "kpi":
                out[(ts, name, dim_name, dim_value)] = {
                    "numerator": int(row["num"]),
                    "denominator": row["n"],
                    "value": row["num"] / row["n"] if row["n"] else None,
                    "users": row["users"],
                }
        return out

    # --- span_daily
    def span_daily(self, raw: list[Row], day: int) -> dict[Key, Row]:
        rows = self.dedupe(raw)
        groups: dict[Key, list[tuple[float, str]]] = defaultdict(list)
        for span_name, span in self.config.spans.items():
            starts: dict[str, Row] = {}
            for row in rows:
                key = self.payload_value(row, span.key)
                if row["event_type"] != span.start or key is None:
                    continue
                if key not in starts or (row["event_time"], row["event_id"]) < (
                    starts[key]["event_time"],
                    starts[key]["event_id"],
                ):
                    starts[key] = row
            for key, start in starts.items():
                ends = [
                    r
                    for r in rows
                    if r["event_type"] == span.end
                    and self.payload_value(r, span.key) == key
                    and r["event_time"] >= start["event_time"]
                ]
                if not ends:
                    continue
                end = min(ends, key=lambda r: (r["event_time"], r["event_id"]))
                duration = end["event_time"] - start["event_time"]
                if duration > span.max_minutes * 60_000 or not day <= end["event_time"] < day + DAY_MS:
                    continue
                for dim_name, dim_value in self.grouping_sets(start):
                    groups[(day, span_name, dim_name, dim_value)].append(
                        (float(duration), self.identity(start))
                    )
        return {
            key: {
                "n": len(pairs),
                "avg": sum(v for v, _ in pairs) / len(pairs),
                "min": min(v for v, _ in pairs),
                "max": max(v for v, _ in pairs),
                "p50": percentile([v for v, _ in pairs], 0.5),
                "p95": percentile([v for v, _ in pairs], 0.95),
                "p99": percentile([v for v, _ in pairs], 0.99),
                "users": len({i for _, i in pairs}),
            }
            for key, pairs in groups.items()
        }

    # --- funnel_daily
    def funnel_daily(self, raw: list[Row], day: int) -> dict[Key, Row]:
        rows = self.dedupe(raw)
        units: dict[Key, int] = defaultdict(int)
        for funnel_name, funnel in self.config.funnels.items():

            def unit(row: Row, by: str = funnel.by) -> str:
                return row["session_id"] if by == "session" else self.identity(row)

            entering: dict[str, Row] = {}
            for row in rows:
                if row["event_type"] != funnel.steps[0] or not day <= row["event_time"] < day + DAY_MS:
                    continue
                u = unit(row)
                if u not in entering or (row["event_time"], row["event_id"]) < (
                    entering[u]["event_time"],
                    entering[u]["event_id"],
                ):
                    entering[u] = row
            for u, first in entering.items():
                t0 = first["event_time"]
                deadline = t0 + funnel.window_minutes * 60_000
                reached, previous = 0, t0
                for step in funnel.steps[1:]:
                    times = [
                        r["event_time"]
                        for r in rows
                        if r["event_type"] == step
                        and unit(r) == u
                        and previous <= r["event_time"] <= deadline
                    ]
                    if not times:
                        break
                    previous = min(times)
                    reached += 1
                for dim_name, dim_value in self.grouping_sets(first):
                    for step_index in range(reached + 1):
                        units[(day, funnel_name, dim_name, dim_value, step_index)] += 1
        return {
            key: {"step_name": self.config.funnels[key[1]].steps[key[4]], "units": count}
            for key, count in units.items()
        }

    # --- experiment_daily
    def user_metric(self, rows: list[Row], metric: str) -> tuple[float, float]:
        if metric in self.config.kpis:
            kpi = self.config.kpis[metric]
            return (
                float(sum(self.counts(r, kpi.numerator) for r in rows)),
                float(sum(self.counts(r, kpi.denominator) for r in rows)),
            )
        if metric == "events.count":
            return float(len(rows)), 1.0
        measure_name, agg = metric.rsplit(".", 1)
        values = [v for v in (self.measure_value(r, measure_name) for r in rows) if v is not None]
        if agg == "sum":
            return sum(values), 1.0
        if agg == "count":
            return float(len(values)), 1.0
        if agg == "avg":
            return sum(values), float(len(values))
        raise AssertionError(f"docs/rollups.md defines no experiment metric {metric!r}")

    def experiment_daily(self, raw: list[Row], day: int, assignments: list[Row]) -> dict[Key, Row]:
        variants: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for a in assignments:
            if a["user_hash"] is not None:
                variants[a["user_hash"]].add((a["experiment_id"], a["variant_id"]))
        by_user: dict[str, list[Row]] = defaultdict(list)
        for row in self.dedupe(raw):
            if row["user_hash"] in variants:
                by_user[row["user_hash"]].append(row)
        stats: dict[Key, Row] = {}
        for metric in self.config.experiments.metrics:
            for user, rows in by_user.items():
                x, y = self.user_metric(rows, metric)
                if y == 0:
                    continue
                for experiment_id, variant_id in variants[user]:
                    acc = stats.setdefault(
                        (day, experiment_id, variant_id, metric),
                        {"units": 0, "sum_x": 0.0, "sum_x2": 0.0, "sum_y": 0.0, "sum_y2": 0.0, "sum_xy": 0.0},
                    )
                    acc["units"] += 1
                    acc["sum_x"] += x
                    acc["sum_x2"] += x * x
                    acc["sum_y"] += y
                    acc["sum_y2"] += y * y
                    acc["sum_xy"] += x * y
        return stats


# ------------------------------------------------------------------------------ comparison
def keyed(table: pa.Table, table_name: str) -> dict[Key, Row]:
    keys = SORT_KEYS[table_name]
    out: dict[Key, Row] = {}
    for row in rows_of(table):
        key = tuple(row[k] for k in keys)
        assert key not in out, f"{table_name}: duplicate row {key}"
        out[key] = {k: v for k, v in row.items() if k not in keys}
    return out


def assert_same(table_name: str, got: pa.Table, expected: dict[Key, Row], schema: pa.Schema) -> None:
    assert got.schema == schema
    actual = keyed(got, table_name)
    missing, extra = expected.keys() - actual.keys(), actual.keys() - expected.keys()
    assert not missing and not extra, (
        f"{table_name}: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
    )
    for key, want in expected.items():
        have = actual[key]
        for column, value in want.items():
            if isinstance(value, float):
                assert have[column] == pytest.approx(value, rel=1e-9), (table_name, key, column)
            else:
                assert have[column] == value, (table_name, key, column, have[column], value)


def shuffled(table: pa.Table, seed: int = 7) -> pa.Table:
    """Same rows in another order and in several chunks: neither may change any figure."""
    order = list(range(table.num_rows))
    random.Random(seed).shuffle(order)
    return pa.Table.from_batches(table.take(pa.array(order, pa.int64())).to_batches(max_chunksize=37))


def span_window(config: AppConfig, day: int) -> tuple[int, int]:
    days = max((math.ceil(s.max_minutes / 1440) for s in config.spans.values()), default=0)
    return day - days * DAY_MS, day + DAY_MS


def funnel_window(config: AppConfig, day: int) -> tuple[int, int]:
    days = max((math.ceil(f.window_minutes / 1440) for f in config.funnels.values()), default=0)
    return day, day + DAY_MS + days * DAY_MS


# ------------------------------------------------------------------------------ on the shared data
RAW = data.raw_events()
REF = Reference(data.CONFIG)


def window(start: int, end: int) -> pa.Table:
    return shuffled(data.in_window(RAW, start, end))


@pytest.mark.parametrize("day", data.DAYS_MS)
@pytest.mark.parametrize("granularity", [HOUR_MS, DAY_MS], ids=["hourly", "daily"])
def test_rollup_matches_reference(day: int, granularity: int) -> None:
    raw = window(day, day + DAY_MS)
    got = embedded.rollup(raw, data.CONFIG, granularity)
    assert_same("rollup_hourly", got, REF.rollup(rows_of(raw), granularity), ROLLUP)


@pytest.mark.parametrize("day", data.DAYS_MS)
def test_kpi_daily_matches_reference(day: int) -> None:
    raw = window(day, day + DAY_MS)
    got = embedded.kpi_daily(embedded.rollup(raw, data.CONFIG, DAY_MS))
    expected = REF.kpi_daily(REF.rollup(rows_of(raw), DAY_MS))
    assert expected
    assert_same("kpi_daily", got, expected, KPI_DAILY)


@pytest.mark.parametrize("day", data.DAYS_MS)
def test_span_daily_matches_reference(day: int) -> None:
    raw = window(*span_window(data.CONFIG, day))
    expected = REF.span_daily(rows_of(raw), day)
    assert expected
    assert_same("span_daily", embedded.span_daily(raw, data.CONFIG, day), expected, SPAN_DAILY)


@pytest.mark.parametrize("day", data.DAYS_MS)
def test_funnel_daily_matches_reference(day: int) -> None:
    raw = window(*funnel_window(data.CONFIG, day))
    expected = REF.funnel_daily(rows_of(raw), day)
    assert expected
    assert_same("funnel_daily", embedded.funnel_daily(raw, data.CONFIG, day), expected, FUNNEL_DAILY)


@pytest.mark.parametrize("day", data.DAYS_MS)
def test_experiment_daily_matches_reference(day: int) -> None:
    raw = window(day, day + DAY_MS)
    assignments = data.assignments()
    expected = REF.experiment_daily(rows_of(raw), day, rows_of(assignments))
    assert expected
    got = embedded.experiment_daily(raw, data.CONFIG, day, assignments)
    assert_same("experiment_daily", got, expected, EXPERIMENT_DAILY)


def test_empty_app_gives_empty_tables() -> None:
    raw = data.raw_events(data.EMPTY_APP_ID)
    assert raw.num_rows == 0 and raw.schema == RAW_EVENTS_SCHEMA
    config, day = data.EMPTY_CONFIG, data.DAY0_MS
    assert embedded.rollup(raw, config, HOUR_MS).num_rows == 0
    assert embedded.kpi_daily(embedded.rollup(raw, config, DAY_MS)).schema == KPI_DAILY
    assert embedded.span_daily(raw, config, day).num_rows == 0
    assert embedded.funnel_daily(raw, config, day).num_rows == 0
    assert embedded.experiment_daily(raw, config, day, data.assignments()).num_rows == 0
    assert REF.rollup([], HOUR_MS) == {}


def test_the_data_exercises_the_contract() -> None:
    """Spot checks that the shared data holds the cases it claims (figures from the reference)."""
    d0 = data.DAY0_MS
    raw = rows_of(data.in_window(RAW, d0, d0 + DAY_MS))
    hourly = REF.rollup(raw, HOUR_MS)
    hours = {key[0] for key in hourly}
    assert not hours & set(data.EMPTY_HOURS_MS)
    # the earliest received copy of the duplicated run_end (10:20) wins over the 11:05 copy
    kept = {r["event_id"]: r for r in REF.dedupe(raw)}
    assert len(kept) < len(raw)
    dup = next(
        r for r in kept.values() if r["attrs"].get("run_id") == "run-dup-1" and r["event_type"] == "run_end"
    )
    assert dup["event_time"] == d0 + 10 * HOUR_MS + 20 * 60_000 and dup["client_version"] == "1.4.0"
    triple = next(r for r in kept.values() if r["session_id"] == "dupA" and r["event_type"] == "level_up")
    assert triple["platform"] == "android"
    purchase = next(r for r in kept.values() if r["session_id"] == "dupA" and r["event_type"] == "purchase")
    assert purchase["batch_id"] == "b-dupA-3"
    daily = REF.rollup(raw, DAY_MS)
    dims = {(k[3], k[4]) for k in daily}
    for expected in [
        ("mode", "🔥 ranked"),
        ("mode", NONE_VALUE),
        ("tier", "3"),
        ("client_version", NONE_VALUE),
        ("client_version", "2.0.0-🚀"),
        ("content_version", "cv-☃"),
        ("platform", "ios"),
    ]:
        assert expected in dims
    assert daily[(d0, "events", TOTAL, "client_version", "2.0.0-🚀")]["users"] == 1
    assert any(r["user_hash"] is None for r in raw)
    spans = REF.span_daily(rows_of(data.in_window(RAW, *span_window(data.CONFIG, d0))), d0)
    quest = spans[(d0, "quest_time", TOTAL, TOTAL)]
    assert quest["max"] == 22.5 * HOUR_MS  # quest 7, started the day before; quest 8 (35 h) dropped
    assert spans[(d0, "run_time", TOTAL, TOTAL)]["min"] == 0.0
    assert spans[(d0, "run_time", TOTAL, TOTAL)]["max"] == 90 * 60_000.0
    assert (d0, "run_time", "mode", "ñormal-daily") in spans  # the pair across midnight
    funnels = REF.funnel_daily(rows_of(data.in_window(RAW, *funnel_window(data.CONFIG, d0))), d0)
    assert funnels[(d0, "buyer", "platform", "web", 2)]["units"] >= 1  # purchase after midnight
    assert data.assignments().num_rows > 0


# ------------------------------------------------------------------------------ random raw tables
ASSIGNED = data.RANDOM_ASSIGNED
ASSIGNMENTS_TABLE = data.random_assignments()


def raw_rows() -> st.SearchStrategy[list[Row]]:
    return data.random_raw_rows()


RANDOM = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RANDOM
@given(raw_rows())
def test_rollup_invariants_on_random_tables(rows: list[Row]) -> None:
    raw = data.table_of(rows)
    distinct = len({r["event_id"] for r in rows})
    dim_names = [d.name for d in data.CONFIG.dimension_specs()]
    for granularity in (HOUR_MS, DAY_MS):
        table = keyed(embedded.rollup(raw, data.CONFIG, granularity), "rollup_hourly")
        totals = {k[:3]: v for k, v in table.items() if k[3] == TOTAL}
        # events n for '*' equals the deduplicated row count
        assert sum(v["n"] for k, v in totals.items() if k[1] == "events" and k[2] == TOTAL) == distinct
        # every grouping set's n (and num) sums to the total
        sums: dict[Key, list[float]] = defaultdict(lambda: [0, 0.0])
        for (ts, kind, name, dim_name, _), row in table.items():
            sums[(ts, kind, name, dim_name)][0] += row["n"]
            sums[(ts, kind, name, dim_name)][1] += row["num"] or 0.0
            assert row["users"] <= totals[(ts, kind, name)]["users"]
        for (ts, kind, name), total in totals.items():
            for dim_name in dim_names:
                n, num = sums[(ts, kind, name, dim_name)]
                assert n == total["n"]
                assert num == pytest.approx(total["num"] or 0.0, rel=1e-9)
        for key, row in table.items():
            assert row["n"] >= (0 if key[1] == "kpi" else 1)
            if key[1] == "measure":
                assert row["min"] <= row["p50"] <= row["p95"] <= row["p99"] <= row["max"]
                assert 1 <= row["users"] <= row["n"]
            else:
                assert row["min"] is row["p50"] is row["p99"] is row["max"] is None
        events_by_type: dict[Key, int] = defaultdict(int)
        for k, v in table.items():
            if k[1] == "events" and k[2] != TOTAL:
                events_by_type[(k[0], k[3], k[4])] += v["n"]
        for k, v in table.items():
            if k[1] == "events" and k[2] == TOTAL:
                assert events_by_type[(k[0], k[3], k[4])] == v["n"]


@RANDOM
@given(raw_rows())
def test_every_table_matches_reference_on_random_tables(rows: list[Row]) -> None:
    raw = shuffled(data.table_of(rows), seed=len(rows))
    plain = rows_of(raw)
    config, day = data.CONFIG, data.DAY0_MS
    hourly = embedded.rollup(raw, config, HOUR_MS)
    assert_same("rollup_hourly", hourly, REF.rollup(plain, HOUR_MS), ROLLUP)
    daily, expected_daily = embedded.rollup(raw, config, DAY_MS), REF.rollup(plain, DAY_MS)
    assert_same("rollup_daily", daily, expected_daily, ROLLUP)
    assert_same("kpi_daily", embedded.kpi_daily(daily), REF.kpi_daily(expected_daily), KPI_DAILY)
    assert_same("span_daily", embedded.span_daily(raw, config, day), REF.span_daily(plain, day), SPAN_DAILY)
    assert_same(
        "funnel_daily", embedded.funnel_daily(raw, config, day), REF.funnel_daily(plain, day), FUNNEL_DAILY
    )
    in_day = data.in_window(raw, day, day + DAY_MS)
    assert_same(
        "experiment_daily",
        embedded.experiment_daily(in_day, config, day, ASSIGNMENTS_TABLE),
        REF.experiment_daily(rows_of(in_day), day, ASSIGNED),
        EXPERIMENT_DAILY,
    )


@RANDOM
@given(st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=1, max_size=40))
def test_percentiles_are_monotone_and_bounded(values: list[float]) -> None:
    p50, p95, p99 = (percentile(values, q) for q in (0.5, 0.95, 0.99))
    assert min(values) <= p50 <= p95 <= p99 <= max(values)


# ------------------------------------------------------------------------------ engine bugs
def _purchases(amounts: list[float]) -> pa.Table:
    return data.table_of(
        [
            {
                "event_id": f"e{i}",
                "event_type": "purchase",
                "event_time": data.DAY0_MS + i,
                "client_event_time": data.DAY0_MS + i,
                "received_at": data.DAY0_MS + i,
                "batch_id": "b",
                "session_id": "s",
                "user_hash": "u0",
                "platform": "web",
                "nums": {"amount": amount},
                "attrs": {},
            }
            for i, amount in enumerate(amounts)
        ]
    )


def test_a_repeated_assignment_row_counts_the_user_once() -> None:
    day = data.DAY0_MS
    raw = window(day, day + DAY_MS)
    assignments = data.assignments()
    active = {r["user_hash"] for r in rows_of(raw)}
    first_active = next(i for i, u in enumerate(assignments["user_hash"].to_pylist()) if u in active)
    repeated = pa.concat_tables([assignments, assignments.slice(first_active, 1)])
    once = embedded.experiment_daily(raw, data.CONFIG, day, assignments)
    assert_same(
        "experiment_daily",
        embedded.experiment_daily(raw, data.CONFIG, day, repeated),
        keyed(once, "experiment_daily"),
        EXPERIMENT_DAILY,
    )


def test_a_kpi_with_numerator_rows_only_gives_a_row_with_n_zero() -> None:
    raw = _purchases([1.0])
    raw = raw.set_column(
        raw.schema.get_field_index("attrs"),
        "attrs",
        pa.array([[("currency", "gems")]], raw.schema.field("attrs").type),
    )
    expected = REF.rollup(rows_of(raw), HOUR_MS)
    assert expected[(data.DAY0_MS, "kpi", "gem_buy_rate", TOTAL, TOTAL)] == {
        "n": 0,
        "num": 1.0,
        "users": 0,
        **dict.fromkeys(("min", "max", "p50", "p95", "p99")),
    }
    assert_same("rollup_hourly", embedded.rollup(raw, data.CONFIG, HOUR_MS), expected, ROLLUP)
