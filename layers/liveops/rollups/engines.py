"""The embedded engine behind the same interface as the Athena engine: it reads the raw days a
figure needs from the lake and computes with `liveops.rollups.embedded`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from liveops.models.app_config import AppConfig
from liveops.rollups import embedded
from liveops.rollups.embedded import DAY_MS
from liveops.rollups.prepare import columns_for
from liveops.rollups.schema import TS


class Engine(Protocol):
    def rollup(self, config: AppConfig, start_ms: int, end_ms: int, granularity_ms: int) -> pa.Table: ...
    def span_daily(self, config: AppConfig, day_ms: int) -> pa.Table: ...
    def funnel_daily(self, config: AppConfig, day_ms: int) -> pa.Table: ...
    def experiment_daily(self, config: AppConfig, day_ms: int) -> pa.Table: ...


class RawReader(Protocol):
    def iter_days(
        self, app_id: str, first: date, last: date, columns: Sequence[str]
    ) -> Iterator[pa.Table]: ...


def within(table: pa.Table, start_ms: int, end_ms: int) -> pa.Table:
    """The rows whose event_time is in [start_ms, end_ms)."""
    times = pc.cast(pc.cast(table["event_time"], TS), pa.int64())
    inside = pc.fill_null(pc.and_(pc.greater_equal(times, start_ms), pc.less(times, end_ms)), False)
    return table if pc.all(inside).as_py() else table.filter(inside)  # no copy when all are in


def day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def span_lookback_days(config: AppConfig) -> int:
    return max((math.ceil(s.max_minutes / 1440) for s in config.spans.values()), default=0)


def funnel_lookahead_days(config: AppConfig) -> int:
    return max((math.ceil(f.window_minutes / 1440) for f in config.funnels.values()), default=0)


class EmbeddedEngine:
    def __init__(self, raw: RawReader, assignments: Callable[[str], pa.Table]) -> None:
        self._raw = raw
        self._assignments = assignments

    def _period(self, config: AppConfig, start_ms: int, end_ms: int) -> embedded.Source:
        """The period's raw files with the given columns, one at a time, each trimmed to the period;
        each call reads them again."""

        def tables(columns: Sequence[str]) -> Iterator[pa.Table]:
            files = self._raw.iter_days(config.app_id, day_of(start_ms), day_of(end_ms - 1), columns)
            return (within(table, start_ms, end_ms) for table in files)

        return tables

    def rollup(self, config: AppConfig, start_ms: int, end_ms: int, granularity_ms: int) -> pa.Table:
        # file by file: memory holds one file's raw columns at a time, not the period's
        tables = self._period(config, start_ms, end_ms)(columns_for(config))
        return embedded.rollups(tables, config, [granularity_ms])[granularity_ms]

    # The other daily tables read their period lazily: `embedded` reads nothing when none of theirs
    # is configured, else only the rows they need (their event types, assigned users), file by
    # file, deduplicated as if every row were.
    def span_daily(self, config: AppConfig, day_ms: int) -> pa.Table:
        back = span_lookback_days(config) * DAY_MS
        return embedded.spans_from(self._period(config, day_ms - back, day_ms + DAY_MS), config, day_ms)

    def funnel_daily(self, config: AppConfig, day_ms: int) -> pa.Table:
        ahead = funnel_lookahead_days(config) * DAY_MS
        return embedded.funnels_from(self._period(config, day_ms, day_ms + DAY_MS + ahead), config, day_ms)

    def experiment_daily(self, config: AppConfig, day_ms: int) -> pa.Table:
        return embedded.experiments_from(
            self._period(config, day_ms, day_ms + DAY_MS),
            config,
            day_ms,
            lambda: self._assignments(config.app_id),
        )
