"""Unit tests for batch validation (domain/ingest.py) and per-event schema checks (domain/event_schema.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveops.domain.event_schema import FLOAT_SAFE_INT, compile_taxonomy
from liveops.domain.ingest import (
    DAY_MS,
    HOUR_MS,
    CompiledApp,
    ValidatedBatch,
    queue_messages,
    to_ms,
    validate_batch,
)
from liveops.domain.raw_events import EVENT_COLUMNS, parse_message
from liveops.errors import BadRequest
from liveops.models.app_config import load_app_config
from liveops.models.telemetry import BatchIn
from tests.lake_rows import message_columns

RECEIVED = datetime(2025, 12, 3, 10, 2, 5, tzinfo=UTC)
RECEIVED_MS = 1764756125000
MAX_PAYLOAD = 16 * 1024

CONFIG = load_app_config(
    {
        "app_id": "acme-roguelike",
        "name": "Acme",
        "platforms": ["web", "android"],
        "max_event_age_days": 30,
        "events": {
            "session_start": {},
            "run_end": {
                "fields": {
                    "run_id": {"type": "string", "required": True, "max_length": 8},
                    "outcome": {"type": "string", "enum": ["win", "loss"], "required": True},
                    "score": {"type": "integer", "min": 0, "max": 1000},
                    "big": {"type": "integer"},
                    "duration_ms": {"type": "number", "min": 0},
                    "ratio": {"type": "number", "max": 1.5},
                    "boss_defeated": {"type": "boolean"},
                    "tier": {"type": "integer", "enum": [1, 2, 3]},
                    "challenge_id": {"type": "string"},
                    "note": {"type": "string"},
                }
            },
        },
        "dimensions": ["platform", "client_version", {"name": "challenge", "from": "payload.challenge_id"}],
    }
)
APP = CompiledApp.build(CONFIG)

INT64_MAX = FLOAT_SAFE_INT  # integers are limited to what a double holds exactly
INT64_MIN = -FLOAT_SAFE_INT


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


DEFAULT: Any = object()
OMIT: Any = object()


def ev(
    event_id: Any = "e1",
    event_type: Any = "run_end",
    event_time: Any = None,
    payload: Any = DEFAULT,
    **extra: Any,
) -> dict[str, Any]:
    """An event 5 s before RECEIVED; a valid run_end payload unless told otherwise."""
    event: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "event_time": iso(RECEIVED - timedelta(seconds=5)) if event_time is None else event_time,
    }
    if payload is DEFAULT:
        payload = {"run_id": "r1", "outcome": "win"} if event_type == "run_end" else {}
    if payload is not OMIT:
        event["payload"] = payload
    event.update(extra)
    return event


def batch(events: list[Any], **envelope: Any) -> BatchIn:
    return BatchIn.model_validate({"session_id": "sess-1", "platform": "web", "events": events, **envelope})


def run(
    events: list[Any],
    *,
    max_payload_bytes: int = MAX_PAYLOAD,
    received_at_ms: int = RECEIVED_MS,
    **envelope: Any,
) -> ValidatedBatch:
    return validate_batch(
        batch(events, **envelope),
        APP,
        batch_id="batch-1",
        received_at_ms=received_at_ms,
        user_hash="uh-1",
        max_payload_bytes=max_payload_bytes,
    )


def lake_columns(result: ValidatedBatch) -> dict[str, list[Any]]:
    """The lake columns the writer derives from the batch's queue message."""
    if not result.accepted:
        return {name: [] for name in EVENT_COLUMNS}
    (message,) = queue_messages(result, 10**9)
    assert parse_message(message)[0] == result.header
    return message_columns(message)


def rows(result: ValidatedBatch) -> list[dict[str, Any]]:
    """The accepted events as the lake rows the writer makes of them."""
    columns = lake_columns(result)
    assert set(columns) == set(EVENT_COLUMNS)
    assert {len(values) for values in columns.values()} == {result.accepted} or result.accepted == 0
    return [
        dict(zip(EVENT_COLUMNS, values, strict=True))
        for values in zip(*(columns[c] for c in EVENT_COLUMNS), strict=True)
    ]


