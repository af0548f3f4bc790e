"""DynamoDB adapter for admin/metrics bearer tokens, in the apps table (single-table design).

Two items per token, written and revoked together in one transaction:
- `pk=TOKEN#<sha256 of the token>, sk=TOKEN`: the lookup a request makes (one GetItem);
- `pk=TOKENS, sk=TOKEN#<token_id>`: the listing item (one Query lists every token).
The token itself is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from liveops.storage.dynamo import all_items, now_iso

TOKEN_SK = "TOKEN"
LIST_PK = "TOKENS"


@dataclass(frozen=True)
class TokenRecord:
    token_id: str
    role: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _record(item: dict[str, Any]) -> TokenRecord:
    return TokenRecord(
        token_id=item["token_id"]["S"],
        role=item["role"]["S"],
        created_at=item["created_at"]["S"],
        revoked_at=item.get("revoked_at", {}).get("S"),
    )


class TokensStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def add(self, token_id: str, token_hash: str, role: str) -> TokenRecord:
        created = now_iso()
        common = {"token_id": {"S": token_id}, "role": {"S": role}, "created_at": {"S": created}}
        self._db.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {"pk": {"S": f"TOKEN#{token_hash}"}, "sk": {"S": TOKEN_SK}, **common},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": {"S": LIST_PK},
                            "sk": {"S": f"TOKEN#{token_id}"},
                            "token_hash": {"S": token_hash},
                            **common,
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
        return TokenRecord(token_id=token_id, role=role, created_at=created)

    def find(self, token_hash: str) -> TokenRecord | None:
        # consistent read: a revoked token stops working at once (no cache, unlike client keys)
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"TOKEN#{token_hash}"}, "sk": {"S": TOKEN_SK}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else _record(item)

    def list(self) -> list[TokenRecord]:
        items = all_items(
            self._db.query,
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :token)",
            ExpressionAttributeValues={":pk": {"S": LIST_PK}, ":token": {"S": "TOKEN#"}},
        )
        return sorted(map(_record, items), key=lambda r: (r.created_at, r.token_id))

    def revoke(self, token_id: str) -> bool:
        """Mark both items revoked (the first revocation time is kept); False if there is no such token."""
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": LIST_PK}, "sk": {"S": f"TOKEN#{token_id}"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return False
        revoked = {":at": {"S": now_iso()}}
        keys = [
            {"pk": {"S": f"TOKEN#{item['token_hash']['S']}"}, "sk": {"S": TOKEN_SK}},
            {"pk": {"S": LIST_PK}, "sk": {"S": f"TOKEN#{token_id}"}},
        ]
        self._db.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": key,
                        "UpdateExpression": "SET revoked_at = if_not_exists(revoked_at, :at)",
                        "ExpressionAttributeValues": revoked,
                    }
                }
                for key in keys
            ]
        )
        return True
