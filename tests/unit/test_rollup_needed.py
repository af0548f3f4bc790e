"""span_daily, funnel_daily and experiment_daily read only the rows they need (their event types,
the assigned users), file by file, yet deduplicate exactly as over every row (docs/rollups.md,
"Dedupe"): a copy of an event with another type or user still decides which copy wins. With
nothing configured, nothing is read."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveops.models.app_config import load_app_config
from liveops.rollups import embedded
from liveops.rollups.columns import FlatMap
from liveops.rollups.engines import EmbeddedEngine, funnel_lookahead_days, span_lookback_days
from liveops.rollups.prepare import RawChangedError, StringSet, is_in, only_keys
from liveops.rollups.schema import EXPERIMENT_DAILY, FUNNEL_DAILY, SPAN_DAILY
from liveops.storage.lake import read_columns
from tests import rollup_data as data
from tests.unit.test_rollup_reference import RANDOM, REF, assert_same, rows_of

DAY = data.DAY0_MS
MINUTE = 60_000
Row = dict[str, Any]


def day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


class Files:
    """A RawReader over in-memory lake files: each file is written as Parquet and read back with
    the lake's `read_columns` (strings as dictionaries), in (day, file) order. Records every read."""

    def __init__(self, files: list[list[Row]]) -> None:
        self.files: list[tuple[date, bytes]] = []
        for rows in files:
            if rows:
                sink = io.BytesIO()
                pq.write_table(data.table_of(rows), sink)
                self.files.append((day_of(rows[0]["event_time"]), sink.getvalue()))
        self.files.sort(key=lambda file: file[0])  # stable: a day's files keep their order
        self.reads: list[list[str]] = []

    def iter_days(self, app_id: str, first: date, last: date, columns: Sequence[str]) -> Iterator[pa.Table]:
        self.reads.append(list(columns))
        for day, body in self.files:
            if first <= day <= last:
                yield read_columns(io.BytesIO(body), columns)

    def rows(self, start_ms: int, end_ms: int) -> list[Row]:
        """Every row of the period in read order (what docs/rollups.md's dedupe sees)."""
        tables = [pq.read_table(io.BytesIO(body)) for _, body in self.files]
        raw = pa.concat_tables(tables) if tables else data.table_of([])
        return rows_of(data.in_window(raw, start_ms, end_ms))


def by_day(rows: list[Row], pieces: int, seed: int) -> list[list[Row]]:
    """Rows split into files as the lake holds them: by day of event_time, each day's rows (in
    their order) cut into up to `pieces` files."""
    days: dict[date, list[Row]] = {}
    for row in rows:
        days.setdefault(day_of(row["event_time"]), []).append(row)
    rng = random.Random(seed)
    files = []
    for day_rows in days.values():
        cuts = sorted(rng.sample(range(1, len(day_rows)), min(pieces, len(day_rows)) - 1))
        files += [day_rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(day_rows)], strict=True)]
    return files


def engine_of(files: Files, assignments: pa.Table | None = None) -> EmbeddedEngine:
    return EmbeddedEngine(
        files, lambda app_id: data.random_assignments() if assignments is None else assignments
    )


def span_period(day: int) -> tuple[int, int]:
    return day - span_lookback_days(data.CONFIG) * data.DAY_MS, day + data.DAY_MS


def funnel_period(day: int) -> tuple[int, int]:
    return day, day + data.DAY_MS * (1 + funnel_lookahead_days(data.CONFIG))


def event(
    event_id: str,
    event_type: str,
    minute: int,
    received: int,
    batch: str = "b",
    user: str | None = "u0",
    session: str = "s0",
    **payload: Any,
) -> Row:
    time = DAY + minute * MINUTE
    return {
        "event_id": event_id,
        "event_type": event_type,
        "event_time": time,
        "client_event_time": time,
        "received_at": DAY + received * 1000,
        "batch_id": batch,
        "session_id": session,
        "user_hash": user,
        "platform": "web",
        "nums": {k: float(v) for k, v in payload.items() if not isinstance(v, str)},
        "attrs": {k: v for k, v in payload.items() if isinstance(v, str)},
    }


