"""The deduplicated rows of a period as compact numpy columns, built one raw table at a time.

Each raw table (one lake file) is reduced to integer codes and the few values the figures need
as soon as it is read, so memory holds tens of bytes per event instead of the raw table (the
maps alone take hundreds). Dedupe by event_id waits until every table is in, because copies of
an event may sit in different files: event ids are hashed per table, and only the rows whose
hash repeats are compared by their text (docs/rollups.md, "Dedupe").
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from liveops.models.app_config import AppConfig
from liveops.rollups.columns import Codes, TableValues

# the raw columns the rollups read, apart from envelope dimensions (payload is never read)
BASE_COLUMNS = (
    "event_id",
    "event_type",
    "event_time",
    "received_at",
    "batch_id",
    "session_id",
    "user_hash",
    "nums",
    "attrs",
)


def columns_for(config: AppConfig) -> list[str]:
    envelope = [d.source for d in config.dimension_specs() if not d.source.startswith("payload.")]
    return [*BASE_COLUMNS, *dict.fromkeys(envelope)]


# ---------------------------------------------------------------------------- dedupe
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _hash_fixed_width(data: np.ndarray, count: int, width: int) -> np.ndarray:
    """Hashes of `count` strings of `width` bytes laid end to end in `data` (uint8): each string is
    read as 8-byte words through strided views, without copying; the last word overlaps the one
    before when the width is no multiple of 8."""
    h = np.full(count, width, dtype=np.uint64)
    if width < 8:
        words = [data[k::width].astype(np.uint64) for k in range(width)] if count else []
    else:
        starts = [*range(0, width - 7, 8), *([width - 8] if width % 8 else [])]
        words = [np.ndarray((count,), "<u8", data, start, (width,)) for start in starts]
    for word in words:
        h *= _MIX
        h += word
        h ^= h >> np.uint64(31)
    return h


def hash_strings(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash per string. Equal strings get equal hashes; the rare unequal strings that
    collide are told apart by `first_copies`, so the hash only has to be fast."""
    array = _single_array(column)
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    if array.null_count:
        array = array.fill_null("")
    lengths = pc.binary_length(array).to_numpy()
    out = np.empty(len(array), dtype=np.uint64)
    for width in np.unique(lengths):  # usually one: the ids of one client have one format
        rows = None if lengths[0] == width and (lengths == width).all() else lengths == width
        same = array if rows is None else array.filter(pa.array(rows))
        offset_type = np.int64 if pa.types.is_large_string(same.type) else np.int32
        offsets = np.frombuffer(same.buffers()[1], offset_type)[same.offset : same.offset + len(same) + 1]
        data = np.frombuffer(same.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        hashes = _hash_fixed_width(data, len(same), int(width))
        if rows is None:
            out[:] = hashes
        else:
            out[rows] = hashes
    return out


class ShelvedStrings:
    """A string array kept zstd-compressed until needed. Memory holds every file's event ids
    until the dedupe, and random hex ids compress to about half."""

    _codec = pa.Codec("zstd", compression_level=1)

    def __init__(self, column: pa.Array | pa.ChunkedArray) -> None:
        array = _single_array(column).cast(pa.string())
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[
            array.offset : array.offset + len(array) + 1
        ]
        if array.null_count or offsets[0]:  # the buffers below must hold just these strings
            array = pa.concat_arrays([pc.fill_null(array, "")])
            offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[: len(array) + 1]
        data = array.buffers()[2] or pa.py_buffer(b"")
        self._count = len(array)
        self._sizes = (offsets.nbytes, int(offsets[-1]))
        # as bytes: a compressed Buffer would keep the allocation of the uncompressed size's bound
        self._offsets = self._codec.compress(pa.py_buffer(offsets), asbytes=True)
        self._data = self._codec.compress(data.slice(0, int(offsets[-1])), asbytes=True)

    def restore(self) -> pa.Array:
        offsets = self._codec.decompress(self._offsets, decompressed_size=self._sizes[0])
        data = self._codec.decompress(self._data, decompressed_size=self._sizes[1])
        return pa.Array.from_buffers(pa.string(), self._count, [None, offsets, data])


def _single_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


Gather = Callable[[np.ndarray], Any]  # rows (ascending) -> those rows' values


def first_copies(hashes: list[np.ndarray], ids: Gather, received: Gather, batches: Gather) -> np.ndarray:
    """Keep mask over all rows of the `hashes` parts: one row per event id, the copy with the
    smallest (received_at, batch_id), ties to the earlier row. Only rows whose hash repeats can be
    copies; their ids, receipt times and batch ids are gathered and compared exactly."""
    keep = np.ones(sum(len(part) for part in hashes), dtype=bool)
    rows = _repeated_hash_rows(hashes)
    if len(rows) == 0:
        return keep
    copies = pa.table(
        {
            "id": ids(rows),
            "received": received(rows),
            "batch": pc.fill_null(batches(rows), ""),
            "row": rows,
        }
    )
    order = pc.sort_indices(copies, sort_keys=[(c, "ascending") for c in copies.column_names])
    sorted_ids = copies["id"].take(order)
    later = pc.equal(sorted_ids.slice(1), sorted_ids.slice(0, len(sorted_ids) - 1))
    keep[rows[order.to_numpy()[1:][later.to_numpy(zero_copy_only=False)]]] = False
    return keep


def _repeated_hash_rows(parts: list[np.ndarray]) -> np.ndarray:
    """The rows (over all parts) whose hash some other row has too."""
    ordered = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    ordered.sort()  # in place: one copy of every hash is memory enough
    repeated = pa.array(np.unique(ordered[1:][ordered[1:] == ordered[:-1]]))
    del ordered
    if len(repeated) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum([0, *(len(part) for part in parts)])
    return np.concatenate(
        [
            np.flatnonzero(pc.is_in(pa.array(part), value_set=repeated).to_numpy(zero_copy_only=False))
            + start
            for part, start in zip(parts, starts, strict=False)
        ]
    )


# ---------------------------------------------------------------------------- the rows
@dataclass
class Sample:
    """The values of one measure: `rows` (ascending) index the period's rows; `by_value` are the
    values sorted (ties in row order), `order` their positions in `rows`."""

    rows: np.ndarray
    by_value: np.ndarray
    order: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray, values: np.ndarray) -> Sample:
        order = np.argsort(values, kind="stable")
        return cls(rows, values[order], order.astype(rows.dtype))

    def by_value_codes(self, codes: np.ndarray) -> np.ndarray:
        """Per-row `codes` of the values in value order. Gathering in row order first and then
        permuting the small result is several times faster than gathering at random rows."""
        return codes[self.rows][self.order]


