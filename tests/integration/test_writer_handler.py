"""The writer function against moto: SQS batches -> Parquet partitions, partial failures."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pyarrow.parquet as pq
import pytest

from liveops import aws
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api, batch, drain, event

HOUR_MS = 3_600_000
T0 = 1_764_756_000_000  # 2025-12-03T10:00:00Z


def message(
    app: str, events: list[dict[str, Any]], received: int = T0, batch_id: str = "b1"
) -> dict[str, Any]:
    """A v1 queue message (envelope once, the lake columns themselves), as ingest built them
    before queue message v2; the writer still reads them."""
    columns = ("event_id", "event_type", "event_time", "client_event_time", "nums", "attrs", "payload")
    return {
        "v": 1,
        "app_id": app,
        "batch_id": batch_id,
        "received_at": received,
        "sent_at": None,
        "session_id": "s",
        "user_hash": "u" * 64,
        "platform": "web",
        "client_version": "1.0",
        "content_version": None,
        "events": {name: [e.get(name) for e in events] for name in columns},
    }


def raw_event(event_id: str, t: int, outcome: str = "win", score: int = 3) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "run_end",
        "event_time": t,
        "client_event_time": t,
        "nums": {"score": score},
        "attrs": {"outcome": outcome},
        "payload": json.dumps({"outcome": outcome, "score": score}),
    }


def sqs_event(bodies: list[Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"r{i}",
                "body": b if isinstance(b, str) else json.dumps(b),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
            for i, b in enumerate(bodies)
        ]
    }


def lake_rows(stack: AwsStack) -> dict[str, list[dict[str, Any]]]:
    s3 = aws.client("s3")
    bucket = stack.env["LAKE_BUCKET"]
    found: dict[str, list[dict[str, Any]]] = {}
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix="raw/events/").get("Contents", []):
        data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        found[obj["Key"]] = pq.read_table(io.BytesIO(data)).to_pylist()
    return found


def writer(stack: AwsStack) -> Any:
    return stack.function("WriterFunction")


def test_one_file_per_partition_with_registered_partitions(stack: AwsStack) -> None:
    bodies = [
        message("app-a", [raw_event("e1", T0 + 1), raw_event("e2", T0 + HOUR_MS + 5)]),
        message("app-a", [raw_event("e3", T0 + 2)], batch_id="b2"),
        message("app-b", [raw_event("e4", T0 + 3)], batch_id="b3"),
    ]
    result = writer(stack).invoke(sqs_event(bodies))
    assert result == {"batchItemFailures": []}
    files = lake_rows(stack)
    by_partition = {key.rsplit("/", 1)[0]: sorted(r["event_id"] for r in rows) for key, rows in files.items()}
    assert by_partition == {
        "raw/events/app_id=app-a/dt=2025-12-03/hour=10": ["e1", "e3"],
        "raw/events/app_id=app-a/dt=2025-12-03/hour=11": ["e2"],
        "raw/events/app_id=app-b/dt=2025-12-03/hour=10": ["e4"],
    }
    glue = aws.client("glue")
    partitions = glue.get_partitions(DatabaseName=stack.env["GLUE_DATABASE"], TableName="raw_events")[
        "Partitions"
    ]
    assert sorted(tuple(p["Values"]) for p in partitions) == [
        ("app-a", "2025-12-03", "10"),
        ("app-a", "2025-12-03", "11"),
        ("app-b", "2025-12-03", "10"),
    ]
    location = {tuple(p["Values"]): p["StorageDescriptor"]["Location"] for p in partitions}
    assert location[("app-b", "2025-12-03", "10")] == (
        f"s3://{stack.env['LAKE_BUCKET']}/raw/events/app_id=app-b/dt=2025-12-03/hour=10/"
    )


def test_duplicates_in_a_batch_are_dropped_keeping_the_earliest(stack: AwsStack) -> None:
    late = message("app-a", [raw_event("dup", T0 + 10, outcome="loss")], received=T0 + 500, batch_id="late")
    early = message("app-a", [raw_event("dup", T0 + 10, outcome="win")], received=T0 + 100, batch_id="early")
    assert writer(stack).invoke(sqs_event([late, early])) == {"batchItemFailures": []}
    rows = [r for rs in lake_rows(stack).values() for r in rs]
    assert len(rows) == 1
    assert rows[0]["batch_id"] == "early" and rows[0]["attrs"] == [("outcome", "win")]


def message_v2(
    app: str, events: list[tuple[str, int, dict[str, Any]]], received: int = T0, batch_id: str = "v2"
) -> dict[str, Any]:
    """A v2 queue message, as ingest builds it now: (event_id, client time ms, payload) each."""
    head = {**message(app, [], received, batch_id), "v": 2}
    del head["events"]
    return {
        **head,
        "client_ms": [t for _, t, _ in events],
        "events": [
            {"event_type": "run_end", "event_id": i, "event_time": "(unused)", "payload": p}
            for i, _, p in events
        ],
    }


def test_v1_and_v2_messages_of_one_batch_land_in_one_file(stack: AwsStack) -> None:
    """An upgrade: v1 messages still queued beside the new v2 ones; dedupe spans both."""
    old = message(
        "app-a", [raw_event("e1", T0 + 1), raw_event("dup", T0 + 5)], received=T0 + 900, batch_id="old"
    )
    new = message_v2(
        "app-a", [("e2", T0 + 2, {"outcome": "win", "score": 7}), ("dup", T0 + 5, {"outcome": "loss"})]
    )
    assert writer(stack).invoke(sqs_event([old, new])) == {"batchItemFailures": []}
    (rows,) = lake_rows(stack).values()
    by_id = {r["event_id"]: r for r in rows}
    assert sorted(by_id) == ["dup", "e1", "e2"]
    assert by_id["e2"]["nums"] == [("score", 7.0)] and by_id["e2"]["attrs"] == [("outcome", "win")]
    # the payload text exactly as it travelled (this test's messages are json.dumps'd, with spaces)
    assert by_id["e2"]["payload"] == '{"outcome": "win", "score": 7}'
    assert by_id["dup"]["batch_id"] == "v2"  # received first (T0 < T0 + 900)


def test_a_bad_v2_message_fails_alone(stack: AwsStack) -> None:
    good = message_v2("app-a", [("ok", T0, {"outcome": "win"})])
    nested = message_v2("app-a", [("bad", T0, {"outcome": {"nested": 1}})], batch_id="bad")
    short = {**message_v2("app-a", [("short", T0, {})], batch_id="short"), "client_ms": []}
    result = writer(stack).invoke(sqs_event([nested, good, short]))
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m0", "m2"]
    assert [r["event_id"] for rs in lake_rows(stack).values() for r in rs] == ["ok"]


def test_a_bad_message_fails_alone(stack: AwsStack) -> None:
    bodies = ["not json", message("app-a", [raw_event("ok", T0)]), {"v": 2}]
    result = writer(stack).invoke(sqs_event(bodies))
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m0", "m2"]
    rows = [r["event_id"] for rs in lake_rows(stack).values() for r in rs]
    assert rows == ["ok"]


def test_a_failed_partition_write_fails_only_its_messages(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liveops import wiring

    lake = wiring.raw_event_writer()._lake
    original = lake.write

    def flaky(group: Any) -> str:
        if group.key.app_id == "broken":
            raise OSError("S3 unavailable")
        return original(group)

    monkeypatch.setattr(lake, "write", flaky)
    bodies = [message("fine", [raw_event("a", T0)]), message("broken", [raw_event("b", T0)], batch_id="x")]
    result = wiring.raw_event_writer().handle(sqs_event(bodies))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert [r["event_id"] for rs in lake_rows(stack).values() for r in rs] == ["a"]


def test_redelivery_of_the_same_messages_overwrites_the_same_file(stack: AwsStack) -> None:
    bodies = [message("app-a", [raw_event("e1", T0)])]
    writer(stack).invoke(sqs_event(bodies))
    writer(stack).invoke(sqs_event(bodies))
    files = lake_rows(stack)
    assert len(files) == 1 and [r["event_id"] for r in next(iter(files.values()))] == ["e1"]


def test_ingest_to_lake_round_trip(stack: AwsStack, game: str) -> None:
    api = Api()
    events = [
        event(
            run_id=f"r{i}",
            outcome="loss",
            score=i,
            duration_ms=1.5 * i,
            boss_defeated=i % 2 == 0,
            challenge_id="daily-é",
        )
        for i in range(50)
    ]
    status, _, answer = api.call(
        "POST", "/v1/telemetry/batch", batch(events, sent_at=events[0]["event_time"]), {"x-api-key": game}
    )
    assert status == 202 and answer["accepted"] == 50
    queue = stack.env["EVENTS_QUEUE_URL"]
    sqs = aws.client("sqs")
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    records = sqs_event([m["Body"] for m in got])
    assert writer(stack).invoke(records) == {"batchItemFailures": []}
    drain(queue)
    rows = sorted((r for rs in lake_rows(stack).values() for r in rs), key=lambda r: r["nums"][0][1])
    assert [r["event_id"] for r in rows] == [e["event_id"] for e in events]
    first = rows[1]
    assert (first["platform"], first["client_version"], first["session_id"]) == ("web", "1.2.0", "s-1")
    assert dict(first["nums"]) == {"score": 1.0, "duration_ms": 1.5, "boss_defeated": 0.0}
    assert dict(first["attrs"]) == {"run_id": "r1", "outcome": "loss", "challenge_id": "daily-é"}
    assert json.loads(first["payload"]) == {
        "run_id": "r1",
        "outcome": "loss",
        "score": 1,
        "duration_ms": 1.5,
        "boss_defeated": False,
        "challenge_id": "daily-é",
    }
    assert first["user_hash"] and len(first["user_hash"]) == 64
    assert first["batch_id"] == answer["batch_id"]
    assert uuid.UUID(first["event_id"])


def test_a_message_split_over_partitions_is_rolled_back_when_one_part_fails(
    stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # m0 has rows in hours 10 and 11; m1 only in hour 10; the hour-11 write fails
    bodies = [
        message("app-a", [raw_event("a", T0), raw_event("b", T0 + HOUR_MS)], batch_id="b0"),
        message("app-a", [raw_event("c", T0 + 60_000)], batch_id="b1"),
    ]
    handler = writer(stack)
    from liveops.storage.lake import RawEventsLake

    real_write = RawEventsLake.write

    def failing_hour_11(self: RawEventsLake, partition: Any) -> str:
        if partition.key.hour == "11":
            raise OSError("injected")
        return real_write(self, partition)

    monkeypatch.setattr(RawEventsLake, "write", failing_hour_11)
    response = handler.invoke(sqs_event(bodies))
    # the hour-10 file held m0's rows too: it is deleted, so both messages come again
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {"m0", "m1"}
    assert lake_rows(stack) == {}
    monkeypatch.setattr(RawEventsLake, "write", real_write)
    assert handler.invoke(sqs_event(bodies)) == {"batchItemFailures": []}
    assert sorted(r["event_id"] for rs in lake_rows(stack).values() for r in rs) == ["a", "b", "c"]
