"""The ingest hot path: one msgspec decoder per app parses a batch and type-checks every event.

Each event type of the taxonomy becomes a msgspec Struct tagged by `event_type`, its payload a
Struct of typed, bounded fields; the batch decodes in one pass of C with every per-field check
of the reference validator (domain/event_schema.compile_event) done on the way. What msgspec
cannot express is checked after, over the whole batch at once (`accept_decoded`): unique ids,
times (parsed as the reference parses them) in the window, payload sizes. It is conservative: it
never accepts what the reference refuses, and whenever it is not sure (a null optional field, a
float beyond 2^53) the batch goes to the event-by-event reference, which words every rejection.
Tests compare both on random payloads and batches.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import attrgetter, floordiv, sub
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, Union

import msgspec
import orjson

from liveops.domain.event_schema import FLOAT_SAFE_INT
from liveops.domain.json_keys import duplicate_key

if TYPE_CHECKING:
    from liveops.models.app_config import AppConfig, EventSpec, FieldSpec

ENVELOPE = ("session_id", "platform", "client_version", "content_version", "user_id", "sent_at")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
EVENT_ID = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
EVENT_TIME = Annotated[str, msgspec.Meta(max_length=64)]
# the longest JSON text orjson writes for a number or boolean value of a payload field
NUMBER_TEXT_MAX = 24
# orjson writes a control character as \u00XX: six bytes for one character
CHAR_TEXT_MAX = 6

IDS = attrgetter("event_id")
TIMES = attrgetter("event_time")
PAYLOAD = attrgetter("payload")
ENCODER = msgspec.json.Encoder()


class Impossible(Exception):
    """A field no value can satisfy (e.g. every enum value is longer than max_length): its event
    type is left out of the decoder and always takes the reference path."""


def _field_type(spec: FieldSpec) -> Any:
    """The msgspec type of a field: never wider than the reference validator's checks (a float in
    an integer field, a bool in a number field and a null are refused here as there, or sent on)."""
    if spec.type == "boolean":
        return bool
    if spec.type == "string":
        if spec.enum is not None:
            longest = spec.max_length
            allowed = tuple(
                v for v in spec.enum if isinstance(v, str) and (longest is None or len(v) <= longest)
            )
            if not allowed:
                raise Impossible
            return Literal[allowed]
        if spec.max_length is not None:
            return Annotated[str, msgspec.Meta(max_length=spec.max_length)]
        return str
    low = -FLOAT_SAFE_INT if spec.min is None else max(spec.min, -FLOAT_SAFE_INT)
    high = FLOAT_SAFE_INT if spec.max is None else min(spec.max, FLOAT_SAFE_INT)
    int_low, int_high = math.ceil(low), math.floor(high)
    if spec.type == "integer":
        if int_low > int_high:
            raise Impossible
        if spec.enum is not None:
            allowed_ints = tuple(v for v in spec.enum if isinstance(v, int) and int_low <= v <= int_high)
            if not allowed_ints:
                raise Impossible
            return Literal[allowed_ints]
        return Annotated[int, msgspec.Meta(ge=int_low, le=int_high)]
    # number: an int or a float (msgspec keeps each as it came, as the reference does)
    number = Annotated[float, msgspec.Meta(ge=low, le=high)]
    if int_low > int_high:
        return number
    return Union[Annotated[int, msgspec.Meta(ge=int_low, le=int_high)], number]  # noqa: UP007


def _event_struct(event_type: str, spec: EventSpec) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, field in spec.fields.items():
        kind = _field_type(field)
        if field.required:
            fields.append((name, kind))
        else:
            fields.append((name, Union[kind, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
    payload = msgspec.defstruct(
        f"Payload_{event_type}",
        fields,
        kw_only=True,
        forbid_unknown_fields=True,
        omit_defaults=True,
        gc=False,
    )
    return msgspec.defstruct(
        f"Event_{event_type}",
        [
            ("event_id", EVENT_ID),
            ("event_time", EVENT_TIME),
            # a missing or null payload counts as {}: allowed unless a field is required
            ("payload", payload)
            if any(f.required for f in spec.fields.values())
            else ("payload", Union[payload, None], None),  # noqa: UP007
        ],
        tag_field="event_type",
        tag=event_type,
        forbid_unknown_fields=True,
        omit_defaults=True,
        # scalars only: no reference cycle is possible, so the collector need not track them
        gc=False,
    )


def payload_text_bound(spec: EventSpec) -> int | None:
    """The longest payload JSON (as orjson writes it) of this event type, None if unbounded."""
    total = 2  # braces
    for name, field in spec.fields.items():
        total += len(name) + 4  # quotes, colon, comma
        if field.type != "string":
            total += NUMBER_TEXT_MAX
        elif field.enum is not None:
            total += max(len(str(v)) for v in field.enum) * CHAR_TEXT_MAX + 2
        elif field.max_length is not None:
            total += field.max_length * CHAR_TEXT_MAX + 2
        else:
            return None
    return total


class Decoded(NamedTuple):
    envelope: dict[str, Any]  # the envelope fields that are present
    events: list[Any]
    events_json: bytes  # the events encoded again, in order: what is queued


class BatchDecoder:
    """An app's batch decoder (see the module docstring)."""

    def __init__(self, config: AppConfig) -> None:
        events: list[type[msgspec.Struct]] = []
        self._bounds: dict[type, int | None] = {}
        for event_type, spec in config.events.items():
            try:
                struct = _event_struct(event_type, spec)
            except Impossible:
                continue
            events.append(struct)
            self._bounds[struct] = payload_text_bound(spec)
        self._oversize: dict[int, frozenset[type]] = {}
        self._decoder: msgspec.json.Decoder[Any] | None = None
        if events:
            event_union: Any = Union[tuple(events)]  # noqa: UP007
            envelope: list[tuple[str, Any, Any]] = [(name, Any, msgspec.UNSET) for name in ENVELOPE]
            batch = msgspec.defstruct(
                "Batch",
                [("events", list[event_union]), *envelope],
                kw_only=True,
                forbid_unknown_fields=True,
            )
            self._decoder = msgspec.json.Decoder(batch)

    def decode(self, raw: str) -> Decoded | None:
        """The batch decoded, or None when msgspec
        refuses the body or a key repeats in it (the caller then parses it as JSON and lets the
        reference decide, which words the refusal)."""
        if self._decoder is None:
            return None
        try:
            batch = self._decoder.decode(raw)
        except msgspec.DecodeError:  # also ValidationError
            return None
        envelope = {name: value for name in ENVELOPE if (value := getattr(batch, name)) is not msgspec.UNSET}
        # the events as queued, encoded once: also the count that proves no key repeats in raw
        events_json = ENCODER.encode(batch.events)
        colons = events_json.count(b":") + ENCODER.encode(envelope).count(b":") + 1  # "events":
        if duplicate_key(raw, colons) is not None:
            return None
        return Decoded(envelope, batch.events, events_json)

    def oversize(self, max_payload_bytes: int) -> frozenset[type]:
        """The event structs whose payload text may exceed the limit (measured one by one)."""
        found = self._oversize.get(max_payload_bytes)
        if found is None:
            found = frozenset(
                struct for struct, bound in self._bounds.items() if bound is None or bound > max_payload_bytes
            )
            self._oversize[max_payload_bytes] = found
        return found


