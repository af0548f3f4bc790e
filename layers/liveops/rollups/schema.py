"""Arrow schemas of the curated tables (docs/rollups.md). Partition columns (app_id, dt) are in
the path, not in the files; Glue gets the same columns (see `glue_columns`)."""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("ms", tz="UTC")
TOTAL = "*"
NONE_VALUE = "(none)"

ROLLUP = pa.schema(
    [
        ("ts", TS),
        ("kind", pa.string()),
        ("name", pa.string()),
        ("dim_name", pa.string()),
        ("dim_value", pa.string()),
        ("n", pa.int64()),
        ("num", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("p50", pa.float64()),
        ("p95", pa.float64()),
        ("p99", pa.float64()),
        ("users", pa.int64()),
    ]
)
KPI_DAILY = pa.schema(
    [
        ("ts", TS),
        ("kpi", pa.string()),
        ("dim_name", pa.string()),
        ("dim_value", pa.string()),
        ("numerator", pa.int64()),
        ("denominator", pa.int64()),
        ("value", pa.float64()),
        ("users", pa.int64()),
    ]
)
SPAN_DAILY = pa.schema(
    [
        ("ts", TS),
        ("span", pa.string()),
        ("dim_name", pa.string()),
        ("dim_value", pa.string()),
        ("n", pa.int64()),
        ("avg", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("p50", pa.float64()),
        ("p95", pa.float64()),
        ("p99", pa.float64()),
        ("users", pa.int64()),
    ]
)
FUNNEL_DAILY = pa.schema(
    [
        ("ts", TS),
        ("funnel", pa.string()),
        ("dim_name", pa.string()),
        ("dim_value", pa.string()),
        ("step", pa.int32()),
        ("step_name", pa.string()),
        ("units", pa.int64()),
    ]
)
EXPERIMENT_DAILY = pa.schema(
    [
        ("ts", TS),
        ("experiment_id", pa.string()),
        ("variant_id", pa.string()),
        ("metric", pa.string()),
        ("units", pa.int64()),
        ("sum_x", pa.float64()),
        ("sum_x2", pa.float64()),
        ("sum_y", pa.float64()),
        ("sum_y2", pa.float64()),
        ("sum_xy", pa.float64()),
    ]
)
# assignments of users to experiment variants, as the rollups read them
ASSIGNMENTS = pa.schema(
    [
        ("experiment_id", pa.string()),
        ("variant_id", pa.string()),
        ("user_hash", pa.string()),
        ("assigned_at", TS),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "rollup_hourly": ROLLUP,
    "rollup_daily": ROLLUP,
    "kpi_daily": KPI_DAILY,
    "span_daily": SPAN_DAILY,
    "funnel_daily": FUNNEL_DAILY,
    "experiment_daily": EXPERIMENT_DAILY,
}
DAILY_TABLES = ("rollup_daily", "kpi_daily", "span_daily", "funnel_daily", "experiment_daily")
# sort order of each table's rows: identical input gives byte-identical files
SORT_KEYS: dict[str, list[str]] = {
    "rollup_hourly": ["ts", "kind", "name", "dim_name", "dim_value"],
    "rollup_daily": ["ts", "kind", "name", "dim_name", "dim_value"],
    "kpi_daily": ["ts", "kpi", "dim_name", "dim_value"],
    "span_daily": ["ts", "span", "dim_name", "dim_value"],
    "funnel_daily": ["ts", "funnel", "dim_name", "dim_value", "step"],
    "experiment_daily": ["ts", "experiment_id", "variant_id", "metric"],
}

_GLUE_TYPES = {
    pa.string(): "string",
    pa.int64(): "bigint",
    pa.int32(): "int",
    pa.float64(): "double",
    TS: "timestamp",
}


def glue_columns(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"Name": f.name, "Type": _GLUE_TYPES[f.type]} for f in schema]