# ------------------------------------------------------------------------------ cross-type copies
# x1: the earliest received copy is a level_up (read first); its run_start copy must not start r1
# x4: the earliest received copy is the run_start (read first); a later level_up copy changes nothing
# x6: exact tie (same receipt, same batch): the earlier row, a level_up, wins; r3 has no start
# x7: exact tie, the run_start is the earlier row: r4 starts with it
# x8: a purchase of the assigned u0 whose earliest copy belongs to no one assigned (u9)
FILE_1 = [
    event("x1", "level_up", 0, received=100, batch="b1", level=3),
    event("x2", "run_start", 10, received=700, run_id="r1", tier=2, mode="normal"),
    event("x4", "run_start", 100, received=50, run_id="r2", tier=1, mode="normal"),
    event("x6", "level_up", 200, received=300, batch="bt", level=4),
    event("x7", "run_start", 300, received=400, batch="bu", run_id="r4", tier=3),
    event("x8", "purchase", 400, received=500, user="u9", amount=5.0),
    event("s1", "session_start", 1, received=100, launch="cold"),
]
FILE_2 = [
    event("x1", "run_start", 0, received=900, batch="b2", run_id="r1", tier=5, mode="ranked"),
    event("x3", "run_end", 30, received=900, run_id="r1", outcome="win", score=10, duration_ms=5.0),
    event("x4", "level_up", 100, received=60, level=9),
    event("x5", "run_end", 105, received=900, run_id="r2", outcome="loss", score=3),
    event("x6", "run_start", 200, received=300, batch="bt", run_id="r3", tier=2),
    event("x9", "run_end", 210, received=900, run_id="r3", outcome="win", score=1),
    event("x7", "level_up", 300, received=400, batch="bu", level=1),
    event("xa", "run_end", 320, received=900, run_id="r4", outcome="win", score=2),
    event("x8", "purchase", 400, received=900, user="u0", amount=7.0),
    event("xb", "run_end", 410, received=900, run_id="r9", outcome="win", score=4),
]


def assert_tables_of_the_contract(engine: EmbeddedEngine, files: Files, day: int) -> pa.Table:
    """span, funnel and experiment tables of `day` (read in that order) equal the contract's over
    every row of their periods; returns the span table."""
    spans = engine.span_daily(data.CONFIG, day)
    assert_same("span_daily", spans, REF.span_daily(files.rows(*span_period(day)), day), SPAN_DAILY)
    assert_same(
        "funnel_daily",
        engine.funnel_daily(data.CONFIG, day),
        REF.funnel_daily(files.rows(*funnel_period(day)), day),
        FUNNEL_DAILY,
    )
    assert_same(
        "experiment_daily",
        engine.experiment_daily(data.CONFIG, day),
        REF.experiment_daily(files.rows(day, day + data.DAY_MS), day, data.RANDOM_ASSIGNED),
        EXPERIMENT_DAILY,
    )
    return spans


def test_a_copy_of_another_type_decides_which_copy_counts() -> None:
    files = Files([FILE_1, FILE_2])
    engine = engine_of(files)
    every_row = files.rows(DAY, DAY + data.DAY_MS)
    spans = assert_tables_of_the_contract(engine, files, DAY)
    # the figures themselves: r1 runs 20 minutes (from x2, not x1), r2 5, r3 none, r4 20
    run_time = spans.filter(pc.and_(pc.equal(spans["span"], "run_time"), pc.equal(spans["dim_name"], "*")))
    total = run_time.to_pylist()[0]
    assert (total["n"], total["min"], total["max"]) == (3, 5 * MINUTE, 20 * MINUTE)
    # the second read fetched the rivals' keys only
    assert files.reads[1] == ["event_id", "event_time", "received_at", "batch_id", "event_type"]
    # picking the span's events before the dedupe would have counted x1's run_start (30 minutes)
    naive = data.table_of([r for r in every_row if r["event_type"] in ("run_start", "run_end")])
    naive_spans = embedded.span_daily(naive, data.CONFIG, DAY)
    assert naive_spans.filter(pc.equal(naive_spans["span"], "run_time"))["max"][0].as_py() == 30 * MINUTE


def test_one_table_with_copies_of_other_types_equals_the_reference() -> None:
    raw = data.table_of(FILE_2 + FILE_1)  # the copies in the other order: other winners on ties
    plain = rows_of(raw)
    assert_same(
        "span_daily", embedded.span_daily(raw, data.CONFIG, DAY), REF.span_daily(plain, DAY), SPAN_DAILY
    )
    assert_same(
        "funnel_daily",
        embedded.funnel_daily(raw, data.CONFIG, DAY),
        REF.funnel_daily(plain, DAY),
        FUNNEL_DAILY,
    )
    assert_same(
        "experiment_daily",
        embedded.experiment_daily(raw, data.CONFIG, DAY, data.random_assignments()),
        REF.experiment_daily(plain, DAY, data.RANDOM_ASSIGNED),
        EXPERIMENT_DAILY,
    )


