"""Athena (Trino) SQL for the curated tables: the rows of `liveops.rollups.embedded`, as queries.

Every function returns one self-contained SELECT over the Glue `raw_events` table (partitions
`app_id`, `dt`, `hour`) that follows docs/rollups.md step by step:

1. rows of the app whose partition and corrected `event_time` fall in the period read;
2. dedupe: `row_number() OVER (PARTITION BY event_id ORDER BY received_at, batch_id) = 1`;
3. identity `coalesce(user_hash, 'session:' || session_id)`, dimension values (envelope column,
   `element_at(attrs, f)` or `CAST(CAST(element_at(nums, f) AS BIGINT) AS VARCHAR)`, `(none)`);
4. grouping sets: each figure's rows are joined with a VALUES list of the grouping sets (`*` and
   every dimension) instead of `GROUPING SETS`, so that exact percentiles can be computed with
   `row_number()`/`count()` windows per (figure, dim_name, dim_value) group, by linear
   interpolation between closest ranks (never `approx_percentile`).

Output columns carry the names of `liveops.rollups.schema` and are CAST to its types; rows are
ordered by `schema.SORT_KEYS`. kpi_daily: `kpi_daily_sql` derives it in SQL from the daily KPI
rows; the rollup jobs derive it in Python with `embedded.kpi_daily` from whichever engine's
rollup_daily rows, which gives the same result.

Names come from validated app configs, but every string literal and identifier is quoted anyway.
The SQL is plain Trino: tests run it in DuckDB after `sqlglot.transpile(sql, read="trino",
write="duckdb")`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from liveops.models.app_config import AppConfig, CountFilter
from liveops.rollups.schema import (
    EXPERIMENT_DAILY,
    FUNNEL_DAILY,
    KPI_DAILY,
    NONE_VALUE,
    SORT_KEYS,
    SPAN_DAILY,
    TOTAL,
)

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
GRANULARITIES = {HOUR_MS: "hour", DAY_MS: "day"}
MEAN_AGGS = ("sum", "count", "avg")  # measure aggregations an experiment metric may use


# ---------------------------------------------------------------------------- quoting
def literal(value: str) -> str:
    """A SQL string literal: single quotes doubled (no backslash escapes in Trino or DuckDB)."""
    if "\x00" in value:
        raise ValueError("a SQL string literal cannot hold NUL")
    return "'" + value.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted SQL identifier."""
    if not name or "\x00" in name:
        raise ValueError(f"invalid SQL identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'


def relation(name: str, database: str | None = None) -> str:
    """A quoted table reference: `name` may be `db.table`; a bare name is qualified by `database`."""
    parts = name.split(".") if "." in name else ([database, name] if database else [name])
    return ".".join(identifier(part) for part in parts)


def double(value: float) -> str:
    """A DOUBLE literal that parses back to exactly `value`."""
    value = float(value)
    if math.isnan(value):
        return "CAST('NaN' AS DOUBLE)"
    if math.isinf(value):
        return "CAST('Infinity' AS DOUBLE)" if value > 0 else "CAST('-Infinity' AS DOUBLE)"
    return f"CAST({value!r} AS DOUBLE)"


def timestamp(ms: int) -> str:
    """A TIMESTAMP literal (UTC wall clock, millisecond precision)."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return f"TIMESTAMP '{moment.strftime('%Y-%m-%d %H:%M:%S')}.{ms % 1000:03d}'"


_SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
}


def sql_type(kind: pa.DataType) -> str:
    return "TIMESTAMP" if pa.types.is_timestamp(kind) else _SQL_TYPES[kind]


# ---------------------------------------------------------------------------- windows
def span_start_ms(config: AppConfig, day_ms: int) -> int:
    """Spans read back whole days covering the longest `max_minutes` (as engines.EmbeddedEngine)."""
    days = max((math.ceil(s.max_minutes / 1440) for s in config.spans.values()), default=0)
    return day_ms - days * DAY_MS


def funnel_end_ms(config: AppConfig, day_ms: int) -> int:
    """Funnels read ahead whole days covering the longest `window_minutes` (as engines.EmbeddedEngine)."""
    days = max((math.ceil(f.window_minutes / 1440) for f in config.funnels.values()), default=0)
    return day_ms + DAY_MS + days * DAY_MS


# ---------------------------------------------------------------------------- shared pieces
def _dt_hour(ms: int) -> tuple[str, str]:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d"), f"{moment.hour:02d}"


def partition_filter(start_ms: int, end_ms: int) -> str:
    """dt/hour partitions that hold event times in [start_ms, end_ms)."""
    first_dt, first_hour = _dt_hour(start_ms - start_ms % HOUR_MS)
    last_dt, last_hour = _dt_hour((end_ms - 1) - (end_ms - 1) % HOUR_MS)
    dt, hour = identifier("dt"), identifier("hour")
    if first_dt == last_dt:
        conditions = [f"{dt} = {literal(first_dt)}"]
    else:
        conditions = [f"{dt} BETWEEN {literal(first_dt)} AND {literal(last_dt)}"]
    if first_hour != "00":
        conditions.append(f"({dt} <> {literal(first_dt)} OR {hour} >= {literal(first_hour)})")
    if last_hour != "23":
        conditions.append(f"({dt} <> {literal(last_dt)} OR {hour} <= {literal(last_hour)})")
    return " AND ".join(conditions)


def _attr(field: str) -> str:
    return f"element_at(attrs, {literal(field)})"


def _num(field: str) -> str:
    return f"element_at(nums, {literal(field)})"


def _payload_text(field: str) -> str:
    """attrs[f], or nums[f] printed as an integer (docs/rollups.md, dimension value)."""
    return f"coalesce({_attr(field)}, CAST(CAST({_num(field)} AS BIGINT) AS VARCHAR))"


def _where(where: dict[str, Any]) -> list[str]:
    conditions = []
    for key, expected in where.items():
        if isinstance(expected, str):
            conditions.append(f"{_attr(key)} = {literal(expected)}")
        elif isinstance(expected, bool):
            conditions.append(f"{_num(key)} = {double(1.0 if expected else 0.0)}")
        else:
            conditions.append(f"{_num(key)} = {double(expected)}")
    return conditions


def _filter(flt: CountFilter) -> str:
    return "(" + " AND ".join([f"event_type = {literal(flt.event)}", *_where(flt.where)]) + ")"


def _measure_filter(config: AppConfig, measure_name: str) -> tuple[str, str]:
    """(condition, value expression) of a measure's rows."""
    measure = config.measures[measure_name]
    value = _num(measure.field)
    condition = _filter(CountFilter(event=measure.event, where=measure.where))
    return f"({condition} AND {value} IS NOT NULL)", value


def _dims(config: AppConfig) -> list[tuple[str, str]]:
    """(dimension name, value expression over a raw row) of the app's dimensions."""
    dims = []
    for dim in config.dimension_specs():
        if dim.source.startswith("payload."):
            expr = _payload_text(dim.source.removeprefix("payload."))
        else:
            expr = identifier(dim.source)
        dims.append((dim.name, f"coalesce({expr}, {literal(NONE_VALUE)})"))
    return dims


def _dim_columns(config: AppConfig, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return "".join(f", {prefix}dim_{i}" for i in range(len(config.dimension_specs())))


def _source_ctes(
    config: AppConfig,
    *,
    database: str,
    table: str,
    app_id: str,
    start_ms: int,
    end_ms: int,
    bucket: str | None = None,
) -> list[tuple[str, str]]:
    """CTEs `raw` (the period's rows with their copy rank) and `ev` (deduplicated rows with
    identity, dimension values and, when `bucket` is given, the time bucket `ts`)."""
    if end_ms <= start_ms:
        raise ValueError("empty period")
    raw = (
        "SELECT event_id, event_type, event_time, received_at, batch_id, session_id, user_hash, "
        "platform, client_version, content_version, nums, attrs, "
        "row_number() OVER (PARTITION BY event_id ORDER BY received_at, coalesce(batch_id, '')) AS copy_rank "
        f"FROM {relation(table, database)} "
        f"WHERE app_id = {literal(app_id)} AND {partition_filter(start_ms, end_ms)} "
        f"AND event_time >= {timestamp(start_ms)} AND event_time < {timestamp(end_ms)}"
    )
    columns = [
        "event_id",
        "event_type",
        "event_time",
        "session_id",
        "user_hash",
        "nums",
        "attrs",
        "coalesce(user_hash, 'session:' || coalesce(session_id, '')) AS ident",
    ]
    if bucket is not None:
        columns.append(f"date_trunc({literal(bucket)}, event_time) AS ts")
    columns += [f"{expr} AS dim_{i}" for i, (_, expr) in enumerate(_dims(config))]
    ev = f"SELECT {', '.join(columns)} FROM raw WHERE copy_rank = 1"
    return [("raw", raw), ("ev", ev)]


def _grouping_sets(config: AppConfig, facts: str, columns: str) -> str:
    """`facts` (with dim_0..dim_n) once per grouping set, with dim_name and dim_value."""
    names = [TOTAL] + [name for name, _ in _dims(config)]
    values = ", ".join(f"({literal(name)})" for name in names)
    cases = " ".join(
        [f"WHEN {literal(TOTAL)} THEN {literal(TOTAL)}"]
        + [f"WHEN {literal(name)} THEN f.dim_{i}" for i, (name, _) in enumerate(_dims(config))]
    )
    return (
        f"SELECT {columns}, g.dim_name, CASE g.dim_name {cases} END AS dim_value "
        f"FROM {facts} AS f CROSS JOIN (VALUES {values}) AS g (dim_name)"
    )


def _ranked(source: str, partition: str, where: str = "") -> str:
    """`source` rows with their 0-based rank by `val` and the row count of their group."""
    window = f"PARTITION BY {partition}"
    return (
        f"SELECT s.*, row_number() OVER ({window} ORDER BY val) - 1 AS rk, count(*) OVER ({window}) AS cnt "
        f"FROM {source} AS s{where}"
    )


def _percentile(q: float) -> str:
    """Exact quantile of `val` over a group of `_ranked` rows, by linear interpolation:
    pos = (n - 1) * q; v[floor(pos)] + (v[ceil(pos)] - v[floor(pos)]) * (pos - floor(pos))."""
    pos = f"(cnt - 1) * {double(q)}"
    low = f"max(CASE WHEN rk = floor({pos}) THEN val END)"
    high = f"max(CASE WHEN rk = ceil({pos}) THEN val END)"
    return f"{low} + ({high} - {low}) * (max({pos}) - floor(max({pos})))"


def _stats_columns() -> list[str]:
    return [
        'CAST(min(val) AS DOUBLE) AS "min"',
        'CAST(max(val) AS DOUBLE) AS "max"',
        *(f"CAST({_percentile(q)} AS DOUBLE) AS {identifier(name)}" for name, q in QUANTILES),
    ]


def _with(ctes: Iterable[tuple[str, str]], select: str) -> str:
    return "WITH " + ",\n".join(f"{name} AS (\n  {body}\n)" for name, body in ctes) + "\n" + select


def _order_by(table_name: str) -> str:
    return "ORDER BY " + ", ".join(identifier(k) for k in SORT_KEYS[table_name])


def empty_sql(schema: pa.Schema) -> str:
    """A query with the schema's columns and no rows."""
    columns = ", ".join(f"CAST(NULL AS {sql_type(f.type)}) AS {identifier(f.name)}" for f in schema)
    return f"SELECT {columns} FROM (VALUES (1)) AS empty (x) WHERE 1 = 0"


# ---------------------------------------------------------------------------- rollup_hourly / _daily
ROLLUP_KINDS = ("events", "measure", "kpi")


def _fact(config: AppConfig, kind: str, name: str, val: str, den: str, numer: str, where: str = "") -> str:
    """One figure's rows: ts, kind, name, ident, dim_0.., val, den, numer (every column named, so
    that any member may come first in the UNION ALL)."""
    return (
        f"SELECT ts, {literal(kind)} AS kind, {name} AS name, ident{_dim_columns(config)}, "
        f"{val} AS val, {den} AS den, {numer} AS numer FROM ev{where}"
    )


def _rollup_facts(config: AppConfig, kinds: tuple[str, ...]) -> list[str]:
    null = "CAST(NULL AS DOUBLE)"
    facts = []
    if "events" in kinds:
        facts.append(_fact(config, "events", "event_type", null, "1", "0"))
        facts.append(_fact(config, "events", literal(TOTAL), null, "1", "0"))
    if "measure" in kinds:
        for name in config.measures:
            condition, value = _measure_filter(config, name)
            facts.append(_fact(config, "measure", literal(name), value, "1", "0", f" WHERE {condition}"))
    if "kpi" in kinds:
        for name, kpi in config.kpis.items():
            den, num = _filter(kpi.denominator), _filter(kpi.numerator)
            facts.append(
                _fact(
                    config,
                    "kpi",
                    literal(name),
                    null,
                    f"CASE WHEN {den} THEN 1 ELSE 0 END",
                    f"CASE WHEN {num} THEN 1 ELSE 0 END",
                    f" WHERE {den} OR {num}",
                )
            )
    return facts


def _rollup_select(
    config: AppConfig,
    *,
    database: str,
    table: str,
    app_id: str,
    start_ms: int,
    end_ms: int,
    granularity: int,
    kinds: tuple[str, ...],
) -> str | None:
    """The rollup rows of `kinds` (no ORDER BY), or None when the config defines none."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {sorted(GRANULARITIES)} (ms)")
    facts = _rollup_facts(config, kinds)
    if not facts:
        return None
    ctes = _source_ctes(
        config,
        database=database,
        table=table,
        app_id=app_id,
        start_ms=start_ms,
        end_ms=end_ms,
        bucket=GRANULARITIES[granularity],
    )
    ctes.append(("facts", "\n  UNION ALL ".join(facts)))
    ctes.append(
        ("grouped", _grouping_sets(config, "facts", "f.ts, f.kind, f.name, f.ident, f.val, f.den, f.numer"))
    )
    keys = "ts, kind, name, dim_name, dim_value"
    selects = []
    if "events" in kinds or "kpi" in kinds:
        null = "CAST(NULL AS DOUBLE)"
        selects.append(
            f"SELECT {keys}, CAST(sum(den) AS BIGINT) AS n, "
            "CASE WHEN kind = 'kpi' THEN CAST(sum(numer) AS DOUBLE) END AS num, "
            f'{null} AS "min", {null} AS "max", {null} AS p50, {null} AS p95, {null} AS p99, '
            "CAST(count(DISTINCT CASE WHEN den = 1 THEN ident END) AS BIGINT) AS users "
            f"FROM grouped WHERE kind <> 'measure' GROUP BY {keys}"
        )
    if "measure" in kinds and config.measures:
        ctes.append(("ranked", _ranked("grouped", keys, " WHERE s.kind = 'measure'")))
        selects.append(
            f"SELECT {keys}, CAST(count(*) AS BIGINT) AS n, CAST(sum(val) AS DOUBLE) AS num, "
            + ", ".join(_stats_columns())
            + f", CAST(count(DISTINCT ident) AS BIGINT) AS users FROM ranked GROUP BY {keys}"
        )
    return _with(ctes, "\nUNION ALL\n".join(selects))


def rollup_sql(
    config: AppConfig,
    *,
    database: str,
    table: str = "raw_events",
    app_id: str | None = None,
    start_ms: int,
    end_ms: int,
    granularity: int,
) -> str:
    """rollup_hourly (granularity HOUR_MS) or rollup_daily (DAY_MS) rows of the events in
    [start_ms, end_ms); columns and types of schema.ROLLUP."""
    select = _rollup_select(
        config,
        database=database,
        table=table,
        app_id=app_id or config.app_id,
        start_ms=start_ms,
        end_ms=end_ms,
        granularity=granularity,
        kinds=ROLLUP_KINDS,
    )
    assert select is not None  # events are always counted
    return f"{select}\n{_order_by('rollup_daily')}"


def kpi_daily_sql(
    config: AppConfig, *, database: str, table: str = "raw_events", app_id: str | None = None, day_ms: int
) -> str:
    """kpi_daily of one day (schema.KPI_DAILY): the day's KPI rows with value = num / n."""
    select = _rollup_select(
        config,
        database=database,
        table=table,
        app_id=app_id or config.app_id,
        start_ms=day_ms,
        end_ms=day_ms + DAY_MS,
        granularity=DAY_MS,
        kinds=("kpi",),
    )
    if select is None:
        return empty_sql(KPI_DAILY)
    return (
        "SELECT ts, name AS kpi, dim_name, dim_value, CAST(num AS BIGINT) AS numerator, n AS denominator, "
        "CASE WHEN n > 0 THEN num / CAST(n AS DOUBLE) END AS value, users "
        f"FROM (\n{select}\n) AS daily\n{_order_by('kpi_daily')}"
    )


# ---------------------------------------------------------------------------- span_daily
def span_sql(
    config: AppConfig,
    *,
    database: str,
    table: str = "raw_events",
    app_id: str | None = None,
    day_ms: int,
    start_ms: int | None = None,
) -> str:
    """span_daily of the day at `day_ms` (schema.SPAN_DAILY), reading from `start_ms` (default:
    `span_start_ms`) to the end of the day."""
    if not config.spans:
        return empty_sql(SPAN_DAILY)
    ctes = _source_ctes(
        config,
        database=database,
        table=table,
        app_id=app_id or config.app_id,
        start_ms=span_start_ms(config, day_ms) if start_ms is None else start_ms,
        end_ms=day_ms + DAY_MS,
    )
    dims = _dim_columns(config)
    pairs = []
    for i, (name, span) in enumerate(config.spans.items()):
        key = _payload_text(span.key)
        start, end = literal(span.start), literal(span.end)
        ctes.append(
            (
                f"span{i}_keyed",
                f"SELECT event_id, event_type, event_time, ident{dims}, {key} AS span_key "
                f"FROM ev WHERE event_type IN ({start}, {end}) AND {key} IS NOT NULL",
            )
        )
        # the earliest start of each key (ties: smallest event_id)
        ctes.append(
            (
                f"span{i}_start",
                "SELECT * FROM (SELECT k.*, row_number() OVER "
                "(PARTITION BY span_key ORDER BY event_time, event_id) AS pick "
                f"FROM span{i}_keyed AS k WHERE event_type = {start}) AS starts WHERE pick = 1",
            )
        )
        # the earliest end at or after it
        ctes.append(
            (
                f"span{i}_end",
                "SELECT span_key, end_time FROM (SELECT e.span_key, e.event_time AS end_time, "
                "row_number() OVER (PARTITION BY e.span_key ORDER BY e.event_time, e.event_id) AS pick "
                f"FROM span{i}_keyed AS e JOIN span{i}_start AS s ON e.span_key = s.span_key "
                f"WHERE e.event_type = {end} AND e.event_time >= s.event_time) AS ends WHERE pick = 1",
            )
        )
        duration = "date_diff('millisecond', s.event_time, e.end_time)"
        pairs.append(
            f"SELECT {literal(name)} AS span, s.ident{_dim_columns(config, 's')}, "
            f"CAST({duration} AS DOUBLE) AS val "
            f"FROM span{i}_start AS s JOIN span{i}_end AS e ON s.span_key = e.span_key "
            f"WHERE e.end_time >= {timestamp(day_ms)} AND e.end_time < {timestamp(day_ms + DAY_MS)} "
            f"AND {duration} <= {span.max_minutes * MINUTE_MS}"
        )
    ctes.append(("pairs", "\n  UNION ALL ".join(pairs)))
    ctes.append(("grouped", _grouping_sets(config, "pairs", "f.span, f.ident, f.val")))
    keys = "span, dim_name, dim_value"
    ctes.append(("ranked", _ranked("grouped", keys)))
    select = (
        f"SELECT {timestamp(day_ms)} AS ts, {keys}, CAST(count(*) AS BIGINT) AS n, "
        'CAST(sum(val) / count(*) AS DOUBLE) AS "avg", '
        + ", ".join(_stats_columns())
        + f", CAST(count(DISTINCT ident) AS BIGINT) AS users FROM ranked GROUP BY {keys}\n"
        + _order_by("span_daily")
    )
    return _with(ctes, select)


# ---------------------------------------------------------------------------- funnel_daily
def funnel_sql(
    config: AppConfig,
    *,
    database: str,
    table: str = "raw_events",
    app_id: str | None = None,
    day_ms: int,
    end_ms: int | None = None,
) -> str:
    """funnel_daily of the day at `day_ms` (schema.FUNNEL_DAILY), reading from the day's start to
    `end_ms` (default: `funnel_end_ms`)."""
    if not config.funnels:
        return empty_sql(FUNNEL_DAILY)
    ctes = _source_ctes(
        config,
        database=database,
        table=table,
        app_id=app_id or config.app_id,
        start_ms=day_ms,
        end_ms=funnel_end_ms(config, day_ms) if end_ms is None else end_ms,
    )
    dims = _dim_columns(config)
    reached = []
    for i, (name, funnel) in enumerate(config.funnels.items()):
        unit = "session_id" if funnel.by == "session" else "ident"
        steps = ", ".join(literal(step) for step in dict.fromkeys(funnel.steps))
        ctes.append(
            (
                f"funnel{i}_ev",
                f"SELECT {unit} AS unit, event_id, event_type, event_time{dims} "
                f"FROM ev WHERE event_type IN ({steps})",
            )
        )
        # the unit enters at its earliest first-step event of the day (ties: smallest event_id)
        ctes.append(
            (
                f"funnel{i}_step0",
                f"SELECT unit, event_time AS t0, event_time AS t{dims} FROM (SELECT e.*, row_number() OVER "
                "(PARTITION BY unit ORDER BY event_time, event_id) AS pick "
                f"FROM funnel{i}_ev AS e WHERE event_type = {literal(funnel.steps[0])} "
                f"AND event_time >= {timestamp(day_ms)} AND event_time < {timestamp(day_ms + DAY_MS)}) "
                "AS entries WHERE pick = 1",
            )
        )
        window_ms = funnel.window_minutes * MINUTE_MS
        for k in range(1, len(funnel.steps)):
            ctes.append(
                (
                    f"funnel{i}_step{k}",
                    f"SELECT p.unit, p.t0, min(e.event_time) AS t FROM funnel{i}_step{k - 1} AS p "
                    f"JOIN funnel{i}_ev AS e ON e.unit = p.unit "
                    f"WHERE e.event_type = {literal(funnel.steps[k])} AND e.event_time >= p.t "
                    f"AND date_diff('millisecond', p.t0, e.event_time) <= {window_ms} "
                    "GROUP BY p.unit, p.t0",
                )
            )
        for k, step in enumerate(funnel.steps):
            source = (
                f"funnel{i}_step0 AS s"
                if k == 0
                else f"funnel{i}_step{k} AS r JOIN funnel{i}_step0 AS s ON s.unit = r.unit"
            )
            reached.append(
                f"SELECT {literal(name)} AS funnel, {k} AS step, {literal(step)} AS step_name"
                f"{_dim_columns(config, 's')} FROM {source}"
            )
    ctes.append(("reached", "\n  UNION ALL ".join(reached)))
    ctes.append(("grouped", _grouping_sets(config, "reached", "f.funnel, f.step, f.step_name")))
    select = (
        f"SELECT {timestamp(day_ms)} AS ts, funnel, dim_name, dim_value, CAST(step AS INTEGER) AS step, "
        "step_name, CAST(count(*) AS BIGINT) AS units "
        f"FROM grouped GROUP BY funnel, dim_name, dim_value, step, step_name\n{_order_by('funnel_daily')}"
    )
    return _with(ctes, select)


# ---------------------------------------------------------------------------- experiment_daily
def _user_metric(config: AppConfig, metric: str) -> tuple[str, str]:
    """(x, y) of one user for an experiment metric, as aggregates over the user's rows."""
    one, zero = "CAST(1 AS DOUBLE)", "CAST(0 AS DOUBLE)"
    if metric in config.kpis:
        kpi = config.kpis[metric]
        return (
            f"CAST(sum(CASE WHEN {_filter(kpi.numerator)} THEN 1 ELSE 0 END) AS DOUBLE)",
            f"CAST(sum(CASE WHEN {_filter(kpi.denominator)} THEN 1 ELSE 0 END) AS DOUBLE)",
        )
    if metric == "events.count":
        return "CAST(count(*) AS DOUBLE)", one
    measure_name, _, agg = metric.rpartition(".")
    if measure_name not in config.measures or agg not in MEAN_AGGS:
        raise ValueError(
            f"experiment metric {metric!r}: only KPIs, events.count and a measure's "
            f"{', '.join(MEAN_AGGS)} have per-user means"
        )
    condition, value = _measure_filter(config, measure_name)
    total = f"coalesce(CAST(sum(CASE WHEN {condition} THEN {value} END) AS DOUBLE), {zero})"
    count = f"CAST(count(CASE WHEN {condition} THEN {value} END) AS DOUBLE)"
    return {"sum": (total, one), "count": (count, one), "avg": (total, count)}[agg]


def experiment_sql(
    config: AppConfig,
    *,
    database: str,
    table: str = "raw_events",
    app_id: str | None = None,
    day_ms: int,
    assignments_table: str,
    assignments_app_column: str | None = "app_id",
) -> str:
    """experiment_daily of the day at `day_ms` (schema.EXPERIMENT_DAILY).

    `assignments_table` holds schema.ASSIGNMENTS rows (a bare name is looked up in `database`);
    when `assignments_app_column` is set, only rows with that column equal to the app id count
    (the assignments lake table is partitioned by app_id). An assignment listed twice counts once.
    """
    if not config.experiments.metrics:
        return empty_sql(EXPERIMENT_DAILY)
    app = app_id or config.app_id
    ctes = _source_ctes(
        config, database=database, table=table, app_id=app, start_ms=day_ms, end_ms=day_ms + DAY_MS
    )
    app_filter = (
        f" AND {identifier(assignments_app_column)} = {literal(app)}" if assignments_app_column else ""
    )
    ctes.append(
        (
            "assigned",
            "SELECT DISTINCT experiment_id, variant_id, user_hash "
            f"FROM {relation(assignments_table, database)} WHERE user_hash IS NOT NULL{app_filter}",
        )
    )
    metrics = list(dict.fromkeys(config.experiments.metrics))
    figures = [_user_metric(config, metric) for metric in metrics]
    columns = ", ".join(f"{x} AS x{i}, {y} AS y{i}" for i, (x, y) in enumerate(figures))
    ctes.append(
        (
            "per_user",
            f"SELECT user_hash, {columns} FROM ev "
            "WHERE user_hash IN (SELECT user_hash FROM assigned) GROUP BY user_hash",
        )
    )
    ctes.append(
        (
            "metrics",
            "\n  UNION ALL ".join(
                f"SELECT {literal(metric)} AS metric, user_hash, x{i} AS x, y{i} AS y FROM per_user"
                for i, metric in enumerate(metrics)
            ),
        )
    )
    select = (
        f"SELECT {timestamp(day_ms)} AS ts, a.experiment_id, a.variant_id, m.metric, "
        "CAST(count(*) AS BIGINT) AS units, CAST(sum(m.x) AS DOUBLE) AS sum_x, "
        "CAST(sum(m.x * m.x) AS DOUBLE) AS sum_x2, CAST(sum(m.y) AS DOUBLE) AS sum_y, "
        "CAST(sum(m.y * m.y) AS DOUBLE) AS sum_y2, CAST(sum(m.x * m.y) AS DOUBLE) AS sum_xy "
        "FROM metrics AS m JOIN assigned AS a ON a.user_hash = m.user_hash WHERE m.y > 0 "
        f"GROUP BY a.experiment_id, a.variant_id, m.metric\n{_order_by('experiment_daily')}"
    )
    return _with(ctes, select)
