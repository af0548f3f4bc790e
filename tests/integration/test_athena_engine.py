"""The Athena engine's SQL gives the embedded engine's rows, proven offline.

moto cannot run Athena SQL, so the lake of tests/rollup_data.py (late and duplicate events
included) is written as Hive-partitioned Parquet, registered in DuckDB as the views
`lake.raw_events` and `lake.assignments` (the Glue tables), and every generated Trino query runs
there after `sqlglot.transpile(sql, read="trino", write="duckdb")`. The embedded engine reads the
same files; both outputs, sorted by schema.SORT_KEYS, must be equal (floats to 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings

from liveops.models.app_config import AppConfig, load_app_config
from liveops.rollups import athena_sql, embedded
from liveops.rollups.athena_engine import AthenaEngine, QueryRunner, conform
from liveops.rollups.schema import (
    EXPERIMENT_DAILY,
    FUNNEL_DAILY,
    KPI_DAILY,
    ROLLUP,
    SORT_KEYS,
    SPAN_DAILY,
    TABLES,
)
from tests import rollup_data as data

DATABASE = "lake"
DAY_MS, HOUR_MS = data.DAY_MS, data.HOUR_MS
DAYS = data.DAYS_MS


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return data.write_lake(tmp_path_factory.mktemp("lake"))


@pytest.fixture(scope="module")
def duck(lake: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # Athena's session zone: timestamps are UTC wall clock
    con.execute(f"CREATE SCHEMA {DATABASE}")
    hive = "hive_partitioning = true, hive_types_autocast = false"  # partition values stay strings
    con.execute(
        f"CREATE VIEW {DATABASE}.raw_events AS SELECT * FROM "
        f"read_parquet('{lake}/raw/events/*/*/*/*.parquet', {hive})"
    )
    con.execute(
        f"CREATE VIEW {DATABASE}.assignments AS SELECT * FROM "
        f"read_parquet('{lake}/curated/assignments/*/*.parquet', {hive})"
    )
    yield con
    con.close()


def duckdb_runner(con: duckdb.DuckDBPyConnection) -> QueryRunner:
    def run(sql: str) -> pa.Table:
        (transpiled,) = sqlglot.transpile(sql, read="trino", write="duckdb")
        return con.sql(transpiled).to_arrow_table()

    return run


@pytest.fixture(scope="module")
def run(duck: duckdb.DuckDBPyConnection) -> QueryRunner:
    return duckdb_runner(duck)


@pytest.fixture(scope="module")
def stored(lake: Path) -> pa.Table:
    """The app's raw rows as the embedded engine reads them: from the same files, one chunk each."""
    table = data.read_lake(lake)
    assert table.num_rows == data.raw_events().num_rows
    return table


# ------------------------------------------------------------------------------ comparison
def rows(table: pa.Table, table_name: str) -> list[dict[str, Any]]:
    """Rows sorted by the table's sort keys, timestamps as epoch ms."""
    columns = {}
    for name in table.column_names:
        column = table[name]
        if pa.types.is_timestamp(column.type):
            column = pc.cast(
                column.cast(pa.timestamp(column.type.unit, tz="UTC")), pa.timestamp("ms", tz="UTC")
            )
            column = column.cast(pa.int64())
        columns[name] = column.to_pylist()
    out = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return sorted(out, key=lambda row: tuple(row[k] for k in SORT_KEYS[table_name]))


def assert_same_rows(table_name: str, sql_result: pa.Table, expected: pa.Table) -> None:
    schema = TABLES[table_name]
    # deterministic names and types straight out of the SQL (timestamps: any unit)
    assert sql_result.column_names == schema.names
    for field in schema:
        kind = sql_result.schema.field(field.name).type
        assert kind == field.type or (pa.types.is_timestamp(kind) and pa.types.is_timestamp(field.type)), (
            field.name,
            kind,
        )
    got, want = rows(sql_result, table_name), rows(expected, table_name)
    keys = SORT_KEYS[table_name]
    assert [tuple(r[k] for k in keys) for r in got] == [tuple(r[k] for k in keys) for r in want]
    for have, row in zip(got, want, strict=True):
        for column, value in row.items():
            if isinstance(value, float) and isinstance(have[column], float):
                if not math.isclose(have[column], value, rel_tol=1e-9, abs_tol=1e-12):
                    assert have[column] == pytest.approx(value, rel=1e-9), (table_name, row, column)
            else:
                assert have[column] == value, (table_name, row, column)


