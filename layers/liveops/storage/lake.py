"""S3 Parquet adapter for the raw events table of the lake."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from liveops.domain.raw_batch import RawPartition

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
