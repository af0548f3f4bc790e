"""The ingest hot paths against their references: same outcome on every input.

- the app's msgspec decoder never accepts a payload the reference validator refuses, and reads the
  ones it accepts exactly as they were sent;
- a decoded batch gives exactly the rejections and lake rows of the event-by-event loop.
- The ingest lane answers exactly as the Powertools resolver does, on valid and invalid requests.
"""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import hypothesis
import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveops.api import ingest as ingest_api
from liveops.api.http import entrypoint
from liveops.api.ingest import IngestService, build_app
from liveops.domain import ingest as domain
from liveops.domain.batch_decoder import BatchDecoder, payload_text_bound
from liveops.domain.event_schema import FLOAT_SAFE_INT, compile_event
from liveops.domain.ingest import CompiledApp, ValidatedBatch, queue_messages, validate_batch
from liveops.domain.raw_events import parse_message
from liveops.errors import Unauthorized, Unavailable
from liveops.models.app_config import load_app_config
from liveops.models.telemetry import BatchIn
from liveops.settings import Settings
from tests.lake_rows import message_rows

RECEIVED = datetime(2025, 12, 3, 10, 2, 5, tzinfo=UTC)
RECEIVED_MS = 1764756125000

FIELDS: dict[str, Any] = {
    "run_id": {"type": "string", "required": True, "max_length": 8},
    "outcome": {"type": "string", "enum": ["win", "loss", "toolongvalue"], "max_length": 8, "required": True},
    "score": {"type": "integer", "min": 0.5, "max": 1000},
    "big": {"type": "integer"},
    "duration_ms": {"type": "number", "min": 0},
    "ratio": {"type": "number", "max": 1.5},
    "boss_defeated": {"type": "boolean"},
    "tier": {"type": "integer", "enum": [1, 2, 3, 2000], "max": 100},
    "note": {"type": "string"},
}
CONFIG = load_app_config(
    {
        "app_id": "acme-roguelike",
        "name": "Acme",
        "platforms": ["web"],
        "max_event_age_days": 30,
        "events": {
            "session_start": {},
            "run_end": {"fields": FIELDS},
            "level_up": {"fields": {"level": {"type": "integer", "required": True, "min": 1}}},
        },
    }
)
APP = CompiledApp.build(CONFIG)

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 1005),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([2**53, 2**53 + 1, -(2**53), 0.5, 1.5, 1.51, -0.0, 1e300, 2.0**60]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["win", "loss", "toolongvalue", "r", "r" * 8, "r" * 9, "é", "\ud800"]),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
PAYLOADS = st.dictionaries(st.sampled_from([*FIELDS, "xp", "level"]), VALUES, max_size=len(FIELDS) + 1)


def reference_accepts(event_type: str, payload: dict[str, Any]) -> bool:
    return compile_event(CONFIG.events[event_type])(payload) is None


def decode_one(event_type: str, payload: Any) -> Any:
    """The event as the app's decoder reads it in a one-event batch, or None if it refuses."""
    assert APP.decoder is not None
    try:
        body = orjson.dumps(
            {
                "session_id": "s",
                "platform": "web",
                "events": [
                    {"event_id": "a", "event_type": event_type, "event_time": EVENT_TIME, "payload": payload}
                ],
            }
        )
    except orjson.JSONEncodeError:
        return None
    decoded = APP.decoder.decode(body.decode())
    return None if decoded is None else decoded[1][0]


@settings(max_examples=1500, deadline=None)
@given(payload=PAYLOADS, event_type=st.sampled_from(sorted(CONFIG.events)))
def test_decoder_never_accepts_what_the_reference_refuses(payload: dict[str, Any], event_type: str) -> None:
    event = decode_one(event_type, payload)
    if event is not None:
        assert reference_accepts(event_type, payload), payload
        # and it reads the payload as it was: same keys, same values, same types
        decoded = msgspec.to_builtins(event.payload)
        assert decoded == payload and [type(decoded[k]) for k in payload] == [
            type(v) for v in payload.values()
        ]


