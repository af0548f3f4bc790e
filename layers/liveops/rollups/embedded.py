"""The embedded rollup engine: pyarrow + numpy over raw event rows (docs/rollups.md).

Everything is vectorised: rows are reduced to integer group codes, sorted once per figure, and
counts, sums, extremes, exact percentiles and distinct users are read off the sorted arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from liveops.models.app_config import AppConfig, CountFilter
from liveops.rollups.schema import (
    EXPERIMENT_DAILY,
    FUNNEL_DAILY,
    KPI_DAILY,
    NONE_VALUE,
    ROLLUP,
    SPAN_DAILY,
    TOTAL,
)

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
QUANTILES = (0.5, 0.95, 0.99)


# ---------------------------------------------------------------------------- row preparation
def dedupe(raw: pa.Table) -> pa.Table:
    """One row per event_id: the copy with the smallest (received_at, batch_id)."""
    if raw.num_rows == 0:
        return raw
    codes = pc.dictionary_encode(raw["event_id"]).combine_chunks().indices.to_numpy()
    counts = np.bincount(codes)
    repeated = np.flatnonzero(counts[codes] > 1)
    if len(repeated) == 0:
        return raw
    received = raw["received_at"].cast(pa.int64()).to_numpy()
    batch = pc.dictionary_encode(raw["batch_id"].fill_null("")).combine_chunks()
    # order batch ids by their text so that ties are broken the same way SQL would
    batch_rank = np.argsort(np.argsort(batch.dictionary.to_numpy(zero_copy_only=False)))
    batch_codes = batch_rank[batch.indices.to_numpy()]
    sub = repeated[np.lexsort((batch_codes[repeated], received[repeated], codes[repeated]))]
    _, first = np.unique(codes[sub], return_index=True)
    drop = np.setdiff1d(repeated, sub[first], assume_unique=True)
    keep = np.ones(raw.num_rows, dtype=bool)
    keep[drop] = False
    return raw.filter(pa.array(keep))


def identity_codes(raw: pa.Table) -> np.ndarray:
    """One integer per identity (user_hash, else 'session:' + session_id; docs/rollups.md) without
    building millions of strings: user hashes and sessions are encoded apart (a hex user hash is
    never a 'session:...' text, so the two code ranges cannot mean the same identity)."""
    users = Encoded.of(raw["user_hash"].fill_null(""))
    has_user = pc.is_valid(raw["user_hash"]).to_numpy(zero_copy_only=False)
    sessions = Encoded.of(raw["session_id"].fill_null(""))
    return np.where(has_user, users.codes, len(users.labels) + sessions.codes)


def lookup(raw: pa.Table, column: str, key: str) -> pa.Array:
    return pc.map_lookup(raw[column], pa.scalar(key), "first").combine_chunks()


def dimension_values(raw: pa.Table, config: AppConfig) -> dict[str, pa.Array]:
    values: dict[str, pa.Array] = {}
    for dim in config.dimension_specs():
        if dim.source.startswith("payload."):
            field = dim.source.removeprefix("payload.")
            types = {spec.fields[field].type for spec in config.events.values() if field in spec.fields}
            # a map lookup costs seconds on millions of rows: look only where the field can be
            texts = lookup(raw, "attrs", field) if "string" in types or not types else None
            ints = (
                pc.cast(pc.cast(lookup(raw, "nums", field), pa.int64(), safe=False), pa.string())
                if types - {"string"} or not types
                else None
            )
            column = texts if ints is None else ints if texts is None else pc.coalesce(texts, ints)
        else:
            column = raw[dim.source].combine_chunks()
        values[dim.name] = pc.fill_null(column, NONE_VALUE)
    return values


Lookups = dict[tuple[str, str], pa.Array]


def cached_lookup(raw: pa.Table, column: str, key: str, cache: Lookups | None) -> pa.Array:
    """A map lookup costs seconds on millions of rows: figures sharing a field share the lookup."""
    if cache is None:
        return lookup(raw, column, key)
    if (column, key) not in cache:
        cache[(column, key)] = lookup(raw, column, key)
    return cache[(column, key)]


def where_mask(raw: pa.Table, where: dict[str, Any], cache: Lookups | None = None) -> pa.Array:
    mask = pa.array(np.ones(raw.num_rows, dtype=bool))
    for key, expected in where.items():
        if isinstance(expected, str):
            hit = pc.equal(cached_lookup(raw, "attrs", key, cache), pa.scalar(expected))
        else:
            hit = pc.equal(cached_lookup(raw, "nums", key, cache), pa.scalar(float(expected)))
        mask = pc.and_(mask, pc.fill_null(hit, False))
    return mask


def filter_mask(raw: pa.Table, flt: CountFilter, cache: Lookups | None = None) -> pa.Array:
    return pc.and_(pc.equal(raw["event_type"], pa.scalar(flt.event)), where_mask(raw, flt.where, cache))


# ---------------------------------------------------------------------------- grouped statistics
@dataclass
class Encoded:
    """A string column as integer codes plus its dictionary."""

    codes: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, column: pa.Array | pa.ChunkedArray) -> Encoded:
        encoded = (
            pc.dictionary_encode(column).combine_chunks()
            if isinstance(column, pa.ChunkedArray)
            else pc.dictionary_encode(column)
        )
        return cls(
            encoded.indices.to_numpy().astype(np.int64), encoded.dictionary.to_numpy(zero_copy_only=False)
        )

    @classmethod
    def constant(cls, rows: int, label: str) -> Encoded:
        return cls(np.zeros(rows, dtype=np.int64), np.array([label], dtype=object))


@dataclass
class Groups:
    """Rows sorted by group; `starts` index the first row of each group in `order`."""

    codes: np.ndarray  # one code per group
    order: np.ndarray  # row indices sorted by (code, value)
    starts: np.ndarray
    counts: np.ndarray


def group(codes: np.ndarray, values: np.ndarray | None = None) -> Groups:
    order = np.lexsort((values, codes)) if values is not None else np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = (
        np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        if len(order)
        else np.zeros(0, dtype=np.int64)
    )
    counts = np.diff(np.r_[starts, len(order)])
    return Groups(sorted_codes[starts], order, starts, counts)


def group_ranked(codes: np.ndarray, ranks: np.ndarray) -> Groups:
    """Like group(codes, values) when `ranks` are the values' ranks (unique, 0..n-1): one sort of
    an integer key instead of a two-key lexsort."""
    order = np.argsort(codes * len(ranks) + ranks)
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    return Groups(sorted_codes[starts], order, starts, counts)


def distinct_per_group(codes: np.ndarray, ident: np.ndarray, group_codes: np.ndarray) -> np.ndarray:
    """Distinct identities per group code, aligned with `group_codes` (sorted, unique)."""
    if len(codes) == 0:
        return np.zeros(len(group_codes), dtype=np.int64)
    width = int(ident.max()) + 1
    # sort + adjacent difference: much faster than np.unique's hashing on millions of pairs
    pairs = np.sort(codes * width + ident)
    first = np.empty(len(pairs), dtype=bool)
    first[0] = True
    np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
    pair_groups = pairs[first] // width
    out = np.zeros(len(group_codes), dtype=np.int64)
    boundaries = np.flatnonzero(np.r_[True, pair_groups[1:] != pair_groups[:-1]])
    per = np.diff(np.r_[boundaries, len(pair_groups)])
    out[np.searchsorted(group_codes, pair_groups[boundaries])] = per
    return out


def quantiles(sorted_values: np.ndarray, starts: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """Exact quantile per group by linear interpolation between closest ranks."""
    pos = (counts - 1) * q
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)
    low, high = sorted_values[starts + lo], sorted_values[starts + hi]
    return low + (high - low) * (pos - lo)


@dataclass
class Keys:
    """The grouping of one figure: time bucket, name and one grouping set."""

    bucket: np.ndarray  # bucket index per row (into `buckets`)
    buckets: np.ndarray  # bucket start, ms
    name: Encoded
    dim_name: str
    dim: Encoded

    def codes(self) -> np.ndarray:
        return (self.bucket * len(self.name.labels) + self.name.codes) * len(self.dim.labels) + self.dim.codes

    def decode(self, codes: np.ndarray) -> dict[str, Any]:
        dim_code = codes % len(self.dim.labels)
        rest = codes // len(self.dim.labels)
        return {
            "ts": pa.array(self.buckets[rest // len(self.name.labels)], pa.int64()).cast(
                ROLLUP.field("ts").type
            ),
            "name": pa.array(self.name.labels[rest % len(self.name.labels)], pa.string()),
            "dim_name": pa.array([self.dim_name] * len(codes), pa.string()),
            "dim_value": pa.array(self.dim.labels[dim_code], pa.string()),
        }


class Prepared:
    """Deduplicated rows of one period with everything the figures share, computed once."""

    def __init__(self, raw: pa.Table, config: AppConfig, granularity_ms: int) -> None:
        self.raw = dedupe(raw)
        self.config = config
        rows = self.raw.num_rows
        times = self.raw["event_time"].cast(pa.int64()).to_numpy() if rows else np.zeros(0, np.int64)
        self.times = times
        starts = times - times % granularity_ms
        self.buckets, self.bucket = np.unique(starts, return_inverse=True)
        self.ident = identity_codes(self.raw) if rows else np.zeros(0, np.int64)
        self.dims = (
            {name: Encoded.of(col) for name, col in dimension_values(self.raw, config).items()}
            if rows
            else {}
        )
        self.event_type = Encoded.of(self.raw["event_type"]) if rows else Encoded.constant(0, "")
        self.lookups: Lookups = {}

    def grouping_sets(self, rows: np.ndarray) -> Iterable[tuple[str, Encoded]]:
        yield TOTAL, Encoded.constant(len(rows), TOTAL)
        for name, encoded in self.dims.items():
            yield name, Encoded(encoded.codes[rows], encoded.labels)

    def keys(self, rows: np.ndarray, name: Encoded, dim_name: str, dim: Encoded) -> Keys:
        return Keys(self.bucket[rows], self.buckets, name, dim_name, dim)


def _table(parts: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    tables = [
        pa.table({f.name: part.get(f.name, pa.nulls(len(part["ts"]), f.type)) for f in schema}, schema=schema)
        for part in parts
        if len(part["ts"])
    ]
    return pa.concat_tables(tables) if tables else schema.empty_table()


# ---------------------------------------------------------------------------- rollup_hourly / _daily
def _events_parts(p: Prepared) -> list[dict[str, Any]]:
    parts = []
    every = np.arange(p.raw.num_rows)
    for name in (p.event_type, Encoded.constant(len(every), TOTAL)):
        for dim_name, dim in p.grouping_sets(every):
            keys = p.keys(every, name, dim_name, dim)
            codes = keys.codes()
            counts = np.bincount(codes)  # counting, no sort: the code space is small
            group_codes = np.flatnonzero(counts)
            parts.append(
                {
                    **keys.decode(group_codes),
                    "kind": pa.array(["events"] * len(group_codes)),
                    "n": counts[group_codes],
                    "users": distinct_per_group(codes, p.ident, group_codes),
                }
            )
    return parts


def _measure_parts(p: Prepared) -> list[dict[str, Any]]:
    parts = []
    for measure_name, measure in p.config.measures.items():
        values = cached_lookup(p.raw, "nums", measure.field, p.lookups)
        mask = pc.and_(
            filter_mask(p.raw, CountFilter(event=measure.event, where=measure.where), p.lookups),
            pc.is_valid(values),
        )
        rows = np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
        if len(rows) == 0:
            continue
        vals = values.to_numpy(zero_copy_only=False)[rows].astype(np.float64)
        # rank the values once; each grouping set then sorts one packed (group, rank) integer key
        ranks = np.empty(len(vals), dtype=np.int64)
        ranks[np.argsort(vals, kind="stable")] = np.arange(len(vals))
        name = Encoded.constant(len(rows), measure_name)
        for dim_name, dim in p.grouping_sets(rows):
            keys = p.keys(rows, name, dim_name, dim)
            codes = keys.codes()
            groups = group_ranked(codes, ranks)
            ordered = vals[groups.order]
            part = {
                **keys.decode(groups.codes),
                "kind": pa.array(["measure"] * len(groups.codes)),
                "n": groups.counts,
                "num": np.add.reduceat(ordered, groups.starts),
                "min": ordered[groups.starts],
                "max": ordered[groups.starts + groups.counts - 1],
                "users": distinct_per_group(codes, p.ident[rows], groups.codes),
            }
            for q, column in zip(QUANTILES, ("p50", "p95", "p99"), strict=True):
                part[column] = quantiles(ordered, groups.starts, groups.counts, q)
            parts.append(part)
    return parts


def _kpi_parts(p: Prepared) -> list[dict[str, Any]]:
    parts = []
    for kpi_name, kpi in p.config.kpis.items():
        den = pc.fill_null(filter_mask(p.raw, kpi.denominator, p.lookups), False).to_numpy(
            zero_copy_only=False
        )
        num = pc.fill_null(filter_mask(p.raw, kpi.numerator, p.lookups), False).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(den | num)
        if len(rows) == 0:
            continue
        name = Encoded.constant(len(rows), kpi_name)
        for dim_name, dim in p.grouping_sets(rows):
            keys = p.keys(rows, name, dim_name, dim)
            codes = keys.codes()
            den_rows = den[rows]
            den_counts = np.bincount(codes, weights=den_rows)
            num_counts = np.bincount(codes, weights=num[rows], minlength=len(den_counts))
            group_codes = np.flatnonzero(np.bincount(codes))
            users = distinct_per_group(codes[den_rows], p.ident[rows][den_rows], group_codes)
            parts.append(
                {
                    **keys.decode(group_codes),
                    "kind": pa.array(["kpi"] * len(group_codes)),
                    "n": den_counts[group_codes].astype(np.int64),
                    "num": num_counts[group_codes].astype(np.float64),
                    "users": users,
                }
            )
    return parts


def rollup(raw: pa.Table, config: AppConfig, granularity_ms: int) -> pa.Table:
    """rollup_hourly (granularity HOUR_MS) or rollup_daily (DAY_MS) rows of the given raw rows."""
    p = Prepared(raw, config, granularity_ms)
    if p.raw.num_rows == 0:
        return ROLLUP.empty_table()
    return _table(_events_parts(p) + _measure_parts(p) + _kpi_parts(p), ROLLUP)


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
def _key_values(raw: pa.Table, key: str) -> pa.Array:
    as_int = pc.cast(pc.cast(lookup(raw, "nums", key), pa.int64(), safe=False), pa.string())
    return pc.coalesce(lookup(raw, "attrs", key), as_int)


def _earliest_per_code(
    codes: np.ndarray, times: np.ndarray, tie: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(unique codes, row index of the earliest row of each) with ties broken by `tie`."""
    order = np.lexsort((tie, times, codes))
    uniq, first = np.unique(codes[order], return_index=True)
    return uniq, order[first]


