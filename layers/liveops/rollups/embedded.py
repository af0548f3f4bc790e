"""The embedded rollup engine: pyarrow + numpy over raw event rows (docs/rollups.md).

Raw tables are first reduced to the compact, deduplicated rows of the period (`prepare`); every
figure is then vectorised over integer codes: counts by `np.bincount` on dense group codes,
distinct users from sorted runs (`grouping.DistinctUsers`), and sums, extremes and exact
percentiles from values sorted once per measure and then stably by group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from liveops.models.app_config import AppConfig
from liveops.rollups.columns import Codes, TableValues
from liveops.rollups.grouping import (
    DistinctUsers,
    Tuples,
    dense_code,
    distinct_counts,
    quantiles,
    run_starts,
    small_codes,
    stable_order,
)
from liveops.rollups.prepare import (
    Gather,
    Need,
    Needed,
    Rows,
    StringSet,
    is_in,
    needed_rows,
    prepare,
    release_freed_memory,
)
from liveops.rollups.schema import (
    EXPERIMENT_DAILY,
    FUNNEL_DAILY,
    KPI_DAILY,
    ROLLUP,
    SPAN_DAILY,
    TOTAL,
    TS,
)

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
QUANTILES = (0.5, 0.95, 0.99)


def _table(parts: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    tables = [
        pa.table({f.name: part.get(f.name, pa.nulls(len(part["ts"]), f.type)) for f in schema}, schema=schema)
        for part in parts
        if len(part["ts"])
    ]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def _repeat(text: str, count: int) -> pa.Array:
    return pa.repeat(pa.scalar(text, pa.string()), count)


def _timestamps(ms: np.ndarray) -> pa.Array:
    return pa.array(ms, pa.int64()).cast(TS)


# ---------------------------------------------------------------------------- rollup_hourly / _daily
class Period:
    """The rows of a period bucketed by one granularity, with the grouping sets of the figures."""

    def __init__(
        self, rows: Rows, config: AppConfig, granularity_ms: int, finer: Period | None = None
    ) -> None:
        self.rows = rows
        self.config = config
        self.granularity = granularity_ms
        first = int(rows.times.min())
        self._base = first - first % granularity_ms
        index = rows.times - self._base
        index //= granularity_ms
        present = np.flatnonzero(np.bincount(index))
        # renumbered in the small type directly: no second array of int64 per row
        self._renumber = small_codes(np.zeros(int(index.max()) + 1, dtype=np.int64), len(present))
        self._renumber[present] = np.arange(len(present))
        self.bucket = self._renumber[index]
        del index
        self.starts = self._base + present * granularity_ms  # bucket start, ms
        self.buckets = len(present)
        self.sets: list[tuple[str, Codes]] = [(TOTAL, Codes.constant(rows.count, TOTAL)), *rows.dims.items()]
        types = rows.event_type
        self.type_counts = np.bincount(types.codes, minlength=len(types.labels))
        self.tuples: Tuples = (
            finer.tuples.rebucketed(self.bucket_of(finer.starts), self.buckets)
            if finer is not None and granularity_ms % finer.granularity == 0  # buckets nest
            else self._tuples(None, (types.codes, len(types.labels)))
        )
        self.users = DistinctUsers(self.tuples, list(rows.dims))
        self._subset_users: list[tuple[np.ndarray, DistinctUsers]] = []

    def bucket_of(self, ms: np.ndarray) -> np.ndarray:
        return self._renumber[(ms - self._base) // self.granularity]

    def _tuples(self, rows: np.ndarray | None, types: tuple[np.ndarray, int]) -> Tuples:
        """Over `rows` (all rows if None); `types` are already those rows' type codes."""

        index = None if rows is None else rows.astype(np.intp)  # converted once, not per gather

        def at(codes: np.ndarray) -> np.ndarray:
            return codes if index is None else codes[index]

        return Tuples(
            [
                (at(self.bucket), self.buckets),
                (at(self.rows.ident), int(self.rows.ident.max()) + 1),
                types,
                *((at(dim.codes), len(dim.labels)) for dim in self.rows.dims.values()),
            ]
        )

    def users_of(self, rows: np.ndarray, event: str) -> dict[str, np.ndarray]:
        """Distinct users per (bucket, value) of every set over `rows` (ascending, all of type `event`)."""
        code = self.rows.event_type.code_of(event)
        if len(code) and len(rows) == self.type_counts[code[0]]:  # every row of the type
            return {name: self.users.of_type(name, int(code[0])) for name, _ in self.sets}
        users = next((u for known, u in self._subset_users if np.array_equal(known, rows)), None)
        if users is None:  # figures often share their rows: compute once
            users = DistinctUsers(
                self._tuples(rows, (np.zeros(len(rows), np.int64), 1)), list(self.rows.dims)
            )
            self._subset_users.append((rows, users))
        return {name: users.of_type(name, 0) for name, _ in self.sets}

    def keys(self, codes: np.ndarray, dim_name: str, dim: Codes) -> dict[str, Any]:
        """ts, dim_name and dim_value of group codes `bucket * values + value`."""
        values = len(dim.labels)
        return {
            "ts": _timestamps(self.starts[codes // values]),
            "dim_name": _repeat(dim_name, len(codes)),
            "dim_value": dim.labels.take(pa.array(codes % values)),
        }


def _events_parts(p: Period) -> list[dict[str, Any]]:
    parts = []
    types = p.rows.event_type
    type_card = len(types.labels)
    for dim_name, dim in p.sets:
        values = len(dim.labels)
        shape = (p.buckets, type_card, values)
        codes = dense_code([(p.bucket, p.buckets), (types.codes, type_card), (dim.codes, values)])
        n = np.bincount(codes, minlength=int(np.prod(shape))).reshape(shape)
        for type_code in range(type_card):
            counts = n[:, type_code, :].ravel()
            groups = np.flatnonzero(counts)
            parts.append(
                {
                    **p.keys(groups, dim_name, dim),
                    "kind": _repeat("events", len(groups)),
                    "name": _repeat(types.labels[type_code].as_py(), len(groups)),
                    "n": counts[groups],
                    "users": p.users.of_type(dim_name, type_code)[groups],
                }
            )
        counts = n.sum(axis=1).ravel()
        groups = np.flatnonzero(counts)
        parts.append(
            {
                **p.keys(groups, dim_name, dim),
                "kind": _repeat("events", len(groups)),
                "name": _repeat(TOTAL, len(groups)),
                "n": counts[groups],
                "users": p.users.any_type[dim_name].ravel()[groups],
            }
        )
    return parts


def _measure_parts(p: Period) -> list[dict[str, Any]]:
    parts = []
    for name, measure in p.config.measures.items():
        sample = p.rows.measures[name]
        if len(sample.rows) == 0:
            continue
        users = p.users_of(sample.rows, measure.event)
        # the values are sorted once (prepare); a stable sort by group keeps them sorted within it
        values = sample.by_value
        bucket = sample.by_value_codes(p.bucket)
        for dim_name, dim in p.sets:
            card = p.buckets * len(dim.labels)
            codes = dense_code([(bucket, p.buckets), (sample.by_value_codes(dim.codes), len(dim.labels))])
            ordered = values[stable_order(codes, card)] if card > 1 else values
            counts = np.bincount(codes, minlength=card)
            groups = np.flatnonzero(counts)
            n = counts[groups]
            starts = np.cumsum(n) - n
            part = {
                **p.keys(groups, dim_name, dim),
                "kind": _repeat("measure", len(groups)),
                "name": _repeat(name, len(groups)),
                "n": n,
                "num": np.add.reduceat(ordered, starts),
                "min": ordered[starts],
                "max": ordered[starts + n - 1],
                "users": users[dim_name][groups],
            }
            for q, column in zip(QUANTILES, ("p50", "p95", "p99"), strict=True):
                part[column] = quantiles(ordered, starts, n, q)
            parts.append(part)
    return parts


def _kpi_parts(p: Period) -> list[dict[str, Any]]:
    parts = []
    for name, kpi in p.config.kpis.items():
        den, num = p.rows.kpis[name]
        rows = np.flatnonzero(den | num)
        if len(rows) == 0:
            continue
        den_rows, num_rows = den[rows], num[rows]
        users = p.users_of(np.flatnonzero(den), kpi.denominator.event)
        for dim_name, dim in p.sets:
            card = p.buckets * len(dim.labels)
            codes = dense_code([(p.bucket[rows], p.buckets), (dim.codes[rows], len(dim.labels))])
            den_counts = np.bincount(codes, weights=den_rows, minlength=card)
            num_counts = np.bincount(codes, weights=num_rows, minlength=card)
            groups = np.flatnonzero(np.bincount(codes, minlength=card))
            parts.append(
                {
                    **p.keys(groups, dim_name, dim),
                    "kind": _repeat("kpi", len(groups)),
                    "name": _repeat(name, len(groups)),
                    "n": den_counts[groups].astype(np.int64),
                    "num": num_counts[groups].astype(np.float64),
                    "users": users[dim_name][groups],
                }
            )
    return parts


def _rollup_period(p: Period) -> pa.Table:
    return _table(_events_parts(p) + _measure_parts(p) + _kpi_parts(p), ROLLUP)


def rollup_rows(
    rows: Rows, config: AppConfig, granularities: Sequence[int]
) -> Iterator[tuple[int, pa.Table]]:
    """(granularity, rollup table) of prepared rows, finest first: a coarser granularity starts
    from the finer one's distinct (bucket, user, ...) tuples instead of the rows."""
    finer: Period | None = None
    for granularity in sorted(granularities):
        if rows.count == 0:
            yield granularity, ROLLUP.empty_table()
            continue
        finer = Period(rows, config, granularity, finer)
        yield granularity, _rollup_period(finer)
        release_freed_memory()


def rollups(
    tables: Iterable[pa.Table], config: AppConfig, granularities: Sequence[int]
) -> dict[int, pa.Table]:
    """The rollups of several granularities over the same raw tables (e.g. one per lake file),
    read and deduplicated once."""
    return dict(rollup_rows(prepare(tables, config), config, granularities))


def rollup(raw: pa.Table, config: AppConfig, granularity_ms: int) -> pa.Table:
    """rollup_hourly (granularity HOUR_MS) or rollup_daily (DAY_MS) rows of the given raw rows."""
    return rollups([raw], config, [granularity_ms])[granularity_ms]


# ---------------------------------------------------------------------------- the other daily tables
# The raw tables of a period with (at least) the given columns, e.g. the period's lake files one by
# one; called again when a second read is needed (`prepare.needed_rows`).
Source = Callable[[Sequence[str]], Iterable[pa.Table]]


def _one_table(raw: pa.Table) -> Source:
    return lambda columns: [raw]


def _read(source: Source, config: AppConfig, need: Need) -> Needed:
    """The rows `need` picks from the period, deduplicated as if every row were (the dedupe keys of
    every row take part), read table by table: memory holds the picked rows' narrow columns."""
    return needed_rows(source(need.columns(config)), config, need, lambda: source(need.key_columns()))


def _of_types(types: Iterable[str]) -> Callable[[pa.Table], np.ndarray]:
    labels = StringSet(types)
    return lambda table: is_in(table["event_type"], labels)


def span_need(config: AppConfig) -> Need:
    """Spans read their start and end events: times, key, identities, dimension values."""
    return Need(
        rows=_of_types(t for s in config.spans.values() for t in (s.start, s.end)),
        reads=("event_type",),
        keep=("nums", "attrs"),
        keys=frozenset(s.key for s in config.spans.values()),
    )


def funnel_need(config: AppConfig) -> Need:
    """Funnels read the events of their steps: times, units (sessions or identities), dimension values."""
    by_session = any(f.by == "session" for f in config.funnels.values())
    return Need(
        rows=_of_types(step for f in config.funnels.values() for step in f.steps),
        reads=("event_type",),
        keep=("session_id",) if by_session else (),
    )


def experiment_need(config: AppConfig, users: pa.Array) -> Need:
    """Experiments read the rows of assigned users (`users`): every row when a metric counts the
    active users whatever they did (`events.count`, `m.sum`, `m.count`: a user active that day
    contributes (0, 1) without any event of the measure), else the events of the metrics only (a
    KPI and `m.avg` leave users without such events out, y = 0). No codes: user, type, fields."""
    events: set[str] = set()
    keys: set[str] = set()
    every_row = False
    for metric in config.experiments.metrics:
        if metric in config.kpis:
            kpi = config.kpis[metric]
            events.update((kpi.numerator.event, kpi.denominator.event))
            keys.update((*kpi.numerator.where, *kpi.denominator.where))
        elif metric == "events.count":
            every_row = True
        else:
            measure_name, agg = metric.rsplit(".", 1)
            measure = config.measures[measure_name]
            events.add(measure.event)
            keys.update((measure.field, *measure.where))
            every_row |= agg != "avg"
    of_types = _of_types(events)
    assigned_users = StringSet(users)

    def rows(table: pa.Table) -> np.ndarray:
        assigned = is_in(table["user_hash"], assigned_users)
        return assigned if every_row else assigned & of_types(table)

    return Need(
        rows=rows,
        reads=("event_type", "user_hash"),
        keep=("user_hash", "nums", "attrs"),
        keys=frozenset(keys),
        codes=False,
        ids=False,
    )


def _codes(column: pa.ChunkedArray) -> Codes:
    """One code space over the chunks (e.g. dictionaries of several files), present labels only."""
    codes, labels = Codes.unify([Codes.of(chunk) for chunk in column.chunks])
    present = np.unique(codes[codes >= 0])
    if len(present) == len(labels):
        return Codes(codes, labels)
    renumber = np.full(len(labels) + 1, -1, dtype=np.int64)  # -1 (missing) reads the last
    renumber[present] = np.arange(len(present))
    return Codes(small_codes(renumber[codes], len(present)), labels.take(pa.array(present)))


class Deduped:
    """The deduplicated rows a daily table needs (`prepare.needed_rows`), with their identities and
    dimension values."""

    def __init__(self, needed: Needed) -> None:
        assert needed.rows is not None and needed.ids is not None, "spans and funnels need codes and ids"
        self.rows = needed.rows
        self.table = needed.table
        self.ids = needed.ids
        self.times = self.rows.times
        self.ident = self.rows.ident
        self.idents = int(self.ident.max()) + 1 if len(self.ident) else 0
        self._values: TableValues | None = None

    @property
    def count(self) -> int:
        return self.rows.count

    @property
    def values(self) -> TableValues:
        if self._values is None:
            self._values = TableValues(self.table)
        return self._values

    def ids_of(self, rows: np.ndarray) -> Gather:
        """The event ids of `rows`, by position in `rows`."""
        return lambda positions: self.ids(rows[positions])

    def grouping_sets(self, rows: np.ndarray) -> Iterable[tuple[str, Codes]]:
        yield TOTAL, Codes.constant(len(rows), TOTAL)
        for name, dim in self.rows.dims.items():
            yield name, Codes(dim.codes[rows], dim.labels)


def kpi_daily(daily: pa.Table) -> pa.Table:
    kpis = daily.filter(pc.equal(daily["kind"], "kpi"))
    n = kpis["n"]
    value = pc.if_else(
        pc.greater(n, 0), pc.divide(kpis["num"], pc.cast(n, pa.float64())), pa.scalar(None, pa.float64())
    )
    return pa.table(
        {
            "ts": kpis["ts"],
            "kpi": kpis["name"],
            "dim_name": kpis["dim_name"],
            "dim_value": kpis["dim_value"],
            "numerator": pc.cast(kpis["num"], pa.int64()),
            "denominator": n,
            "value": value,
            "users": kpis["users"],
        },
        schema=KPI_DAILY,
    )


# ---------------------------------------------------------------------------- span_daily
def _key_values(values: TableValues, key: str) -> pa.Array:
    as_int = pc.cast(pc.cast(values.flat("nums").lookup(key), pa.int64(), safe=False), pa.string())
    return pc.coalesce(values.flat("attrs").lookup(key), as_int)


def _earliest_per_code(codes: np.ndarray, times: np.ndarray, ids: Gather) -> tuple[np.ndarray, np.ndarray]:
    """(unique codes, row index of the earliest row of each); where several rows share a code's
    earliest time, the smallest event id wins (`ids`: the event ids of rows, read for those only)."""
    order = np.lexsort((times, codes))
    codes_in_order, times_in_order = codes[order], times[order]
    first = np.flatnonzero(run_starts(codes_in_order))
    runs = run_starts(codes_in_order, times_in_order)  # starts of the runs of equal (code, time)
    following = first + 1
    tied = first[following < len(order)]
    tied = tied[~runs[tied + 1]]  # the earliest time of the code is shared
    if len(tied):
        run = np.cumsum(runs) - 1
        candidates = np.flatnonzero(np.isin(run, run[tied]))
        rows = order[candidates]
        ranked = pa.table({"run": run[candidates], "id": ids(rows), "row": rows}).sort_by(
            [("run", "ascending"), ("id", "ascending"), ("row", "ascending")]
        )
        winners = ranked["row"].to_numpy()[run_starts(ranked["run"].to_numpy())]
        order[tied] = winners  # runs ascending: the tied groups' order
    return codes_in_order[first], order[first]


def _stats_parts(
    p: Deduped, rows: np.ndarray, values: np.ndarray, label: str, day_ms: int
) -> list[dict[str, Any]]:
    """n/avg/min/max/percentiles/users of `values` (one per row of `rows`), per grouping set, one day."""
    parts = []
    order = np.argsort(values, kind="stable")
    rows, values = rows[order], values[order]
    for dim_name, dim in p.grouping_sets(rows):
        card = len(dim.labels)
        ordered = values[stable_order(dim.codes, card)]
        counts = np.bincount(dim.codes, minlength=card)
        groups = np.flatnonzero(counts)
        n = counts[groups]
        starts = np.cumsum(n) - n
        users = distinct_counts((dim.codes, card), (p.ident[rows], p.idents))
        part = {
            "ts": _timestamps(np.full(len(groups), day_ms)),
            "span": _repeat(label, len(groups)),
            "dim_name": _repeat(dim_name, len(groups)),
            "dim_value": dim.labels.take(pa.array(groups)),
            "n": n,
            "avg": np.add.reduceat(ordered, starts) / n,
            "min": ordered[starts],
            "max": ordered[starts + n - 1],
            "users": users[groups],
        }
        for q, column in zip(QUANTILES, ("p50", "p95", "p99"), strict=True):
            part[column] = quantiles(ordered, starts, n, q)
        parts.append(part)
    return parts


def span_daily(raw: pa.Table, config: AppConfig, day_ms: int) -> pa.Table:
    """Spans ending on the day starting at `day_ms`; `raw` must reach back max_minutes before it."""
    return spans_from(_one_table(raw), config, day_ms)


def spans_from(source: Source, config: AppConfig, day_ms: int) -> pa.Table:
    """span_daily of the period `source` reads (back max_minutes before the day), read only when a
    span is configured, and then only its start and end events."""
    if not config.spans:
        return SPAN_DAILY.empty_table()
    p = Deduped(_read(source, config, span_need(config)))
    if p.count == 0:
        return SPAN_DAILY.empty_table()
    parts: list[dict[str, Any]] = []
    types = p.rows.event_type
    for span_name, span in config.spans.items():
        keys = _key_values(p.values, span.key)
        has_key = pc.is_valid(keys).to_numpy(zero_copy_only=False)
        start_rows = np.flatnonzero(types.is_(span.start) & has_key)
        end_rows = np.flatnonzero(types.is_(span.end) & has_key)
        if len(start_rows) == 0 or len(end_rows) == 0:
            continue
        key_codes = Codes.of(pc.fill_null(keys, "")).codes
        start_keys, first_start = _earliest_per_code(
            key_codes[start_rows], p.times[start_rows], p.ids_of(start_rows)
        )
        first_start = start_rows[first_start]
        # ends at or after their key's first start
        slot = np.searchsorted(start_keys, key_codes[end_rows])
        slot_ok = (slot < len(start_keys)) & (
            start_keys[np.minimum(slot, len(start_keys) - 1)] == key_codes[end_rows]
        )
        ends = end_rows[slot_ok]
        starts_of_ends = first_start[slot[slot_ok]]
        after = p.times[ends] >= p.times[starts_of_ends]
        ends, starts_of_ends = ends[after], starts_of_ends[after]
        if len(ends) == 0:
            continue
        _, first_end = _earliest_per_code(key_codes[ends], p.times[ends], p.ids_of(ends))
        end_row = ends[first_end]
        start_row = starts_of_ends[first_end]
        duration = (p.times[end_row] - p.times[start_row]).astype(np.float64)
        keep = (
            (duration <= span.max_minutes * 60_000)
            & (p.times[end_row] >= day_ms)
            & (p.times[end_row] < day_ms + DAY_MS)
        )
        if not keep.any():
            continue
        parts += _stats_parts(p, start_row[keep], duration[keep], span_name, day_ms)
    return _table(parts, SPAN_DAILY)


# ---------------------------------------------------------------------------- funnel_daily
def funnel_daily(raw: pa.Table, config: AppConfig, day_ms: int) -> pa.Table:
    """Units entering each funnel on the day at `day_ms`; `raw` must reach window_minutes past it."""
    return funnels_from(_one_table(raw), config, day_ms)


def funnels_from(source: Source, config: AppConfig, day_ms: int) -> pa.Table:
    """funnel_daily of the period `source` reads (window_minutes past the day), read only when a
    funnel is configured, and then only the events of its steps."""
    if not config.funnels:
        return FUNNEL_DAILY.empty_table()
    p = Deduped(_read(source, config, funnel_need(config)))
    if p.count == 0:
        return FUNNEL_DAILY.empty_table()
    types = p.rows.event_type
    sessions: np.ndarray | None = None
    in_day = (p.times >= day_ms) & (p.times < day_ms + DAY_MS)
    parts: list[dict[str, Any]] = []
    for funnel_name, funnel in config.funnels.items():
        if funnel.by == "session" and sessions is None:
            sessions = _codes(p.table["session_id"]).codes
        unit = sessions if funnel.by == "session" and sessions is not None else p.ident
        first_rows = np.flatnonzero(types.is_(funnel.steps[0]) & in_day)
        if len(first_rows) == 0:
            continue
        units, entering = _earliest_per_code(unit[first_rows], p.times[first_rows], p.ids_of(first_rows))
        entering = first_rows[entering]
        t0 = p.times[entering]
        deadline = t0 + funnel.window_minutes * 60_000
        reached_time = t0.copy()
        alive = np.ones(len(units), dtype=bool)
        reached = [alive.copy()]
        for step in funnel.steps[1:]:
            rows = np.flatnonzero(types.is_(step))
            slot = np.searchsorted(units, unit[rows])
            ok = (slot < len(units)) & (units[np.minimum(slot, len(units) - 1)] == unit[rows])
            rows, slot = rows[ok], slot[ok]
            ok = alive[slot] & (p.times[rows] >= reached_time[slot]) & (p.times[rows] <= deadline[slot])
            rows, slot = rows[ok], slot[ok]
            next_time = np.full(len(units), np.iinfo(np.int64).max)
            np.minimum.at(next_time, slot, p.times[rows])
            alive = alive & (next_time != np.iinfo(np.int64).max)
            reached_time = np.where(alive, next_time, reached_time)
            reached.append(alive.copy())
        for dim_name, dim in p.grouping_sets(entering):
            for step_index, mask in enumerate(reached):
                codes = dim.codes[mask]
                values, counts = np.unique(codes, return_counts=True)
                parts.append(
                    {
                        "ts": pa.array(np.full(len(values), day_ms), pa.int64()).cast(
                            FUNNEL_DAILY.field("ts").type
                        ),
                        "funnel": pa.array([funnel_name] * len(values), pa.string()),
                        "dim_name": pa.array([dim_name] * len(values), pa.string()),
                        "dim_value": dim.labels.take(pa.array(values)),
                        "step": pa.array(np.full(len(values), step_index), pa.int32()),
                        "step_name": pa.array([funnel.steps[step_index]] * len(values), pa.string()),
                        "units": counts,
                    }
                )
    return _table(parts, FUNNEL_DAILY)


# ---------------------------------------------------------------------------- experiment_daily
def _user_metric(
    values: TableValues, config: AppConfig, metric: str, users: int, slot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) per user for one experiment metric; `slot` maps each row to its user's index."""
    x = np.zeros(users)
    y = np.zeros(users)
    if metric in config.kpis:
        kpi = config.kpis[metric]
        np.add.at(x, slot, values.matches(kpi.numerator).astype(np.float64))
        np.add.at(y, slot, values.matches(kpi.denominator).astype(np.float64))
        return x, y
    if metric == "events.count":
        np.add.at(x, slot, 1.0)
        return x, np.ones(users)
    measure_name, agg = metric.rsplit(".", 1)
    measure = config.measures[measure_name]
    rows, numbers = values.measure(measure.event, measure.where, measure.field)
    if agg == "sum":
        np.add.at(x, slot[rows], numbers)
        return x, np.ones(users)
    counts = np.zeros(users)
    np.add.at(counts, slot[rows], 1.0)
    if agg == "count":
        return counts, np.ones(users)
    np.add.at(x, slot[rows], numbers)  # avg: a ratio of sums per user
    return x, counts


def experiment_daily(raw: pa.Table, config: AppConfig, day_ms: int, assignments: pa.Table) -> pa.Table:
    """Per-variant sufficient statistics of the day's active assigned users."""
    return experiments_from(_one_table(raw), config, day_ms, lambda: assignments)


def _unique_assignments(assignments: pa.Table) -> pa.Table:
    """experiment_id, variant_id, user_hash: one variant per user and experiment, the earliest
    assignment's (a repeated export row counts once)."""
    ordered = assignments.sort_by(
        [
            ("experiment_id", "ascending"),
            ("user_hash", "ascending"),
            ("assigned_at", "ascending"),
            ("variant_id", "ascending"),
        ]
    )
    first = (
        ordered.group_by(["experiment_id", "user_hash"], use_threads=False)
        .aggregate([("variant_id", "first")])
        .rename_columns(["experiment_id", "user_hash", "variant_id"])
    )
    return first.filter(pc.is_valid(first["user_hash"])).select(["experiment_id", "variant_id", "user_hash"])


def experiments_from(
    source: Source, config: AppConfig, day_ms: int, assignments: Callable[[], pa.Table]
) -> pa.Table:
    """experiment_daily of the day `source` reads: nothing is read (assignments neither) without
    experiment metrics, and no raw row without assigned users; then only the assigned users' rows."""
    if not config.experiments.metrics:
        return EXPERIMENT_DAILY.empty_table()
    unique_assignments = _unique_assignments(assignments())
    assigned_users = pc.unique(unique_assignments["user_hash"])
    if len(assigned_users) == 0:
        return EXPERIMENT_DAILY.empty_table()
    active = _read(source, config, experiment_need(config, assigned_users)).table
    if active.num_rows == 0:
        return EXPERIMENT_DAILY.empty_table()
    users = _codes(active["user_hash"])  # the active assigned users: every row is one's
    active_values = TableValues(active)
    parts: list[dict[str, Any]] = []
    for metric in config.experiments.metrics:
        x, y = _user_metric(active_values, config, metric, len(users.labels), users.codes)
        counted = y > 0
        labels = users.labels.filter(pa.array(counted))
        per_user = pa.table({"user_hash": labels, "x": x[counted], "y": y[counted]})
        joined = per_user.join(unique_assignments, "user_hash")
        if joined.num_rows == 0:
            continue
        joined = (
            joined.append_column("x2", pc.multiply(joined["x"], joined["x"]))
            .append_column("y2", pc.multiply(joined["y"], joined["y"]))
            .append_column("xy", pc.multiply(joined["x"], joined["y"]))
        )
        stats = joined.group_by(["experiment_id", "variant_id"]).aggregate(
            [("user_hash", "count"), ("x", "sum"), ("x2", "sum"), ("y", "sum"), ("y2", "sum"), ("xy", "sum")]
        )
        count = stats.num_rows
        parts.append(
            {
                "ts": pa.array(np.full(count, day_ms), pa.int64()).cast(EXPERIMENT_DAILY.field("ts").type),
                "experiment_id": stats["experiment_id"],
                "variant_id": stats["variant_id"],
                "metric": pa.array([metric] * count, pa.string()),
                "units": stats["user_hash_count"],
                "sum_x": stats["x_sum"],
                "sum_x2": stats["x2_sum"],
                "sum_y": stats["y_sum"],
                "sum_y2": stats["y2_sum"],
                "sum_xy": stats["xy_sum"],
            }
        )
    return _table(parts, EXPERIMENT_DAILY)
