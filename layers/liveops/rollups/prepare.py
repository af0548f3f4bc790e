"""The deduplicated rows of a period as compact numpy columns, built one raw table at a time.

Each raw table (one lake file) is reduced to integer codes and the few values the figures need
as soon as it is read, so memory holds tens of bytes per event instead of the raw table (the
maps alone take hundreds). Dedupe by event_id waits until every table is in, because copies of
an event may sit in different files: event ids are hashed per table, and only the rows whose
hash repeats are compared by their text (docs/rollups.md, "Dedupe").

The other daily tables (spans, funnels, experiments) need some rows only (`needed_rows`): those
are kept, narrowed, with their dedupe keys; every other row leaves just its id hash, so that a
copy of a kept event with another type or user still takes part in the dedupe.
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
    if isinstance(column, pa.ChunkedArray) and column.num_chunks > 1:  # chunk by chunk: no copy
        return np.concatenate([_hash_array(chunk) for chunk in column.chunks])
    return _hash_array(_single_array(column))


def _hash_array(array: pa.Array) -> np.ndarray:
    if pa.types.is_dictionary(array.type):
        array = array.cast(pa.string())
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


def first_copies(
    hashes: list[np.ndarray],
    ids: Gather,
    received: Gather,
    batches: Gather,
    positions: Gather | None = None,
    rivals: pa.Table | None = None,
) -> np.ndarray:
    """Keep mask over all rows of the `hashes` parts: one row per event id, the copy with the
    smallest (received_at, batch_id), ties to the earlier row. Only rows whose hash repeats can be
    copies; their ids, receipt times and batch ids are gathered and compared exactly.

    `positions` (default: the row numbers) order the rows among every row read, for ties, when the
    rows are some of them only. `rivals` (columns hash, id, received, batch, position) are rows read
    but not added: never kept themselves, they make an added copy of their event lose to them."""
    keep = np.ones(sum(len(part) for part in hashes), dtype=bool)
    if rivals is not None and rivals.num_rows == 0:
        rivals = None
    rows = _repeated_hash_rows(hashes, None if rivals is None else rivals["hash"].to_numpy())
    if len(rows) == 0:
        return keep
    copies = pa.table(
        {
            "id": ids(rows),
            "received": received(rows),
            "batch": pc.fill_null(batches(rows), ""),
            "position": rows if positions is None else positions(rows),
            "row": rows,
        }
    )
    if rivals is not None:
        copies = pa.concat_tables(
            [
                copies,
                pa.table(
                    {
                        "id": rivals["id"],
                        "received": rivals["received"],
                        "batch": rivals["batch"],
                        "position": rivals["position"],
                        "row": np.full(rivals.num_rows, -1, dtype=np.int64),
                    },
                    schema=copies.schema,
                ),
            ]
        )
    keys = ["id", "received", "batch", "position"]
    order = pc.sort_indices(copies, sort_keys=[(c, "ascending") for c in keys])
    sorted_ids = copies["id"].take(order)
    later = pc.equal(sorted_ids.slice(1), sorted_ids.slice(0, len(sorted_ids) - 1))
    losers = copies["row"].take(order).to_numpy()[1:][later.to_numpy(zero_copy_only=False)]
    keep[losers[losers >= 0]] = False
    return keep


def _repeated_hash_rows(parts: list[np.ndarray], others: np.ndarray | None = None) -> np.ndarray:
    """The rows (over all parts) whose hash some other row has too, or one of `others`."""
    extra = [np.unique(others)] if others is not None and len(others) else []
    ordered = np.concatenate([*parts, *extra]) if parts or extra else np.zeros(0, dtype=np.uint64)
    ordered.sort()  # in place: one copy of every hash is memory enough
    repeated = pa.array(np.unique(ordered[1:][ordered[1:] == ordered[:-1]]))
    del ordered
    if len(repeated) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum([0, *(len(part) for part in parts)])
    found = [
        np.flatnonzero(pc.is_in(pa.array(part), value_set=repeated).to_numpy(zero_copy_only=False)) + start
        for part, start in zip(parts, starts, strict=False)
    ]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _split(rows: np.ndarray, sizes: list[int]) -> Iterator[np.ndarray]:
    """Rows (over all parts) as row numbers within each part, part after part."""
    starts = np.cumsum([0, *sizes])
    for start, end in itertools.pairwise(starts):
        yield rows[(rows >= start) & (rows < end)] - start


def _texts(parts: list[Any], sizes: list[int]) -> Gather:
    """The strings of rows (ascending) over parts of strings or `ShelvedStrings`."""

    def at(rows: np.ndarray) -> pa.Array:
        texts = [
            (part.restore() if isinstance(part, ShelvedStrings) else part).take(pa.array(local))
            for part, local in zip(parts, _split(rows, sizes), strict=True)
        ]
        return pa.concat_arrays([t.cast(pa.string()) for t in texts]) if texts else pa.array([], pa.string())

    return at


def _numbers(parts: list[np.ndarray], sizes: list[int]) -> Gather:
    def at(rows: np.ndarray) -> np.ndarray:
        return np.concatenate([part[local] for part, local in zip(parts, _split(rows, sizes), strict=True)])

    return at


class CopyKeys:
    """What the dedupe compares, for rows added table by table: the event id (hashed, and its text
    shelved), received_at, batch_id and, when the rows added are some of the rows read only, each
    row's position among all of them (docs/rollups.md, "Dedupe")."""

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._ids: list[ShelvedStrings] = []
        self._received: list[np.ndarray] = []
        self._batches: list[pa.Array] = []
        self._positions: list[np.ndarray] = []
        self._sizes: list[int] = []

    def add(
        self, table: pa.Table, hashes: np.ndarray | None = None, positions: np.ndarray | None = None
    ) -> None:
        self._ids.append(ShelvedStrings(table["event_id"]))
        self._hashes.append(hash_strings(table["event_id"]) if hashes is None else hashes)
        self._received.append(TableValues(table).int64("received_at"))
        self._batches.append(table["batch_id"].combine_chunks())
        if positions is not None:
            self._positions.append(positions)
        self._sizes.append(table.num_rows)

    def hashes(self) -> np.ndarray:
        return np.concatenate(self._hashes) if self._hashes else np.zeros(0, dtype=np.uint64)

    def first_copies(self, rivals: pa.Table | None = None, keep_ids: bool = False) -> np.ndarray:
        """The keep mask of the rows added (see `first_copies`). The keys are no longer held
        afterwards (their memory is freed), the event ids only when `keep_ids` is false."""
        hashes, self._hashes = self._hashes, []
        received, self._received = self._received, []
        batches, self._batches = self._batches, []
        positions, self._positions = self._positions, []
        ids = self._ids
        if not keep_ids:
            self._ids = []
        sizes = self._sizes
        return first_copies(
            hashes,
            _texts(ids, sizes),
            _numbers(received, sizes),
            _texts(batches, sizes),
            _numbers(positions, sizes) if positions else None,
            rivals,
        )

    def kept_ids(self, keep: np.ndarray) -> Gather:
        """The event ids of the kept rows (after `first_copies(keep_ids=True)`), by kept row number."""
        texts = _texts(self._ids, self._sizes)

        def at(rows: np.ndarray) -> pa.Array:
            original = np.flatnonzero(keep)[rows]
            order = np.argsort(original, kind="stable")
            return texts(original[order]).take(pa.array(np.argsort(order)))

        return at


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

    def __init__(
        self, config: AppConfig, figures: bool = True, dims: bool = True, dedupe: bool = True
    ) -> None:
        self._config = config
        self._figures = figures  # measures and KPIs (spans, funnels, experiments need neither)
        self._dims = config.dimension_specs() if dims else []
        # without: the caller dedupes (`CopyKeys`) and passes the keep mask to `build`
        self._keys = CopyKeys() if dedupe else None
        self._columns: dict[str, list[Any]] = defaultdict(list)
        self._sizes: list[int] = []

    def add(self, table: pa.Table) -> None:
        values = TableValues(table)
        put = self._put
        if self._keys is not None:
            self._keys.add(table)
        put("times", values.int64("event_time"))
        put("user", values.codes("user_hash"))
        put("session", values.codes("session_id").missing_as(""))
        put("event_type", values.codes("event_type").missing_as(""))
        for dim in self._dims:
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

    def build(self, keep: np.ndarray | None = None) -> Rows:
        if keep is None:
            assert self._keys is not None, "a builder without dedupe is given the keep mask"
            keep = self._keys.first_copies()
            self._keys = None
            release_freed_memory()
        # row numbers after the dedupe; int32 is plenty for a period a Lambda can hold
        index = (np.cumsum(keep) - 1).astype(np.int32 if len(keep) < 2**31 else np.int64)
        figures = self._figures
        return Rows(
            times=self._kept("times", keep, np.int64),
            ident=self._identities(keep),
            event_type=self._codes("event_type", keep),
            dims={dim.name: self._codes(f"dim:{dim.name}", keep) for dim in self._dims},
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


# ---------------------------------------------------------------------------- some rows of a period
KEY_COLUMNS = ("event_id", "event_time", "received_at", "batch_id")


@dataclass(frozen=True)
class Need:
    """What one of the other daily tables (spans, funnels, experiments) reads of a period: the rows
    it needs (a mask over a raw table, decided by the columns `reads` of each row alone), the raw
    columns it keeps of them (`nums` and `attrs` with the keys `keys` only) and whether it needs
    their codes (`Rows`: times, identities, event types and, with `dims`, dimension values)."""

    rows: Callable[[pa.Table], np.ndarray]
    reads: tuple[str, ...]
    keep: tuple[str, ...] = ()
    keys: frozenset[str] = frozenset()
    codes: bool = True
    dims: bool = True
    ids: bool = True  # the event ids of the rows after the dedupe (ties: docs/rollups.md)

    def columns(self, config: AppConfig) -> list[str]:
        """The raw columns to read."""
        coded: list[str] = []
        if self.codes:
            coded = ["event_type", "session_id", "user_hash"]
            for dim in config.dimension_specs() if self.dims else []:
                payload = dim.source.startswith("payload.")
                coded += ["nums", "attrs"] if payload else [dim.source]
        return list(dict.fromkeys([*KEY_COLUMNS, "event_type", *self.reads, *self.keep, *coded]))

    def key_columns(self) -> list[str]:
        """The raw columns a second read for the rivals of the needed rows reads (`needed_rows`)."""
        return list(dict.fromkeys([*KEY_COLUMNS, *self.reads]))


@dataclass
class Needed:
    """The needed rows of a period that survived the dedupe, in read order."""

    table: pa.Table  # event_type and the kept columns (maps narrowed to the needed keys)
    rows: Rows | None  # their codes (Need.codes)
    ids: Gather | None  # their event ids, by row number (Need.ids)


class StringSet:
    """A set of strings to test many columns against: hashed once (`hash_strings`), so that a test
    hashes the column's distinct strings and compares the few whose hash is in the set (where
    pc.is_in would build its table of the set's strings again for every call)."""

    def __init__(self, values: pa.Array | Iterable[str]) -> None:
        array = values if isinstance(values, pa.Array) else pa.array(sorted(set(values)), pa.string())
        array = pc.unique(array.cast(pa.string()).drop_null())
        hashes = hash_strings(array)
        order = np.argsort(hashes)
        self._hashes = hashes[order]
        self._values = array.take(pa.array(order))
        self._exact = len(self._hashes) < 2 or bool((self._hashes[1:] != self._hashes[:-1]).all())

    def contains(self, strings: pa.Array) -> np.ndarray:
        """Per string (plain, no dictionary): whether it is in the set (false where missing)."""
        if not self._exact:  # two strings of the set share a hash: compare them all
            return pc.fill_null(pc.is_in(strings, value_set=self._values), False).to_numpy(
                zero_copy_only=False
            )
        out = np.zeros(len(strings), dtype=bool)
        if len(self._hashes) == 0 or len(strings) == 0:
            return out
        hashes = hash_strings(strings)
        at = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
        rows = np.flatnonzero(self._hashes[at] == hashes)
        same = pc.equal(strings.take(pa.array(rows)), self._values.take(pa.array(at[rows])))
        out[rows[pc.fill_null(same, False).to_numpy(zero_copy_only=False)]] = True
        return out


def is_in(column: pa.Array | pa.ChunkedArray, values: StringSet) -> np.ndarray:
    """Per row: whether its string is one of `values` (false where missing); a dictionary column
    tests its labels only."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    found = []
    for chunk in chunks:
        if pa.types.is_dictionary(chunk.type):
            hit = np.r_[values.contains(chunk.dictionary.cast(pa.string())), False]  # -1: False
            indices = chunk.indices.fill_null(len(hit) - 1) if chunk.null_count else chunk.indices
            found.append(hit[indices.to_numpy()])
        else:
            valid = chunk.is_valid().to_numpy(zero_copy_only=False) if chunk.null_count else True
            found.append(values.contains(chunk.cast(pa.string())) & valid)
    return np.concatenate(found) if found else np.zeros(0, dtype=bool)


def only_keys(column: pa.Array | pa.ChunkedArray, keys: frozenset[str]) -> pa.ChunkedArray:
    """A map column with the entries of `keys` only, in their order: every lookup of those keys
    (the first entry of a key, as map_lookup 'first') is unchanged, and memory holds no others."""
    wanted = StringSet(keys)
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return pa.chunked_array([_only_keys(chunk, wanted) for chunk in chunks], type=column.type)


def _only_keys(array: pa.Array, keys: StringSet) -> pa.Array:
    offsets = array.offsets.to_numpy()
    first, last = int(offsets[0]), int(offsets[-1])
    entry_keys = array.keys.slice(first, last - first)
    entries = np.flatnonzero(is_in(entry_keys, keys))
    rows = np.searchsorted(offsets, entries + first, side="right") - 1
    kept = np.zeros(len(array) + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=len(array)), out=kept[1:])
    take = pa.array(entries)
    return pa.MapArray.from_arrays(
        pa.array(kept, pa.int32()),
        entry_keys.take(take),
        array.items.slice(first, last - first).take(take),
        type=array.type,
        mask=array.is_null() if array.null_count else None,  # a null map stays null
    )


def _narrowed_maps(table: pa.Table, keys: frozenset[str]) -> pa.Table:
    """`table` with its maps narrowed to `keys`."""
    for name in ("nums", "attrs"):
        if name in table.column_names:
            table = table.set_column(table.schema.get_field_index(name), name, only_keys(table[name], keys))
    return table


def _narrow(table: pa.Table, need: Need) -> pa.Table:
    return _narrowed_maps(table.select(list(dict.fromkeys(["event_type", *need.keep]))), need.keys)


class RawChangedError(RuntimeError):
    """The raw files read twice differ: a file came or went between the reads; run again."""


@dataclass
class _Others:
    """Hashes of the event ids of the rows read but not needed, file by file."""

    hashes: list[np.ndarray]
    sizes: list[int]  # rows read per file

    def rivals(
        self, ours: np.ndarray, need: Need, reread: Callable[[], Iterable[pa.Table]]
    ) -> pa.Table | None:
        """The rows not needed whose event id hash is one of `ours` (a copy of a needed event with
        another type or user, or a hash collision): their dedupe keys, read again from the files
        that hold them. None when there are none, the usual case: no second read."""
        ours = np.sort(ours)
        hits: dict[int, np.ndarray] = {}
        for index, hashes in enumerate(self.hashes):
            if len(ours) and len(hashes):
                order = np.argsort(hashes)  # sorted queries: several times faster than random ones
                queries = hashes[order]
                at = np.minimum(np.searchsorted(ours, queries), len(ours) - 1)
                found = np.sort(order[ours[at] == queries])
                if len(found):
                    hits[index] = found
        if not hits:
            return None
        starts = np.cumsum([0, *self.sizes])
        parts = []
        for index, table in enumerate(reread()):
            if index > max(hits):
                break
            if index >= len(self.sizes) or table.num_rows != self.sizes[index]:
                raise RawChangedError(f"raw file {index} of the period changed between two reads; run again")
            if index not in hits:
                continue
            rows = np.flatnonzero(~need.rows(table))[hits[index]]
            rivals = table.take(pa.array(rows))
            hashes = hash_strings(rivals["event_id"])
            if not np.array_equal(hashes, self.hashes[index][hits[index]]):
                raise RawChangedError(f"raw file {index} of the period changed between two reads; run again")
            parts.append(
                pa.table(
                    {
                        "hash": hashes,
                        "id": rivals["event_id"].cast(pa.string()),
                        "received": TableValues(rivals).int64("received_at"),
                        "batch": pc.fill_null(rivals["batch_id"].cast(pa.string()), ""),
                        "position": rows + starts[index],
                    }
                )
            )
        if len(parts) != len(hits):
            raise RawChangedError("raw files of the period went missing between two reads; run again")
        return pa.concat_tables(parts)


def needed_rows(
    tables: Iterable[pa.Table], config: AppConfig, need: Need, reread: Callable[[], Iterable[pa.Table]]
) -> Needed:
    """The rows of the raw tables (a period, e.g. one per lake file) that `need` picks, deduplicated
    exactly as if every row were (docs/rollups.md, "Dedupe"): dedupe decides by event id, receipt
    time, batch id and order only, so picking first changes nothing as long as every copy of a
    picked event takes part. Memory holds the picked rows' narrow columns and keys, and a hash per
    row not picked; a row not picked whose hash is a picked one's (a copy of the event with another
    type or user, or a collision) is read again (`reread`: the same tables, `Need.key_columns`)
    and competes in the dedupe without being kept."""
    keys = CopyKeys()
    codes = RowsBuilder(config, figures=False, dims=need.dims, dedupe=False) if need.codes else None
    parts: list[pa.Table] = []
    others = _Others([], [])
    read = 0
    payload = {
        d.source.removeprefix("payload.") for d in config.dimension_specs() if d.source.startswith("payload.")
    }
    looked_up = need.keys | (payload if need.codes and need.dims else set())
    for table in tables:
        picked_mask = need.rows(table)
        hashes = hash_strings(table["event_id"])
        table = _narrowed_maps(table, looked_up)  # before picking: the copy holds no other entries
        rows = np.flatnonzero(picked_mask)
        picked = table if len(rows) == table.num_rows else table.filter(pa.array(picked_mask))
        keys.add(picked, hashes[rows], rows + read)
        if codes is not None:
            codes.add(picked)
        parts.append(_narrow(picked, need))
        others.hashes.append(hashes[~picked_mask])
        others.sizes.append(table.num_rows)
        read += table.num_rows
        del table, picked, hashes
        release_freed_memory()
    rivals = others.rivals(keys.hashes(), need, reread)
    del others
    keep = keys.first_copies(rivals, keep_ids=need.ids)
    release_freed_memory()
    narrow = pa.concat_tables(parts) if parts else _narrow(_empty_raw(need.columns(config)), need)
    return Needed(
        table=narrow if keep.all() else narrow.filter(pa.array(keep)),
        rows=codes.build(keep) if codes is not None else None,
        ids=keys.kept_ids(keep) if need.ids else None,
    )


def _empty_raw(columns: list[str]) -> pa.Table:
    from liveops.domain.raw_batch import RAW_EVENTS_SCHEMA

    return RAW_EVENTS_SCHEMA.empty_table().select(columns)


def release_freed_memory() -> None:
    """Hand freed heap pages back to the OS. glibc keeps the pages of freed arrays smaller than
    its mmap threshold (each file's arrays are), so a Lambda's memory would count them as used."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)