def test_decoder_takes_the_common_payloads() -> None:
    full = {
        "run_id": "r1",
        "outcome": "win",
        "score": 10,
        "big": -(2**40),
        "duration_ms": 12.5,
        "ratio": 1,
        "boss_defeated": False,
        "tier": 2,
        "note": "n",
    }
    for event_type, payload in (
        ("run_end", full),
        ("run_end", {"run_id": "r1", "outcome": "loss", "score": 1}),
        ("run_end", {"run_id": "é" * 8, "outcome": "win", "duration_ms": 0, "ratio": -0.25}),
        ("session_start", {}),
        ("session_start", None),
        ("level_up", {"level": 2**53}),
    ):
        assert decode_one(event_type, payload) is not None, payload
    # not sure, or refused -> the reference decides (a null optional, a float beyond 2^53, an
    # unknown key, an enum value beyond max_length, bounds, a float in an integer field)
    for event_type, payload in (
        ("run_end", {"run_id": "r", "outcome": "win", "note": None}),
        ("run_end", {"run_id": "r", "outcome": "win", "duration_ms": 2.0**60}),
        ("run_end", {"run_id": "r", "outcome": "win", "xp": 1}),
        ("run_end", {"run_id": "r", "outcome": "toolongvalue"}),
        ("run_end", {"run_id": "r", "outcome": "win", "tier": 2000}),
        ("run_end", {"run_id": "r", "outcome": "win", "score": 0}),
        ("run_end", {"run_id": "r", "outcome": "win", "score": 5.0}),
        ("run_end", {"run_id": "r", "outcome": "win", "duration_ms": True}),
        ("run_end", {"run_id": "r" * 9, "outcome": "win"}),
        ("run_end", {"outcome": "win"}),
        ("session_start", {"a": 1}),
        ("session_start", []),
        ("level_up", {"level": 2**53 + 1}),
        ("nope", {}),
    ):
        assert decode_one(event_type, payload) is None, payload
    assert math.isclose(FLOAT_SAFE_INT, 2**53)


FIELD_SPECS = st.fixed_dictionaries(
    {"type": st.sampled_from(["string", "integer", "number", "boolean"])},
    optional={
        "required": st.booleans(),
        "enum": st.lists(st.one_of(st.integers(-5, 2**60), st.text(max_size=4)), min_size=1, max_size=4),
        "min": st.one_of(st.integers(-10, 10), st.floats(-10.5, 10.5), st.just(-(2.0**60))),
        "max": st.one_of(st.integers(-10, 10), st.floats(-10.5, 10.5), st.just(2.0**60)),
        "max_length": st.integers(1, 6),
    },
)
FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-12, 12),
    st.integers(-(2**62), 2**62),
    st.floats(-12, 12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=7),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.dictionaries(st.sampled_from(["a", "b", "from", "self", "n_1"]), FIELD_SPECS, max_size=4),
    payloads=st.lists(
        st.dictionaries(st.sampled_from(["a", "b", "from", "self", "n_1", "x"]), FIELD_VALUES), max_size=6
    ),
)
def test_any_taxonomy_compiles_and_its_decoder_stays_within_the_reference(
    fields: dict[str, Any], payloads: list[dict[str, Any]]
) -> None:
    try:
        config = load_app_config(
            {"app_id": "any-app", "name": "Any", "platforms": ["web"], "events": {"ev": {"fields": fields}}}
        )
    except Exception:  # not a valid taxonomy: the config model refuses it (tested elsewhere)
        return
    hypothesis.event("a valid taxonomy")
    decoder = BatchDecoder(config)  # every valid taxonomy compiles
    reference = compile_event(config.events["ev"])
    for payload in payloads:
        body = {
            "session_id": "s",
            "platform": "web",
            "events": [{"event_id": "a", "event_type": "ev", "event_time": EVENT_TIME, "payload": payload}],
        }
        decoded = decoder.decode(orjson.dumps(body).decode())
        if decoded is not None:
            hypothesis.event("a payload decoded")
            assert reference(payload) is None, (fields, payload)
            assert msgspec.to_builtins(decoded[1][0].payload) == payload


