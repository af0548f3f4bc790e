"""Glue Data Catalog adapter: registers lake partitions so that Athena sees new data at once."""

from __future__ import annotations

from typing import Any


class PartitionCatalog:
    def __init__(self, glue: Any, database: str, table: str) -> None:
        self._glue = glue
        self._database = database
        self._table = table
        self._known: set[tuple[str, ...]] = set()
        self._descriptor: dict[str, Any] | None = None

    def _storage_descriptor(self) -> dict[str, Any]:
        if self._descriptor is None:
            table = self._glue.get_table(DatabaseName=self._database, Name=self._table)["Table"]
            self._descriptor = table["StorageDescriptor"]
        return self._descriptor

    def register(self, partitions: list[tuple[list[str], str]]) -> None:
        """Register (values, location) pairs; existing partitions are fine, other errors raise."""
        todo = [(values, loc) for values, loc in partitions if tuple(values) not in self._known]
        if not todo:
            return
        base = self._storage_descriptor()
        for start in range(0, len(todo), 100):  # BatchCreatePartition takes at most 100
            chunk = todo[start : start + 100]
            result = self._glue.batch_create_partition(
                DatabaseName=self._database,
                TableName=self._table,
                PartitionInputList=[
                    {"Values": values, "StorageDescriptor": {**base, "Location": location}}
                    for values, location in chunk
                ],
            )
            for error in result.get("Errors", []):
                if error.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException":
                    raise RuntimeError(
                        f"partition {error.get('PartitionValues')}: {error.get('ErrorDetail')}"
                    )
            self._known.update(tuple(values) for values, _ in chunk)
