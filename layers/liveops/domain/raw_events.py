"""Queue messages of the events queue and the lake partition they belong to: pure, no AWS.

A message is a header (the batch's envelope) and its accepted events. Version 2 carries the
events as the client sent them, and `event_columns` derives what the lake stores (corrected and
client times in epoch ms, numeric and string payload fields apart, the payload as canonical JSON
text with sorted keys):
the ingest hot path is spared that per-event work, and the writer, which touches every row
anyway, does it column by column. Version 1 (the lake columns themselves, as ingest built them
before) is still read, so messages queued before an upgrade are written too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import attrgetter, floordiv, itemgetter, sub
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
VERSIONS = (1, 2)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
REQUIRED = itemgetter("event_id", "event_type", "event_time")
TZINFO = attrgetter("tzinfo")


def parse_message(body: str | bytes) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """A message's header and its event columns; BadMessage when it is not a liveops message."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if type(message) is not dict or type(message.get("v")) is not int or message["v"] not in VERSIONS:
        raise BadMessage("not a liveops v1 or v2 events message")
    events = message.pop("events", None)
    check_header(message)
    if message["v"] == 2:
        return message, event_columns(message, events)
    if type(events) is not dict or any(type(events.get(c)) is not list for c in EVENT_COLUMNS):
        raise BadMessage(f"message events must be columns: {', '.join(EVENT_COLUMNS)}")
    if len({len(events[c]) for c in EVENT_COLUMNS}) != 1:
        raise BadMessage("message event columns differ in length")
    return message, events


def event_columns(header: dict[str, Any], events: Any) -> dict[str, list[Any]]:
    """The lake columns of a v2 message's events (see the module docstring)."""
    if type(events) is not list or not events or set(map(type, events)) != {dict}:
        raise BadMessage("message events must be a non-empty list of objects")
    try:
        ids, types, times = (list(column) for column in zip(*map(REQUIRED, events), strict=True))
        moments = list(map(datetime.fromisoformat, times))
        if None in map(TZINFO, moments):
            raise ValueError("an event_time without a UTC offset")
        client_ms = list(map(floordiv, map(sub, moments, repeat(EPOCH)), repeat(ONE_MS)))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadMessage(f"an event lacks a valid id, type or time: {exc}") from None
    sent_at = header.get("sent_at")
    skew_ms = header["received_at"] - sent_at if sent_at is not None else 0
    payloads = [{} if payload is None else payload for payload in map(dict.get, events, repeat("payload"))]
    nums: list[dict[str, Any]] = []
    attrs: list[dict[str, str]] = []
    try:
        for payload in payloads:
            numbers: dict[str, Any] = {}
            strings: dict[str, str] = {}
            for name, value in payload.items():
                if type(value) is str:
                    strings[name] = value
                elif value is not None:  # a null optional field is stored as absent
                    numbers[name] = value
            nums.append(numbers)
            attrs.append(strings)
        # keys sorted: one text for one payload, whatever order the client or the decoder wrote
        texts = [orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode() for payload in payloads]
    except (AttributeError, orjson.JSONEncodeError) as exc:
        raise BadMessage(f"an event has a malformed payload: {exc}") from None
    return {
        "event_id": ids,
        "event_type": types,
        "event_time": list(map(skew_ms.__add__, client_ms)) if skew_ms else client_ms,
        "client_event_time": client_ms,
        "nums": nums,
        "attrs": attrs,
        "payload": texts,
    }


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
