"""Validation of a telemetry batch against an app: pure logic, no AWS."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from liveops.domain.event_schema import EventValidator, compile_taxonomy
from liveops.errors import BadRequest
from liveops.models.app_config import AppConfig
from liveops.models.telemetry import BatchIn

DAY_MS = 86_400_000
EVENT_KEYS = frozenset(("event_id", "event_type", "event_time", "payload"))
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class CompiledApp:
    """An app config prepared for the hot path (compiled once per config version)."""

    config: AppConfig
    validators: dict[str, EventValidator]
    platforms: frozenset[str]

    @classmethod
    def build(cls, config: AppConfig) -> CompiledApp:
        return cls(config=config, validators=compile_taxonomy(config), platforms=frozenset(config.platforms))


EVENT_COLUMNS = ("event_id", "event_type", "event_time", "client_event_time", "nums", "attrs", "payload")
# JSON overhead of one event in a message besides its ids and payload (quotes, commas, times)
EVENT_OVERHEAD_BYTES = 64
# the payload travels twice: typed (nums/attrs) and as escaped JSON text
PAYLOAD_COPIES = 2.3


@dataclass
class ValidatedBatch:
    """What the ingest function enqueues: a header shared by the batch and the accepted events
    as columns (the writer turns them into Arrow columns without touching single events)."""

    header: dict[str, Any]
    columns: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in EVENT_COLUMNS})
    sizes: list[int] = field(default_factory=list)  # each event's approximate JSON size
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.sizes)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, in integer arithmetic (floats lose a millisecond after 2038)."""
    return (moment - EPOCH) // ONE_MS


def validate_batch(
    batch: BatchIn,
    app: CompiledApp,
    *,
    batch_id: str,
    received_at_ms: int,
    user_hash: str | None,
    max_payload_bytes: int,
    max_future_ms: int = 24 * HOUR_MS,
) -> ValidatedBatch:
    """Check every event on its own; raise BadRequest only for envelope problems."""
    if batch.platform not in app.platforms:
        raise BadRequest(
            f"unknown platform {batch.platform!r}; this app accepts {', '.join(sorted(app.platforms))}",
            code="unknown_platform",
            details=[{"field": "platform"}],
        )
    sent_at_ms = to_ms(batch.sent_at) if batch.sent_at is not None else None
    skew_ms = received_at_ms - sent_at_ms if sent_at_ms is not None else 0
    result = ValidatedBatch(
        header={
            "v": 1,
            "app_id": app.config.app_id,
            "batch_id": batch_id,
            "received_at": received_at_ms,
            "sent_at": sent_at_ms,
            "session_id": batch.session_id,
            "user_hash": user_hash,
            "platform": batch.platform,
            "client_version": batch.client_version,
            "content_version": batch.content_version,
        }
    )
    oldest_ms = received_at_ms - app.config.max_event_age_days * DAY_MS
    newest_ms = received_at_ms + max_future_ms
    validators = app.validators
    max_age_days = app.config.max_event_age_days
    seen_ids: set[str] = set()
    rejected = result.rejected
    columns = result.columns
    ids, types, times, client_times = (columns[c] for c in EVENT_COLUMNS[:4])
    all_nums, all_attrs, payloads = columns["nums"], columns["attrs"], columns["payload"]
    sizes = result.sizes

    def reject(index: int, code: str, message: str) -> None:
        rejected.append({"index": index, "code": code, "message": message})

    fromisoformat = datetime.fromisoformat
    dumps = orjson.dumps
    for index, event in enumerate(batch.events):
        if type(event) is not dict:
            reject(index, "invalid_event", "an event must be a JSON object")
            continue
        event_id = event.get("event_id")
        if type(event_id) is not str or not 0 < len(event_id) <= 128:
            reject(index, "invalid_event_id", "event_id must be a string of 1 to 128 characters")
            continue
        if event_id in seen_ids:
            reject(index, "duplicate_event_id", f"event_id {event_id!r} appears earlier in this batch")
            continue
        if not event.keys() <= EVENT_KEYS:
            unknown = ", ".join(sorted(str(k) for k in event if k not in EVENT_KEYS))
            reject(index, "invalid_event", f"unknown event keys: {unknown}")
            continue
        event_type: Any = event.get("event_type")
        validator = validators.get(event_type) if type(event_type) is str else None
        if validator is None:
            reject(index, "unknown_event_type", f"event_type {event_type!r} is not in this app's taxonomy")
            continue
        raw_time = event.get("event_time")
        try:
            moment = fromisoformat(raw_time)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            moment = None
        if moment is None or moment.tzinfo is None or len(raw_time) > 64:  # type: ignore[arg-type]
            reject(index, "invalid_event_time", "event_time must be an ISO 8601 date-time with a UTC offset")
            continue
        client_ms = (moment - EPOCH) // ONE_MS
        event_ms = client_ms + skew_ms
        if event_ms > newest_ms:
            reject(index, "event_time_in_future", "event_time is more than 24 hours ahead of the server")
            continue
        if event_ms < oldest_ms:
            reject(
                index, "event_too_old", f"event_time is older than {max_age_days} days (max_event_age_days)"
            )
            continue
        payload = event.get("payload")
        if payload is None:
            payload = {}
        elif type(payload) is not dict:
            reject(index, "invalid_payload", "payload must be a JSON object")
            continue
        nums: dict[str, Any] = {}
        attrs: dict[str, Any] = {}
        problems = validator(payload, nums, attrs)
        if problems is not None:
            reject(index, problems[0][0], "; ".join(message for _, message in problems))
            continue
        try:
            payload_json = dumps(payload)
        except orjson.JSONEncodeError:  # e.g. a lone surrogate in a string
            reject(index, "invalid_payload", "payload strings must be valid Unicode")
            continue
        if len(payload_json) > max_payload_bytes:
            reject(
                index,
                "payload_too_large",
                f"payload is {len(payload_json)} bytes; at most {max_payload_bytes}",
            )
            continue
        seen_ids.add(event_id)
        ids.append(event_id)
        types.append(event_type)
        times.append(event_ms)
        client_times.append(client_ms)
        all_nums.append(nums)
        all_attrs.append(attrs)
        payloads.append(payload_json.decode())
        sizes.append(
            int(len(payload_json) * PAYLOAD_COPIES) + len(event_id) + len(event_type) + EVENT_OVERHEAD_BYTES
        )
    return result


def queue_messages(batch: ValidatedBatch, max_bytes: int) -> list[bytes]:
    """Split the accepted events into queue message bodies of at most `max_bytes` each."""
    header = batch.header
    columns = batch.columns

    def encode(start: int, end: int) -> list[bytes]:
        body = orjson.dumps(
            {**header, "events": {name: values[start:end] for name, values in columns.items()}}
        )
        if len(body) <= max_bytes or end - start == 1:
            return [body]
        middle = (start + end) // 2  # the size estimate was short: split in two
        return encode(start, middle) + encode(middle, end)

    messages: list[bytes] = []
    base = len(orjson.dumps(header)) + 128
    start, size = 0, base
    for index, event_size in enumerate(batch.sizes):
        if index > start and size + event_size > max_bytes:
            messages += encode(start, index)
            start, size = index, base
        size += event_size
    if start < batch.accepted:
        messages += encode(start, batch.accepted)
    return messages