def _event_id_rank(raw: pa.Table) -> np.ndarray:
    return np.argsort(
        np.argsort(raw["event_id"].to_numpy(zero_copy_only=False), kind="stable"), kind="stable"
    )


def _stats_parts(
    p: Prepared, rows: np.ndarray, values: np.ndarray, label: str, day_ms: int
) -> list[dict[str, Any]]:
    """n/avg/min/max/percentiles/users of `values` (one per row of `rows`), per grouping set, one day."""
    parts = []
    name = Encoded.constant(len(rows), label)
    single_bucket = np.zeros(len(rows), dtype=np.int64)
    for dim_name, dim in p.grouping_sets(rows):
        keys = Keys(single_bucket, np.array([day_ms]), name, dim_name, dim)
        codes = keys.codes()
        groups = group(codes, values)
        ordered = values[groups.order]
        sums = np.add.reduceat(ordered, groups.starts)
        part = {
            **keys.decode(groups.codes),
            "n": groups.counts,
            "avg": sums / groups.counts,
            "min": ordered[groups.starts],
            "max": ordered[groups.starts + groups.counts - 1],
            "users": distinct_per_group(codes, p.ident[rows], groups.codes),
        }
        for q, column in zip(QUANTILES, ("p50", "p95", "p99"), strict=True):
            part[column] = quantiles(ordered, groups.starts, groups.counts, q)
        part["span"] = part.pop("name")
        parts.append(part)
    return parts


