"""DynamoDB adapter for live events, experiments and content manifests (one table, per-app keys)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from liveops.domain.experiments import rollback_target
from liveops.errors import Conflict, NotFound
from liveops.models.liveops import ContentIn
from liveops.storage.dynamo import all_items, is_conditional_failure, now_iso

# which statuses an experiment may move to, from each status
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("running", "finished"),
    "running": ("paused", "finished"),
    "paused": ("running", "finished"),
    "finished": (),
}


class LiveOpsStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def _query(self, pk: str, prefix: str | None = None, newest_first: bool = False) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "ScanIndexForward": not newest_first,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        if prefix:
            kwargs["KeyConditionExpression"] += " AND begins_with(sk, :prefix)"
            kwargs["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        return list(all_items(self._db.query, **kwargs))

    # ---------------------------------------------------------------- live events
    def put_event(self, app_id: str, event_id: str, doc: dict[str, Any]) -> dict[str, Any]:
        record = {"id": event_id, **doc, "updated_at": now_iso()}
        self._db.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"APP#{app_id}#EVENT"},
                "sk": {"S": event_id},
                "doc": {"S": json.dumps(record)},
            },
        )
        return record

    def list_events(self, app_id: str) -> list[dict[str, Any]]:
        return [json.loads(i["doc"]["S"]) for i in self._query(f"APP#{app_id}#EVENT")]

    def delete_event(self, app_id: str, event_id: str) -> bool:
        try:
            self._db.delete_item(
                TableName=self._table,
                ConditionExpression="attribute_exists(pk)",
                Key={"pk": {"S": f"APP#{app_id}#EVENT"}, "sk": {"S": event_id}},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    # ---------------------------------------------------------------- experiments
    def put_experiment(self, app_id: str, experiment_id: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Create (as draft) or change an experiment; a finished one is immutable (409)."""
        key = {"pk": {"S": f"APP#{app_id}#EXPERIMENT"}, "sk": {"S": experiment_id}}
        now = now_iso()
        try:
            result = self._db.update_item(
                TableName=self._table,
                Key=key,
                ReturnValues="ALL_NEW",
                UpdateExpression="SET doc = :doc, updated_at = :now, #s = if_not_exists(#s, :draft)",
                ConditionExpression="attribute_not_exists(pk) OR #s <> :finished",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":doc": {"S": json.dumps(doc)},
                    ":now": {"S": now},
                    ":draft": {"S": "draft"},
                    ":finished": {"S": "finished"},
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise Conflict(
                    f"experiment {experiment_id!r} is finished and can no longer change",
                    code="experiment_finished",
                ) from None
            raise
        return self._experiment(result["Attributes"])

    @staticmethod
    def _experiment(item: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": item["sk"]["S"],
            **json.loads(item["doc"]["S"]),
            "status": item["status"]["S"],
            "updated_at": item["updated_at"]["S"],
        }

    def get_experiment(self, app_id: str, experiment_id: str) -> dict[str, Any] | None:
        item = self._db.get_item(
            TableName=self._table,
            ConsistentRead=True,
            Key={"pk": {"S": f"APP#{app_id}#EXPERIMENT"}, "sk": {"S": experiment_id}},
        ).get("Item")
        return self._experiment(item) if item else None

    def list_experiments(self, app_id: str) -> list[dict[str, Any]]:
        return [self._experiment(i) for i in self._query(f"APP#{app_id}#EXPERIMENT")]

    def set_status(self, app_id: str, experiment_id: str, status: str) -> dict[str, Any]:
        """Move an experiment along draft -> running <-> paused -> finished; 409 otherwise."""
        allowed_from = [s for s, targets in TRANSITIONS.items() if status in targets]
        values = {f":from{i}": {"S": s} for i, s in enumerate(allowed_from)}
        try:
            result = self._db.update_item(
                TableName=self._table,
                ReturnValues="ALL_NEW",
                Key={"pk": {"S": f"APP#{app_id}#EXPERIMENT"}, "sk": {"S": experiment_id}},
                UpdateExpression="SET #s = :to, updated_at = :now",
                ConditionExpression=f"attribute_exists(pk) AND #s IN ({', '.join(values)})",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={**values, ":to": {"S": status}, ":now": {"S": now_iso()}},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            current = self.get_experiment(app_id, experiment_id)
            if current is None:
                raise NotFound(f"no experiment {experiment_id!r}", code="unknown_experiment") from None
            raise Conflict(
                f"an experiment cannot go from {current['status']} to {status}", code="invalid_transition"
            ) from None
        return self._experiment(result["Attributes"])

    # ---------------------------------------------------------------- content manifest
    def content(self, app_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The active manifest and the history (newest first)."""
        items = self._query(f"APP#{app_id}#CONTENT", newest_first=True)
        current = next((json.loads(i["doc"]["S"]) for i in items if i["sk"]["S"] == "CURRENT"), None)
        history = [json.loads(i["doc"]["S"]) for i in items if i["sk"]["S"].startswith("H#")]
        return current, history

    def _switch(self, app_id: str, action: str, content: ContentIn, expected_seq: int) -> dict[str, Any]:
        seq = expected_seq + 1
        now = now_iso()
        current = {
            "active_version": content.version,
            "content_hash": content.content_hash,
            "min_supported_client_version": content.min_supported_client_version,
            "updated_at": now,
            "seq": seq,
        }
        entry = {
            "seq": seq,
            "action": action,
            "version": content.version,
            "content_hash": content.content_hash,
            "min_supported_client_version": content.min_supported_client_version,
            "at": now,
        }
        pk = {"S": f"APP#{app_id}#CONTENT"}
        condition = "attribute_not_exists(pk)" if expected_seq == 0 else "seq = :expected"
        put_current: dict[str, Any] = {
            "TableName": self._table,
            "ConditionExpression": condition,
            "Item": {
                "pk": pk,
                "sk": {"S": "CURRENT"},
                "doc": {"S": json.dumps(current)},
                "seq": {"N": str(seq)},
            },
        }
        if expected_seq:
            put_current["ExpressionAttributeValues"] = {":expected": {"N": str(expected_seq)}}
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {"Put": put_current},
                    {
                        "Put": {
                            "TableName": self._table,
                            "ConditionExpression": "attribute_not_exists(pk)",
                            "Item": {"pk": pk, "sk": {"S": f"H#{seq:010d}"}, "doc": {"S": json.dumps(entry)}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise Conflict(
                    "the content manifest changed meanwhile; retry", code="concurrent_change"
                ) from None
            raise
        return current

    def set_content(self, app_id: str, content: ContentIn) -> dict[str, Any]:
        current, _ = self.content(app_id)
        return self._switch(app_id, "set", content, current["seq"] if current else 0)

    def rollback_content(self, app_id: str) -> dict[str, Any]:
        """Switch back to the version that was active before the current one."""
        current, history = self.content(app_id)
        if current is None:
            raise NotFound("this app has no content manifest yet", code="no_content")
        previous = rollback_target(history)
        if previous is None:
            raise Conflict("there is no earlier content version to roll back to", code="nothing_to_roll_back")
        content = ContentIn(
            version=previous["version"],
            content_hash=previous["content_hash"],
            min_supported_client_version=previous["min_supported_client_version"],
        )
        return self._switch(app_id, "rollback", content, current["seq"])
