"""S3 adapter: bytes and objects the lake holds per data category of an app (for /v1/metrics/storage)."""

from __future__ import annotations

from typing import Any

# the curated tables of docs/rollups.md (the keys of liveops.rollups.schema.TABLES, named here so
# that this listing needs no pyarrow)
CURATED_TABLES = (
    "rollup_hourly",
    "rollup_daily",
    "kpi_daily",
    "span_daily",
    "funnel_daily",
    "experiment_daily",
)


def category_prefixes(app_id: str) -> dict[str, str]:
    """Data category -> the lake prefix holding it for one app (the layout in architecture.md)."""
    return {
        "raw_events": f"raw/events/app_id={app_id}/",
        **{table: f"curated/{table}/app_id={app_id}/" for table in CURATED_TABLES},
        "exports": f"exports/app_id={app_id}/",
    }


class LakeUsage:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def usage(self, prefix: str) -> tuple[int, int]:
        """(bytes, objects) under a prefix."""
        size = objects = 0
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                size += int(item["Size"])
                objects += 1
        return size, objects
