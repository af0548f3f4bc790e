"""Validation of a telemetry batch against an app: pure logic, no AWS.

Two paths with one outcome. Batches decoded by the app's msgspec decoder (domain/batch_decoder.py)
are accepted whole by `accept_decoded` when every event is valid; anything else goes through the
event-by-event loop of `validate_batch`, the reference that words every rejection. The accepted
events travel to the writer as they came (queue message v2); the writer derives the lake columns
(corrected times, typed fields, payload text) in domain/raw_events.py, so this hot path does no
per-event work beyond the checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from liveops.domain.batch_decoder import (
    ENCODER,
    EPOCH,
    ONE_MS,
    BatchDecoder,
    accept_decoded,
    is_decoded,
    to_dicts,
)
from liveops.domain.event_schema import EventValidator, compile_taxonomy
from liveops.errors import BadRequest

if TYPE_CHECKING:  # the pydantic models load with the first request, not with the handler
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
    decoder: BatchDecoder | None = None
    # each event type's payload fields in the taxonomy's order (the order payloads travel in)
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, config: AppConfig) -> CompiledApp:
        return cls(
            config=config,
            validators=compile_taxonomy(config),
            platforms=frozenset(config.platforms),
            decoder=BatchDecoder(config),
            fields={event_type: tuple(spec.fields) for event_type, spec in config.events.items()},
        )


MESSAGE_VERSION = 2


@dataclass
class ValidatedBatch:
    """What the ingest function enqueues: a header shared by the batch and the accepted events,
    each as the client sent it (a decoded msgspec Struct or a plain JSON object)."""

    header: dict[str, Any]
    events: list[Any] = field(default_factory=list)
    # each accepted event's client time in epoch ms, as checked here (the writer applies the skew)
    client_ms: list[int] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # `events` as JSON text when the decoder's encoding of them is at hand (all were accepted)
    events_json: bytes | None = None

    @property
    def accepted(self) -> int:
        return len(self.events)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, in integer arithmetic (floats lose a millisecond after 2038)."""
    return (moment - EPOCH) // ONE_MS


def _is_unicode(text: str) -> bool:
    """False for a string with a lone surrogate (Python's JSON parser lets one through)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    oldest_ms = received_at_ms - app.config.max_event_age_days * DAY_MS
    newest_ms = received_at_ms + max_future_ms
    events = batch.events
    result = ValidatedBatch(
        header={
            "v": MESSAGE_VERSION,
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
    if is_decoded(events):
        oversize = app.decoder.oversize(max_payload_bytes) if app.decoder is not None else frozenset()
        all_client_ms = accept_decoded(events, skew_ms, oldest_ms, newest_ms, oversize, max_payload_bytes)
        if all_client_ms is not None:
            result.events = events
            result.events_json = batch.events_json
            result.client_ms = all_client_ms
            return result
        events = to_dicts(events)
    validators = app.validators
    fields = app.fields
    max_age_days = app.config.max_event_age_days
    seen_ids: set[str] = set()
    rejected = result.rejected
    accepted = result.events
    accepted_ms = result.client_ms

    def reject(index: int, code: str, message: str) -> None:
        rejected.append({"index": index, "code": code, "message": message})

    fromisoformat = datetime.fromisoformat
    dumps = orjson.dumps
    for index, event in enumerate(events):
        if type(event) is not dict:
            reject(index, "invalid_event", "an event must be a JSON object")
            continue
        event_id = event.get("event_id")
        if type(event_id) is not str or not 0 < len(event_id) <= 128:
            reject(index, "invalid_event_id", "event_id must be a string of 1 to 128 characters")
            continue
        if not event_id.isascii() and not _is_unicode(event_id):
            reject(index, "invalid_event_id", "event_id must be valid Unicode")
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
        problems = validator(payload)
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
        # as the decoder's path sends it: fields in the taxonomy's order, a null one left out
        ordered = {name: payload[name] for name in fields[event_type] if payload.get(name) is not None}
        accepted.append(
            {"event_type": event_type, "event_id": event_id, "event_time": raw_time, "payload": ordered}
        )
        accepted_ms.append(client_ms)
    return result


def queue_messages(batch: ValidatedBatch, max_bytes: int) -> list[bytes]:
    """The accepted events as queue message bodies of at most `max_bytes` each (an event larger
    than that on its own travels alone): `{header..., "client_ms": [...], "events": [...]}`."""
    if not batch.accepted:
        return []
    head = orjson.dumps(batch.header)[:-1]

    def message(client_ms: list[int], events: bytes) -> bytes:
        return head + b',"client_ms":' + orjson.dumps(client_ms) + b',"events":' + events + b"}"

    whole = message(batch.client_ms, batch.events_json or ENCODER.encode(batch.events))
    if len(whole) <= max_bytes:  # the usual case: one message
        return [whole]
    messages: list[bytes] = []
    room = max_bytes - len(head) - 32  # the two keys, brackets and the closing brace
    start, size = 0, 0
    encoded = list(map(ENCODER.encode, batch.events))
    for index, event in enumerate(encoded):
        event_size = len(event) + len(str(batch.client_ms[index])) + 2  # and two commas
        if index > start and size + event_size > room:
            messages.append(
                message(batch.client_ms[start:index], b"[" + b",".join(encoded[start:index]) + b"]")
            )
            start, size = index, 0
        size += event_size
    messages.append(message(batch.client_ms[start:], b"[" + b",".join(encoded[start:]) + b"]"))
    return messages