def only_rejection(events: list[Any], **kw: Any) -> dict[str, Any]:
    result = run(events, **kw)
    assert result.accepted == 0 and rows(result) == []
    (rejection,) = result.rejected
    return rejection


# --------------------------------------------------------------------------- CompiledApp


def test_compiled_app() -> None:
    assert APP.config is CONFIG
    assert APP.platforms == frozenset({"web", "android"})
    assert set(APP.validators) == {"session_start", "run_end"}


def test_valid_event_is_accepted_with_its_row() -> None:
    payload = {"run_id": "r1", "outcome": "win", "score": 10, "duration_ms": 12.5, "boss_defeated": False}
    result = run([ev(payload=payload)], client_version="0.6.0", content_version="1.1.0", user_id="player-42")
    assert result.rejected == [] and result.accepted == 1
    (row,) = rows(result)
    assert row == {
        "event_id": "e1",
        "event_type": "run_end",
        "event_time": RECEIVED_MS - 5000,
        "client_event_time": RECEIVED_MS - 5000,
        "nums": {"score": 10, "duration_ms": 12.5, "boss_defeated": False},
        "attrs": {"run_id": "r1", "outcome": "win"},
        # compact JSON, fields in the taxonomy's order
        "payload": '{"run_id":"r1","outcome":"win","score":10,"duration_ms":12.5,"boss_defeated":false}',
    }
    assert result.header == {
        "v": 2,
        "app_id": "acme-roguelike",
        "batch_id": "batch-1",
        "received_at": RECEIVED_MS,
        "sent_at": None,
        "session_id": "sess-1",
        "user_hash": "uh-1",
        "platform": "web",
        "client_version": "0.6.0",
        "content_version": "1.1.0",
    }
    assert "player-42" not in orjson.dumps(result.header).decode()


def test_event_without_payload_or_with_null_payload() -> None:
    result = run([ev("a", "session_start", payload=OMIT), ev("b", "session_start", payload=None)])
    assert result.rejected == []
    assert [(r["payload"], r["nums"], r["attrs"]) for r in rows(result)] == [("{}", {}, {}), ("{}", {}, {})]


def test_nums_and_attrs_split_valid_fields_by_type() -> None:
    payload = {
        "note": "hello",
        "run_id": "r1",
        "outcome": "loss",
        "score": 0,
        "big": -(2**40),
        "duration_ms": 3,
        "ratio": -0.25,
        "boss_defeated": True,
        "tier": 2,
        "challenge_id": None,
    }
    (row,) = rows(run([ev(payload=payload)]))
    assert row["attrs"] == {"note": "hello", "run_id": "r1", "outcome": "loss"}
    assert row["nums"] == {
        "score": 0,
        "big": -(2**40),
        "duration_ms": 3,
        "ratio": -0.25,
        "boss_defeated": True,
        "tier": 2,
    }
    assert all(type(value) is float for value in row["nums"].values())  # the lake's doubles
    # the payload text: the valid fields as sent, in the taxonomy's order, a null one left out
    stored = orjson.loads(row["payload"])
    assert stored == {k: v for k, v in payload.items() if v is not None}
    assert list(stored) == [
        "run_id",
        "outcome",
        "score",
        "big",
        "duration_ms",
        "ratio",
        "boss_defeated",
        "tier",
        "note",
    ]


# --------------------------------------------------------------------------- rejections

FUTURE_25H = iso(RECEIVED + timedelta(hours=25))
OLD_31D = iso(RECEIVED - timedelta(days=31))

