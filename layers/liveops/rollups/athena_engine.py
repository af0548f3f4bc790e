"""The Athena rollup engine: the SQL of `athena_sql` run by a query runner, as schema.py tables.

Same public methods as `engines.EmbeddedEngine` (the `engines.Engine` protocol) and the same read
windows, so that the rollup jobs can use either. The runner is injected: `wrangler_runner` runs a
query on Athena through awswrangler (imported lazily: ~0.5 s), tests pass one that runs the
transpiled SQL in DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa

from liveops.models.app_config import AppConfig
from liveops.rollups import athena_sql
from liveops.rollups.schema import (
    EXPERIMENT_DAILY,
    FUNNEL_DAILY,
    KPI_DAILY,
    ROLLUP,
    SORT_KEYS,
    SPAN_DAILY,
)

if TYPE_CHECKING:
    from liveops.settings import Settings

QueryRunner = Callable[[str], pa.Table]


def wrangler_runner(*, database: str, workgroup: str, boto3_session: Any = None) -> QueryRunner:
    """Runs a query on Athena with awswrangler (no CTAS: results are read from the query output)."""

    def run(sql: str) -> pa.Table:
        import awswrangler as wr

        frame = wr.athena.read_sql_query(
            sql,
            database=database,
            workgroup=workgroup,
            ctas_approach=False,
            boto3_session=boto3_session,
        )
        return pa.Table.from_pandas(cast(Any, frame), preserve_index=False)

    return run


def conform(table: pa.Table, schema: pa.Schema, sort_keys: list[str]) -> pa.Table:
    """The query result with exactly `schema` (names, order, types), rows sorted by `sort_keys`.

    Timestamps of any unit or zone become the schema's UTC milliseconds (a zone-less timestamp is
    UTC wall clock, as Athena returns it); all-null columns take the schema's type.
    """
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise ValueError(f"query result lacks columns {missing}")
    columns = []
    for field in schema:
        column = table[field.name]
        if pa.types.is_timestamp(field.type) and pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
        columns.append(column.cast(field.type))
    result = pa.Table.from_arrays(columns, schema=schema)
    if result.num_rows:
        result = result.sort_by([(key, "ascending") for key in sort_keys])
    return result.combine_chunks()


class AthenaEngine:
    """Rollups computed by Athena over the Glue `raw_events` table."""

    def __init__(
        self,
        run_query: QueryRunner,
        *,
        database: str,
        table: str = "raw_events",
        assignments_table: str = "assignments",
        assignments_app_column: str | None = "app_id",
    ) -> None:
        self._run = run_query
        self._database = database
        self._table = table
        self._assignments = assignments_table
        self._assignments_app_column = assignments_app_column

    @classmethod
    def from_settings(cls, settings: Settings, boto3_session: Any = None) -> AthenaEngine:
        runner = wrangler_runner(
            database=settings.glue_database, workgroup=settings.athena_workgroup, boto3_session=boto3_session
        )
        return cls(runner, database=settings.glue_database, table=settings.raw_events_table)

    def _query(self, sql: str, schema: pa.Schema, table_name: str) -> pa.Table:
        return conform(self._run(sql), schema, SORT_KEYS[table_name])

    def rollup(self, config: AppConfig, start_ms: int, end_ms: int, granularity_ms: int) -> pa.Table:
        """rollup_hourly (HOUR_MS) or rollup_daily (DAY_MS) rows of [start_ms, end_ms)."""
        if end_ms <= start_ms:
            return ROLLUP.empty_table()
        sql = athena_sql.rollup_sql(
            config,
            database=self._database,
            table=self._table,
            start_ms=start_ms,
            end_ms=end_ms,
            granularity=granularity_ms,
        )
        return self._query(sql, ROLLUP, "rollup_daily")

    def kpi_daily(self, config: AppConfig, day_ms: int) -> pa.Table:
        """kpi_daily in one query (the jobs derive it from rollup_daily with embedded.kpi_daily)."""
        if not config.kpis:
            return KPI_DAILY.empty_table()
        sql = athena_sql.kpi_daily_sql(config, database=self._database, table=self._table, day_ms=day_ms)
        return self._query(sql, KPI_DAILY, "kpi_daily")

    def span_daily(self, config: AppConfig, day_ms: int) -> pa.Table:
        if not config.spans:
            return SPAN_DAILY.empty_table()
        sql = athena_sql.span_sql(config, database=self._database, table=self._table, day_ms=day_ms)
        return self._query(sql, SPAN_DAILY, "span_daily")

    def funnel_daily(self, config: AppConfig, day_ms: int) -> pa.Table:
        if not config.funnels:
            return FUNNEL_DAILY.empty_table()
        sql = athena_sql.funnel_sql(config, database=self._database, table=self._table, day_ms=day_ms)
        return self._query(sql, FUNNEL_DAILY, "funnel_daily")

    def experiment_daily(self, config: AppConfig, day_ms: int) -> pa.Table:
        if not config.experiments.metrics:
            return EXPERIMENT_DAILY.empty_table()
        sql = athena_sql.experiment_sql(
            config,
            database=self._database,
            table=self._table,
            day_ms=day_ms,
            assignments_table=self._assignments,
            assignments_app_column=self._assignments_app_column,
        )
        return self._query(sql, EXPERIMENT_DAILY, "experiment_daily")
