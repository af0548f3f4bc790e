"""Unit tests for queue message parsing and partition grouping (domain/raw_events.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops.domain.raw_events import (
    HOUR_MS,
    REQUIRED_EVENT,
    REQUIRED_HEADER,
    BadMessage,
    PartitionKey,
    PartitionRows,
    group_by_partition,
    parse_message,
)


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
        "dims": {"platform": "web"},
        **extra,
    }


def event(event_id: str, when: str | int, **extra: Any) -> dict[str, Any]:
    moment = ms(when) if isinstance(when, str) else when
    return {
        "event_id": event_id,
        "event_type": "run_end",
        "event_time": moment,
        "client_event_time": moment,
        "payload": {"score": 1},
        **extra,
    }


def body(head: dict[str, Any], events: list[Any]) -> bytes:
    return orjson.dumps({**head, "events": events})


# --------------------------------------------------------------------------- parse_message


def test_parse_message_splits_header_and_events() -> None:
    events = [event("a", "2025-12-03T10:00:00"), event("b", "2025-12-03T11:00:00")]
    head, parsed = parse_message(body(header(), events))
    assert "events" not in head
    assert head == header()
    assert parsed == events


def test_parse_message_accepts_text() -> None:
    head, parsed = parse_message(body(header(), [event("a", 0)]).decode())
    assert head["app_id"] == "acme" and parsed[0]["event_id"] == "a"


def test_parse_message_allows_empty_events_and_null_optional_header_fields() -> None:
    head, parsed = parse_message(body(header(sent_at=None, user_hash=None), []))
    assert parsed == [] and head["sent_at"] is None


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"{", b'{"v": 1, "events": [}', b"\xff\xfe", "{'v': 1}"],
)
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
        {"app_id": "acme", "events": []},
        {**header(), "v": 2, "events": []},
        {**header(), "v": "1", "events": []},
        {**header(), "v": None, "events": []},
    ],
    ids=["list", "string", "number", "null", "no-version", "v2", "v-string", "v-null"],
)
def test_parse_message_refuses_other_versions(message: Any) -> None:
    with pytest.raises(BadMessage, match="not a liveops v1 events message"):
        parse_message(orjson.dumps(message))


@pytest.mark.parametrize("events", [None, {}, "a", 3], ids=["null", "dict", "string", "number"])
def test_parse_message_needs_an_events_list(events: Any) -> None:
    with pytest.raises(BadMessage, match="no events list"):
        parse_message(body(header(), events))
    with pytest.raises(BadMessage, match="no events list"):
        parse_message(orjson.dumps(header()))


@pytest.mark.parametrize("field", REQUIRED_HEADER)
def test_parse_message_needs_header_fields(field: str) -> None:
    missing = header()
    del missing[field]
    with pytest.raises(BadMessage, match=f"message header lacks {field}"):
        parse_message(body(missing, [event("a", 0)]))
    with pytest.raises(BadMessage, match=field):
        parse_message(body({**header(), field: None}, [event("a", 0)]))


def test_parse_message_lists_every_missing_header_field() -> None:
    with pytest.raises(BadMessage) as info:
        parse_message(orjson.dumps({"v": 1, "events": []}))
    assert str(info.value) == "message header lacks " + ", ".join(REQUIRED_HEADER)


@pytest.mark.parametrize("field", REQUIRED_EVENT)
def test_parse_message_needs_event_fields(field: str) -> None:
    bad = event("b", 0)
    del bad[field]
    with pytest.raises(BadMessage, match="an event lacks required fields"):
        parse_message(body(header(), [event("a", 0), bad]))
    with pytest.raises(BadMessage, match="an event lacks required fields"):
        parse_message(body(header(), [event("a", 0), {**event("b", 0), field: None}]))


@pytest.mark.parametrize("bad", [None, "event", 3, ["event_id"]])
def test_parse_message_refuses_non_object_events(bad: Any) -> None:
    with pytest.raises(BadMessage, match="an event lacks required fields"):
        parse_message(body(header(), [event("a", 0), bad]))


def test_bad_message_is_a_value_error() -> None:
    assert issubclass(BadMessage, ValueError)


# --------------------------------------------------------------------------- partitions


def test_partition_key_strings() -> None:
    key = PartitionKey("acme", ms("2025-12-03T09:59:59") // HOUR_MS)
    assert (key.dt, key.hour) == ("2025-12-03", "09")
    assert key.values() == ["acme", "2025-12-03", "09"]
    assert key.prefix() == "raw/events/app_id=acme/dt=2025-12-03/hour=09/"
    assert key.prefix("lake/raw") == "lake/raw/app_id=acme/dt=2025-12-03/hour=09/"
    assert PartitionKey("acme", 0).dt == "1970-01-01" and PartitionKey("acme", 0).hour == "00"
    assert PartitionKey("acme", 23).hour == "23" and PartitionKey("acme", 24).dt == "1970-01-02"


def test_group_by_app_and_utc_hour() -> None:
    messages = [
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
    ]
    groups = group_by_partition(messages)
    layout = {
        (g.key.app_id, g.key.dt, g.key.hour): [row[1]["event_id"] for row in g.rows if row is not None]
        for g in groups
    }
    assert layout == {
        ("acme", "2025-12-03", "10"): ["a", "b", "g"],
        ("acme", "2025-12-03", "11"): ["c"],
        ("acme", "2025-12-03", "23"): ["d"],
        ("acme", "2025-12-04", "00"): ["e"],
        ("other", "2025-12-03", "10"): ["f"],
    }
    ids = {(g.key.app_id, g.key.hour, g.key.dt): g.message_ids for g in groups}
    assert ids[("acme", "10", "2025-12-03")] == {"m1", "m3"}
    assert ids[("acme", "11", "2025-12-03")] == {"m1"}
    assert ids[("other", "10", "2025-12-03")] == {"m2"}
    # rows keep their own header
    ten = next(g for g in groups if g.key == PartitionKey("acme", ms("2025-12-03T10:00:00") // HOUR_MS))
    assert [row[0]["batch_id"] for row in ten.rows if row is not None] == ["b-acme"] * 3


def test_partition_uses_corrected_event_time_not_client_time() -> None:
    skewed = event("a", "2025-12-03T10:05:00", client_event_time=ms("2025-12-03T07:05:00"))
    (group,) = group_by_partition([("m1", header(), [skewed])])
    assert group.key.hour == "10"


def test_no_events_no_groups() -> None:
    assert group_by_partition([]) == []
    assert group_by_partition([("m1", header(), [])]) == []


def _kept(groups: list[PartitionRows]) -> list[tuple[str, int]]:
    return sorted(
        (row[1]["event_id"], row[0]["received_at"]) for g in groups for row in g.rows if row is not None
    )


def test_dedupe_keeps_the_first_when_it_was_received_first() -> None:
    early, late = ms("2025-12-03T10:30:00"), ms("2025-12-03T10:31:00")
    groups = group_by_partition(
        [
            (
                "m1",
                header(received_at=early),
                [event("x", "2025-12-03T10:00:00"), event("y", "2025-12-03T10:01:00")],
            ),
            ("m2", header(received_at=late), [event("x", "2025-12-03T10:00:00")]),
        ]
    )
    assert _kept(groups) == [("x", early), ("y", early)]
    (group,) = groups
    assert [row is None for row in group.rows] == [False, False]  # the later copy was never placed


def test_dedupe_keeps_the_earliest_received_even_when_it_comes_second() -> None:
    early, late = ms("2025-12-03T10:30:00"), ms("2025-12-03T10:31:00")
    groups = group_by_partition(
        [
            (
                "m-late",
                header(received_at=late),
                [event("x", "2025-12-03T10:00:00"), event("z", "2025-12-03T10:02:00")],
            ),
            ("m-early", header(received_at=early), [event("x", "2025-12-03T10:00:00")]),
        ]
    )
    assert _kept(groups) == [("x", early), ("z", late)]
    (group,) = groups
    assert group.rows[0] is None  # the dropped copy leaves a hole where it was placed
    assert len([row for row in group.rows if row is not None]) == 2


def test_dedupe_across_hours_drops_the_late_copy_and_its_empty_partition() -> None:
    early, late = ms("2025-12-03T12:00:00"), ms("2025-12-03T12:05:00")
    # the same event, corrected differently by two deliveries: hour 10 in the late copy, 11 in the early
    groups = group_by_partition(
        [
            ("m-late", header(received_at=late), [event("x", "2025-12-03T10:59:59")]),
            ("m-early", header(received_at=early), [event("x", "2025-12-03T11:00:01")]),
        ]
    )
    assert [(g.key.hour, g.message_ids) for g in groups] == [("11", {"m-early"})]
    assert _kept(groups) == [("x", early)]


def test_dedupe_across_hours_keeps_other_rows_of_the_emptied_partition() -> None:
    early, late = ms("2025-12-03T12:00:00"), ms("2025-12-03T12:05:00")
    groups = group_by_partition(
        [
            (
                "m-late",
                header(received_at=late),
                [event("x", "2025-12-03T10:10:00"), event("w", "2025-12-03T10:20:00")],
            ),
            ("m-early", header(received_at=early), [event("x", "2025-12-03T11:10:00")]),
        ]
    )
    by_hour = {g.key.hour: g for g in groups}
    assert set(by_hour) == {"10", "11"}
    assert [r[1]["event_id"] if r else None for r in by_hour["10"].rows] == [None, "w"]
    assert [r[1]["event_id"] for r in by_hour["11"].rows if r] == ["x"]


def test_dedupe_three_copies_earliest_wins() -> None:
    t1, t2, t3 = (ms(f"2025-12-03T12:0{i}:00") for i in (1, 2, 3))
    groups = group_by_partition(
        [
            ("m3", header(received_at=t3), [event("x", "2025-12-03T09:00:00")]),
            ("m1", header(received_at=t1), [event("x", "2025-12-03T10:00:00")]),
            ("m2", header(received_at=t2), [event("x", "2025-12-03T11:00:00")]),
        ]
    )
    assert _kept(groups) == [("x", t1)]
    # the partitions of the dropped copies (hours 09 and 11) hold no row and are not returned
    assert [(g.key.hour, g.message_ids) for g in groups] == [("10", {"m1"})]


def test_dedupe_ties_keep_the_first_seen() -> None:
    same = ms("2025-12-03T12:00:00")
    groups = group_by_partition(
        [
            ("m1", header(received_at=same, batch_id="first"), [event("x", "2025-12-03T10:00:00")]),
            ("m2", header(received_at=same, batch_id="second"), [event("x", "2025-12-03T10:00:00")]),
        ]
    )
    (group,) = groups
    assert [row[0]["batch_id"] for row in group.rows if row] == ["first"]


def test_same_event_id_in_two_apps_is_not_a_duplicate() -> None:
    groups = group_by_partition(
        [
            ("m1", header("acme"), [event("x", "2025-12-03T10:00:00")]),
            ("m2", header("other"), [event("x", "2025-12-03T10:00:00")]),
        ]
    )
    assert sorted(g.key.app_id for g in groups) == ["acme", "other"]


def test_duplicate_within_one_message_keeps_the_first() -> None:
    (group,) = group_by_partition(
        [
            (
                "m1",
                header(),
                [event("x", "2025-12-03T10:00:00", payload={"n": 1}), event("x", "2025-12-03T10:00:00")],
            )
        ]
    )
    assert [row[1]["payload"] for row in group.rows if row] == [{"n": 1}]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["acme", "other"]),
            st.integers(0, 1_000),  # received_at offset (s)
            st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 5 * HOUR_MS)), max_size=6),
        ),
        max_size=8,
    )
)
def test_dedupe_property(deliveries: list[tuple[str, int, list[tuple[str, int]]]]) -> None:
    base = ms("2025-12-03T00:00:00")
    messages = [
        (f"m{i}", header(app, received_at=base + offset * 1000), [event(eid, base + t) for eid, t in evs])
        for i, (app, offset, evs) in enumerate(deliveries)
    ]
    groups = group_by_partition(messages)
    kept = [(g.key, row) for g in groups for row in g.rows if row is not None]
    identities = [(head["app_id"], ev["event_id"]) for _, (head, ev) in kept]
    # every event id once per app, and exactly the ids that were sent
    assert len(identities) == len(set(identities))
    assert set(identities) == {(head["app_id"], ev["event_id"]) for _, head, evs in messages for ev in evs}
    for key, (head, ev) in kept:
        # the kept copy is one with the earliest received_at of its id
        earliest = min(
            h["received_at"]
            for _, h, evs in messages
            for e in evs
            if h["app_id"] == head["app_id"] and e["event_id"] == ev["event_id"]
        )
        assert head["received_at"] == earliest
        # and it sits in the partition of its own corrected hour
        assert key == PartitionKey(head["app_id"], ev["event_time"] // HOUR_MS)
    assert all(any(row is not None for row in g.rows) for g in groups)


# --------------------------------------------------------------------------- file names


def test_file_name_is_deterministic_for_the_same_message_ids() -> None:
    key = PartitionKey("acme", 10)
    one = PartitionRows(key, message_ids={"m1", "m2", "m3"})
    two = PartitionRows(PartitionKey("other", 99), message_ids={"m3", "m1", "m2"})
    assert one.file_name() == two.file_name()
    assert re.fullmatch(r"part-[0-9a-f]{24}\.parquet", one.file_name())
    assert one.file_name() != PartitionRows(key, message_ids={"m1", "m2"}).file_name()
    assert one.file_name() != PartitionRows(key, message_ids={"m1", "m2", "m4"}).file_name()


def test_file_name_from_grouping_ignores_message_order() -> None:
    a = ("m-a", header(), [event("x", "2025-12-03T10:00:00")])
    b = ("m-b", header(), [event("y", "2025-12-03T10:10:00")])
    (first,) = group_by_partition([a, b])
    (second,) = group_by_partition([b, a])
    assert first.file_name() == second.file_name()
    (alone,) = group_by_partition([a])
    assert alone.file_name() != first.file_name()