REJECTIONS: list[tuple[str, Any, str, str]] = [
    ("list-event", ["run_end"], "invalid_event", "JSON object"),
    ("string-event", "run_end", "invalid_event", "JSON object"),
    ("null-event", None, "invalid_event", "JSON object"),
    ("number-event", 5, "invalid_event", "JSON object"),
    ("unknown-event-key", ev(colour="blue"), "invalid_event", "unknown event keys: colour"),
    (
        "missing-event-id",
        {"event_type": "session_start", "event_time": iso(RECEIVED)},
        "invalid_event_id",
        "",
    ),
    ("empty-event-id", ev(""), "invalid_event_id", "1 to 128"),
    ("long-event-id", ev("x" * 129), "invalid_event_id", "1 to 128"),
    ("int-event-id", ev(7), "invalid_event_id", "string"),
    ("unknown-type", ev(event_type="run_begin", payload={}), "unknown_event_type", "'run_begin'"),
    ("missing-type", {"event_id": "x", "event_time": iso(RECEIVED)}, "unknown_event_type", "None"),
    ("int-type", ev(event_type=3, payload={}), "unknown_event_type", "3"),
    ("missing-time", {"event_id": "x", "event_type": "session_start"}, "invalid_event_time", "UTC offset"),
    ("garbage-time", ev(event_time="yesterday"), "invalid_event_time", "ISO 8601"),
    ("naive-time", ev(event_time="2025-12-03T10:00:00"), "invalid_event_time", "UTC offset"),
    ("date-only-time", ev(event_time="2025-12-03"), "invalid_event_time", "UTC offset"),
    ("epoch-time", ev(event_time=RECEIVED_MS), "invalid_event_time", "ISO 8601"),
    ("long-time", ev(event_time="2025-12-03T10:00:00" + "0" * 50 + "Z"), "invalid_event_time", ""),
    ("bad-offset", ev(event_time="2025-12-03T10:00:00+25:00"), "invalid_event_time", ""),
    ("future", ev(event_time=FUTURE_25H), "event_time_in_future", "24 hours"),
    ("too-old", ev(event_time=OLD_31D), "event_too_old", "30 days"),
    ("list-payload", ev(payload=[1, 2]), "invalid_payload", "JSON object"),
    ("string-payload", ev(payload="run_id=r1"), "invalid_payload", "JSON object"),
    ("number-payload", ev(payload=0), "invalid_payload", "JSON object"),
    ("unknown-field", ev(payload={"run_id": "r", "outcome": "win", "xp": 1}), "unknown_field", "payload.xp"),
    ("nested-unknown", ev("s", "session_start", payload={"a": {"b": 1}}), "unknown_field", "payload.a"),
    ("missing-required", ev(payload={"run_id": "r"}), "missing_field", "payload.outcome: required"),
    ("null-required", ev(payload={"run_id": "r", "outcome": None}), "missing_field", "payload.outcome"),
    ("string-gets-int", ev(payload={"run_id": 1, "outcome": "win"}), "invalid_type", "payload.run_id"),
    ("string-gets-list", ev(payload={"run_id": ["r"], "outcome": "win"}), "invalid_type", "must be a string"),
    (
        "int-gets-string",
        ev(payload={"run_id": "r", "outcome": "win", "score": "5"}),
        "invalid_type",
        "integer",
    ),
    (
        "int-gets-float",
        ev(payload={"run_id": "r", "outcome": "win", "score": 5.0}),
        "invalid_type",
        "integer",
    ),
    (
        "int-gets-bool",
        ev(payload={"run_id": "r", "outcome": "win", "score": True}),
        "invalid_type",
        "integer",
    ),
    (
        "num-gets-string",
        ev(payload={"run_id": "r", "outcome": "win", "ratio": "1"}),
        "invalid_type",
        "number",
    ),
    (
        "num-gets-bool",
        ev(payload={"run_id": "r", "outcome": "win", "ratio": False}),
        "invalid_type",
        "number",
    ),
    ("num-gets-dict", ev(payload={"run_id": "r", "outcome": "win", "ratio": {}}), "invalid_type", "number"),
    (
        "bool-gets-int",
        ev(payload={"run_id": "r", "outcome": "win", "boss_defeated": 1}),
        "invalid_type",
        "boolean",
    ),
    (
        "bool-gets-str",
        ev(payload={"run_id": "r", "outcome": "win", "boss_defeated": "true"}),
        "invalid_type",
        "",
    ),
    (
        "enum-string",
        ev(payload={"run_id": "r", "outcome": "draw"}),
        "invalid_value",
        "must be one of win, loss",
    ),
    ("enum-int", ev(payload={"run_id": "r", "outcome": "win", "tier": 4}), "invalid_value", "one of 1, 2, 3"),
    ("min", ev(payload={"run_id": "r", "outcome": "win", "score": -1}), "invalid_value", "must be >= 0"),
    ("max", ev(payload={"run_id": "r", "outcome": "win", "score": 1001}), "invalid_value", "must be <= 1000"),
    ("num-min", ev(payload={"run_id": "r", "outcome": "win", "duration_ms": -0.5}), "invalid_value", ">= 0"),
    ("num-max", ev(payload={"run_id": "r", "outcome": "win", "ratio": 1.51}), "invalid_value", "<= 1.5"),
    ("max-length", ev(payload={"run_id": "r" * 9, "outcome": "win"}), "invalid_value", "longer than 8 chars"),
    ("int-over", ev(payload={"run_id": "r", "outcome": "win", "big": 2**53 + 1}), "invalid_value", "2^53"),
    (
        "int-under",
        ev(payload={"run_id": "r", "outcome": "win", "big": -(2**53) - 1}),
        "invalid_value",
        "2^53",
    ),
    (
        "nan",
        ev(payload={"run_id": "r", "outcome": "win", "duration_ms": math.nan}),
        "invalid_value",
        "finite",
    ),
    (
        "inf",
        ev(payload={"run_id": "r", "outcome": "win", "duration_ms": math.inf}),
        "invalid_value",
        "finite",
    ),
    ("-inf", ev(payload={"run_id": "r", "outcome": "win", "ratio": -math.inf}), "invalid_value", "finite"),
    (
        "num-int-2^53",
        ev(payload={"run_id": "r", "outcome": "win", "ratio": -(2**53) - 1}),
        "invalid_value",
        "2^53",
    ),
]