def span_daily(raw: pa.Table, config: AppConfig, day_ms: int) -> pa.Table:
    """Spans ending on the day starting at `day_ms`; `raw` must reach back max_minutes before it."""
    p = Prepared(raw, config, DAY_MS)
    if p.raw.num_rows == 0 or not config.spans:
        return SPAN_DAILY.empty_table()
    tie = _event_id_rank(p.raw)
    parts: list[dict[str, Any]] = []
    types = p.raw["event_type"]
    for span_name, span in config.spans.items():
        keys = _key_values(p.raw, span.key)
        has_key = pc.is_valid(keys)
        start_rows = np.flatnonzero(
            pc.and_(pc.equal(types, span.start), has_key).to_numpy(zero_copy_only=False)
        )
        end_rows = np.flatnonzero(pc.and_(pc.equal(types, span.end), has_key).to_numpy(zero_copy_only=False))
        if len(start_rows) == 0 or len(end_rows) == 0:
            continue
        key_codes = Encoded.of(pc.fill_null(keys, "")).codes
        start_keys, first_start = _earliest_per_code(
            key_codes[start_rows], p.times[start_rows], tie[start_rows]
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
        _, first_end = _earliest_per_code(key_codes[ends], p.times[ends], tie[ends])
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
    p = Prepared(raw, config, DAY_MS)
    if p.raw.num_rows == 0 or not config.funnels:
        return FUNNEL_DAILY.empty_table()
    tie = _event_id_rank(p.raw)
    types = p.raw["event_type"]
    parts: list[dict[str, Any]] = []
    for funnel_name, funnel in config.funnels.items():
        unit = Encoded.of(p.raw["session_id"]).codes if funnel.by == "session" else p.ident
        in_day = (p.times >= day_ms) & (p.times < day_ms + DAY_MS)
        first_rows = np.flatnonzero(pc.equal(types, funnel.steps[0]).to_numpy(zero_copy_only=False) & in_day)
        if len(first_rows) == 0:
            continue
        units, entering = _earliest_per_code(unit[first_rows], p.times[first_rows], tie[first_rows])
        entering = first_rows[entering]
        t0 = p.times[entering]
        deadline = t0 + funnel.window_minutes * 60_000
        reached_time = t0.copy()
        alive = np.ones(len(units), dtype=bool)
        reached = [alive.copy()]
        for step in funnel.steps[1:]:
            rows = np.flatnonzero(pc.equal(types, step).to_numpy(zero_copy_only=False))
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
                        "dim_value": pa.array(dim.labels[values], pa.string()),
                        "step": pa.array(np.full(len(values), step_index), pa.int32()),
                        "step_name": pa.array([funnel.steps[step_index]] * len(values), pa.string()),
                        "units": counts,
                    }
                )
    return _table(parts, FUNNEL_DAILY)


