"""Unit tests for queue messages (domain/raw_events.py) and their grouping by lake partition
(domain/raw_batch.py: RawBatch, the writer's dedupe and split)."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops.domain.raw_batch import RawBatch, RawPartition
from liveops.domain.raw_events import (
    EVENT_COLUMNS,
    HOUR_MS,
    REQUIRED_HEADER,
    BadMessage,
    PartitionKey,
    parse_message,
)
from tests.lake_rows import message_columns, message_rows


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1000


def header(app_id: str = "acme", received_at: int | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "app_id": app_id,
        "batch_id": f"b-{app_id}",
        "received_at": ms("2025-12-03T10:30:00") if received_at is None else received_at,
        "sent_at": None,
        "session_id": "s1",
        "user_hash": None,
        "platform": "web",
        "client_version": None,
        "content_version": None,
        **extra,
    }


def event(event_id: str, when: str | int, score: float = 1) -> dict[str, Any]:
    moment = ms(when) if isinstance(when, str) else when
    return {
        "event_id": event_id,
        "event_type": "run_end",
        "event_time": moment,
        "client_event_time": moment,
        "nums": {"score": score},
        "attrs": {"tag": event_id},
        "payload": orjson.dumps({"tag": event_id, "score": score}).decode(),
    }


def columns(*events: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: [e[name] for e in events] for name in EVENT_COLUMNS}


def body(head: dict[str, Any], events: Any) -> bytes:
    return orjson.dumps({**head, "events": events})


def partitions(*messages: tuple[str, dict[str, Any], list[dict[str, Any]]]) -> list[RawPartition]:
    batch = RawBatch()
    for message_id, head, events in messages:
        batch.add(message_id, head, columns(*events))
    return batch.partitions()


def layout(parts: list[RawPartition]) -> dict[tuple[str, str, str], list[str]]:
    return {tuple(p.key.values()): p.table.column("event_id").to_pylist() for p in parts}  # type: ignore[misc]


def kept(parts: list[RawPartition]) -> list[tuple[str, str]]:
    """(event_id, batch_id) of every kept row."""
    return sorted(
        (row["event_id"], row["batch_id"])
        for p in parts
        for row in p.table.select(["event_id", "batch_id"]).to_pylist()
    )


# --------------------------------------------------------------------------- parse_message


def test_parse_message_splits_header_and_columns() -> None:
    events = columns(event("a", "2025-12-03T10:00:00"), event("b", "2025-12-03T11:00:00"))
    head, parsed = parse_message(body(header(), events))
    assert "events" not in head
    assert head == header()
    assert parsed == events


def test_parse_message_accepts_text() -> None:
    head, parsed = parse_message(body(header(), columns(event("a", 0))).decode())
    assert head["app_id"] == "acme" and parsed["event_id"] == ["a"]


def test_parse_message_allows_null_optional_header_fields() -> None:
    head, parsed = parse_message(body(header(sent_at=None, user_hash=None), columns(event("a", 0))))
    assert head["sent_at"] is None and head["user_hash"] is None and parsed["event_id"] == ["a"]


@pytest.mark.parametrize("raw", [b"", b"not json", b"{", b'{"v": 1, "events": [}', b"\xff\xfe", "{'v': 1}"])
def test_parse_message_refuses_non_json(raw: bytes | str) -> None:
    with pytest.raises(BadMessage, match="not JSON"):
        parse_message(raw)


@pytest.mark.parametrize(
    "message",
    [
        [],
        "text",
        1,
        None,
        {"app_id": "acme", "events": columns()},
        {**header(), "v": 3, "events": columns()},
        {**header(), "v": "1", "events": columns()},
        {**header(), "v": None, "events": columns()},
    ],
    ids=["list", "string", "number", "null", "no-version", "v3", "v-string", "v-null"],
)
def test_parse_message_refuses_other_versions(message: Any) -> None:
    with pytest.raises(BadMessage, match="not a liveops v1 or v2 events message"):
        parse_message(orjson.dumps(message))


@pytest.mark.parametrize(
    "events",
    [None, [], [event("a", 0)], "a", 3, {"event_id": ["a"]}],
    ids=["null", "list", "rows", "string", "number", "partial"],
)
def test_parse_message_needs_event_columns(events: Any) -> None:
    with pytest.raises(BadMessage, match="message events must be columns"):
        parse_message(body(header(), events))
    with pytest.raises(BadMessage, match="message events must be columns"):
        parse_message(orjson.dumps(header()))


@pytest.mark.parametrize("column", EVENT_COLUMNS)
def test_parse_message_needs_every_column_as_a_list(column: str) -> None:
    missing = columns(event("a", 0))
    del missing[column]
    with pytest.raises(BadMessage, match="must be columns"):
        parse_message(body(header(), missing))
    with pytest.raises(BadMessage, match="must be columns"):
        parse_message(body(header(), {**columns(event("a", 0)), column: "a"}))


def test_parse_message_needs_columns_of_one_length() -> None:
    uneven = columns(event("a", 0), event("b", 0))
    uneven["payload"].pop()
    with pytest.raises(BadMessage, match="differ in length"):
        parse_message(body(header(), uneven))


@pytest.mark.parametrize("field", REQUIRED_HEADER)
def test_parse_message_needs_header_fields(field: str) -> None:
    missing = header()
    del missing[field]
    with pytest.raises(BadMessage, match=f"message header lacks {field}"):
        parse_message(body(missing, columns(event("a", 0))))
    with pytest.raises(BadMessage, match=field):
        parse_message(body({**header(), field: None}, columns(event("a", 0))))


def test_parse_message_lists_every_missing_header_field() -> None:
    with pytest.raises(BadMessage) as info:
        parse_message(orjson.dumps({"v": 1, "events": columns()}))
    assert str(info.value) == "message header lacks " + ", ".join(REQUIRED_HEADER)


@pytest.mark.parametrize(
    "change", [{"received_at": "2025-12-03"}, {"received_at": 1.5}, {"app_id": 7}, {"app_id": ["acme"]}]
)
def test_parse_message_refuses_mistyped_header(change: dict[str, Any]) -> None:
    with pytest.raises(BadMessage, match="mistyped"):
        parse_message(body(header(**change), columns(event("a", 0))))


# --------------------------------------------------------------------------- v2: events as sent


def v2(*events: dict[str, Any], client_ms: list[int] | None = None, **changes: Any) -> bytes:
    times = [ms("2025-12-03T10:00:00")] * len(events) if client_ms is None else client_ms
    return orjson.dumps({**header(**changes), "v": 2, "client_ms": times, "events": list(events)})


def sent(event_id: str, payload: Any = None, **extra: Any) -> dict[str, Any]:
    event = {"event_type": "run_end", "event_id": event_id, "event_time": "2025-12-03T10:00:00Z", **extra}
    if payload is not None:
        event["payload"] = payload
    return event


def test_v2_events_become_the_lake_columns() -> None:
    at = ms("2025-12-03T10:00:00")
    message = v2(
        sent("a", {"tag": "x", "score": 3, "ratio": 0.5, "won": True}),
        sent("b"),
        sent("c", {"note": None, "tag": "y"}),
        client_ms=[at + 250, at, at],
    )
    head, parsed = parse_message(message)
    assert head == header(v=2)
    assert parsed["event_id"] == ["a", "b", "c"] and parsed["event_type"] == ["run_end"] * 3
    assert parsed["event_time"] == parsed["client_event_time"] == [at + 250, at, at]
    assert message_columns(message) == {
        "event_id": ["a", "b", "c"],
        "event_type": ["run_end"] * 3,
        "event_time": [at + 250, at, at],
        "client_event_time": [at + 250, at, at],
        # numbers and booleans as doubles apart from strings; a null field is stored as absent
        "nums": [{"score": 3.0, "ratio": 0.5, "won": 1.0}, {}, {}],
        "attrs": [{"tag": "x"}, {}, {"tag": "y"}],
        # the payload's JSON text exactly as it travelled ({} when there was none)
        "payload": ['{"tag":"x","score":3,"ratio":0.5,"won":true}', "{}", '{"note":null,"tag":"y"}'],
    }


def test_v2_corrects_the_event_time_by_the_clock_skew() -> None:
    received = ms("2025-12-03T10:30:00")
    at = ms("2025-12-03T10:00:00")
    _, parsed = parse_message(v2(sent("a"), client_ms=[at], received_at=received, sent_at=received - 60_000))
    assert parsed["client_event_time"] == [at]
    assert parsed["event_time"] == [at + 60_000]


@pytest.mark.parametrize(
    "message",
    [
        {"events": []},
        {"events": {"event_id": ["a"]}},
        {"events": ["a"]},
        {"events": [{"event_type": "run_end"}]},
        {"events": [{"event_id": 5, "event_type": "run_end"}]},
        {"events": [sent("a", [1])]},
        {"events": [sent("a", {"nested": {"x": 1}})]},
        {"events": [sent("a")], "client_ms": []},
        {"events": [sent("a")], "client_ms": ["2025-12-03T10:00:00Z"]},
        {"events": [sent("a")], "client_ms": None},
        {"events": [sent("a")], "received_at": "now"},
        {"events": [sent("a")], "app_id": None},
    ],
    ids=[
        "empty",
        "columns",
        "not-objects",
        "no-id",
        "id-number",
        "payload-list",
        "payload-nested",
        "times-short",
        "times-text",
        "times-null",
        "received-text",
        "no-app",
    ],
)
def test_v2_refuses_malformed_messages(message: dict[str, Any]) -> None:
    body = {**header(), "v": 2, "client_ms": [ms("2025-12-03T10:00:00")], **message}
    with pytest.raises(BadMessage):
        parse_message(orjson.dumps(body))


def test_v2_message_from_ingest_round_trips() -> None:
    """What ingest enqueues is what the writer reads: a validated batch through both ends."""
    from liveops.domain.ingest import CompiledApp, queue_messages, validate_batch
    from liveops.models.app_config import load_app_config
    from liveops.models.telemetry import BatchIn

    app = CompiledApp.build(
        load_app_config(
            {
                "app_id": "acme",
                "name": "Acme",
                "platforms": ["web"],
                "events": {"run_end": {"fields": {"tag": {"type": "string"}, "score": {"type": "number"}}}},
            }
        )
    )
    received = ms("2025-12-03T10:30:00")
    raw = orjson.dumps(
        {
            "session_id": "s1",
            "platform": "web",
            "sent_at": "2025-12-03T10:29:00Z",
            "events": [{**sent("a", {"tag": "t", "score": 2}), "event_time": "2025-12-03T10:00:00Z"}],
        }
    ).decode()
    assert app.decoder is not None
    decoded = app.decoder.decode(raw)
    assert decoded is not None
    batch = BatchIn.decoded(*decoded)
    validated = validate_batch(
        batch, app, batch_id="b", received_at_ms=received, user_hash=None, max_payload_bytes=16384
    )
    (message,) = queue_messages(validated, 256 * 1024)
    head, parsed = parse_message(message)
    assert head == validated.header
    assert parsed["event_time"] == [ms("2025-12-03T10:01:00")]
    (row,) = message_rows(message)
    assert row["nums"] == {"score": 2.0} and row["attrs"] == {"tag": "t"}
    assert row["payload"] == '{"tag":"t","score":2}'  # the taxonomy's field order


def test_bad_message_is_a_value_error() -> None:
    assert issubclass(BadMessage, ValueError)


# --------------------------------------------------------------------------- partition keys


def test_partition_key_strings() -> None:
    key = PartitionKey("acme", ms("2025-12-03T09:59:59") // HOUR_MS)
    assert (key.dt, key.hour) == ("2025-12-03", "09")
    assert key.values() == ["acme", "2025-12-03", "09"]
    assert key.prefix() == "raw/events/app_id=acme/dt=2025-12-03/hour=09/"
    assert key.prefix("lake/raw") == "lake/raw/app_id=acme/dt=2025-12-03/hour=09/"
    assert PartitionKey("acme", 0).dt == "1970-01-01" and PartitionKey("acme", 0).hour == "00"
    assert PartitionKey("acme", 23).hour == "23" and PartitionKey("acme", 24).dt == "1970-01-02"
    assert PartitionKey("acme", 24) == PartitionKey("acme", 24) != PartitionKey("other", 24)


# --------------------------------------------------------------------------- grouping


def test_group_by_app_and_utc_hour() -> None:
    parts = partitions(
        (
            "m1",
            header("acme"),
            [
                event("a", "2025-12-03T10:00:00"),
                event("b", "2025-12-03T10:59:59"),
                event("c", "2025-12-03T11:00:00"),
                event("d", "2025-12-03T23:59:59"),
                event("e", "2025-12-04T00:00:00"),
            ],
        ),
        ("m2", header("other"), [event("f", "2025-12-03T10:15:00")]),
        ("m3", header("acme"), [event("g", "2025-12-03T10:20:00")]),
    )
    assert layout(parts) == {
        ("acme", "2025-12-03", "10"): ["a", "b", "g"],
        ("acme", "2025-12-03", "11"): ["c"],
        ("acme", "2025-12-03", "23"): ["d"],
        ("acme", "2025-12-04", "00"): ["e"],
        ("other", "2025-12-03", "10"): ["f"],
    }
    ids = {tuple(p.key.values()): p.message_ids for p in parts}
    assert ids[("acme", "2025-12-03", "10")] == ["m1", "m3"]
    assert ids[("acme", "2025-12-03", "11")] == ["m1"]
    assert ids[("other", "2025-12-03", "10")] == ["m2"]
    # each row carries the envelope of its own message
    for part in parts:
        assert set(part.table.column("batch_id").to_pylist()) == {f"b-{part.key.app_id}"}


def test_one_app_one_hour_is_one_partition_with_every_message() -> None:
    parts = partitions(
        ("m1", header(), [event("a", "2025-12-03T10:00:00")]),
        ("m2", header(), [event("b", "2025-12-03T10:10:00"), event("c", "2025-12-03T10:20:00")]),
    )
    (part,) = parts
    assert part.key == PartitionKey("acme", ms("2025-12-03T10:00:00") // HOUR_MS)
    assert part.message_ids == ["m1", "m2"]
    assert part.table.column("event_id").to_pylist() == ["a", "b", "c"]


def test_partition_uses_corrected_event_time_not_client_time() -> None:
    skewed = {**event("a", "2025-12-03T10:05:00"), "client_event_time": ms("2025-12-03T07:05:00")}
    (part,) = partitions(("m1", header(), [skewed]))
    assert part.key.hour == "10"


def test_events_before_1970_and_far_apart_hours() -> None:
    parts = partitions(("m1", header(), [event("old", -1), event("new", ms("2100-01-01T05:00:00"))]))
    assert {tuple(p.key.values()) for p in parts} == {
        ("acme", "1969-12-31", "23"),
        ("acme", "2100-01-01", "05"),
    }


def test_no_messages_no_partitions() -> None:
    assert RawBatch().partitions() == []


# --------------------------------------------------------------------------- dedupe


def test_dedupe_keeps_the_first_when_it_was_received_first() -> None:
    early, late = ms("2025-12-03T10:30:00"), ms("2025-12-03T10:31:00")
    parts = partitions(
        (
            "m1",
            header(received_at=early, batch_id="early"),
            [event("x", "2025-12-03T10:00:00"), event("y", "2025-12-03T10:01:00")],
        ),
        ("m2", header(received_at=late, batch_id="late"), [event("x", "2025-12-03T10:00:00")]),
    )
    assert kept(parts) == [("x", "early"), ("y", "early")]


def test_dedupe_keeps_the_earliest_received_even_when_it_comes_second() -> None:
    early, late = ms("2025-12-03T10:30:00"), ms("2025-12-03T10:31:00")
    parts = partitions(
        (
            "m-late",
            header(received_at=late, batch_id="late"),
            [event("x", "2025-12-03T10:00:00", 1), event("z", "2025-12-03T10:02:00")],
        ),
        ("m-early", header(received_at=early, batch_id="early"), [event("x", "2025-12-03T10:00:00", 2)]),
    )
    assert kept(parts) == [("x", "early"), ("z", "late")]
    (part,) = parts
    rows = {r["event_id"]: r for r in part.table.to_pylist()}
    assert rows["x"]["nums"] == [("score", 2.0)]
    assert part.message_ids == ["m-late", "m-early"]


def test_dedupe_across_hours_drops_the_late_copy_and_its_empty_partition() -> None:
    early, late = ms("2025-12-03T12:00:00"), ms("2025-12-03T12:05:00")
    # the same event, corrected differently by two deliveries: hour 10 in the late copy, 11 in the early
    parts = partitions(
        ("m-late", header(received_at=late, batch_id="late"), [event("x", "2025-12-03T10:59:59")]),
        ("m-early", header(received_at=early, batch_id="early"), [event("x", "2025-12-03T11:00:01")]),
    )
    assert [(p.key.hour, p.message_ids) for p in parts] == [("11", ["m-early"])]
    assert kept(parts) == [("x", "early")]


def test_dedupe_across_hours_keeps_other_rows_of_that_partition() -> None:
    early, late = ms("2025-12-03T12:00:00"), ms("2025-12-03T12:05:00")
    parts = partitions(
        (
            "m-late",
            header(received_at=late, batch_id="late"),
            [event("x", "2025-12-03T10:10:00"), event("w", "2025-12-03T10:20:00")],
        ),
        ("m-early", header(received_at=early, batch_id="early"), [event("x", "2025-12-03T11:10:00")]),
    )
    assert layout(parts) == {("acme", "2025-12-03", "10"): ["w"], ("acme", "2025-12-03", "11"): ["x"]}
    assert {p.key.hour: p.message_ids for p in parts} == {"10": ["m-late"], "11": ["m-early"]}


def test_dedupe_three_copies_earliest_wins() -> None:
    t1, t2, t3 = (ms(f"2025-12-03T12:0{i}:00") for i in (1, 2, 3))
    parts = partitions(
        ("m3", header(received_at=t3, batch_id="third"), [event("x", "2025-12-03T09:00:00")]),
        ("m1", header(received_at=t1, batch_id="first"), [event("x", "2025-12-03T10:00:00")]),
        ("m2", header(received_at=t2, batch_id="second"), [event("x", "2025-12-03T11:00:00")]),
    )
    # the partitions of the dropped copies (hours 09 and 11) hold no row and are not returned
    assert [(p.key.hour, p.message_ids) for p in parts] == [("10", ["m1"])]
    assert kept(parts) == [("x", "first")]


def test_dedupe_ties_keep_the_first_seen() -> None:
    same = ms("2025-12-03T12:00:00")
    (part,) = partitions(
        ("m1", header(received_at=same, batch_id="first"), [event("x", "2025-12-03T10:00:00")]),
        ("m2", header(received_at=same, batch_id="second"), [event("x", "2025-12-03T10:00:00")]),
    )
    assert part.table.column("batch_id").to_pylist() == ["first"]
    assert part.message_ids == ["m1"]


def test_same_event_id_in_two_apps_is_not_a_duplicate() -> None:
    parts = partitions(
        ("m1", header("acme"), [event("x", "2025-12-03T10:00:00")]),
        ("m2", header("other"), [event("x", "2025-12-03T10:00:00")]),
    )
    assert sorted(p.key.app_id for p in parts) == ["acme", "other"]


def test_duplicate_within_one_message_keeps_the_first() -> None:
    (part,) = partitions(
        ("m1", header(), [event("x", "2025-12-03T10:00:00", 1), event("x", "2025-12-03T10:00:00", 2)])
    )
    assert part.table.column("nums").to_pylist() == [[("score", 1.0)]]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["acme", "other"]),
            st.integers(0, 1_000),  # received_at offset (s)
            st.lists(
                st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 5 * HOUR_MS)), min_size=1, max_size=6
            ),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_dedupe_property(deliveries: list[tuple[str, int, list[tuple[str, int]]]]) -> None:
    base = ms("2025-12-03T00:00:00")
    messages = [
        (
            f"m{i}",
            header(app, received_at=base + offset * 1000, batch_id=f"m{i}"),
            [event(eid, base + t) for eid, t in evs],
        )
        for i, (app, offset, evs) in enumerate(deliveries)
    ]
    parts = partitions(*messages)
    sent = {(head["app_id"], e["event_id"]) for _, head, evs in messages for e in evs}
    rows = [(p, row) for p in parts for row in p.table.to_pylist()]
    identities = [(p.key.app_id, row["event_id"]) for p, row in rows]
    # every event id once per app, and exactly the ids that were sent
    assert len(identities) == len(set(identities))
    assert set(identities) == sent
    by_id = {m[0]: m[1] for m in messages}
    for part, row in rows:
        head = by_id[row["batch_id"]]
        # the kept copy has the earliest received_at of its id, and the first such copy wins
        copies = [
            (h["received_at"], i)
            for i, (_, h, evs) in enumerate(messages)
            for e in evs
            if h["app_id"] == part.key.app_id and e["event_id"] == row["event_id"]
        ]
        assert (head["received_at"], int(row["batch_id"][1:])) == min(copies)
        # it sits in the partition of its own corrected hour, listed among the partition's messages
        event_ms = int(row["event_time"].timestamp() * 1000)
        assert part.key == PartitionKey(head["app_id"], event_ms // HOUR_MS)
        assert row["batch_id"] in part.message_ids
    assert all(p.table.num_rows > 0 for p in parts)
    assert len({p.key for p in parts}) == len(parts)


# --------------------------------------------------------------------------- malformed messages


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("event_time", ["2025-12-03"]),
        ("client_event_time", ["x", 1]),
        ("nums", ["score"]),
        ("nums", [{"score": "high"}]),
        ("attrs", [{"tag": 3}]),
        ("event_id", [7]),
        ("payload", [{"a": 1}]),
    ],
)
def test_add_refuses_malformed_events_and_adds_nothing(column: str, value: list[Any]) -> None:
    batch = RawBatch()
    batch.add("ok", header(), columns(event("a", "2025-12-03T10:00:00")))
    events = columns(*[event(f"b{i}", "2025-12-03T10:00:00") for i in range(len(value))])
    events[column] = value
    with pytest.raises(BadMessage, match="malformed events"):
        batch.add("bad", header(), events)
    (part,) = batch.partitions()
    assert part.message_ids == ["ok"] and part.table.column("event_id").to_pylist() == ["a"]


def test_add_refuses_a_missing_column() -> None:
    events = columns(event("a", 0))
    del events["attrs"]
    with pytest.raises(BadMessage):
        RawBatch().add("bad", header(), events)


def test_only_empty_messages_give_no_partitions() -> None:
    batch = RawBatch()
    batch.add("m1", header(), columns())
    assert batch.partitions() == []


@pytest.mark.parametrize(
    ("head", "column", "value"),
    [
        ({"sent_at": "yesterday"}, None, None),
        ({"batch_id": 5}, None, None),
        ({}, "event_time", [None]),
    ],
    ids=["sent_at-text", "batch_id-number", "event_time-null"],
)
def test_a_poison_message_is_refused_by_add_alone(
    head: dict[str, Any], column: str | None, value: Any
) -> None:
    batch = RawBatch()
    batch.add("ok", header(), columns(event("a", "2025-12-03T10:00:00")))
    events = columns(event("b", "2025-12-03T10:00:00"))
    if column is not None:
        events[column] = value
    with contextlib.suppress(BadMessage):  # refused alone: fine
        batch.add("bad", header(**head), events)
    (part,) = batch.partitions()
    assert part.message_ids == ["ok"]


# --------------------------------------------------------------------------- file names


def test_file_name_is_deterministic_for_the_same_message_ids() -> None:
    table = pa.table({"event_id": ["a"]})  # the name depends on the message ids alone
    key = PartitionKey("acme", 10)
    one = RawPartition(key, table=table, message_ids=["m1", "m2", "m3"])
    two = RawPartition(PartitionKey("other", 99), table=table.slice(0, 0), message_ids=["m3", "m1", "m2"])
    assert one.file_name() == two.file_name()
    assert re.fullmatch(r"part-[0-9a-f]{24}\.parquet", one.file_name())
    assert one.file_name() != RawPartition(key, table, ["m1", "m2"]).file_name()
    assert one.file_name() != RawPartition(key, table, ["m1", "m2", "m4"]).file_name()


def test_file_name_from_grouping_ignores_message_order() -> None:
    a = ("m-a", header(), [event("x", "2025-12-03T10:00:00")])
    b = ("m-b", header(), [event("y", "2025-12-03T10:10:00")])
    (first,) = partitions(a, b)
    (second,) = partitions(b, a)
    assert first.file_name() == second.file_name()
    (alone,) = partitions(a)
    assert alone.file_name() != first.file_name()