@pytest.mark.parametrize(
    ("event", "code", "fragment"), [c[1:] for c in REJECTIONS], ids=[c[0] for c in REJECTIONS]
)
def test_each_rejection_code(event: Any, code: str, fragment: str) -> None:
    rejection = only_rejection([event])
    assert rejection["index"] == 0
    assert rejection["code"] == code, rejection
    assert isinstance(rejection["message"], str) and rejection["message"]
    assert fragment in rejection["message"], rejection


def test_duplicate_event_id_in_a_batch() -> None:
    result = run([ev("a"), ev("b"), ev("a", payload={"run_id": "r2", "outcome": "loss"})])
    assert [r["event_id"] for r in rows(result)] == ["a", "b"]
    assert result.rejected == [
        {"index": 2, "code": "duplicate_event_id", "message": "event_id 'a' appears earlier in this batch"}
    ]


def test_a_rejected_event_does_not_reserve_its_id() -> None:
    result = run([ev("a", payload={"run_id": "r"}), ev("a")])
    assert [r["code"] for r in result.rejected] == ["missing_field"]
    assert [r["event_id"] for r in rows(result)] == ["a"]


def test_payload_too_large() -> None:
    payload = {"run_id": "r1", "outcome": "win", "note": "x" * 100}
    size = len(orjson.dumps(payload))
    assert run([ev(payload=payload)], max_payload_bytes=size).rejected == []
    rejection = only_rejection([ev(payload=payload)], max_payload_bytes=size - 1)
    assert rejection["code"] == "payload_too_large"
    assert f"payload is {size} bytes; at most {size - 1}" == rejection["message"]


