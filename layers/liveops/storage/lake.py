"""S3 Parquet adapter for the raw events table of the lake."""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from liveops.domain.raw_events import PartitionRows

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
        ("dims", STR_MAP),
        ("nums", NUM_MAP),
        ("attrs", STR_MAP),
        ("payload", pa.string()),
    ]
)
HEADER_COLUMNS = (
    "received_at",
    "sent_at",
    "batch_id",
    "session_id",
    "user_hash",
    "platform",
    "client_version",
    "content_version",
)


class _MapBuilder:
    """Builds a MapArray from flat keys/values and offsets: far faster than lists of tuples."""

    def __init__(self) -> None:
        self.offsets = [0]
        self.keys: list[str] = []
        self.values: list[Any] = []

    def close_row(self) -> None:
        self.offsets.append(len(self.keys))

    def build(self, value_type: pa.DataType) -> pa.MapArray:
        return pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()),
            pa.array(self.keys, pa.string()),
            pa.array(self.values, value_type),
        )


def rows_to_table(group: PartitionRows) -> pa.Table:
    event_id: list[str] = []
    event_type: list[str] = []
    event_time: list[int] = []
    client_time: list[int] = []
    payload_text: list[str] = []
    header_cols: dict[str, list[Any]] = {name: [] for name in HEADER_COLUMNS}
    dims, nums, attrs = _MapBuilder(), _MapBuilder(), _MapBuilder()
    dumps = orjson.dumps
    for row in group.rows:
        if row is None:
            continue
        header, event = row
        event_id.append(event["event_id"])
        event_type.append(event["event_type"])
        event_time.append(event["event_time"])
        client_time.append(event["client_event_time"])
        for name, column in header_cols.items():
            column.append(header.get(name))
        for name, value in (header.get("dims") or {}).items():
            dims.keys.append(name)
            dims.values.append(value)
        for name, value in (event.get("dims") or {}).items():
            dims.keys.append(name)
            dims.values.append(value)
        dims.close_row()
        payload = event.get("payload") or {}
        for name, value in payload.items():
            kind = type(value)
            if kind is str:
                attrs.keys.append(name)
                attrs.values.append(value)
            elif kind is bool:
                attrs.keys.append(name)
                attrs.values.append("true" if value else "false")
            elif kind is int or kind is float:
                nums.keys.append(name)
                nums.values.append(float(value))
        nums.close_row()
        attrs.close_row()
        payload_text.append(dumps(payload).decode())
    columns: dict[str, pa.Array] = {
        "event_id": pa.array(event_id, pa.string()),
        "event_type": pa.array(event_type, pa.string()),
        "event_time": pa.array(event_time, pa.int64()).cast(TS),
        "client_event_time": pa.array(client_time, pa.int64()).cast(TS),
        "received_at": pa.array(header_cols["received_at"], pa.int64()).cast(TS),
        "sent_at": pa.array(header_cols["sent_at"], pa.int64()).cast(TS),
        "dims": dims.build(pa.string()),
        "nums": nums.build(pa.float64()),
        "attrs": attrs.build(pa.string()),
        "payload": pa.array(payload_text, pa.string()),
    }
    for name in ("batch_id", "session_id", "user_hash", "platform", "client_version", "content_version"):
        columns[name] = pa.array(header_cols[name], pa.string())
    return pa.Table.from_arrays([columns[f.name] for f in RAW_EVENTS_SCHEMA], schema=RAW_EVENTS_SCHEMA)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", compression_level=1)
    return bytes(sink.getvalue().to_pybytes())


class RawEventsLake:
    def __init__(self, s3: Any, bucket: str, root: str = "raw/events") -> None:
        self._s3 = s3
        self._bucket = bucket
        self._root = root

    def location(self) -> str:
        return f"s3://{self._bucket}/{self._root}/"

    def write(self, group: PartitionRows) -> str:
        """Write one partition's rows as one Parquet object; returns its key."""
        key = group.key.prefix(self._root) + group.file_name()
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=parquet_bytes(rows_to_table(group)),
            ContentType="application/vnd.apache.parquet",
        )
        return key