@dataclass
class Rows:
    """The deduplicated rows of a period, as codes."""

    times: np.ndarray  # event_time, ms
    ident: np.ndarray  # identity code (user_hash, else session; docs/rollups.md)
    event_type: Codes
    dims: dict[str, Codes]
    measures: dict[str, Sample]
    kpis: dict[str, tuple[np.ndarray, np.ndarray]]  # (denominator, numerator) row masks
    kept: np.ndarray  # which of the rows added survived the dedupe

    @property
    def count(self) -> int:
        return len(self.times)


class RowsBuilder:
    """Add raw tables one by one, then `build()` the deduplicated rows of them all."""

    def __init__(self, config: AppConfig, figures: bool = True) -> None:
        self._config = config
        self._figures = figures  # measures and KPIs (spans, funnels, experiments need neither)
        self._columns: dict[str, list[Any]] = defaultdict(list)
        self._sizes: list[int] = []

    def add(self, table: pa.Table) -> None:
        values = TableValues(table)
        put = self._put
        put("ids", ShelvedStrings(table["event_id"]))
        put("hashes", hash_strings(table["event_id"]))
        put("received", values.int64("received_at"))
        put("batches", table["batch_id"].combine_chunks())
        put("times", values.int64("event_time"))
        put("user", values.codes("user_hash"))
        put("session", values.codes("session_id").missing_as(""))
        put("event_type", values.codes("event_type").missing_as(""))
        for dim in self._config.dimension_specs():
            put(f"dim:{dim.name}", values.dimension(self._config, dim.source))
        if self._figures:
            for name, m in self._config.measures.items():
                rows, numbers = values.measure(m.event, m.where, m.field)
                put(f"measure:{name}", (rows.astype(np.int32), numbers))  # rows within this table
            for name, kpi in self._config.kpis.items():
                put(f"kpi:{name}", (values.matches(kpi.denominator), values.matches(kpi.numerator)))
        self._sizes.append(table.num_rows)

    def _put(self, name: str, value: Any) -> None:
        self._columns[name].append(value)

    def _pop(self, name: str) -> list[Any]:
        """The parts of a column, no longer held here: once combined, the parts' memory is freed."""
        return self._columns.pop(name, [])

    def _concat(self, name: str, dtype: Any) -> np.ndarray:
        parts = self._pop(name)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    def _split(self, rows: np.ndarray) -> Iterator[np.ndarray]:
        """Rows (over all parts) as row numbers within each part, part after part."""
        starts = np.cumsum([0, *self._sizes])
        for start, end in itertools.pairwise(starts):
            yield rows[(rows >= start) & (rows < end)] - start

    def _texts(self, name: str) -> Gather:
        parts = self._pop(name)

        def at(rows: np.ndarray) -> pa.Array:
            texts = [
                (part.restore() if isinstance(part, ShelvedStrings) else part).take(pa.array(local))
                for part, local in zip(parts, self._split(rows), strict=True)
            ]
            return (
                pa.concat_arrays([t.cast(pa.string()) for t in texts]) if texts else pa.array([], pa.string())
            )

        return at

    def _numbers(self, name: str) -> Gather:
        parts = self._pop(name)

        def at(rows: np.ndarray) -> np.ndarray:
            return np.concatenate([part[local] for part, local in zip(parts, self._split(rows), strict=True)])

        return at

    def _dedupe(self) -> np.ndarray:
        return first_copies(
            self._pop("hashes"), self._texts("ids"), self._numbers("received"), self._texts("batches")
        )

    def _kept(self, name: str, keep: np.ndarray, dtype: Any) -> np.ndarray:
        kept = self._concat(name, dtype)[keep]
        release_freed_memory()
        return kept

    def _codes(self, name: str, keep: np.ndarray) -> Codes:
        codes, labels = Codes.unify(self._pop(name))
        kept = Codes(codes[keep], labels)
        release_freed_memory()
        return kept

    def _identities(self, keep: np.ndarray) -> np.ndarray:
        user, session = self._codes("user", keep), self._codes("session", keep)
        idents = len(user.labels) + len(session.labels)
        ident = np.where(user.codes >= 0, user.codes, len(user.labels) + session.codes.astype(np.int64))
        return ident.astype(np.int32 if idents < 2**31 else np.int64)

    def _sample(self, name: str, keep: np.ndarray, index: np.ndarray) -> Sample:
        parts = self._pop(f"measure:{name}")
        starts = np.cumsum([0, *self._sizes])
        rows = (
            np.concatenate([r + starts[i] for i, (r, _) in enumerate(parts)])
            if parts
            else np.zeros(0, np.int64)
        )
        values = np.concatenate([v for _, v in parts]) if parts else np.zeros(0)
        kept = keep[rows]
        return Sample.of(index[rows[kept]], values[kept])

    def _kpi(self, name: str, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = self._pop(f"kpi:{name}")
        den = np.concatenate([d for d, _ in parts]) if parts else np.zeros(0, bool)
        num = np.concatenate([n for _, n in parts]) if parts else np.zeros(0, bool)
        return den[keep], num[keep]

    def build(self) -> Rows:
        keep = self._dedupe()
        release_freed_memory()
        # row numbers after the dedupe; int32 is plenty for a period a Lambda can hold
        index = (np.cumsum(keep) - 1).astype(np.int32 if len(keep) < 2**31 else np.int64)
        figures = self._figures
        return Rows(
            times=self._kept("times", keep, np.int64),
            ident=self._identities(keep),
            event_type=self._codes("event_type", keep),
            dims={dim.name: self._codes(f"dim:{dim.name}", keep) for dim in self._config.dimension_specs()},
            measures={name: self._sample(name, keep, index) for name in self._config.measures if figures},
            kpis={name: self._kpi(name, keep) for name in self._config.kpis if figures},
            kept=keep,
        )


def prepare(tables: Iterable[pa.Table], config: AppConfig, figures: bool = True) -> Rows:
    builder = RowsBuilder(config, figures)
    for table in tables:
        builder.add(table)
        release_freed_memory()
    rows = builder.build()
    del builder
    release_freed_memory()
    return rows


def release_freed_memory() -> None:
    """Hand freed heap pages back to the OS. glibc keeps the pages of freed arrays smaller than
    its mmap threshold (each file's arrays are), so a Lambda's memory would count them as used."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)
