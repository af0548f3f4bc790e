"""DynamoDB adapter for sticky experiment assignments: the first one written wins, forever."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from liveops.storage.dynamo import all_items


class AssignmentsStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    @staticmethod
    def _key(app_id: str, experiment_id: str, user_hash: str) -> dict[str, Any]:
        return {"pk": {"S": f"{app_id}#{experiment_id}"}, "sk": {"S": user_hash}}

    def get_many(self, app_id: str, experiment_ids: list[str], user_hash: str) -> dict[str, str]:
        """experiment id -> stored variant id, for the experiments this user is already in."""
        found: dict[str, str] = {}
        for start in range(0, len(experiment_ids), 100):  # BatchGetItem takes 100 keys
            keys = [self._key(app_id, e, user_hash) for e in experiment_ids[start : start + 100]]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                page = self._db.batch_get_item(RequestItems=request)
                for item in page.get("Responses", {}).get(self._table, []):
                    found[item["pk"]["S"].split("#", 1)[1]] = item["variant_id"]["S"]
                request = page.get("UnprocessedKeys") or {}
        return found

    def put_if_absent(
        self, app_id: str, experiment_id: str, user_hash: str, variant_id: str, expires_at: int | None = None
    ) -> str:
        """Store the assignment unless one exists; returns the variant that is stored (sticky)."""
        item = {
            **self._key(app_id, experiment_id, user_hash),
            "variant_id": {"S": variant_id},
            "assigned_at": {"N": str(int(time.time() * 1000))},
        }
        if expires_at is not None:
            item["expires_at"] = {"N": str(expires_at)}
        try:
            self._db.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # a concurrent first call won: everyone gets its answer
            stored = self._db.get_item(
                TableName=self._table, ConsistentRead=True, Key=self._key(app_id, experiment_id, user_hash)
            )["Item"]
            return str(stored["variant_id"]["S"])
        return variant_id

    def export(self, app_id: str, experiment_id: str) -> list[tuple[str, str, int]]:
        """(user_hash, variant_id, assigned_at ms) of every assignment of an experiment."""
        return [
            (i["sk"]["S"], i["variant_id"]["S"], int(i["assigned_at"]["N"]))
            for i in self._items(app_id, experiment_id)
        ]

    # ---- retention: the assignments of a finished experiment are deleted once past retention
    def _items(self, app_id: str, experiment_id: str) -> Iterator[dict[str, Any]]:
        return all_items(
            self._db.query,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{app_id}#{experiment_id}"}},
        )

    def usage(self, app_id: str, experiment_id: str) -> tuple[int, int]:
        """(items, approximate bytes) stored for an experiment."""
        items = size = 0
        for item in self._items(app_id, experiment_id):
            items += 1
            size += item_size(item)
        return items, size

    def set_expiry(self, app_id: str, experiment_id: str, expires_at: int) -> int:
        """Give every assignment of a finished experiment the TTL `expires_at` (epoch seconds);
        items that have it already are left alone. Returns how many changed."""
        changed = 0
        for item in self._items(app_id, experiment_id):
            if item.get("expires_at", {}).get("N") == str(expires_at):
                continue
            self._db.update_item(
                TableName=self._table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET expires_at = :at",
                ConditionExpression="attribute_exists(pk)",  # never recreate a deleted item
                ExpressionAttributeValues={":at": {"N": str(expires_at)}},
            )
            changed += 1
        return changed

    def prune(self, app_id: str, experiment_id: str, dry_run: bool) -> tuple[int, int]:
        """Delete every assignment of an experiment: (items, approximate bytes); nothing changes
        with dry_run."""
        keys: list[dict[str, Any]] = []
        size = 0
        for item in self._items(app_id, experiment_id):
            keys.append({"pk": item["pk"], "sk": item["sk"]})
            size += item_size(item)
        if not dry_run:
            for start in range(0, len(keys), 25):  # BatchWriteItem takes at most 25 requests
                pending: dict[str, Any] = {
                    self._table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
                }
                for attempt in range(10):
                    pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                    if not pending:
                        break
                    time.sleep(min(0.05 * 2**attempt, 2.0))  # throttled: back off, then retry the rest
                else:
                    raise RuntimeError(f"DynamoDB kept refusing deletes of {experiment_id!r}; retry later")
        return len(keys), size


def item_size(item: dict[str, Any]) -> int:
    """Approximate DynamoDB size of an item: attribute names plus their values' text."""
    return sum(len(name) + len(str(next(iter(value.values())))) for name, value in item.items())
