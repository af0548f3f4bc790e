"""S3 adapter: the lake's objects per data category of an app — listed with their sizes (for
/v1/metrics/storage and the retention job) and deleted in batches (retention)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from liveops.domain.retention import LAKE_CATEGORIES

# the curated tables of docs/rollups.md (the keys of liveops.rollups.schema.TABLES, named here so
# that this listing needs no pyarrow)
CURATED_TABLES = tuple(c.root.split("/", 1)[1] for c in LAKE_CATEGORIES if c.root.startswith("curated/"))
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def category_prefixes(app_id: str) -> dict[str, str]:
    """Data category -> the lake prefix holding it for one app (the layout in architecture.md)."""
    return {category.name: category.prefix(app_id) for category in LAKE_CATEGORIES}


class LakeUsage:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def objects(self, prefix: str) -> Iterator[tuple[str, int]]:
        """(key, bytes) of every object under a prefix."""
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], int(item["Size"])

    def usage(self, prefix: str) -> tuple[int, int]:
        """(bytes, objects) under a prefix."""
        size = objects = 0
        for _, item_size in self.objects(prefix):
            size += item_size
            objects += 1
        return size, objects

    def delete(self, keys: list[str]) -> None:
        """Delete objects (absent ones are fine); any object S3 refused raises."""
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            result = self._s3.delete_objects(
                Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in chunk], "Quiet": True}
            )
            errors = result.get("Errors", [])
            if errors:
                first = errors[0]
                raise RuntimeError(
                    f"S3 refused to delete {len(errors)} object(s), e.g. {first.get('Key')}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )
