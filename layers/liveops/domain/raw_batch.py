"""A whole SQS batch of events as Arrow columns: deduplicated and split by lake partition.

Built column by column (list comprehensions and pyarrow conversions in C) rather than row by
row: the writer's budget is a few microseconds per event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import is_
from typing import Any

import numpy as np
import pyarrow as pa

from liveops.domain.raw_events import HOUR_MS, BadMessage, PartitionKey, check_header

TS = pa.timestamp("ms", tz="UTC")
STR_MAP = pa.map_(pa.string(), pa.string())
NUM_MAP = pa.map_(pa.string(), pa.float64())

# Must match RawEventsTable's columns in template.yaml (a test checks it).
RAW_EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event_type", pa.string()),
        ("event_time", TS),
        ("client_event_time", TS),
        ("received_at", TS),
        ("sent_at", TS),
        ("batch_id", pa.string()),
        ("session_id", pa.string()),
        ("user_hash", pa.string()),
        ("platform", pa.string()),
        ("client_version", pa.string()),
        ("content_version", pa.string()),
        ("nums", NUM_MAP),
        ("attrs", STR_MAP),
        ("payload", pa.string()),
    ]
)
HEADER_STRINGS = ("batch_id", "session_id", "user_hash", "platform", "client_version", "content_version")


@dataclass
class RawPartition:
    key: PartitionKey
    table: pa.Table
    message_ids: list[str]

    def file_name(self) -> str:
        # the same messages always give the same name, so a redelivered batch overwrites its file
        digest = hashlib.sha256("\n".join(sorted(self.message_ids)).encode()).hexdigest()[:24]
        return f"part-{digest}.parquet"


EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event_type", pa.string()),
        ("event_time", pa.int64()),
        ("client_event_time", pa.int64()),
        ("nums", NUM_MAP),
        ("attrs", STR_MAP),
        ("payload", pa.string()),
    ]
)


def payload_maps(payloads: list[dict[str, Any]]) -> tuple[pa.Array, pa.Array]:
    """The `nums` and `attrs` maps of validated payloads, built column-wise: all keys and values
    flattened in C, sorted by value type with masks (strings to attrs, numbers and booleans to
    nums as doubles, nulls dropped), then assembled as map arrays from offsets."""
    rows = len(payloads)
    counts = np.fromiter(map(len, payloads), np.int64, rows)
    keys = pa.array(list(chain.from_iterable(payloads)), pa.string())
    values = list(chain.from_iterable(map(dict.values, payloads)))
    text_flags = list(map(isinstance, values, repeat(str)))
    is_text = np.array(text_flags, dtype=bool)
    is_number = ~is_text
    if None in values:  # only v1-era or hand-made messages carry nulls; ingest leaves them out
        is_number &= ~np.array(list(map(is_, values, repeat(None))), dtype=bool)
    row_of_entry = np.repeat(np.arange(rows), counts)

    def as_map(mask: np.ndarray, items: pa.Array) -> pa.Array:
        offsets = np.zeros(rows + 1, dtype=np.int32)
        np.cumsum(np.bincount(row_of_entry[mask], minlength=rows), out=offsets[1:])
        return pa.MapArray.from_arrays(pa.array(offsets), keys.filter(pa.array(mask)), items)

    numbers = np.fromiter(compress(values, is_number.tolist()), np.float64, int(is_number.sum()))
    texts = pa.array(list(compress(values, text_flags)), pa.string())
    return as_map(is_number, pa.array(numbers)), as_map(is_text, texts)


def texts_array(texts: list[Any]) -> pa.Array:
    """A string array of UTF-8 byte strings (msgspec.Raw or bytes), built from one joined
    buffer and their offsets instead of one Python string each."""
    # int32 offsets: a writer batch is at most 100 messages of 256 KiB, far below 2 GiB
    offsets = np.zeros(len(texts) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, texts), np.int32, len(texts)), out=offsets[1:])
    return pa.StringArray.from_buffers(len(texts), pa.py_buffer(offsets), pa.py_buffer(b"".join(texts)))


def event_batch(events: dict[str, list[Any]]) -> pa.RecordBatch:
    """The per-event columns of messages (envelope columns are added per batch). A v2 message
    brings the payload objects and texts as bytes, a v1 message the maps and texts themselves."""
    if "payloads" in events:
        nums, attrs = payload_maps(events["payloads"])
        payload = texts_array(events["payload"])
    else:
        nums, attrs = pa.array(events["nums"], NUM_MAP), pa.array(events["attrs"], STR_MAP)
        payload = pa.array(events["payload"], pa.string())
    return pa.RecordBatch.from_arrays(
        [
            pa.array(events["event_id"], pa.string()),
            pa.array(events["event_type"], pa.string()),
            pa.array(events["event_time"], pa.int64()),
            pa.array(events["client_event_time"], pa.int64()),
            nums,
            attrs,
            payload,
        ],
        schema=EVENT_SCHEMA,
    )


def _merged(messages: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """The columns of several v2 messages as one (converted to Arrow in one go)."""
    if len(messages) == 1:
        return messages[0]
    return {name: list(chain.from_iterable(m[name] for m in messages)) for name in messages[0]}


class RawBatch:
    """Accumulates queue messages; `partitions()` dedupes and splits them."""

    def __init__(self) -> None:
        # per message: its Arrow batch (v1, converted on arrival to check it), or its columns
        # (v2: msgspec typed them when parsing; consecutive ones are converted together)
        self._batches: list[pa.RecordBatch | dict[str, list[Any]]] = []
        self._message_ids: list[str] = []
        self._headers: list[dict[str, Any]] = []
        self._apps: list[str] = []
        self._received: list[int] = []
        self._ids: list[list[str]] = []

    def add(self, message_id: str, header: dict[str, Any], events: dict[str, list[Any]]) -> None:
        """Add one message's events, or raise BadMessage and add nothing."""
        check_header(header)
        batch: pa.RecordBatch | dict[str, list[Any]] = events
        if "payloads" not in events:
            try:
                batch = event_batch(events)
            except (KeyError, TypeError, AttributeError, ValueError, pa.ArrowException) as exc:
                raise BadMessage(f"malformed events: {type(exc).__name__}: {exc}") from None
            if any(
                batch.column(name).null_count
                for name in ("event_id", "event_type", "event_time", "client_event_time")
            ):
                raise BadMessage("an event lacks its id, type or times")
        self._batches.append(batch)
        self._message_ids.append(message_id)
        self._headers.append(header)
        self._apps.append(header["app_id"])
        self._received.append(header["received_at"])
        self._ids.append(events["event_id"])

    def _keep_mask(self) -> np.ndarray:
        """Drop repeated (app, event_id): the earliest received copy wins, then the first seen."""
        total = sum(len(ids) for ids in self._ids)
        if len(set(self._apps)) == 1 and len(set(chain.from_iterable(self._ids))) == total:
            return np.ones(total, dtype=bool)  # the usual case, found in C: no id repeats
        keep = np.zeros(total, dtype=bool)
        seen: dict[str, dict[str, tuple[int, int]]] = {}
        row = 0
        for app, received, ids in zip(self._apps, self._received, self._ids, strict=True):
            app_seen = seen.setdefault(app, {})
            for event_id in ids:
                previous = app_seen.get(event_id)
                if previous is None:
                    app_seen[event_id] = (received, row)
                    keep[row] = True
                elif received < previous[0]:
                    keep[previous[1]] = False
                    app_seen[event_id] = (received, row)
                    keep[row] = True
                row += 1
        return keep

    def _table(self, message_of_row: np.ndarray) -> pa.Table:
        """All rows with the envelope columns spread from their message by index."""
        batches: list[pa.RecordBatch] = []
        pending: list[dict[str, list[Any]]] = []
        for batch in [*self._batches, None]:
            if isinstance(batch, dict):
                pending.append(batch)
                continue
            if pending:
                batches.append(event_batch(_merged(pending)))
                pending = []
            if batch is not None:
                batches.append(batch)
        events = pa.Table.from_batches(batches, schema=EVENT_SCHEMA)
        rows = pa.array(message_of_row)
        headers = self._headers

        def spread(name: str, kind: pa.DataType) -> pa.Array:
            return pa.array([h.get(name) for h in headers], kind).take(rows)

        columns: dict[str, Any] = {
            "event_id": events["event_id"],
            "event_type": events["event_type"],
            "event_time": events["event_time"].cast(TS),
            "client_event_time": events["client_event_time"].cast(TS),
            "received_at": spread("received_at", pa.int64()).cast(TS),
            "sent_at": spread("sent_at", pa.int64()).cast(TS),
            "nums": events["nums"],
            "attrs": events["attrs"],
            "payload": events["payload"],
        }
        for name in HEADER_STRINGS:
            columns[name] = spread(name, pa.string())
        return pa.Table.from_arrays([columns[f.name] for f in RAW_EVENTS_SCHEMA], schema=RAW_EVENTS_SCHEMA)

    def partitions(self) -> list[RawPartition]:
        if not any(self._ids):
            return []
        counts = np.fromiter((len(ids) for ids in self._ids), dtype=np.int64, count=len(self._ids))
        message_of_row = np.repeat(np.arange(len(counts)), counts)
        table = self._table(message_of_row)
        app_names = sorted(set(self._apps))
        app_codes = np.array([app_names.index(a) for a in self._apps], dtype=np.int64)[message_of_row]
        hours = table["event_time"].cast(pa.int64()).to_numpy() // HOUR_MS
        keys = (app_codes << 32) | (hours - hours.min())
        keep = self._keep_mask()
        unique_keys = np.unique(keys[keep])
        if len(unique_keys) == 1 and keep.all():
            # the usual case: one app, one hour, no duplicates - no copy needed
            return [
                RawPartition(
                    key=PartitionKey(app_names[int(app_codes[0])], int(hours[0])),
                    table=table,
                    message_ids=list(self._message_ids),
                )
            ]
        result = []
        for key in unique_keys:
            rows = np.flatnonzero(keep & (keys == key))
            first = int(rows[0])
            messages = np.unique(message_of_row[rows])
            result.append(
                RawPartition(
                    key=PartitionKey(app_names[int(app_codes[first])], int(hours[first])),
                    table=table.take(pa.array(rows)),
                    message_ids=[self._message_ids[int(m)] for m in messages],
                )
            )
        return result