def test_boundaries_that_are_accepted() -> None:
    events = [
        ev("a", payload={"run_id": "r" * 8, "outcome": "loss", "score": 0}),
        ev("b", payload={"run_id": "r", "outcome": "win", "score": 1000, "tier": 3}),
        ev("c", payload={"run_id": "r", "outcome": "win", "big": INT64_MAX}),
        ev("d", payload={"run_id": "r", "outcome": "win", "big": INT64_MIN}),
        ev("e", payload={"run_id": "r", "outcome": "win", "ratio": 1.5, "duration_ms": 0}),
        ev("f", payload={"run_id": "r", "outcome": "win", "ratio": 2**53 * -1}),
        ev("g", payload={"run_id": "r", "outcome": "win", "duration_ms": 3}),  # an int is a number
        ev("h", payload={"run_id": "r", "outcome": "win", "score": None, "note": None}),  # null optional
        ev("i", event_time=iso(RECEIVED + timedelta(hours=24))),  # exactly 24 h ahead
        ev("j", event_time=iso(RECEIVED - timedelta(days=30))),  # exactly max_event_age_days old
        ev("k", event_time="2025-12-03T11:02:00+01:00"),  # an offset other than Z
        ev("l", event_time="2025-12-03T10:02:00.123456+00:00"),
        ev("x" * 128),
    ]
    result = run(events)
    assert result.rejected == []
    assert result.accepted == len(events)
    by_id = {r["event_id"]: r for r in rows(result)}
    assert by_id["c"]["nums"]["big"] == INT64_MAX
    assert by_id["d"]["nums"]["big"] == INT64_MIN
    assert by_id["h"]["nums"] == {} and by_id["h"]["attrs"] == {"run_id": "r", "outcome": "win"}
    assert by_id["k"]["client_event_time"] == RECEIVED_MS - 5000
    assert by_id["l"]["client_event_time"] == RECEIVED_MS - 5000 + 123  # microseconds truncated to ms


def test_just_beyond_the_time_window() -> None:
    result = run(
        [
            ev("a", event_time=iso(RECEIVED + timedelta(hours=24, milliseconds=1))),
            ev("b", event_time=iso(RECEIVED - timedelta(days=30, milliseconds=1))),
        ]
    )
    assert [(r["index"], r["code"]) for r in result.rejected] == [
        (0, "event_time_in_future"),
        (1, "event_too_old"),
    ]


def test_max_event_age_follows_the_config() -> None:
    config = CONFIG.model_copy(update={"max_event_age_days": 400})
    app = CompiledApp.build(config)
    old = ev(event_time=iso(RECEIVED - timedelta(days=100)))
    result = validate_batch(
        batch([old]),
        app,
        batch_id="b",
        received_at_ms=RECEIVED_MS,
        user_hash=None,
        max_payload_bytes=MAX_PAYLOAD,
    )
    assert result.rejected == [] and result.accepted == 1
    assert only_rejection([old])["message"] == "event_time is older than 30 days (max_event_age_days)"


def test_max_future_is_a_parameter() -> None:
    event = ev(event_time=iso(RECEIVED + timedelta(hours=2)))
    assert run([event]).rejected == []
    result = validate_batch(
        batch([event]),
        APP,
        batch_id="b",
        received_at_ms=RECEIVED_MS,
        user_hash=None,
        max_payload_bytes=MAX_PAYLOAD,
        max_future_ms=HOUR_MS,
    )
    assert [r["code"] for r in result.rejected] == ["event_time_in_future"]


def test_all_payload_problems_in_one_message_first_code_wins() -> None:
    rejection = only_rejection([ev(payload={"xp": 1, "score": "high", "outcome": "draw"})])
    assert rejection["code"] == "unknown_field"
    message = rejection["message"]
    for part in (
        "payload.xp",
        "payload.score: must be an integer",
        "payload.outcome: must be one of",
        "payload.run_id: required",
    ):
        assert part in message, message
    assert message.count("; ") == 3


def test_rejections_carry_index_and_others_are_accepted() -> None:
    events = [
        ev("a"),
        ev("b", event_type="nope", payload={}),
        "junk",
        ev("c", payload={"run_id": "r", "outcome": "win", "score": -5}),
        ev("d", "session_start"),
        ev("e", event_time="2025-12-03T10:00:00"),
        ev("f"),
    ]
    result = run(events)
    assert [r["event_id"] for r in rows(result)] == ["a", "d", "f"]
    assert [(r["index"], r["code"]) for r in result.rejected] == [
        (1, "unknown_event_type"),
        (2, "invalid_event"),
        (3, "invalid_value"),
        (5, "invalid_event_time"),
    ]
    assert all(set(r) == {"index", "code", "message"} for r in result.rejected)


def test_unknown_platform_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as info:
        run([ev()], platform="playstation")
    error = info.value
    assert error.code == "unknown_platform" and error.status == 400
    assert "'playstation'" in error.message and "android, web" in error.message
    assert error.details == [{"field": "platform"}]
    assert error.body()["error"]["code"] == "unknown_platform"