# ---------------------------------------------------------------------------- experiment_daily
def _user_metric(
    raw: pa.Table, config: AppConfig, metric: str, users: int, slot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) per user for one experiment metric; `slot` maps each row to its user's index."""
    x = np.zeros(users)
    y = np.zeros(users)
    if metric in config.kpis:
        kpi = config.kpis[metric]
        num = pc.fill_null(filter_mask(raw, kpi.numerator), False).to_numpy(zero_copy_only=False)
        den = pc.fill_null(filter_mask(raw, kpi.denominator), False).to_numpy(zero_copy_only=False)
        np.add.at(x, slot, num.astype(np.float64))
        np.add.at(y, slot, den.astype(np.float64))
        return x, y
    if metric == "events.count":
        np.add.at(x, slot, 1.0)
        return x, np.ones(users)
    measure_name, agg = metric.rsplit(".", 1)
    measure = config.measures[measure_name]
    values = lookup(raw, "nums", measure.field)
    mask = pc.fill_null(
        pc.and_(filter_mask(raw, CountFilter(event=measure.event, where=measure.where)), pc.is_valid(values)),
        False,
    ).to_numpy(zero_copy_only=False)
    vals = np.nan_to_num(values.to_numpy(zero_copy_only=False).astype(np.float64))
    if agg == "sum":
        np.add.at(x, slot[mask], vals[mask])
        return x, np.ones(users)
    counts = np.zeros(users)
    np.add.at(counts, slot[mask], 1.0)
    if agg == "count":
        return counts, np.ones(users)
    np.add.at(x, slot[mask], vals[mask])  # avg: a ratio of sums per user
    return x, counts