def test_without_copies_of_other_types_the_files_are_read_once() -> None:
    files = Files([[r for r in FILE_1 if r["event_id"] not in ("x1", "x4", "x6", "x7", "x8")], FILE_2])
    engine_of(files).span_daily(data.CONFIG, DAY)
    assert len(files.reads) == 1


def test_files_changing_between_the_two_reads_fail_the_run() -> None:
    files = Files([FILE_1, FILE_2])
    original = files.iter_days

    def second_read_misses_a_row(
        app_id: str, first: date, last: date, columns: Sequence[str]
    ) -> Iterator[pa.Table]:
        tables = original(app_id, first, last, columns)
        if len(files.reads) == 1:
            return tables
        return (table.slice(1) for table in tables)

    files.iter_days = second_read_misses_a_row  # type: ignore[method-assign]
    with pytest.raises(RawChangedError):
        engine_of(files).span_daily(data.CONFIG, DAY)


# ------------------------------------------------------------------------------ random files
@RANDOM
@given(data.random_raw_rows(), st.integers(1, 4), st.integers(0, 1000))
def test_files_read_by_the_engine_equal_the_reference(rows: list[Row], pieces: int, seed: int) -> None:
    """Random rows (many copies, of any type and user, exact ties included) in several files a
    day, spans reaching back two days and funnels ahead one: each table equals the contract's
    over every row of its period, in read order."""
    files = Files(by_day(rows, pieces, seed))
    engine = engine_of(files)
    for day in data.DAYS_MS:
        assert_tables_of_the_contract(engine, files, day)


# ------------------------------------------------------------------------------ nothing to read
class Unreadable:
    """A RawReader and assignments that fail the test when read."""

    def iter_days(self, app_id: str, first: date, last: date, columns: Sequence[str]) -> Iterator[pa.Table]:
        raise AssertionError("read raw files")

    def assignments(self, app_id: str) -> pa.Table:
        raise AssertionError("read assignments")


NOTHING = load_app_config(
    {key: value for key, value in data.CONFIG_DOC.items() if key not in ("spans", "funnels", "experiments")}
)


def test_nothing_configured_reads_nothing() -> None:
    unreadable = Unreadable()
    engine = EmbeddedEngine(unreadable, unreadable.assignments)
    assert engine.span_daily(NOTHING, DAY) == SPAN_DAILY.empty_table()
    assert engine.funnel_daily(NOTHING, DAY) == FUNNEL_DAILY.empty_table()
    assert engine.experiment_daily(NOTHING, DAY) == EXPERIMENT_DAILY.empty_table()


def test_nothing_configured_dedupes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any) -> Any:
        raise AssertionError("deduplicated")

    monkeypatch.setattr(embedded, "needed_rows", fail)
    raw = data.raw_events()
    assert embedded.span_daily(raw, NOTHING, DAY) == SPAN_DAILY.empty_table()
    assert embedded.funnel_daily(raw, NOTHING, DAY) == FUNNEL_DAILY.empty_table()
    assert embedded.experiment_daily(raw, NOTHING, DAY, data.assignments()) == EXPERIMENT_DAILY.empty_table()


def test_experiments_without_assigned_users_read_no_raw_file() -> None:
    engine = EmbeddedEngine(Unreadable(), lambda app_id: data.random_assignments().slice(0, 0))
    assert engine.experiment_daily(data.CONFIG, DAY) == EXPERIMENT_DAILY.empty_table()


def test_only_the_needed_event_types_and_columns_are_kept() -> None:
    files = Files([FILE_1, FILE_2])
    needed = embedded._read(
        EmbeddedEngine(files, lambda app_id: data.random_assignments())._period(
            data.CONFIG, DAY, DAY + data.DAY_MS
        ),
        data.CONFIG,
        embedded.span_need(data.CONFIG),
    )
    assert set(needed.table["event_type"].to_pylist()) == {"run_start", "run_end"}
    assert needed.table.column_names == ["event_type", "nums", "attrs"]
    assert {key for m in needed.table["attrs"].to_pylist() for key, _ in m} == {"run_id"}
    assert "payload" not in files.reads[0] and "client_event_time" not in files.reads[0]