def test_payload_text_bounds() -> None:
    bounded = load_app_config(
        {
            "app_id": "acme-roguelike",
            "name": "Acme",
            "platforms": ["web"],
            "events": {
                "short": {"fields": {"a": {"type": "string", "max_length": 10}, "n": {"type": "number"}}},
                "free": {"fields": {"note": {"type": "string"}}},
                "long": {"fields": {"note": {"type": "string", "max_length": 16384}}},
            },
        }
    )
    assert payload_text_bound(bounded.events["short"]) == 2 + (1 + 4 + 62) + (1 + 4 + 24)
    assert payload_text_bound(bounded.events["free"]) is None
    decoder = BatchDecoder(bounded)
    # the types whose payload may outgrow the limit are measured one by one
    assert len(decoder.oversize(16384)) == 2 and len(decoder.oversize(10**6)) == 1


# --------------------------------------------------------------------------- whole batch


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


TIMES = st.one_of(
    st.datetimes(
        min_value=(RECEIVED - timedelta(days=31)).replace(tzinfo=None),
        max_value=(RECEIVED + timedelta(hours=25)).replace(tzinfo=None),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["2025-12-03T10:00:00", "yesterday", "2025-12-03T10:00:00.123456Z", 5, None]),
)
GOOD_EVENT = st.fixed_dictionaries(
    {
        "event_id": st.sampled_from(["a", "b", "c", "d", "e"]) | st.text(min_size=1, max_size=6),
        "event_type": st.sampled_from(["run_end", "session_start", "level_up"]),
        "event_time": st.datetimes(
            min_value=(RECEIVED - timedelta(days=29)).replace(tzinfo=None),
            max_value=(RECEIVED + timedelta(hours=23)).replace(tzinfo=None),
            timezones=st.just(UTC),
        ).map(iso),
    },
    optional={"payload": st.one_of(st.none(), PAYLOADS, st.just({"level": 3}), st.just({}))},
)
ANY_EVENT = st.one_of(
    GOOD_EVENT,
    GOOD_EVENT.map(lambda e: {**e, "extra": 1}),
    st.fixed_dictionaries(
        {
            "event_id": st.one_of(st.text(max_size=3), st.integers(), st.just("x" * 129)),
            "event_type": st.one_of(st.sampled_from(["run_end", "nope"]), st.integers(), st.lists(st.none())),
            "event_time": TIMES,
        },
        optional={"payload": st.one_of(st.none(), st.lists(st.integers()), PAYLOADS)},
    ),
    st.sampled_from(["junk", 5, None, ["run_end"]]),
)


def validated(batch: BatchIn, max_payload_bytes: int) -> ValidatedBatch:
    return validate_batch(
        batch,
        APP,
        batch_id="b",
        received_at_ms=RECEIVED_MS,
        user_hash=None,
        max_payload_bytes=max_payload_bytes,
    )


def run(events: list[Any], *, sent_at: str | None = None, max_payload_bytes: int = 16384) -> ValidatedBatch:
    batch = BatchIn.model_validate(
        {"session_id": "s", "platform": "web", "events": events, "sent_at": sent_at}
    )
    return validated(batch, max_payload_bytes)


def run_decoded(
    events: list[Any], *, sent_at: str | None = None, max_payload_bytes: int = 16384
) -> ValidatedBatch | None:
    """As `run`, with the events read by the app's decoder (None when it refuses the batch)."""
    assert APP.decoder is not None
    body: dict[str, Any] = {"session_id": "s", "platform": "web", "events": events}
    if sent_at is not None:
        body["sent_at"] = sent_at
    try:
        decoded = APP.decoder.decode(orjson.dumps(body).decode())
    except orjson.JSONEncodeError:
        return None
    if decoded is None:
        return None
    return validated(BatchIn.decoded(*decoded), max_payload_bytes)