# ------------------------------------------------------------------------------ one query per table
@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("granularity", [HOUR_MS, DAY_MS], ids=["hourly", "daily"])
def test_rollup_sql_equals_embedded(run: QueryRunner, stored: pa.Table, day: int, granularity: int) -> None:
    sql = athena_sql.rollup_sql(
        data.CONFIG, database=DATABASE, start_ms=day, end_ms=day + DAY_MS, granularity=granularity
    )
    expected = embedded.rollup(data.in_window(stored, day, day + DAY_MS), data.CONFIG, granularity)
    assert expected.num_rows > 0
    assert_same_rows("rollup_daily", run(sql), expected)


@pytest.mark.parametrize(
    ("start", "end", "granularity"),
    [
        # part of a day: hour partitions 02..12 only; duplicates whose other copy lies outside
        (data.DAY0_MS + 2 * HOUR_MS, data.DAY0_MS + 13 * HOUR_MS, HOUR_MS),
        # from the middle of an hour to the middle of the next day
        (data.DAY0_MS + 9 * HOUR_MS + 30 * 60_000, data.DAY0_MS + DAY_MS + 5 * HOUR_MS + 1, HOUR_MS),
        # three days at once
        (DAYS[0], DAYS[-1] + DAY_MS, DAY_MS),
    ],
    ids=["hours", "across-midnight", "three-days"],
)
def test_rollup_sql_equals_embedded_on_other_ranges(
    run: QueryRunner, stored: pa.Table, start: int, end: int, granularity: int
) -> None:
    sql = athena_sql.rollup_sql(
        data.CONFIG, database=DATABASE, start_ms=start, end_ms=end, granularity=granularity
    )
    expected = embedded.rollup(data.in_window(stored, start, end), data.CONFIG, granularity)
    assert_same_rows("rollup_daily", run(sql), expected)


@pytest.mark.parametrize("day", DAYS)
def test_kpi_daily_sql_equals_embedded(run: QueryRunner, stored: pa.Table, day: int) -> None:
    sql = athena_sql.kpi_daily_sql(data.CONFIG, database=DATABASE, day_ms=day)
    daily = embedded.rollup(data.in_window(stored, day, day + DAY_MS), data.CONFIG, DAY_MS)
    assert_same_rows("kpi_daily", run(sql), embedded.kpi_daily(daily))


@pytest.mark.parametrize("day", DAYS)
def test_span_sql_equals_embedded(run: QueryRunner, stored: pa.Table, day: int) -> None:
    sql = athena_sql.span_sql(data.CONFIG, database=DATABASE, day_ms=day)
    start = athena_sql.span_start_ms(data.CONFIG, day)
    assert start == day - 2 * DAY_MS  # max_minutes 2000 -> two whole days back
    expected = embedded.span_daily(data.in_window(stored, start, day + DAY_MS), data.CONFIG, day)
    assert expected.num_rows > 0
    assert_same_rows("span_daily", run(sql), expected)


@pytest.mark.parametrize("day", DAYS)
def test_funnel_sql_equals_embedded(run: QueryRunner, stored: pa.Table, day: int) -> None:
    sql = athena_sql.funnel_sql(data.CONFIG, database=DATABASE, day_ms=day)
    end = athena_sql.funnel_end_ms(data.CONFIG, day)
    expected = embedded.funnel_daily(data.in_window(stored, day, end), data.CONFIG, day)
    assert expected.num_rows > 0
    assert_same_rows("funnel_daily", run(sql), expected)


@pytest.mark.parametrize("day", DAYS)
def test_experiment_sql_equals_embedded(run: QueryRunner, stored: pa.Table, day: int) -> None:
    sql = athena_sql.experiment_sql(
        data.CONFIG, database=DATABASE, day_ms=day, assignments_table="assignments"
    )
    raw = data.in_window(stored, day, day + DAY_MS)
    expected = embedded.experiment_daily(raw, data.CONFIG, day, data.assignments())
    assert expected.num_rows > 0
    assert_same_rows("experiment_daily", run(sql), expected)


