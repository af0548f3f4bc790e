"""The embedded engine's building blocks: exact dedupe over hashed ids, flattened map lookups, and
rollups streamed table by table (figures equal to one table's, byte for byte)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from liveops.rollups import embedded
from liveops.rollups.columns import FlatMap
from liveops.rollups.embedded import DAY_MS, HOUR_MS
from liveops.rollups.prepare import Gather, ShelvedStrings, first_copies, hash_strings
from liveops.rollups.schema import SORT_KEYS
from tests import rollup_data as data


def gather(values: Sequence[str | None]) -> Gather:
    return lambda rows: pa.array([values[i] for i in rows])


def test_hash_collisions_are_told_apart_by_the_ids() -> None:
    ids = ["a", "b", "a", "c", "b"]
    received = np.array([5, 1, 3, 9, 1])
    batches = ["x", "y", "x", None, "a"]
    every_hash_equal = [np.zeros(3, dtype=np.uint64), np.zeros(2, dtype=np.uint64)]  # two parts
    keep = first_copies(every_hash_equal, gather(ids), lambda rows: received[rows], gather(batches))
    # a: row 2 (received 3) beats row 0; b: same time, batch 'a' < 'y'; c has no copy
    assert keep.tolist() == [False, False, True, True, True]


def test_exact_ties_keep_the_earlier_row() -> None:
    keep = first_copies(
        [hash_strings(pa.array(["e", "e", "f"]))],
        gather(["e", "e", "f"]),
        lambda rows: np.zeros(len(rows), dtype=np.int64)[rows],
        gather(["b", "b", "b"]),
    )
    assert keep.tolist() == [True, False, True]


def test_equal_strings_hash_equal_whatever_their_layout() -> None:
    texts = ["", "abc", "0123456789abcdef", "0123456789abcdefg", "abc", None, "é" * 7]
    plain = hash_strings(pa.array(texts))
    assert plain[1] == plain[4] and plain[0] == plain[5]  # null counts as ""
    assert len(set(plain.tolist())) == 5
    chunked = pa.chunked_array([pa.array(texts[:3]), pa.array(texts[3:])])
    assert (hash_strings(chunked) == plain).all()
    assert (hash_strings(pa.array(["x", *texts]).slice(1)) == plain).all()
    assert (hash_strings(pa.array(texts).dictionary_encode()) == plain).all()


def test_shelved_strings_come_back_unchanged() -> None:
    texts = pa.array(["a", None, "", "ccc"] * 50)
    assert ShelvedStrings(texts.slice(3, 100)).restore().to_pylist() == [
        t or "" for t in texts.slice(3, 100).to_pylist()
    ]


MAPS = pa.array(
    [
        [("k", 1.0), ("j", 2.0)],
        None,
        [],
        [("j", 3.0), ("k", None)],
        [("k", 4.0), ("k", 5.0)],  # a repeated key: the first wins, as in map_lookup 'first'
    ],
    pa.map_(pa.string(), pa.float64()),
)


@pytest.mark.parametrize("maps", [MAPS, MAPS.slice(1), pa.chunked_array([MAPS.slice(0, 2), MAPS.slice(2)])])
@pytest.mark.parametrize("key", ["k", "j", "absent"])
def test_flat_map_lookups_equal_map_lookup(maps: pa.Array | pa.ChunkedArray, key: str) -> None:
    expected = pc.map_lookup(maps, pa.scalar(key), "first")
    flat = FlatMap(maps)
    assert flat.lookup(key).to_pylist() == expected.to_pylist()
    rows, values = flat.numbers(key)
    present = [(i, v) for i, v in enumerate(expected.to_pylist()) if v is not None]
    assert list(zip(rows.tolist(), values.tolist(), strict=True)) == present


def sorted_rows(table: pa.Table, name: str) -> pa.Table:
    return table.sort_by([(key, "ascending") for key in SORT_KEYS[name]])


@pytest.mark.parametrize("day", data.DAYS_MS)
def test_rollups_streamed_in_pieces_equal_one_table(day: int) -> None:
    raw = data.in_window(data.raw_events(), day, day + DAY_MS)
    pieces = [raw.slice(start, 37) for start in range(0, raw.num_rows, 37)]  # copies across pieces
    both = embedded.rollups(pieces, data.CONFIG, [DAY_MS, HOUR_MS])
    for granularity, name in ((HOUR_MS, "rollup_hourly"), (DAY_MS, "rollup_daily")):
        whole = embedded.rollup(raw, data.CONFIG, granularity)
        assert sorted_rows(both[granularity], name).equals(sorted_rows(whole, name))