def lake_rows(result: ValidatedBatch) -> Any:
    """What the writer stores of the batch's queue messages."""
    return [(parse_message(m)[0], message_rows(m)) for m in queue_messages(result, 10**9)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(st.one_of(GOOD_EVENT, GOOD_EVENT, GOOD_EVENT, ANY_EVENT), min_size=1, max_size=12),
    sent_at=st.sampled_from([None, "2025-12-03T09:02:05Z", "2025-12-03T10:30:00.5+00:00"]),
    max_payload_bytes=st.sampled_from([16384, 40]),
)
def test_decoded_path_equals_the_event_loop(
    events: list[Any], sent_at: str | None, max_payload_bytes: int
) -> None:
    fast = run_decoded(copy.deepcopy(events), sent_at=sent_at, max_payload_bytes=max_payload_bytes)
    if fast is None:  # refused by the decoder: the lane takes the event loop itself
        return
    slow = run(copy.deepcopy(events), sent_at=sent_at, max_payload_bytes=max_payload_bytes)
    assert fast.rejected == slow.rejected
    assert fast.header == slow.header
    assert orjson.dumps(lake_rows(fast)) == orjson.dumps(lake_rows(slow))  # the same lake rows, byte for byte


def test_decoded_path_accepts_a_valid_batch_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[bool] = []
    original = domain.accept_decoded

    def spy(*args: Any) -> list[int] | None:
        client_ms = original(*args)
        taken.append(client_ms is not None)
        return client_ms

    monkeypatch.setattr(domain, "accept_decoded", spy)
    event_time = iso(RECEIVED - timedelta(minutes=1))
    good = [
        {
            "event_id": "a",
            "event_type": "run_end",
            "event_time": event_time,
            "payload": {"run_id": "r", "outcome": "win"},
        },
        {"event_id": "b", "event_type": "session_start", "event_time": event_time},
    ]
    result = run_decoded(good)
    assert taken == [True] and result is not None and result.accepted == 2 and result.rejected == []
    # batch-wide checks msgspec cannot make: a repeated id, a time out of the window, no offset
    for changed in (
        {"event_id": "a"},
        {"event_time": iso(RECEIVED - timedelta(days=40))},
        {"event_time": "2025-12-03T10:00:00"},
    ):
        result = run_decoded([good[0], {**good[1], **changed}])
        assert (
            taken[-1] is False and result is not None and result.accepted == 1 and len(result.rejected) == 1
        )
    # the reference path never sees decoded events
    assert run_decoded([{"event_id": "a", "event_type": "nope", "event_time": event_time}]) is None


# --------------------------------------------------------------------------- the lane


class StubDirectory:
    def authenticate(self, api_key: str | None) -> tuple[CompiledApp, bytes]:
        if api_key == "bad":
            raise Unauthorized("invalid API key")
        return APP, b"k" * 32


class StubQueue:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[bytes] = []

    def send(self, bodies: list[bytes]) -> None:
        if self.fail:
            raise Unavailable("the events queue is unreachable", retry_after=3)
        self.sent += bodies


def request(body: Any, headers: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/v1/telemetry/batch",
        "rawQueryString": "",
        "headers": {"x-api-key": "good", "content-type": "application/json"} if headers is None else headers,
        "requestContext": {
            "http": {"method": "POST", "path": "/v1/telemetry/batch", "sourceIp": "127.0.0.1"},
            "stage": "$default",
            "requestId": "r",
        },
        "body": body if isinstance(body, str) else orjson.dumps(body).decode(),
        "isBase64Encoded": False,
    }
    event.update(changes)
    return event