def test_empty_app_queries_return_no_rows(run: QueryRunner) -> None:
    config, day = data.EMPTY_CONFIG, data.DAY0_MS
    queries = {
        "rollup_daily": athena_sql.rollup_sql(
            config, database=DATABASE, start_ms=day, end_ms=day + DAY_MS, granularity=HOUR_MS
        ),
        "kpi_daily": athena_sql.kpi_daily_sql(config, database=DATABASE, day_ms=day),
        "span_daily": athena_sql.span_sql(config, database=DATABASE, day_ms=day),
        "funnel_daily": athena_sql.funnel_sql(config, database=DATABASE, day_ms=day),
        "experiment_daily": athena_sql.experiment_sql(
            config, database=DATABASE, day_ms=day, assignments_table="assignments"
        ),
    }
    for table_name, sql in queries.items():
        result = run(sql)
        assert result.num_rows == 0 and result.column_names == TABLES[table_name].names, table_name


def test_configs_without_figures_give_empty_queries(run: QueryRunner) -> None:
    bare = load_app_config(
        {
            k: v
            for k, v in data.CONFIG_DOC.items()
            if k not in ("measures", "kpis", "spans", "funnels", "experiments")
        }
    )
    day = data.DAY0_MS
    for table_name, sql in {
        "kpi_daily": athena_sql.kpi_daily_sql(bare, database=DATABASE, day_ms=day),
        "span_daily": athena_sql.span_sql(bare, database=DATABASE, day_ms=day),
        "funnel_daily": athena_sql.funnel_sql(bare, database=DATABASE, day_ms=day),
        "experiment_daily": athena_sql.experiment_sql(
            bare, database=DATABASE, day_ms=day, assignments_table="assignments"
        ),
    }.items():
        result = conform(run(sql), TABLES[table_name], SORT_KEYS[table_name])
        assert result.num_rows == 0 and result.schema == TABLES[table_name]
    # events only: still every event figure
    sql = athena_sql.rollup_sql(
        bare, database=DATABASE, start_ms=day, end_ms=day + DAY_MS, granularity=DAY_MS
    )
    expected = embedded.rollup(data.in_window(data.raw_events(), day, day + DAY_MS), bare, DAY_MS)
    assert_same_rows("rollup_daily", run(sql), expected)


def _tricky_config() -> AppConfig:
    """Quotes, backslashes and emoji in where values, a dimension-less app, a float filter."""
    doc = {
        **data.CONFIG_DOC,
        "dimensions": [],
        "measures": {
            "odd_score": {
                "event": "run_end",
                "field": "score",
                "where": {"mode": "d'or \\ 🔥 ''"},
                "aggs": ["avg"],
            },
            "long_wins": {"event": "run_end", "field": "duration_ms", "where": {"tier": 2}, "aggs": ["p95"]},
            "cheap": {"event": "purchase", "field": "amount", "where": {"amount": 0.99}, "aggs": ["sum"]},
        },
        "experiments": {"metrics": ["odd_rate", "odd_score.avg"]},
        "kpis": {
            "odd_rate": {
                "numerator": {"event": "run_end", "where": {"mode": "it's"}},
                "denominator": {"event": "run_start", "where": {"mode": "🔥 ranked"}},
            }
        },
    }
    return load_app_config(doc)


def test_string_literals_are_escaped(run: QueryRunner, stored: pa.Table) -> None:
    config, day = _tricky_config(), data.DAY0_MS
    sql = athena_sql.rollup_sql(
        config, database=DATABASE, start_ms=day, end_ms=day + DAY_MS, granularity=DAY_MS
    )
    assert "'d''or \\ 🔥 '''''" in sql
    expected = embedded.rollup(data.in_window(stored, day, day + DAY_MS), config, DAY_MS)
    assert_same_rows("rollup_daily", run(sql), expected)
    figures = {(r["kind"], r["name"]): r["n"] for r in rows(expected, "rollup_daily") if r["dim_name"] == "*"}
    assert figures[("measure", "odd_score")] == 1 and figures[("kpi", "odd_rate")] == 1
    sql = athena_sql.experiment_sql(config, database=DATABASE, day_ms=day, assignments_table="assignments")
    raw = data.in_window(stored, day, day + DAY_MS)
    assert_same_rows(
        "experiment_daily", run(sql), embedded.experiment_daily(raw, config, day, data.assignments())
    )
    assert athena_sql.literal("a'b") == "'a''b'"
    assert athena_sql.identifier('x"y') == '"x""y"'
    assert athena_sql.relation("other.assignments", "lake") == '"other"."assignments"'
    with pytest.raises(ValueError):
        athena_sql.literal("nul\x00")