def test_android_platform_accepted() -> None:
    result = run([ev()], platform="android")
    assert result.header["platform"] == "android" and result.accepted == 1


# --------------------------------------------------------------------------- clock skew and envelope


def test_clock_skew_is_corrected_and_client_time_kept() -> None:
    # the client clock is one hour behind the server
    sent_at = RECEIVED - timedelta(hours=1)
    client_time = sent_at - timedelta(seconds=30)
    result = run([ev(event_time=iso(client_time))], sent_at=iso(sent_at))
    (row,) = rows(result)
    assert row["client_event_time"] == to_ms(client_time)
    assert row["event_time"] == RECEIVED_MS - 30_000
    assert result.header["sent_at"] == to_ms(sent_at)


def test_clock_ahead_is_corrected_backwards() -> None:
    sent_at = RECEIVED + timedelta(minutes=10, milliseconds=250)
    result = run([ev(event_time=iso(sent_at - timedelta(seconds=1)))], sent_at=iso(sent_at))
    (row,) = rows(result)
    assert row["event_time"] == RECEIVED_MS - 1000
    assert row["client_event_time"] - row["event_time"] == 10 * 60_000 + 250


def test_skew_correction_applies_before_the_window_checks() -> None:
    # 40 days behind: the raw time looks too old, the corrected time is fine
    sent_at = RECEIVED - timedelta(days=40)
    result = run([ev(event_time=iso(sent_at - timedelta(seconds=1)))], sent_at=iso(sent_at))
    assert result.rejected == []
    # 2 days ahead: the raw time looks fine, the corrected one is in the future
    ahead = run(
        [ev(event_time=iso(RECEIVED + timedelta(hours=2)))], sent_at=iso(RECEIVED - timedelta(hours=23))
    )
    assert [r["code"] for r in ahead.rejected] == ["event_time_in_future"]


def test_without_sent_at_no_correction() -> None:
    result = run([ev(event_time="2025-12-03T09:00:00Z")])
    (row,) = rows(result)
    assert row["event_time"] == row["client_event_time"] == RECEIVED_MS - 3_725_000
    assert result.header["sent_at"] is None


def test_envelope_fields_in_the_header() -> None:
    result = run([ev()], client_version="1.0.0")
    assert result.header["client_version"] == "1.0.0"
    assert result.header["content_version"] is None and result.header["user_hash"] == "uh-1"
    anonymous = validate_batch(
        batch([ev()]),
        APP,
        batch_id="b",
        received_at_ms=RECEIVED_MS,
        user_hash=None,
        max_payload_bytes=MAX_PAYLOAD,
    )
    assert anonymous.header["user_hash"] is None


def test_compile_taxonomy_has_one_validator_per_event_type() -> None:
    assert set(compile_taxonomy(CONFIG)) == set(CONFIG.events)


def test_required_fields_are_per_event_type() -> None:
    result = run([ev("a", "session_start", payload={}), ev("b", "run_end", payload={})])
    assert [r["event_id"] for r in rows(result)] == ["a"]
    (rejection,) = result.rejected
    assert rejection["code"] == "missing_field"
    assert "payload.run_id: required" in rejection["message"]
    assert "payload.outcome: required" in rejection["message"]


