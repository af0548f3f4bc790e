"""S3 Parquet adapter for the raw events table of the lake."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from liveops.domain.raw_batch import RAW_EVENTS_SCHEMA, RawPartition

# high-cardinality columns gain nothing from dictionary pages
NO_DICTIONARY = {"event_id", "payload", "event_time", "client_event_time"}


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        compression_level=1,
        use_dictionary=[name for name in table.column_names if name not in NO_DICTIONARY],
    )
    return bytes(sink.getvalue().to_pybytes())


class RawEventsLake:
    def __init__(self, s3: Any, bucket: str, root: str = "raw/events") -> None:
        self._s3 = s3
        self._bucket = bucket
        self._root = root

    def location(self) -> str:
        return f"s3://{self._bucket}/{self._root}/"

    def write(self, partition: RawPartition) -> str:
        """Write one partition's rows as one Parquet object; returns its key."""
        key = partition.key.prefix(self._root) + partition.file_name()
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=parquet_bytes(partition.table),
            ContentType="application/vnd.apache.parquet",
        )
        return key


class RawEventsReader:
    """Reads raw event files of an app back (for rollups), days at a time, in parallel."""

    def __init__(self, s3: Any, bucket: str, root: str = "raw/events", readers: int = 16) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._root = root
        self._readers = readers

    def keys(self, app_id: str, day: date) -> list[str]:
        prefix = f"{self._root}/app_id={app_id}/dt={day.isoformat()}/"
        found: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            found += [obj["Key"] for obj in page.get("Contents", []) if obj["Key"].endswith(".parquet")]
        return sorted(found)

    def _read(self, key: str) -> pa.Table:
        body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return pq.read_table(io.BytesIO(body)).cast(RAW_EVENTS_SCHEMA)

    def read_days(self, app_id: str, first: date, last: date) -> pa.Table:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        with ThreadPoolExecutor(max_workers=self._readers) as pool:
            keys = [k for day_keys in pool.map(lambda d: self.keys(app_id, d), days) for k in day_keys]
            tables = list(pool.map(self._read, keys))
        return pa.concat_tables(tables) if tables else RAW_EVENTS_SCHEMA.empty_table()
