"""Queue messages of the events queue and the lake partition they belong to: pure, no AWS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

HOUR_MS = 3_600_000
REQUIRED_HEADER = ("app_id", "batch_id", "received_at", "session_id", "platform")
HEADER_TEXT = ("batch_id", "session_id", "user_hash", "platform", "client_version", "content_version")


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


EVENT_COLUMNS = ("event_id", "event_type", "event_time", "client_event_time", "nums", "attrs", "payload")


def parse_message(body: str | bytes) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """A message's header and its event columns; BadMessage when it is not a liveops v1 message."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if type(message) is not dict or type(message.get("v")) is not int or message["v"] != 1:
        raise BadMessage("not a liveops v1 events message")
    events = message.pop("events", None)
    if type(events) is not dict or any(type(events.get(c)) is not list for c in EVENT_COLUMNS):
        raise BadMessage(f"message events must be columns: {', '.join(EVENT_COLUMNS)}")
    if len({len(events[c]) for c in EVENT_COLUMNS}) != 1:
        raise BadMessage("message event columns differ in length")
    check_header(message)
    return message, events


def check_header(header: dict[str, Any]) -> None:
    """BadMessage unless the envelope fields have the types the writer relies on."""
    missing = [k for k in REQUIRED_HEADER if header.get(k) is None]
    if missing:
        raise BadMessage(f"message header lacks {', '.join(missing)}")
    if type(header["received_at"]) is not int or type(header["app_id"]) is not str:
        raise BadMessage("message header has mistyped fields")
    if header.get("sent_at") is not None and type(header["sent_at"]) is not int:
        raise BadMessage("message header has a mistyped sent_at")
    for name in HEADER_TEXT:
        if header.get(name) is not None and type(header[name]) is not str:
            raise BadMessage(f"message header has a mistyped {name}")