def experiment_daily(raw: pa.Table, config: AppConfig, day_ms: int, assignments: pa.Table) -> pa.Table:
    """Per-variant sufficient statistics of the day's active assigned users."""
    p = Prepared(raw, config, DAY_MS)
    if p.raw.num_rows == 0 or assignments.num_rows == 0 or not config.experiments.metrics:
        return EXPERIMENT_DAILY.empty_table()
    user_hash = p.raw["user_hash"].combine_chunks()
    # one variant per user and experiment: the earliest assignment (a repeated export row counts once)
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
    unique_assignments = first.filter(pc.is_valid(first["user_hash"])).select(
        ["experiment_id", "variant_id", "user_hash"]
    )
    assigned_users = pc.unique(unique_assignments["user_hash"])
    member = pc.fill_null(pc.is_in(user_hash, assigned_users), False).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(member)
    if len(rows) == 0:
        return EXPERIMENT_DAILY.empty_table()
    active = p.raw.take(pa.array(rows))
    users = Encoded.of(active["user_hash"])
    parts: list[dict[str, Any]] = []
    for metric in config.experiments.metrics:
        x, y = _user_metric(active, config, metric, len(users.labels), users.codes)
        counted = y > 0
        labels = pa.array(users.labels[counted], pa.string())
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