def is_decoded(events: list[Any]) -> bool:
    return bool(events) and isinstance(events[0], msgspec.Struct)


def accept_decoded(
    events: list[Any],
    skew_ms: int,
    oldest_ms: int,
    newest_ms: int,
    oversize: frozenset[type],
    max_payload_bytes: int,
) -> list[int] | None:
    """Each event's client time in epoch ms when every decoded event is accepted, else None: the
    batch-wide checks msgspec cannot express."""
    count = len(events)
    if len(set(map(IDS, events))) != count:
        return None
    try:
        moments = map(datetime.fromisoformat, map(TIMES, events))
        # a time without an offset cannot be subtracted from the aware epoch: TypeError
        client_ms = list(map(floordiv, map(sub, moments, repeat(EPOCH)), repeat(ONE_MS)))
    except (ValueError, TypeError):
        return None
    if min(client_ms) + skew_ms < oldest_ms or max(client_ms) + skew_ms > newest_ms:
        return None
    if oversize and not oversize.isdisjoint(map(type, events)):
        payloads = [p for p in map(PAYLOAD, events) if p is not None]
        try:
            texts = list(map(orjson.dumps, msgspec.to_builtins(payloads)))
        except (orjson.JSONEncodeError, TypeError):
            return None
        if texts and max(map(len, texts)) > max_payload_bytes:
            return None
    return client_ms


def to_dicts(events: list[Any]) -> list[Any]:
    """Decoded events as the plain JSON objects they came from (for the reference loop)."""
    dicts: list[Any] = msgspec.to_builtins(events)
    return dicts
