"""Row-level values of one raw events table (docs/rollups.md): map lookups, dimension values,
identities and filters, as numpy arrays of integer codes.

The `nums` and `attrs` maps are flattened once per table: looking a key up is then a comparison
of integer key codes, where `pc.map_lookup` costs seconds per key on millions of rows. Columns
may be plain strings or dictionary-encoded (as the lake reader returns them); codes are local to
the table and are unified across tables by `Codes.unify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from liveops.models.app_config import AppConfig, CountFilter
from liveops.rollups.grouping import small_codes
from liveops.rollups.schema import NONE_VALUE

TS = pa.timestamp("ms", tz="UTC")


def _single(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.Array):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


@dataclass
class Codes:
    """A string column as integer codes (-1 where missing) into `labels` (which may repeat)."""

    codes: np.ndarray
    labels: pa.Array

    @classmethod
    def of(cls, column: pa.Array | pa.ChunkedArray) -> Codes:
        array = _single(column)
        if not pa.types.is_dictionary(array.type):
            array = pc.dictionary_encode(array)
        indices = array.indices
        codes = (indices.fill_null(-1) if indices.null_count else indices).to_numpy()
        return cls(small_codes(codes, len(array.dictionary)), array.dictionary.cast(pa.string()))

    @classmethod
    def constant(cls, rows: int, label: str) -> Codes:
        return cls(np.zeros(rows, dtype=np.int16), pa.array([label], pa.string()))

    @classmethod
    def scattered(cls, rows: int, at: np.ndarray, codes: np.ndarray, labels: pa.Array) -> Codes:
        """`codes` at rows `at`, missing elsewhere."""
        out = np.full(rows, -1, dtype=small_codes(codes, len(labels)).dtype)
        out[at] = codes
        return cls(out, labels)

    def missing_as(self, label: str) -> Codes:
        """Missing values replaced by `label`: no code is -1 any more."""
        if (self.codes >= 0).all():
            return self
        extra = len(self.labels)
        labels = pa.concat_arrays([self.labels, pa.array([label], pa.string())])
        return Codes(small_codes(np.where(self.codes < 0, extra, self.codes), len(labels)), labels)

    def code_of(self, label: str) -> np.ndarray:
        """Every code that stands for `label` (labels may repeat)."""
        return np.flatnonzero(pc.equal(self.labels, label).to_numpy(zero_copy_only=False))

    def is_(self, label: str) -> np.ndarray:
        codes = self.code_of(label)
        return self.codes == codes[0] if len(codes) == 1 else np.isin(self.codes, codes)

    @staticmethod
    def unify(parts: list[Codes]) -> tuple[np.ndarray, pa.Array]:
        """One code space for the codes of several tables: (codes, -1 kept where missing; labels)."""
        if not parts:
            return np.zeros(0, dtype=np.int16), pa.array([], pa.string())
        encoded = pc.dictionary_encode(pa.concat_arrays([p.labels for p in parts]))
        mapping = encoded.indices.to_numpy().astype(np.int32)
        out, base = [], 0
        for part in parts:
            local = mapping[base : base + len(part.labels)]
            present = part.codes >= 0
            out.append(
                np.where(present, local[np.where(present, part.codes, 0)], -1) if len(local) else part.codes
            )
            base += len(part.labels)
        return small_codes(np.concatenate(out), len(encoded.dictionary)), encoded.dictionary


class FlatMap:
    """A map column flattened once: the row, key code and value of every entry."""

    def __init__(self, column: pa.Array | pa.ChunkedArray) -> None:
        array = _single(column)
        offsets = array.offsets.to_numpy()
        first, last = int(offsets[0]), int(offsets[-1])
        self.rows = len(array)
        self._ends = offsets[1:] - first  # where each row's entries end
        # a null map has no entries, whatever its offsets say
        self._valid = array.is_valid().to_numpy(zero_copy_only=False) if array.null_count else None
        keys = Codes.of(array.keys.slice(first, last - first))
        self.key_codes = keys.codes
        self.key_labels = keys.labels
        self.items = array.items.slice(first, last - first)
        self._item_codes: Codes | None = None

    def entries(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, entries): the entry of `key` in each map that has one (the first, as map_lookup
        'first'), in row order."""
        codes = np.flatnonzero(pc.equal(self.key_labels, key).to_numpy(zero_copy_only=False))
        if len(codes) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        hit = self.key_codes == codes[0] if len(codes) == 1 else np.isin(self.key_codes, codes)
        entries = np.flatnonzero(hit)
        rows = np.searchsorted(self._ends, entries, side="right")
        keep = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, dtype=bool)
        if self._valid is not None:
            keep &= self._valid[rows]
        return rows[keep], entries[keep]

    def numbers(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, values) of the rows whose map has a non-null number under `key`."""
        rows, entries = self.entries(key)
        values = self.items.take(pa.array(entries))
        if values.null_count:
            rows = rows[values.is_valid().to_numpy(zero_copy_only=False)]
            values = values.drop_null()
        return rows, values.to_numpy(zero_copy_only=False).astype(np.float64)

    def item_codes(self) -> Codes:
        if self._item_codes is None:
            self._item_codes = Codes.of(self.items)
        return self._item_codes

    def texts(self, key: str) -> Codes:
        """Per row: the code of the text under `key` (into the map's value labels), -1 if none."""
        items = self.item_codes()
        rows, entries = self.entries(key)
        codes = items.codes[entries]
        present = codes >= 0
        return Codes.scattered(self.rows, rows[present], codes[present], items.labels)

    def lookup(self, key: str) -> pa.Array:
        """Like `pc.map_lookup(column, key, 'first')`: one value per row, null where absent."""
        rows, entries = self.entries(key)
        slot = np.full(self.rows, -1, dtype=np.int64)
        slot[rows] = entries
        return self.items.take(pa.array(slot, mask=slot < 0))


def integer_texts(values: np.ndarray) -> pa.Array:
    """A number as an integer dimension value: CAST(CAST(x AS BIGINT) AS VARCHAR)."""
    return pc.cast(pc.cast(pa.array(values, pa.float64()), pa.int64(), safe=False), pa.string())


def field_types(config: AppConfig, field: str) -> set[str]:
    return {spec.fields[field].type for spec in config.events.values() if field in spec.fields}


class TableValues:
    """The values the figures need from one raw table, each computed once."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.rows = table.num_rows
        self._maps: dict[str, FlatMap] = {}
        self._codes: dict[str, Codes] = {}

    def flat(self, column: str) -> FlatMap:
        if column not in self._maps:
            self._maps[column] = FlatMap(self.table[column])
        return self._maps[column]

    def codes(self, column: str) -> Codes:
        if column not in self._codes:
            self._codes[column] = Codes.of(self.table[column])
        return self._codes[column]

    def int64(self, column: str) -> np.ndarray:
        return pc.cast(pc.cast(self.table[column], TS), pa.int64()).to_numpy()

    def dimension(self, config: AppConfig, source: str) -> Codes:
        """The dimension value of every row, `(none)` where missing."""
        if not source.startswith("payload."):
            return self.codes(source).missing_as(NONE_VALUE)
        field = source.removeprefix("payload.")
        types = field_types(config, field)
        texts = self.flat("attrs").texts(field) if "string" in types or not types else None
        ints = None
        if types - {"string"} or not types:
            rows, values = self.flat("nums").numbers(field)
            ints = Codes.scattered(
                self.rows, rows, np.arange(len(rows), dtype=np.int32), integer_texts(values)
            )
        if texts is None or ints is None:
            found = texts or ints
            assert found is not None
            return found.missing_as(NONE_VALUE)
        # coalesce(text, integer): the two label sets side by side (unify merges equal labels)
        labels = pa.concat_arrays([texts.labels, ints.labels])
        shifted = np.where(ints.codes >= 0, ints.codes.astype(np.int64) + len(texts.labels), -1)
        codes = np.where(texts.codes >= 0, texts.codes, shifted)
        return Codes(small_codes(codes, len(labels)), labels).missing_as(NONE_VALUE)

    def where(self, where: dict[str, Any]) -> np.ndarray:
        """Rows matching every key of a filter (a string compares with attrs, anything else with nums)."""
        mask = np.ones(self.rows, dtype=bool)
        for key, expected in where.items():
            if isinstance(expected, str):
                hit = self.flat("attrs").texts(key).is_(expected)
            else:
                rows, values = self.flat("nums").numbers(key)
                hit = np.zeros(self.rows, dtype=bool)
                hit[rows[values == float(expected)]] = True
            mask &= hit
        return mask

    def matches(self, flt: CountFilter) -> np.ndarray:
        return self.codes("event_type").is_(flt.event) & self.where(flt.where)

    def measure(self, event: str, where: dict[str, Any], field: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, values) of a measure: rows of `event` matching `where` with a number under `field`."""
        rows, values = self.flat("nums").numbers(field)
        keep = self.matches(CountFilter(event=event, where=where))[rows]
        return rows[keep], values[keep]