def test_to_ms() -> None:
    assert to_ms(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert to_ms(RECEIVED) == RECEIVED_MS
    assert to_ms(RECEIVED + timedelta(milliseconds=7, microseconds=999)) == RECEIVED_MS + 7
    assert DAY_MS == 24 * HOUR_MS == 86_400_000


# --------------------------------------------------------------------------- queue messages


def _many_events(n: int) -> list[dict[str, Any]]:
    return [
        ev(f"evt-{i:04d}", payload={"run_id": f"r{i % 7}", "outcome": "win", "note": "n" * (i * 37 % 400)})
        for i in range(n)
    ]


@pytest.mark.parametrize("max_bytes", [1500, 4096, 20_000, 240 * 1024])
def test_queue_messages_split_within_limit(max_bytes: int) -> None:
    result = run(_many_events(300), client_version="0.6.0", sent_at=iso(RECEIVED))
    assert result.accepted == 300
    messages = queue_messages(result, max_bytes)
    assert all(len(m) <= max_bytes for m in messages)
    seen: list[str] = []
    for message in messages:
        header, events = parse_message(message)
        assert header == result.header
        seen.extend(events["event_id"])
    assert seen == [f"evt-{i:04d}" for i in range(300)]
    if max_bytes == 240 * 1024:
        assert len(messages) == 1
    else:
        assert len(messages) > 1


def test_queue_messages_rows_survive_verbatim() -> None:
    result = run(_many_events(20))
    messages = queue_messages(result, 2000)
    assert len(messages) > 1
    parsed = {name: [v for m in messages for v in message_columns(m)[name]] for name in EVENT_COLUMNS}
    assert parsed == lake_columns(result)


def test_an_event_larger_than_the_limit_travels_alone() -> None:
    events = [ev("a"), ev("huge", payload={"run_id": "r", "outcome": "win", "note": "x" * 3000}), ev("b")]
    messages = queue_messages(run(events), 2000)
    assert [parse_message(m)[1]["event_id"] for m in messages] == [["a"], ["huge"], ["b"]]
    assert [len(m) <= 2000 for m in messages] == [True, False, True]


def test_no_messages_without_accepted_events() -> None:
    result = run([ev(event_type="nope", payload={})])
    assert queue_messages(result, 1000) == []


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=60),
    max_bytes=st.integers(2000, 8000),
)
def test_queue_messages_property(sizes: list[int], max_bytes: int) -> None:
    events = [
        ev(f"id{i}", payload={"run_id": "r", "outcome": "loss", "note": "é" * n}) for i, n in enumerate(sizes)
    ]
    result = run(events)
    messages = queue_messages(result, max_bytes)
    assert all(len(m) <= max_bytes for m in messages)
    ids = [i for m in messages for i in parse_message(m)[1]["event_id"]]
    assert ids == [f"id{i}" for i in range(len(sizes))]
    # not split when everything fits with room to spare
    if len(queue_messages(result, 10**9)[0]) <= max_bytes:
        assert len(messages) == 1


# --------------------------------------------------------------------------- properties

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


def mostly(
    good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], odds: int = 6
) -> st.SearchStrategy[Any]:
    """`good` about odds/(odds+1) of the time (one_of alone would weigh every leaf branch the same)."""
    return st.integers(0, odds).flatmap(lambda n: bad if n == 0 else good)


