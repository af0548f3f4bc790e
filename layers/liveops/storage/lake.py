"""S3 Parquet adapter for the raw events table of the lake."""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from liveops.domain.raw_batch import RAW_EVENTS_SCHEMA, RawPartition

# high-cardinality columns gain nothing from dictionary pages
NO_DICTIONARY = {"event_id", "payload", "event_time", "client_event_time"}
# min/max statistics only where a query filters (Athena skips pages by them); the payload text,
# the maps and the ids of sessions and users would only cost write time
WITH_STATISTICS = [
    "event_id",
    "event_type",
    "event_time",
    "client_event_time",
    "received_at",
    "platform",
    "client_version",
    "content_version",
]


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        compression_level=1,
        use_dictionary=[name for name in table.column_names if name not in NO_DICTIONARY],
        write_statistics=[name for name in WITH_STATISTICS if name in table.column_names],
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

    def delete(self, partition: RawPartition) -> None:
        """Remove the object `write` made for this partition (a rollback; absent is fine)."""
        self._s3.delete_object(
            Bucket=self._bucket, Key=partition.key.prefix(self._root) + partition.file_name()
        )


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

    def _body(self, key: str) -> io.BytesIO:
        return io.BytesIO(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())

    def _read(self, key: str) -> pa.Table:
        return pq.read_table(self._body(key)).cast(RAW_EVENTS_SCHEMA)

    def _day_keys(self, pool: ThreadPoolExecutor, app_id: str, first: date, last: date) -> list[str]:
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return [k for day_keys in pool.map(lambda d: self.keys(app_id, d), days) for k in day_keys]

    def read_days(self, app_id: str, first: date, last: date) -> pa.Table:
        with ThreadPoolExecutor(max_workers=self._readers) as pool:
            tables = list(pool.map(self._read, self._day_keys(pool, app_id, first, last)))
        return pa.concat_tables(tables) if tables else RAW_EVENTS_SCHEMA.empty_table()

    def iter_days(self, app_id: str, first: date, last: date, columns: Sequence[str]) -> Iterator[pa.Table]:
        """The days' files one table at a time (see `read_columns`), a few fetched ahead: downloads
        overlap the caller's work while memory holds a few files, not days."""
        with ThreadPoolExecutor(max_workers=self._readers) as pool:
            keys = self._day_keys(pool, app_id, first, last)
        yield from prefetch(lambda key: read_columns(self._body(key), columns), keys)


# read as dictionaries: a repeated string then costs an index, and the rollups encode them anyway
DICTIONARY_COLUMNS = (
    "event_type",
    "batch_id",
    "session_id",
    "user_hash",
    "platform",
    "client_version",
    "content_version",
    "nums.key_value.key",
    "attrs.key_value.key",
    "attrs.key_value.value",
)


def read_columns(source: Any, columns: Sequence[str]) -> pa.Table:
    """Some columns of a raw events file, string columns dictionary-encoded."""
    wanted = set(columns)
    dictionary = [c for c in DICTIONARY_COLUMNS if c.split(".")[0] in wanted]
    return pq.read_table(source, columns=list(columns), read_dictionary=dictionary)


Source = TypeVar("Source")


def prefetch(
    read: Callable[[Source], pa.Table], sources: Iterable[Source], ahead: int = 1
) -> Iterator[pa.Table]:
    """`read(source)` of each source in order, up to `ahead` of them running in the background."""
    with ThreadPoolExecutor(max_workers=ahead) as pool:
        pending: deque[Future[pa.Table]] = deque()
        for source in sources:
            pending.append(pool.submit(read, source))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