def test_partition_filter_prunes_to_the_period() -> None:
    day = data.DAY0_MS
    assert athena_sql.partition_filter(day, day + DAY_MS) == "\"dt\" = '2026-03-10'"
    assert athena_sql.partition_filter(day + 2 * HOUR_MS, day + 13 * HOUR_MS) == (
        "\"dt\" = '2026-03-10' AND (\"dt\" <> '2026-03-10' OR \"hour\" >= '02') "
        "AND (\"dt\" <> '2026-03-10' OR \"hour\" <= '12')"
    )
    assert (
        athena_sql.partition_filter(day - 2 * DAY_MS, day + DAY_MS)
        == "\"dt\" BETWEEN '2026-03-08' AND '2026-03-10'"
    )
    assert athena_sql.timestamp(day + 1) == "TIMESTAMP '2026-03-10 00:00:00.001'"


def test_percentiles_are_exact_not_approximate() -> None:
    sql = athena_sql.rollup_sql(data.CONFIG, database=DATABASE, start_ms=0, end_ms=DAY_MS, granularity=DAY_MS)
    assert "approx_percentile" not in sql and "row_number()" in sql
    assert "GROUPING SETS" not in sql  # grouping sets as a VALUES join, see athena_sql's docstring


def test_unsupported_experiment_metric_is_refused() -> None:
    config = data.CONFIG.model_copy(
        update={"experiments": data.CONFIG.experiments.model_copy(update={"metrics": ["run_score.p95"]})}
    )
    with pytest.raises(ValueError, match="per-user means"):
        athena_sql.experiment_sql(config, database=DATABASE, day_ms=0, assignments_table="assignments")


# ------------------------------------------------------------------------------ the engine
def test_athena_engine_returns_the_schemas_and_the_embedded_rows(
    duck: duckdb.DuckDBPyConnection, stored: pa.Table
) -> None:
    queries: list[str] = []
    runner = duckdb_runner(duck)

    def recording(sql: str) -> pa.Table:
        queries.append(sql)
        return runner(sql)

    engine = AthenaEngine(recording, database=DATABASE)
    config, day = data.CONFIG, data.DAY0_MS
    results = {
        "rollup_hourly": engine.rollup(config, day, day + DAY_MS, HOUR_MS),
        "rollup_daily": engine.rollup(config, day, day + DAY_MS, DAY_MS),
        "kpi_daily": engine.kpi_daily(config, day),
        "span_daily": engine.span_daily(config, day),
        "funnel_daily": engine.funnel_daily(config, day),
        "experiment_daily": engine.experiment_daily(config, day),
    }
    assert len(queries) == 6
    assert all("approx_percentile" not in q for q in queries)
    for table_name, table in results.items():
        assert table.schema == TABLES[table_name], table_name
        assert table.num_rows > 0
        keys = [tuple(r) for r in zip(*(table[k].to_pylist() for k in SORT_KEYS[table_name]), strict=True)]
        assert keys == sorted(keys), f"{table_name} rows are not sorted"
    day_rows = data.in_window(stored, day, day + DAY_MS)
    daily = embedded.rollup(day_rows, config, DAY_MS)
    expected = {
        "rollup_hourly": embedded.rollup(day_rows, config, HOUR_MS),
        "rollup_daily": daily,
        "kpi_daily": embedded.kpi_daily(daily),
        "span_daily": embedded.span_daily(
            data.in_window(stored, athena_sql.span_start_ms(config, day), day + DAY_MS), config, day
        ),
        "funnel_daily": embedded.funnel_daily(
            data.in_window(stored, day, athena_sql.funnel_end_ms(config, day)), config, day
        ),
        "experiment_daily": embedded.experiment_daily(day_rows, config, day, data.assignments()),
    }
    for table_name, table in results.items():
        assert_same_rows(table_name, table, expected[table_name])
    # the jobs derive kpi_daily from rollup_daily: the same rows as the engine's own query
    assert_same_rows("kpi_daily", embedded.kpi_daily(results["rollup_daily"]), results["kpi_daily"])


