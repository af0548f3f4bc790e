"""DynamoDB adapter for job state: partitions waiting for a rollup, leases, runs and watermarks.

The writer marks each (app, hour) it writes as dirty; a rollup recomputes dirty partitions and
clears a marker only if it was not touched again meanwhile (conditional delete on its version),
so events that arrive during a run are picked up by the next one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from liveops.storage.dynamo import all_items

RUN_TTL_SECONDS = 30 * 86_400


@dataclass(frozen=True)
class DirtyMark:
    key: str  # "2026-11-22T14" for an hour, "2026-11-22" for a day
    version: int


class JobState:
    def __init__(self, dynamodb: Any, table: str, clock: Any = time.time) -> None:
        self._db = dynamodb
        self._table = table
        self._clock = clock

    # ---- dirty partitions
    def mark(self, scope: str, app_id: str, key: str) -> None:
        """Record that a partition changed (scope: 'hour' or 'day')."""
        self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"DIRTY#{scope}#{app_id}"}, "sk": {"S": key}},
            UpdateExpression="ADD version :one SET updated_at = :now",
            ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"N": str(int(self._clock()))}},
        )

    def dirty(self, scope: str, app_id: str) -> list[DirtyMark]:
        items = all_items(
            self._db.query,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"DIRTY#{scope}#{app_id}"}},
            ConsistentRead=True,
        )
        return sorted((DirtyMark(i["sk"]["S"], int(i["version"]["N"])) for i in items), key=lambda m: m.key)

    def clear(self, scope: str, app_id: str, mark: DirtyMark) -> bool:
        """Forget a mark unless it changed since it was read; False when it did (keep it dirty)."""
        try:
            self._db.delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"DIRTY#{scope}#{app_id}"}, "sk": {"S": mark.key}},
                ConditionExpression="version = :seen",
                ExpressionAttributeValues={":seen": {"N": str(mark.version)}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ---- leases: one run per job and app at a time
    def acquire(self, job: str, app_id: str, owner: str, seconds: int) -> bool:
        now = int(self._clock())
        try:
            self._db.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"LEASE#{job}#{app_id}"},
                    "sk": {"S": "LEASE"},
                    "owner": {"S": owner},
                    "expires_at": {"N": str(now + seconds)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR #o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":owner": {"S": owner}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, job: str, app_id: str, owner: str) -> None:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"LEASE#{job}#{app_id}"}, "sk": {"S": "LEASE"}},
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # ---- runs and watermarks
    def record_run(self, job: str, app_id: str, started: float, report: dict[str, Any]) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"RUN#{job}#{app_id}"},
                "sk": {"S": f"{started:017.3f}"},
                "report": {"S": json.dumps(report, sort_keys=True)},
                "expires_at": {"N": str(int(started) + RUN_TTL_SECONDS)},
            },
        )

    def last_run(self, job: str, app_id: str) -> dict[str, Any] | None:
        page = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"RUN#{job}#{app_id}"}},
            ScanIndexForward=False,
            Limit=1,
        )
        items = page.get("Items", [])
        return json.loads(items[0]["report"]["S"]) if items else None

    def set_watermark(self, job: str, app_id: str, value: int) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={"pk": {"S": "WATERMARK"}, "sk": {"S": f"{job}#{app_id}"}, "value": {"N": str(value)}},
        )

    def watermark(self, job: str, app_id: str) -> int | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": "WATERMARK"}, "sk": {"S": f"{job}#{app_id}"}},
            ConsistentRead=True,
        ).get("Item")
        return int(item["value"]["N"]) if item else None
