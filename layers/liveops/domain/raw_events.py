"""Queue messages -> raw event rows grouped by lake partition: pure logic, no AWS, no pyarrow."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

HOUR_MS = 3_600_000


class BadMessage(ValueError):
    """A queue message that can never be written (it goes to the DLQ after retries)."""


@dataclass(frozen=True)
class PartitionKey:
    app_id: str
    hour_index: int  # hours since the epoch of the corrected event time

    @property
    def dt(self) -> str:
        return datetime.fromtimestamp(self.hour_index * 3600, UTC).strftime("%Y-%m-%d")

    @property
    def hour(self) -> str:
        return f"{self.hour_index % 24:02d}"

    def values(self) -> list[str]:
        return [self.app_id, self.dt, self.hour]

    def prefix(self, root: str = "raw/events") -> str:
        return f"{root}/app_id={self.app_id}/dt={self.dt}/hour={self.hour}/"


@dataclass
class PartitionRows:
    """Rows of one partition and the queue messages they came from."""

    key: PartitionKey
    # (header, event); None where a duplicate was dropped after being placed
    rows: list[tuple[dict[str, Any], dict[str, Any]] | None] = field(default_factory=list)
    message_ids: set[str] = field(default_factory=set)

    def file_name(self) -> str:
        # the same messages always give the same name, so a redelivered batch overwrites its file
        digest = hashlib.sha256("\n".join(sorted(self.message_ids)).encode()).hexdigest()[:24]
        return f"part-{digest}.parquet"


REQUIRED_HEADER = ("app_id", "batch_id", "received_at", "session_id", "platform")
REQUIRED_EVENT = ("event_id", "event_type", "event_time", "client_event_time")


def parse_message(body: str | bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if type(message) is not dict or message.get("v") != 1:
        raise BadMessage("not a liveops v1 events message")
    events = message.pop("events", None)
    if type(events) is not list:
        raise BadMessage("message has no events list")
    missing = [k for k in REQUIRED_HEADER if message.get(k) is None]
    if missing:
        raise BadMessage(f"message header lacks {', '.join(missing)}")
    for event in events:
        if type(event) is not dict or any(event.get(k) is None for k in REQUIRED_EVENT):
            raise BadMessage("an event lacks required fields")
    return message, events


def group_by_partition(
    messages: list[tuple[str, dict[str, Any], list[dict[str, Any]]]],
) -> list[PartitionRows]:
    """Group events by (app, hour of corrected time), dropping repeated event_ids (earliest received wins)."""
    groups: dict[PartitionKey, PartitionRows] = {}
    chosen: dict[tuple[str, str], tuple[int, PartitionRows, int]] = {}
    for message_id, header, events in messages:
        app_id = header["app_id"]
        received = header["received_at"]
        for event in events:
            key = PartitionKey(app_id, event["event_time"] // HOUR_MS)
            group = groups.get(key)
            if group is None:
                group = groups[key] = PartitionRows(key)
            group.message_ids.add(message_id)
            identity = (app_id, event["event_id"])
            previous = chosen.get(identity)
            if previous is not None:
                if previous[0] <= received:
                    continue
                # a later-received copy came first in the batch: drop it for this earlier one
                previous[1].rows[previous[2]] = None
            chosen[identity] = (received, group, len(group.rows))
            group.rows.append((header, event))
    return [g for g in groups.values() if any(row is not None for row in g.rows)]