def test_athena_engine_on_an_empty_app(duck: duckdb.DuckDBPyConnection) -> None:
    engine = AthenaEngine(duckdb_runner(duck), database=DATABASE)
    config, day = data.EMPTY_CONFIG, data.DAY0_MS
    assert engine.rollup(config, day, day + DAY_MS, HOUR_MS).schema == ROLLUP
    assert engine.rollup(config, day, day + DAY_MS, HOUR_MS).num_rows == 0
    assert engine.rollup(config, day, day, HOUR_MS).num_rows == 0
    assert engine.kpi_daily(config, day).schema == KPI_DAILY
    assert engine.span_daily(config, day).schema == SPAN_DAILY
    assert engine.funnel_daily(config, day).schema == FUNNEL_DAILY
    assert engine.experiment_daily(config, day).schema == EXPERIMENT_DAILY


def test_windows_match_the_embedded_engine_wrapper() -> None:
    engines = pytest.importorskip("liveops.rollups.engines")
    day = data.DAY0_MS
    assert (
        athena_sql.span_start_ms(data.CONFIG, day) == day - engines.span_lookback_days(data.CONFIG) * DAY_MS
    )
    assert athena_sql.funnel_end_ms(data.CONFIG, day) == (
        day + DAY_MS + engines.funnel_lookahead_days(data.CONFIG) * DAY_MS
    )


def test_conform_casts_what_awswrangler_returns() -> None:
    """awswrangler gives pandas frames: zone-less ns timestamps, all-null object columns."""
    frame = pa.table(
        {
            "ts": pa.array([1_773_100_800_000_000_000], pa.timestamp("ns")),
            "experiment_id": ["e"],
            "variant_id": ["v"],
            "metric": ["events.count"],
            "units": pa.array([3], pa.int64()),
            "sum_x": [1.0],
            "sum_x2": [1.0],
            "sum_y": [1.0],
            "sum_y2": [1.0],
            "sum_xy": pa.nulls(1),
            "extra": [0],
        }
    )
    table = conform(frame, EXPERIMENT_DAILY, SORT_KEYS["experiment_daily"])
    assert table.schema == EXPERIMENT_DAILY
    assert table["ts"].cast(pa.int64()).to_pylist() == [data.DAY0_MS]
    with pytest.raises(ValueError, match="lacks columns"):
        conform(frame.drop_columns(["units"]), EXPERIMENT_DAILY, SORT_KEYS["experiment_daily"])


def test_wrangler_runner_calls_awswrangler_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    import pandas as pd

    from liveops.rollups.athena_engine import wrangler_runner

    calls: list[dict[str, Any]] = []

    def read_sql_query(sql: str, **kwargs: Any) -> pd.DataFrame:
        calls.append({"sql": sql, **kwargs})
        return pd.DataFrame({"x": [1]})

    fake = types.ModuleType("awswrangler")
    fake.athena = types.SimpleNamespace(read_sql_query=read_sql_query)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awswrangler", fake)
    run = wrangler_runner(database="db", workgroup="wg")
    assert run("SELECT 1").column_names == ["x"]
    assert calls == [
        {
            "sql": "SELECT 1",
            "database": "db",
            "workgroup": "wg",
            "ctas_approach": False,
            "boto3_session": None,
        }
    ]


# ------------------------------------------------------------------------------ random raw tables
def with_partitions(raw: pa.Table, app_id: str) -> pa.Table:
    """Raw rows with the Glue partition columns the lake path would give them."""
    return (
        raw.append_column("app_id", pa.array([app_id] * raw.num_rows, pa.string()))
        .append_column("dt", pc.strftime(raw["event_time"], "%Y-%m-%d"))
        .append_column("hour", pc.strftime(raw["event_time"], "%H"))
    )


