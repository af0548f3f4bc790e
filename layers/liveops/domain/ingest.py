"""Validation of a telemetry batch against an app: pure logic, no AWS.

Two paths with one outcome. `_accept_all` takes the whole batch in column-wide passes of C-level
builtins (map, zip, set, min/max) for the common case where every event is valid; anything it is
not sure of sends the batch to the event-by-event loop of `validate_batch`, the reference that
words every rejection. Per event, Python bytecode is what costs on the hot path: the reference
loop runs ~40 statements an event, the column passes a handful.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import chain, repeat
from operator import attrgetter, call, floordiv, itemgetter, sub
from typing import TYPE_CHECKING, Any

import orjson

from liveops.domain.event_schema import EventValidator, FastCheck, compile_fast_checks, compile_taxonomy
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
    checks: dict[str, FastCheck] = field(default_factory=dict)

    @classmethod
    def build(cls, config: AppConfig) -> CompiledApp:
        return cls(
            config=config,
            validators=compile_taxonomy(config),
            platforms=frozenset(config.platforms),
            checks=compile_fast_checks(config),
        )


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
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.columns["event_id"])

    @cached_property
    def sizes(self) -> list[int]:
        """Each event's approximate size in a message: only needed when a batch must be split."""
        columns = self.columns
        return [
            int(len(payload if payload.isascii() else payload.encode()) * PAYLOAD_COPIES)
            + len(event_id)
            + len(event_type)
            + EVENT_OVERHEAD_BYTES
            for event_id, event_type, payload in zip(
                columns["event_id"], columns["event_type"], columns["payload"], strict=True
            )
        ]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, in integer arithmetic (floats lose a millisecond after 2038)."""
    return (moment - EPOCH) // ONE_MS


REQUIRED = itemgetter("event_id", "event_type", "event_time")
TZINFO = attrgetter("tzinfo")
ONLY_DICT = {dict}
ONLY_STR = {str}


def _accept_all(
    events: list[Any],
    checks: dict[str, FastCheck],
    skew_ms: int,
    oldest_ms: int,
    newest_ms: int,
    max_payload_bytes: int,
) -> dict[str, list[Any]] | None:
    """The accepted columns when every event is valid, else None (then the reference loop runs).

    Each condition below is one of the reference's checks, taken over all events at once."""
    count = len(events)
    if not count or set(map(type, events)) != ONLY_DICT:
        return None
    try:
        ids, types, times = zip(*map(REQUIRED, events), strict=True)
        fast_checks = list(map(checks.__getitem__, types))
    except (KeyError, TypeError):  # a missing key, an unknown or unhashable event_type
        return None
    payloads = list(map(dict.get, events, repeat("payload")))
    present = count - payloads.count(None)
    # the three keys are there: any other key than a non-null payload is an unknown key (or a null one)
    if sum(map(len, events)) != 3 * count + present:
        return None
    if present != count:
        payloads = [{} if payload is None else payload for payload in payloads]
    if (
        set(map(type, chain(ids, types, times))) != ONLY_STR
        or set(map(type, payloads)) != ONLY_DICT
        or "" in ids
        or max(map(len, ids)) > 128
        or max(map(len, times)) > 64
        or len(set(ids)) != count
    ):
        return None
    try:
        moments = list(map(datetime.fromisoformat, times))
    except ValueError:
        return None
    if None in map(TZINFO, moments):
        return None
    client_ms = list(map(floordiv, map(sub, moments, repeat(EPOCH)), repeat(ONE_MS)))  # to_ms, in C
    event_ms = list(map(skew_ms.__add__, client_ms)) if skew_ms else client_ms.copy()
    if min(event_ms) < oldest_ms or max(event_ms) > newest_ms:
        return None
    splits = list(map(call, fast_checks, payloads))  # type: ignore[arg-type]  # mypy: ParamSpec
    if None in splits:
        return None
    try:
        texts = list(map(orjson.dumps, payloads))
    except orjson.JSONEncodeError:
        return None
    if max(map(len, texts)) > max_payload_bytes:
        return None
    nums, attrs = zip(*splits, strict=True)
    return {
        "event_id": list(ids),
        "event_type": list(types),
        "event_time": event_ms,
        "client_event_time": client_ms,
        "nums": list(nums),
        "attrs": list(attrs),
        "payload": list(map(bytes.decode, texts)),
    }


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
    all_valid = _accept_all(batch.events, app.checks, skew_ms, oldest_ms, newest_ms, max_payload_bytes)
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
    if all_valid is not None:
        result.columns = all_valid
        return result
    validators = app.validators
    checks = app.checks
    max_age_days = app.config.max_event_age_days
    seen_ids: set[str] = set()
    rejected = result.rejected
    columns = result.columns
    ids, types, times, client_times = (columns[c] for c in EVENT_COLUMNS[:4])
    all_nums, all_attrs, payloads = columns["nums"], columns["attrs"], columns["payload"]

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
        check = checks.get(event_type)
        split = None if check is None else check(payload)
        if split is None:
            nums: dict[str, Any] = {}
            attrs: dict[str, Any] = {}
            problems = validator(payload, nums, attrs)
            if problems is not None:
                reject(index, problems[0][0], "; ".join(message for _, message in problems))
                continue
        else:
            nums, attrs = split
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

    if not batch.accepted:
        return []
    whole = orjson.dumps({**header, "events": columns})
    if len(whole) <= max_bytes:  # the usual case: one message, and no size estimates needed
        return [whole]
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