VALUES = st.one_of(
    st.text(max_size=10),
    st.integers(-5, 1005),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(["win", "loss", 1, 2, 3, 2**53, 2**63]),
    JSON,
)
GOOD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "score": st.integers(0, 1000),
    "big": st.integers(INT64_MIN, INT64_MAX),
    "duration_ms": st.floats(0, 1e12) | st.integers(0, 2**53),
    "ratio": st.floats(max_value=1.5, allow_nan=False, allow_infinity=False),
    "boss_defeated": st.booleans(),
    "tier": st.sampled_from([1, 2, 3]),
    "challenge_id": st.text(max_size=10),
    "note": st.text(max_size=40),
}
RUN_END_PAYLOAD = st.fixed_dictionaries(
    {
        "run_id": mostly(st.text(min_size=1, max_size=8), VALUES, 10),
        "outcome": mostly(st.sampled_from(["win", "loss"]), VALUES, 10),
    },
    optional={name: mostly(good, VALUES, 12) for name, good in GOOD_VALUES.items()},
)
WINDOW_TIMES = st.datetimes(
    min_value=(RECEIVED - timedelta(days=31)).replace(tzinfo=None),
    max_value=(RECEIVED + timedelta(hours=25)).replace(tzinfo=None),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
).map(lambda d: d.isoformat())
TIMES = mostly(
    WINDOW_TIMES | WINDOW_TIMES.map(lambda text: text.replace("+00:00", "Z")),
    st.one_of(
        st.datetimes(min_value=datetime(2025, 10, 1), max_value=datetime(2025, 12, 6)).map(
            lambda d: d.isoformat()
        ),
        st.datetimes(min_value=datetime(1, 1, 1), timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        st.text(max_size=30),
        SCALARS,
    ),
)
GOOD_IDS = st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]) | st.text(min_size=1, max_size=8)
IDS = mostly(GOOD_IDS, SCALARS, 8)
PLAUSIBLE = mostly(
    st.fixed_dictionaries(
        {
            "event_id": IDS,
            "event_type": st.just("run_end"),
            "event_time": TIMES,
            "payload": mostly(RUN_END_PAYLOAD, JSON, 8),
        },
    ),
    st.fixed_dictionaries(
        {
            "event_id": IDS,
            "event_type": st.sampled_from(["session_start", "other"]) | SCALARS,
            "event_time": TIMES,
        },
        optional={"payload": st.one_of(st.none(), st.just({}), JSON), "extra": JSON},
    ),
    2,
)
EVENTS = st.lists(mostly(PLAUSIBLE, JSON), min_size=1, max_size=20)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=EVENTS,
    platform=st.sampled_from(["web", "android", "ios"]),
    sent_at=st.one_of(
        st.none(),
        st.datetimes(
            min_value=(RECEIVED - timedelta(days=2)).replace(tzinfo=None),
            max_value=(RECEIVED + timedelta(days=2)).replace(tzinfo=None),
            timezones=st.just(UTC),
        ),
    ),
    max_payload=st.integers(10, MAX_PAYLOAD),
)
def test_random_events_never_raise(
    events: list[Any], platform: str, sent_at: datetime | None, max_payload: int
) -> None:
    envelope: dict[str, Any] = {"platform": platform}
    if sent_at is not None:
        envelope["sent_at"] = sent_at
    try:
        result = run(events, max_payload_bytes=max_payload, **envelope)
    except BadRequest as exc:
        assert platform == "ios" and exc.code == "unknown_platform"
        return
    assert platform != "ios"
    assert result.accepted + len(result.rejected) == len(events)
    indices = [r["index"] for r in result.rejected]
    assert indices == sorted(set(indices)) and all(0 <= i < len(events) for i in indices)
    accepted = rows(result)
    assert len({r["event_id"] for r in accepted}) == len(accepted)
    for row in accepted:
        assert row["event_type"] in APP.validators
        assert len(row["payload"].encode()) <= max_payload
        payload = orjson.loads(row["payload"])
        assert {k: v for k, v in payload.items() if v is not None} == {**row["attrs"], **row["nums"]}
        assert all(type(v) is str for v in row["attrs"].values())
        assert all(type(v) in (int, float, bool) for v in row["nums"].values())
        assert RECEIVED_MS - 30 * DAY_MS <= row["event_time"] <= RECEIVED_MS + 24 * HOUR_MS
    ids = [i for message in queue_messages(result, 8192) for i in parse_message(message)[1]["event_id"]]
    assert ids == [r["event_id"] for r in accepted]


# --------------------------------------------------------------------------- known bugs


def test_lone_surrogate_in_a_payload_string_is_rejected_not_a_crash() -> None:
    result = run([ev("ok"), ev("bad", payload={"run_id": "r", "outcome": "win", "note": "\ud800"})])
    assert [r["event_id"] for r in rows(result)] == ["ok"]
    assert [r["index"] for r in result.rejected] == [1]


def test_lone_surrogate_in_an_event_id_is_rejected_not_a_crash() -> None:
    # Python's JSON parser (the resolver's path) lets a lone surrogate through; no encoder takes it
    result = run([ev("ok"), ev("bad\ud800")])
    assert [r["event_id"] for r in rows(result)] == ["ok"]
    assert result.rejected == [
        {"index": 1, "code": "invalid_event_id", "message": "event_id must be valid Unicode"}
    ]


def test_client_event_time_is_exact_to_the_millisecond_after_2038() -> None:
    received = datetime(2039, 9, 6, 13, 31, 40, tzinfo=UTC)
    result = run([ev(event_time="2039-09-06T13:31:33.765Z")], received_at_ms=to_ms(received))
    (row,) = rows(result)
    assert row["client_event_time"] == 2198928693765