@pytest.fixture(scope="module")
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB whose `scratch.raw_events` view shows whatever table is registered as `rows`."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA scratch")
    con.register("rows", with_partitions(data.raw_events().slice(0, 0), data.APP_ID))
    con.register("assigned", data.random_assignments())
    con.execute("CREATE VIEW scratch.raw_events AS SELECT * FROM rows")
    con.execute("CREATE VIEW scratch.assignments AS SELECT * FROM assigned")
    yield con
    con.close()


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data.random_raw_rows(unique_copies=True))
def test_sql_equals_embedded_on_random_tables(
    scratch: duckdb.DuckDBPyConnection, rows_: list[dict[str, Any]]
) -> None:
    raw = data.table_of(rows_)
    scratch.register("rows", with_partitions(raw, data.APP_ID))
    run, config, day = duckdb_runner(scratch), data.CONFIG, data.DAY0_MS
    start, end = day - 2 * DAY_MS, day + 3 * DAY_MS  # every random event time
    for granularity in (HOUR_MS, DAY_MS):
        sql = athena_sql.rollup_sql(
            config, database="scratch", start_ms=start, end_ms=end, granularity=granularity
        )
        assert_same_rows("rollup_daily", run(sql), embedded.rollup(raw, config, granularity))
    sql = athena_sql.span_sql(config, database="scratch", day_ms=day)
    expected = embedded.span_daily(
        data.in_window(raw, athena_sql.span_start_ms(config, day), day + DAY_MS), config, day
    )
    assert_same_rows("span_daily", run(sql), expected)
    sql = athena_sql.funnel_sql(config, database="scratch", day_ms=day)
    expected = embedded.funnel_daily(
        data.in_window(raw, day, athena_sql.funnel_end_ms(config, day)), config, day
    )
    assert_same_rows("funnel_daily", run(sql), expected)
    sql = athena_sql.experiment_sql(
        config, database="scratch", day_ms=day, assignments_table="assignments", assignments_app_column=None
    )
    raw_day = data.in_window(raw, day, day + DAY_MS)
    expected = embedded.experiment_daily(raw_day, config, day, data.random_assignments())
    assert_same_rows("experiment_daily", run(sql), expected)


def test_integer_payload_dimensions_print_alike(scratch: duckdb.DuckDBPyConnection) -> None:
    """nums of integer fields printed as integers (CAST(CAST(x AS BIGINT) AS VARCHAR)): negative,
    zero, large (2^53 - 1) values, as a dimension and as a span key."""
    day = data.DAY0_MS
    values = [-3.0, 0.0, 4294967295.0, 9007199254740991.0, 7.0]
    events = []
    for i, value in enumerate(values):
        for j, event_type in enumerate(("quest_start", "quest_end")):
            events.append(
                {
                    "event_id": f"e{i}{j}",
                    "event_type": event_type,
                    "event_time": day + i * 60_000 + j * 1000,
                    "received_at": day + i * 60_000 + j * 1000,
                    "batch_id": "b",
                    "session_id": "s",
                    "platform": "web",
                    "nums": {"quest_id": value, "level": value},
                }
            )
    raw = data.table_of(events)
    scratch.register("rows", with_partitions(raw, data.APP_ID))
    dims = [{"name": "level", "from": "payload.level"}]
    config = load_app_config({**data.CONFIG_DOC, "dimensions": dims})
    run = duckdb_runner(scratch)
    sql = athena_sql.rollup_sql(
        config, database="scratch", start_ms=day, end_ms=day + DAY_MS, granularity=DAY_MS
    )
    result = run(sql)
    assert_same_rows("rollup_daily", result, embedded.rollup(raw, config, DAY_MS))
    levels = {r["dim_value"] for r in rows(result, "rollup_daily") if r["dim_name"] == "level"}
    assert levels == {"-3", "0", "4294967295", "9007199254740991", "7"}
    sql = athena_sql.span_sql(config, database="scratch", day_ms=day)
    spans = run(sql)
    assert_same_rows("span_daily", spans, embedded.span_daily(raw, config, day))
    assert {r["dim_value"]: r["n"] for r in rows(spans, "span_daily") if r["span"] == "quest_time"}["*"] == 5
