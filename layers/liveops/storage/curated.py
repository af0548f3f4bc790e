"""S3 Parquet adapter for the curated tables: one object per (table, app, day), replaced whole.

A partition is rewritten in a single PUT, so readers see the previous version or the new one,
never a mix; rows are sorted and the writer settings fixed, so the same figures give the same
bytes (re-running a rollup is idempotent to the byte).
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from liveops.rollups.schema import ASSIGNMENTS, SORT_KEYS, TABLES

FILE_NAME = "part-0.parquet"


def curated_bytes(table_name: str, table: pa.Table) -> bytes:
    schema = TABLES[table_name]
    table = table.select(schema.names).cast(schema)
    table = table.sort_by([(key, "ascending") for key in SORT_KEYS[table_name]])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", compression_level=3, write_statistics=True)
    return bytes(sink.getvalue().to_pybytes())


class CuratedLake:
    def __init__(self, s3: Any, bucket: str, root: str = "curated", readers: int = 16) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._root = root
        # one pool for the container's life: starting threads per request costs more than the reads
        self._pool = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="curated")

    def prefix(self, table_name: str, app_id: str, day: date) -> str:
        return f"{self._root}/{table_name}/app_id={app_id}/dt={day.isoformat()}/"

    def location(self, table_name: str, app_id: str, day: date) -> str:
        return f"s3://{self._bucket}/{self.prefix(table_name, app_id, day)}"

    def write(self, table_name: str, app_id: str, day: date, table: pa.Table) -> str:
        key = self.prefix(table_name, app_id, day) + FILE_NAME
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=curated_bytes(table_name, table),
            ContentType="application/vnd.apache.parquet",
        )
        return key

    def read_day(
        self, table_name: str, app_id: str, day: date, dimension: str | None = None
    ) -> pa.Table | None:
        """The day's file, or None; `dimension`: only the rows of that `dim_name` (TOTAL for the
        totals), filtered here so that a range's read holds only what its caller uses."""
        key = self.prefix(table_name, app_id, day) + FILE_NAME
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None
        # ParquetFile: ~40 % less per file than read_table's dataset layer (a range reads 120 files)
        table = pq.ParquetFile(io.BytesIO(body)).read().cast(TABLES[table_name])
        if dimension is not None:
            table = table.filter(pc.equal(table["dim_name"], dimension))
        return table

    def read(
        self, table_name: str, app_id: str, first: date, last: date, dimension: str | None = None
    ) -> pa.Table:
        """Every stored day in [first, last], concatenated (missing days are simply absent);
        `dimension` as in `read_day`, applied file by file in the reader threads."""
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        found = self._pool.map(lambda d: self.read_day(table_name, app_id, d, dimension), days)
        parts = [table for table in found if table is not None]
        schema = TABLES[table_name]
        return pa.concat_tables(parts) if parts else schema.empty_table()

    def assignments_location(self, app_id: str) -> str:
        return f"s3://{self._bucket}/{self._root}/assignments/app_id={app_id}/"

    def write_assignments(self, app_id: str, table: pa.Table) -> str:
        """Replace the app's exported assignments (one file, sorted: same data, same bytes)."""
        table = (
            table.select(ASSIGNMENTS.names)
            .cast(ASSIGNMENTS)
            .sort_by([("experiment_id", "ascending"), ("user_hash", "ascending")])
        )
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd", compression_level=3)
        key = f"{self._root}/assignments/app_id={app_id}/{FILE_NAME}"
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=bytes(sink.getvalue().to_pybytes()),
            ContentType="application/vnd.apache.parquet",
        )
        return key

    def assignments(self, app_id: str) -> pa.Table:
        """Experiment assignments exported for rollups (curated/assignments/app_id=<app>/*.parquet)."""
        prefix = f"{self._root}/assignments/app_id={app_id}/"
        tables = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = self._s3.get_object(Bucket=self._bucket, Key=obj["Key"])["Body"].read()
                tables.append(pq.read_table(io.BytesIO(body)).select(ASSIGNMENTS.names).cast(ASSIGNMENTS))
        return pa.concat_tables(tables) if tables else ASSIGNMENTS.empty_table()
