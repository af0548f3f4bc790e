"""DynamoDB adapter for incidents and the alert evaluation state (the IncidentsTable).

Key design (pk, sk are strings; one partition per app):
- `APP#<app>` / `INC#<incident_id>`: an incident. The id starts with its opening time
  (`inc-YYYYMMDDHHMMSS-<8 hex>`), so a query walks incidents in time order. Attributes: `doc`
  (the Incident as JSON), `version` (optimistic concurrency: every change is a put conditioned on
  the version read), and top-level copies for filters: `status`, `resolved_at`,
  `notification_pending`; `expires_at` (TTL, epoch seconds) once resolved.
- `APP#<app>` / `OPEN#<dedupe key>`: the lock that keeps one open incident per threshold and
  scope (or per job source): written with the incident in one transaction, deleted with its
  resolution in one transaction.
- `APP#<app>` / `BREACH#<threshold id>#<scope key>`: a threshold's breach episode (since when it
  breaches, the incident opened for it), refreshed each run and expiring after a week unused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from liveops.models.incidents import Incident
from liveops.storage.dynamo import all_items, is_conditional_failure


class StaleWrite(Exception):
    """The item changed since it was read (or a lock already exists): re-read and decide again."""


@dataclass(frozen=True)
class Stored:
    incident: Incident
    version: int


def sortable(moment: datetime) -> str:
    """A UTC time as stored in filterable attributes: fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _item_size(item: dict[str, Any]) -> int:
    """Approximate size of a stored item: attribute names plus their values' JSON text."""
    return sum(len(name) + len(json.dumps(value)) for name, value in item.items())


def _pk(app_id: str) -> dict[str, str]:
    return {"S": f"APP#{app_id}"}


def _incident_key(app_id: str, incident_id: str) -> dict[str, Any]:
    return {"pk": _pk(app_id), "sk": {"S": f"INC#{incident_id}"}}


def _lock_key(app_id: str, dedupe_key: str) -> dict[str, Any]:
    return {"pk": _pk(app_id), "sk": {"S": f"OPEN#{dedupe_key}"}}


def _breach_key(app_id: str, breach_key: str) -> dict[str, Any]:
    return {"pk": _pk(app_id), "sk": {"S": f"BREACH#{breach_key}"}}


class IncidentsStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    # ---------------------------------------------------------------- items
    def _item(self, incident: Incident, version: int, expires_at: int | None) -> dict[str, Any]:
        item: dict[str, Any] = {
            **_incident_key(incident.app_id, incident.incident_id),
            "doc": {"S": incident.model_dump_json()},
            "version": {"N": str(version)},
            "status": {"S": incident.status},
            "opened_at": {"S": sortable(incident.opened_at)},
            "notification_pending": {"BOOL": incident.notification_pending},
        }
        if incident.resolved_at is not None:
            item["resolved_at"] = {"S": sortable(incident.resolved_at)}
        if expires_at is not None:
            item["expires_at"] = {"N": str(expires_at)}
        return item

    @staticmethod
    def _stored(item: dict[str, Any]) -> Stored:
        return Stored(Incident.model_validate_json(item["doc"]["S"]), int(item["version"]["N"]))

    # ---------------------------------------------------------------- reads
    def get(self, app_id: str, incident_id: str) -> Stored | None:
        item = self._db.get_item(
            TableName=self._table, Key=_incident_key(app_id, incident_id), ConsistentRead=True
        ).get("Item")
        return self._stored(item) if item else None

    def open_incident_id(self, app_id: str, dedupe_key: str) -> str | None:
        item = self._db.get_item(
            TableName=self._table, Key=_lock_key(app_id, dedupe_key), ConsistentRead=True
        ).get("Item")
        return item["incident_id"]["S"] if item else None

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return all_items(self._db.query, TableName=self._table, **kwargs)

    def scan_incidents(
        self,
        app_id: str,
        *,
        newest_first: bool = True,
        status: str | None = None,
        pending_only: bool = False,
        opened_from: str | None = None,
        opened_to: str | None = None,
    ) -> Iterator[Stored]:
        """Incidents of an app in time order; `opened_from`/`opened_to` bound the incident id
        (ids start with the opening time: pass `inc-YYYYMMDDHHMMSS`)."""
        values: dict[str, Any] = {":pk": _pk(app_id)}
        if opened_from is not None or opened_to is not None:
            condition = "pk = :pk AND sk BETWEEN :low AND :high"
            values[":low"] = {"S": f"INC#{opened_from or 'inc-'}"}
            values[":high"] = {"S": f"INC#{opened_to or 'inc-~'}"}
        else:
            condition = "pk = :pk AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": "INC#"}
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ScanIndexForward": not newest_first,
        }
        filters: list[str] = []
        names: dict[str, str] = {}
        if status is not None:
            filters.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = {"S": status}
        if pending_only:
            filters.append("notification_pending = :true")
            values[":true"] = {"BOOL": True}
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = values
        for item in self._query(**kwargs):
            yield self._stored(item)

    def resolved_before(self, app_id: str, before: datetime) -> Iterator[tuple[dict[str, Any], int]]:
        """(key, approximate bytes) of resolved incidents resolved before `before`."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": "#status = :resolved AND resolved_at < :before",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":pk": _pk(app_id),
                ":prefix": {"S": "INC#"},
                ":resolved": {"S": "resolved"},
                ":before": {"S": sortable(before)},
            },
        }
        for item in self._query(**kwargs):
            yield {"pk": item["pk"], "sk": item["sk"]}, _item_size(item)

    def usage(self, app_id: str) -> tuple[int, int]:
        """(incidents, approximate bytes) stored for an app, sized like `resolved_before`."""
        items = size = 0
        for item in self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": _pk(app_id), ":prefix": {"S": "INC#"}},
        ):
            items += 1
            size += _item_size(item)
        return items, size

    # ---------------------------------------------------------------- writes
    def create(self, incident: Incident, dedupe_key: str) -> None:
        """Write a new open incident and its lock in one transaction; StaleWrite when an incident
        is already open for `dedupe_key` (or the id is taken)."""
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **_lock_key(incident.app_id, dedupe_key),
                                "incident_id": {"S": incident.incident_id},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": self._item(incident, 1, None),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise StaleWrite(dedupe_key) from None
            raise

    def replace(
        self,
        incident: Incident,
        version: int,
        *,
        release_lock: str | None = None,
        expires_at: int | None = None,
    ) -> int:
        """Write the changed incident if it still has `version`; the new version. With
        `release_lock`, the open-lock of that dedupe key is deleted in the same transaction."""
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": self._item(incident, version + 1, expires_at),
            "ConditionExpression": "version = :version",
            "ExpressionAttributeValues": {":version": {"N": str(version)}},
        }
        try:
            if release_lock is None:
                self._db.put_item(**put)
            else:
                self._db.transact_write_items(
                    TransactItems=[
                        {"Put": put},
                        {
                            "Delete": {
                                "TableName": self._table,
                                "Key": _lock_key(incident.app_id, release_lock),
                                "ConditionExpression": "attribute_not_exists(pk) OR incident_id = :id",
                                "ExpressionAttributeValues": {":id": {"S": incident.incident_id}},
                            }
                        },
                    ]
                )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise StaleWrite(incident.incident_id) from None
            raise
        return version + 1

    def delete_keys(self, keys: list[dict[str, Any]]) -> None:
        for start in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            pending: dict[str, Any] = {self._table: requests}
            for _ in range(8):
                unprocessed = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
                if not unprocessed:
                    break
                pending = unprocessed
            else:
                raise RuntimeError("DynamoDB kept deletes unprocessed; retry the prune")

    # ---------------------------------------------------------------- breach state
    def breach_states(self, app_id: str) -> dict[str, dict[str, Any]]:
        """Every stored breach episode of the app, by breach key."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _pk(app_id), ":prefix": {"S": "BREACH#"}},
            "ConsistentRead": True,
        }
        return {
            item["sk"]["S"].removeprefix("BREACH#"): json.loads(item["doc"]["S"])
            for item in self._query(**kwargs)
        }

    def put_breach(self, app_id: str, breach_key: str, state: dict[str, Any], expires_at: int) -> None:
        self._db.put_item(
            TableName=self._table,
            Item={
                **_breach_key(app_id, breach_key),
                "doc": {"S": json.dumps(state, sort_keys=True)},
                "expires_at": {"N": str(expires_at)},
            },
        )

    def delete_breach(self, app_id: str, breach_key: str) -> None:
        self._db.delete_item(TableName=self._table, Key=_breach_key(app_id, breach_key))
