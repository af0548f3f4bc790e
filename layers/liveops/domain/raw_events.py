"""Queue messages of the events queue and the lake partition they belong to: pure, no AWS.

A message is a header (the batch's envelope) and its accepted events. Version 2 carries the
events as ingest validated them (payload fields in the taxonomy's order, compact JSON) with their
client times in epoch ms (ingest computed those for its checks); `v2_parts` derives what the lake
stores: the corrected times, the payload JSON text exactly as it travelled (msgspec hands it over
unparsed), and the payloads parsed in one call per message, which domain/raw_batch.py turns into
the numeric and string maps column-wise. The ingest hot path is spared that per-event work; the
writer, which touches every row anyway, does it column by column. Version 1 (the lake columns
themselves, as ingest built them before) is still read, so messages queued before an upgrade are
written too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal

import msgspec
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
EMPTY_PAYLOAD = msgspec.Raw(b"{}")


class EventV2(msgspec.Struct):
    """What the writer reads of an event: the payload stays JSON text (ingest wrote it compact,
    in the taxonomy's field order) and is parsed once for the whole message."""

    event_id: str
    event_type: str
    payload: msgspec.Raw = EMPTY_PAYLOAD


class MessageV2(msgspec.Struct):
    v: Literal[2]
    app_id: str
    batch_id: str
    received_at: int
    session_id: str
    platform: str
    client_ms: list[int]
    events: list[EventV2]
    sent_at: int | None = None
    user_hash: str | None = None
    client_version: str | None = None
    content_version: str | None = None


V2_DECODER = msgspec.json.Decoder(MessageV2)
PAYLOADS_DECODER = msgspec.json.Decoder(list[dict[str, str | int | float | bool | None]])
EVENT_IDS = attrgetter("event_id")
EVENT_TYPES = attrgetter("event_type")
PAYLOADS = attrgetter("payload")


def parse_message(body: str | bytes) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """A message's header and its event columns; BadMessage when it is not a liveops message."""
    try:
        return v2_parts(V2_DECODER.decode(body))
    except msgspec.ValidationError as exc:  # a v1 message, or a broken one
        v2_problem = str(exc)
    except msgspec.DecodeError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if type(message) is not dict or type(message.get("v")) is not int or message["v"] not in (1, 2):
        raise BadMessage("not a liveops v1 or v2 events message")
    if message["v"] == 2:
        raise BadMessage(f"malformed v2 message: {v2_problem}")
    events = message.pop("events", None)
    check_header(message)
    if type(events) is not dict or any(type(events.get(c)) is not list for c in EVENT_COLUMNS):
        raise BadMessage(f"message events must be columns: {', '.join(EVENT_COLUMNS)}")
    if len({len(events[c]) for c in EVENT_COLUMNS}) != 1:
        raise BadMessage("message event columns differ in length")
    return message, events


def v2_parts(message: MessageV2) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The header and lake columns of a v2 message (see the module docstring)."""
    events = message.events
    client_ms = message.client_ms
    if not events or len(client_ms) != len(events):
        raise BadMessage("a v2 message needs events and one client_ms per event")
    raw_payloads = list(map(PAYLOADS, events))
    try:
        payloads = PAYLOADS_DECODER.decode(b"[" + b",".join(raw_payloads) + b"]")
    except msgspec.DecodeError as exc:
        raise BadMessage(f"an event has a malformed payload: {exc}") from None
    header = msgspec.structs.asdict(message)  # the envelope: every field but the two below
    del header["client_ms"], header["events"]
    skew_ms = message.received_at - message.sent_at if message.sent_at is not None else 0
    return header, {
        "event_id": list(map(EVENT_IDS, events)),
        "event_type": list(map(EVENT_TYPES, events)),
        "event_time": list(map(skew_ms.__add__, client_ms)) if skew_ms else client_ms,
        "client_event_time": client_ms,
        # the JSON texts as bytes (msgspec.Raw): the writer makes one Arrow array of them
        "payload": raw_payloads,
        # the typed maps (nums, attrs) are built from these in Arrow (domain/raw_batch.py)
        "payloads": payloads,
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
