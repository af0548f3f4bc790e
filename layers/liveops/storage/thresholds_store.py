"""DynamoDB adapter for thresholds set through the admin API (the live-ops table:
pk `APP#<app>#THRESHOLD`, sk the threshold id, `doc` the ThresholdSpec as JSON).

The app config's `thresholds` are the defaults; these override them by id or add new ones
(see liveops.services.thresholds for the precedence).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from liveops.models.app_config import ThresholdSpec
from liveops.storage.dynamo import all_items, is_conditional_failure, now_iso


def _key(app_id: str, threshold_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"APP#{app_id}#THRESHOLD"}, "sk": {"S": threshold_id}}


class ThresholdsStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def put(self, app_id: str, threshold: ThresholdSpec) -> str:
        """Store (create or replace) a threshold; its updated_at."""
        updated_at = now_iso()
        self._db.put_item(
            TableName=self._table,
            Item={
                **_key(app_id, threshold.id),
                "doc": {"S": threshold.model_dump_json(exclude_none=True)},
                "updated_at": {"S": updated_at},
            },
        )
        return updated_at

    def list(self, app_id: str) -> list[tuple[ThresholdSpec, str]]:
        """Every stored threshold of the app with its updated_at, by id."""
        items = all_items(
            self._db.query,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"APP#{app_id}#THRESHOLD"}},
        )
        return [
            (ThresholdSpec.model_validate(json.loads(item["doc"]["S"])), item["updated_at"]["S"])
            for item in items
        ]

    def delete(self, app_id: str, threshold_id: str) -> bool:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=_key(app_id, threshold_id),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True