# ------------------------------------------------------------------------------ building blocks
MAPS = pa.array(
    [[("k", 1.0), ("j", 2.0)], None, [], [("j", 3.0), ("k", None)], [("k", 4.0), ("k", 5.0), ("z", 6.0)]],
    pa.map_(pa.string(), pa.float64()),
)


@pytest.mark.parametrize(
    "maps",
    [
        MAPS,
        MAPS.slice(1),
        pa.chunked_array([MAPS.slice(0, 2), MAPS.slice(2)]),
        MAPS.cast(pa.map_(pa.dictionary(pa.int32(), pa.string()), pa.float64())),
    ],
)
def test_maps_narrowed_to_some_keys_look_them_up_unchanged(maps: pa.Array | pa.ChunkedArray) -> None:
    narrowed = only_keys(maps, frozenset({"k", "absent"}))
    assert narrowed.type == maps.type and len(narrowed) == len(maps)
    assert narrowed.is_null().to_pylist() == pc.is_null(maps).to_pylist()
    for key in ("k", "absent"):
        assert FlatMap(narrowed).lookup(key).to_pylist() == FlatMap(maps).lookup(key).to_pylist()
    assert {k for m in narrowed.to_pylist() for k, _ in m or []} == {"k"}


@pytest.mark.parametrize(
    "column",
    [
        pa.array(["a", None, "bb", "c", "a"]),
        pa.array(["a", None, "bb", "c", "a"]).dictionary_encode(),
        pa.chunked_array(
            [pa.array(["a", None]), pa.array(["bb", "c", "a"]).dictionary_encode().cast(pa.string())]
        ),
    ],
)
def test_string_sets_match_exactly(column: pa.Array | pa.ChunkedArray) -> None:
    assert is_in(column, StringSet(["a", "bb", "zz"])).tolist() == [True, False, True, False, True]
    assert is_in(column, StringSet([])).tolist() == [False] * 5


def test_string_sets_tell_colliding_hashes_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    from liveops.rollups import prepare

    monkeypatch.setattr(prepare, "hash_strings", lambda column: np.zeros(len(column), dtype=np.uint64))
    assert is_in(pa.array(["a", "b", None, "c"]), StringSet(["a", "c"])).tolist() == [
        True,
        False,
        False,
        True,
    ]
    assert is_in(pa.array(["b", "a"]), StringSet(["a"])).tolist() == [False, True]


def test_the_smallest_event_id_wins_a_tie_in_time() -> None:
    """Two starts of a span, two entering events of a funnel at the same time: the one with the
    smallest event id is the earliest, whatever the order of the rows (its dimension values count)."""
    tied = [
        event("z2", "run_start", 10, received=10, run_id="r1", mode="second"),
        event("z1", "run_start", 10, received=10, run_id="r1", mode="first"),
        event("z3", "run_end", 20, received=10, run_id="r1"),
        event("y2", "session_start", 30, received=10, session="s5", tier=2),
        event("y1", "session_start", 30, received=10, session="s5", tier=1),
    ]
    for rows in (tied, tied[::-1]):
        files = Files([rows[:2], rows[2:]])
        spans = engine_of(files).span_daily(data.CONFIG, DAY)
        modes = spans.filter(pc.equal(spans["dim_name"], "mode"))["dim_value"].to_pylist()
        assert modes == ["first"]
        funnels = engine_of(files).funnel_daily(data.CONFIG, DAY)
        first_run = funnels.filter(
            pc.and_(pc.equal(funnels["funnel"], "first_run"), pc.equal(funnels["dim_name"], "tier"))
        )
        assert first_run["dim_value"].to_pylist() == ["1"]
        assert_same("span_daily", spans, REF.span_daily(files.rows(*span_period(DAY)), DAY), SPAN_DAILY)


def test_a_period_without_files_gives_empty_tables() -> None:
    engine = engine_of(Files([]))
    assert engine.span_daily(data.CONFIG, DAY) == SPAN_DAILY.empty_table()
    assert engine.funnel_daily(data.CONFIG, DAY) == FUNNEL_DAILY.empty_table()
    assert engine.experiment_daily(data.CONFIG, DAY) == EXPERIMENT_DAILY.empty_table()
