"""DynamoDB adapter for apps (their configs) and client API keys (stored hashed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from liveops.models.app_config import AppConfig
from liveops.storage.dynamo import all_items, now_iso

CONFIG_SK = "CONFIG"


@dataclass(frozen=True)
class ApiKeyRecord:
    app_id: str
    key_id: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AppsStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    # ---- configs
    def put_config(self, config: AppConfig, *, expected_version: int | None) -> int:
        """Store a config as the app's next version; refuses if someone else applied one meanwhile."""
        version = (expected_version or 0) + 1
        condition = "attribute_not_exists(pk)" if expected_version is None else "config_version = :expected"
        values: dict[str, Any] = {}
        if expected_version is not None:
            values[":expected"] = {"N": str(expected_version)}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Item": {
                "pk": {"S": f"APP#{config.app_id}"},
                "sk": {"S": CONFIG_SK},
                "app_id": {"S": config.app_id},
                "config": {"S": config.model_dump_json(by_alias=True, exclude_none=True)},
                "config_version": {"N": str(version)},
                "updated_at": {"S": now_iso()},
            },
            "ConditionExpression": condition,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        self._db.put_item(**kwargs)
        return version

    def get_config(self, app_id: str) -> tuple[AppConfig, int] | None:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"APP#{app_id}"}, "sk": {"S": CONFIG_SK}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        config = AppConfig.model_validate(orjson.loads(item["config"]["S"]))
        return config, int(item["config_version"]["N"])

    def list_apps(self) -> list[tuple[str, int]]:
        items = all_items(
            self._db.scan,
            TableName=self._table,
            FilterExpression="sk = :config",
            ExpressionAttributeValues={":config": {"S": CONFIG_SK}},
            ProjectionExpression="app_id, config_version",
        )
        return sorted((i["app_id"]["S"], int(i["config_version"]["N"])) for i in items)

    # ---- client keys
    def add_key(self, app_id: str, key_id: str, key_hash: str) -> ApiKeyRecord:
        created = now_iso()
        self._db.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": f"KEY#{key_hash}"},
                            "sk": {"S": "KEY"},
                            "app_id": {"S": app_id},
                            "key_id": {"S": key_id},
                            "created_at": {"S": created},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": f"APP#{app_id}"},
                            "sk": {"S": f"KEY#{key_id}"},
                            "key_hash": {"S": key_hash},
                            "key_id": {"S": key_id},
                            "created_at": {"S": created},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
        return ApiKeyRecord(app_id=app_id, key_id=key_id, created_at=created)

    def find_key(self, key_hash: str) -> ApiKeyRecord | None:
        item = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": f"KEY#{key_hash}"}, "sk": {"S": "KEY"}}
        ).get("Item")
        if item is None:
            return None
        return ApiKeyRecord(
            app_id=item["app_id"]["S"],
            key_id=item["key_id"]["S"],
            created_at=item["created_at"]["S"],
            revoked_at=item.get("revoked_at", {}).get("S"),
        )

    def list_keys(self, app_id: str) -> list[ApiKeyRecord]:
        page = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :key)",
            ExpressionAttributeValues={":pk": {"S": f"APP#{app_id}"}, ":key": {"S": "KEY#"}},
        )
        return [
            ApiKeyRecord(
                app_id=app_id,
                key_id=i["key_id"]["S"],
                created_at=i["created_at"]["S"],
                revoked_at=i.get("revoked_at", {}).get("S"),
            )
            for i in page.get("Items", [])
        ]

    def revoke_key(self, app_id: str, key_id: str) -> bool:
        item = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": f"APP#{app_id}"}, "sk": {"S": f"KEY#{key_id}"}}
        ).get("Item")
        if item is None:
            return False
        revoked = {":at": {"S": now_iso()}}
        for key in (
            {"pk": {"S": f"KEY#{item['key_hash']['S']}"}, "sk": {"S": "KEY"}},
            {"pk": {"S": f"APP#{app_id}"}, "sk": {"S": f"KEY#{key_id}"}},
        ):
            self._db.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at)",
                ExpressionAttributeValues=revoked,
            )
        return True
