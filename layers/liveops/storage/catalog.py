"""Glue Data Catalog adapter: registers lake partitions so that Athena sees new data at once, and
deregisters those the retention job deletes."""

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

    def partitions(self, expression: str) -> list[list[str]]:
        """Values of the registered partitions matching a Glue filter expression."""
        found: list[list[str]] = []
        paginator = self._glue.get_paginator("get_partitions")
        pages = paginator.paginate(
            DatabaseName=self._database,
            TableName=self._table,
            Expression=expression,
            ExcludeColumnSchema=True,
        )
        for page in pages:
            found += [list(partition["Values"]) for partition in page.get("Partitions", [])]
        return found

    def delete(self, partitions: list[list[str]]) -> None:
        """Deregister partitions by their values; absent ones are fine, other errors raise."""
        for start in range(0, len(partitions), 25):  # BatchDeletePartition takes at most 25
            chunk = partitions[start : start + 25]
            result = self._glue.batch_delete_partition(
                DatabaseName=self._database,
                TableName=self._table,
                PartitionsToDelete=[{"Values": values} for values in chunk],
            )
            for error in result.get("Errors", []):
                if error.get("ErrorDetail", {}).get("ErrorCode") != "EntityNotFoundException":
                    raise RuntimeError(
                        f"partition {error.get('PartitionValues')}: {error.get('ErrorDetail')}"
                    )
            self._known.difference_update(tuple(values) for values in chunk)