EVENT_TIME = iso(RECEIVED - timedelta(minutes=1))
GOOD = {
    "session_id": "s",
    "platform": "web",
    "user_id": "player-1",
    "events": [
        {
            "event_id": "a",
            "event_type": "run_end",
            "event_time": EVENT_TIME,
            "payload": {"run_id": "r", "outcome": "win"},
        },
        {"event_id": "b", "event_type": "nope", "event_time": EVENT_TIME, "payload": {}},
        {
            "event_id": "c",
            "event_type": "run_end",
            "event_time": EVENT_TIME,
            "payload": {"run_id": "é" * 9, "outcome": "x"},
        },
    ],
}
REQUESTS = [
    request(GOOD),
    request({**GOOD, "events": GOOD["events"][:1]}),
    request(GOOD, {"x-api-key": "bad", "content-type": "application/json"}),
    request(GOOD, {"content-type": "application/json"}),
    request(GOOD, {"x-api-key": "good"}),
    request(GOOD, {"x-api-key": "good", "content-type": "text/plain"}),
    request(GOOD, {"x-api-key": "good", "content-type": " application/json; charset=utf-8"}),
    request(GOOD, {"X-Api-Key": "good", "Content-Type": "application/json"}),
    request(GOOD, {"x-api-key": "good,bad"}),
    request(GOOD, {"x-api-key": "good", "idempotency-key": "  "}),
    request(GOOD, {"x-api-key": "good", "idempotency-key": "k" * 256}),
    request({**GOOD, "platform": "ios"}),
    request({**GOOD, "extra": 1}),
    request({**GOOD, "events": []}),
    request({**GOOD, "sent_at": "2025-12-03T10:00:00"}),
    request({**GOOD, "sent_at": "2025-12-03T10:00:00Z"}),
    request([GOOD]),
    request("{not json"),
    request(""),
    request("[]"),
    request("1e999"),
    request(GOOD, rawPath="/v1/telemetry/batch/"),
    request(
        GOOD, requestContext={"http": {"method": "PUT", "path": "/v1/telemetry/batch"}, "stage": "$default"}
    ),
    request(
        GOOD,
        rawPath="/prod/v1/telemetry/batch",
        requestContext={"http": {"method": "POST", "path": "/prod/v1/telemetry/batch"}, "stage": "prod"},
    ),
]


@pytest.mark.parametrize("queue_fails", [False, True])
@pytest.mark.parametrize("index", range(len(REQUESTS)))
def test_lane_answers_as_the_resolver(index: int, queue_fails: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest_api.secrets, "token_hex", lambda n: "0" * (2 * n))
    answers = []
    for with_lane in (True, False):
        queue = StubQueue(fail=queue_fails)
        service = IngestService(
            directory=StubDirectory(), queue=queue, settings=Settings(), clock=lambda: RECEIVED_MS / 1000
        )
        app = build_app(lambda: service)  # noqa: B023 - called within this iteration
        if not with_lane:
            app.lane = None
        response = entrypoint(app)(copy.deepcopy(REQUESTS[index]), None)
        # the same lake rows (the lane's message holds decoded events, in the taxonomy's key order)
        answers.append((response, [(parse_message(m)[0], message_rows(m)) for m in queue.sent]))
    assert answers[0] == answers[1]


def test_lane_answers_plain_requests_itself() -> None:
    service = IngestService(
        directory=StubDirectory(), queue=StubQueue(), settings=Settings(), clock=lambda: RECEIVED_MS / 1000
    )
    app = build_app(lambda: service)
    assert app.lane is not None
    for index in (0, 1, 2, 3, 4, 6, 11):  # valid, wrong key (401), unknown platform (400 from the service)
        assert app.lane(copy.deepcopy(REQUESTS[index])) is not None, index
    for index in (5, 7, 8, 9, 10, 12, 13, 17, 18, 19, 21, 22, 23):
        assert app.lane(copy.deepcopy(REQUESTS[index])) is None, index
