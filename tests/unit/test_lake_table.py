"""Unit tests for the raw events table: the Arrow table a RawBatch builds (domain/raw_batch.py),
its Parquet bytes (storage/lake.py) and its match with the Glue table in template.yaml. No S3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from liveops.domain.ingest import CompiledApp, queue_messages, validate_batch
from liveops.domain.raw_batch import NUM_MAP, RAW_EVENTS_SCHEMA, STR_MAP, TS, RawBatch, RawPartition
from liveops.domain.raw_events import HOUR_MS, parse_message
from liveops.local.template import load_template
from liveops.models.app_config import load_app_config
from liveops.models.telemetry import BatchIn
from liveops.storage.lake import RawEventsLake, parquet_bytes

RECEIVED = datetime(2025, 12, 3, 10, 30, 0, tzinfo=UTC)
RECEIVED_MS = int(RECEIVED.timestamp()) * 1000

APP = CompiledApp.build(
    load_app_config(
        {
            "app_id": "acme",
            "name": "Acme",
            "platforms": ["web"],
            "events": {
                "run_end": {
                    "fields": {
                        "run_id": {"type": "string", "required": True},
                        "score": {"type": "integer"},
                        "duration_ms": {"type": "number"},
                        "win": {"type": "boolean"},
                        "challenge_id": {"type": "string"},
                    }
                },
                "ping": {},
            },
            "dimensions": [
                "platform",
                "client_version",
                {"name": "challenge", "from": "payload.challenge_id"},
            ],
        }
    )
)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def make_messages(
    events: list[dict[str, Any]],
    *,
    received_ms: int = RECEIVED_MS,
    batch_id: str = "b1",
    max_bytes: int = 256 * 1024,
    **envelope: Any,
) -> list[bytes]:
    """Queue messages exactly as the ingest function sends them."""
    batch = BatchIn.model_validate({"session_id": "sess", "platform": "web", "events": events, **envelope})
    validated = validate_batch(
        batch, APP, batch_id=batch_id, received_at_ms=received_ms, user_hash="hash-1", max_payload_bytes=16384
    )
    assert validated.rejected == []
    return queue_messages(validated, max_bytes)


def partitions_of(*messages: bytes) -> list[RawPartition]:
    """What the writer does with one SQS batch of these messages."""
    batch = RawBatch()
    for i, message in enumerate(messages):
        batch.add(f"msg-{i}", *parse_message(message))
    return batch.partitions()


def one_table(*messages: bytes) -> pa.Table:
    (partition,) = partitions_of(*messages)
    return partition.table


def run_end(event_id: str, minutes_ago: float, **payload: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "run_end",
        "event_time": iso(RECEIVED - timedelta(minutes=minutes_ago)),
        "payload": {"run_id": "r1", **payload},
    }


def roundtrip(table: pa.Table) -> pa.Table:
    data = parquet_bytes(table)
    assert isinstance(data, bytes) and data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    return pq.read_table(pa.BufferReader(data))


# --------------------------------------------------------------------------- the table


def test_table_has_the_schema_and_one_row_per_event() -> None:
    (message,) = make_messages(
        [
            run_end("a", 1, score=3),
            run_end("b", 2, win=True),
            {"event_id": "c", "event_type": "ping", "event_time": iso(RECEIVED)},
        ],
        client_version="0.6.0",
        sent_at=iso(RECEIVED),
    )
    table = one_table(message)
    assert table.schema.equals(RAW_EVENTS_SCHEMA)
    assert table.num_rows == 3
    assert table.column("event_id").to_pylist() == ["a", "b", "c"]
    assert table.column("event_type").to_pylist() == ["run_end", "run_end", "ping"]
    assert table.column("batch_id").to_pylist() == ["b1"] * 3
    assert table.column("session_id").to_pylist() == ["sess"] * 3
    assert table.column("user_hash").to_pylist() == ["hash-1"] * 3
    assert table.column("platform").to_pylist() == ["web"] * 3
    assert table.column("client_version").to_pylist() == ["0.6.0"] * 3
    assert table.column("content_version").to_pylist() == [None] * 3


def test_parquet_roundtrip_keeps_schema_and_values() -> None:
    (message,) = make_messages([run_end("a", 1, score=3, duration_ms=1.25, win=False, challenge_id="daily")])
    table = one_table(message)
    back = roundtrip(table)
    assert back.schema.equals(RAW_EVENTS_SCHEMA)
    assert back.to_pylist() == table.to_pylist()


def test_timestamps_are_ms_utc() -> None:
    sent = RECEIVED - timedelta(hours=1, milliseconds=500)  # the client clock is 1 h 0.5 s behind
    client_time = sent - timedelta(seconds=10, milliseconds=123)
    (message,) = make_messages(
        [{"event_id": "a", "event_type": "ping", "event_time": iso(client_time)}], sent_at=iso(sent)
    )
    back = roundtrip(one_table(message))
    names = ("event_time", "client_event_time", "received_at", "sent_at")
    for name in names:
        assert back.schema.field(name).type == pa.timestamp("ms", tz="UTC")
    as_ms = {name: back.column(name).cast(pa.int64()).to_pylist()[0] for name in names}
    assert as_ms == {
        "event_time": RECEIVED_MS - 10_123,
        "client_event_time": RECEIVED_MS - 10_123 - 3_600_500,
        "received_at": RECEIVED_MS,
        "sent_at": RECEIVED_MS - 3_600_500,
    }
    (row,) = back.to_pylist()
    assert row["received_at"] == RECEIVED
    assert row["received_at"].utcoffset() == timedelta(0)


def test_missing_sent_at_and_user_hash_are_null() -> None:
    batch = BatchIn.model_validate(
        {
            "session_id": "s",
            "platform": "web",
            "events": [{"event_id": "e", "event_type": "ping", "event_time": iso(RECEIVED)}],
        }
    )
    validated = validate_batch(
        batch, APP, batch_id="b", received_at_ms=RECEIVED_MS, user_hash=None, max_payload_bytes=100
    )
    (message,) = queue_messages(validated, 10_000)
    (row,) = roundtrip(one_table(message)).to_pylist()
    assert row["sent_at"] is None and row["user_hash"] is None
    assert row["client_version"] is None and row["content_version"] is None
    assert row["nums"] == [] and row["attrs"] == []
    assert row["payload"] == "{}"


def test_nums_and_attrs_maps() -> None:
    (message,) = make_messages(
        [
            run_end("a", 1, score=7, duration_ms=12.5, win=True, challenge_id="daily"),
            run_end("b", 2, score=-3, win=False),
            run_end("c", 3, challenge_id=None, score=None),
            {"event_id": "d", "event_type": "ping", "event_time": iso(RECEIVED)},
        ],
        client_version="1.2.3",
    )
    rows = {r["event_id"]: r for r in roundtrip(one_table(message)).to_pylist()}
    # integers, numbers and booleans (1/0) go to nums as doubles; strings to attrs; nulls nowhere
    assert dict(rows["a"]["nums"]) == {"score": 7.0, "duration_ms": 12.5, "win": 1.0}
    assert all(type(v) is float for _, v in rows["a"]["nums"])
    assert dict(rows["a"]["attrs"]) == {"run_id": "r1", "challenge_id": "daily"}
    assert dict(rows["b"]["nums"]) == {"score": -3.0, "win": 0.0}
    assert dict(rows["b"]["attrs"]) == {"run_id": "r1"}
    assert rows["c"]["nums"] == [] and rows["c"]["attrs"] == [("run_id", "r1")]
    assert rows["d"]["nums"] == [] and rows["d"]["attrs"] == []


def test_payload_is_the_json_text_of_the_valid_fields() -> None:
    payload = {"run_id": 'r\u00e9"1', "score": 2**52, "duration_ms": 0.1, "win": True, "challenge_id": None}
    (message,) = make_messages(
        [{"event_id": "a", "event_type": "run_end", "event_time": iso(RECEIVED), "payload": payload}]
    )
    (row,) = roundtrip(one_table(message)).to_pylist()
    assert isinstance(row["payload"], str)
    # compact JSON in the taxonomy's order; a null field is left out, as it is of the maps
    assert orjson.loads(row["payload"]) == {k: v for k, v in payload.items() if v is not None}
    assert dict(row["nums"])["score"] == float(2**52)


def test_dropped_duplicates_are_absent() -> None:
    (late,) = make_messages(
        [run_end("x", 5, score=1), run_end("y", 6)], received_ms=RECEIVED_MS + 60_000, batch_id="late"
    )
    (early,) = make_messages([run_end("x", 5, score=2)], batch_id="early")
    table = one_table(late, early)
    rows = roundtrip(table).to_pylist()
    assert sorted(r["event_id"] for r in rows) == ["x", "y"]
    x = next(r for r in rows if r["event_id"] == "x")
    assert x["batch_id"] == "early" and dict(x["nums"]) == {"score": 2.0}
    assert orjson.loads(x["payload"]) == {"run_id": "r1", "score": 2}


def test_rows_of_several_hours_split_into_tables() -> None:
    (message,) = make_messages([run_end("a", 1), run_end("b", 45), run_end("c", 95)])
    parts = partitions_of(message)
    assert sorted(p.key.hour for p in parts) == ["08", "09", "10"]
    for part in parts:
        assert part.table.schema.equals(RAW_EVENTS_SCHEMA)
        hours = {t // HOUR_MS for t in part.table.column("event_time").cast(pa.int64()).to_pylist()}
        assert hours == {part.key.hour_index}
        assert roundtrip(part.table).num_rows == part.table.num_rows == 1


def test_many_rows_in_several_messages_roundtrip() -> None:
    messages = [
        m
        for start in (0, 500)
        for m in make_messages(
            [run_end(f"e{i}", i / 100, score=i, win=i % 2 == 0) for i in range(start, start + 500)],
            batch_id=f"b{start}",
            max_bytes=20_000,
        )
    ]
    assert len(messages) > 2
    back = roundtrip(one_table(*messages))
    assert back.num_rows == 1000
    assert back.column("event_id").to_pylist() == [f"e{i}" for i in range(1000)]
    nums = [dict(m) for m in back.column("nums").to_pylist()]
    assert [n["score"] for n in nums] == [float(i) for i in range(1000)]
    assert [n["win"] for n in nums] == [1.0 if i % 2 == 0 else 0.0 for i in range(1000)]
    assert back.column("batch_id").to_pylist() == ["b0"] * 500 + ["b500"] * 500


def test_lake_writes_one_object_per_partition() -> None:
    class FakeS3:
        def __init__(self) -> None:
            self.objects: dict[tuple[str, str], dict[str, Any]] = {}

        def put_object(self, **kw: Any) -> None:
            self.objects[(kw["Bucket"], kw["Key"])] = kw

    (message,) = make_messages([run_end("a", 1), run_end("b", 45)])
    s3 = FakeS3()
    lake = RawEventsLake(s3, "bucket")
    assert lake.location() == "s3://bucket/raw/events/"
    keys = sorted(lake.write(p) for p in partitions_of(message))
    assert [k.rsplit("/", 1)[0] for k in keys] == [
        "raw/events/app_id=acme/dt=2025-12-03/hour=09",
        "raw/events/app_id=acme/dt=2025-12-03/hour=10",
    ]
    for key in keys:
        put = s3.objects[("bucket", key)]
        assert put["ContentType"] == "application/vnd.apache.parquet"
        assert pq.read_table(pa.BufferReader(put["Body"])).num_rows == 1


def test_every_integer_ingest_accepts_fits_the_lake() -> None:
    """Ingest refuses integers a double cannot hold exactly, so nothing acknowledged is refused later."""
    (message,) = make_messages([run_end("a", 1, score=2**53), run_end("b", 2, score=-(2**53))])
    table = one_table(message)
    assert table.column("event_id").to_pylist() == ["a", "b"]
    assert [dict(m)["score"] for m in table.column("nums").to_pylist()] == [2.0**53, -(2.0**53)]
    batch = BatchIn.model_validate(
        {"session_id": "s", "platform": "web", "events": [run_end("c", 1, score=2**53 + 1)]}
    )
    validated = validate_batch(
        batch, APP, batch_id="b", received_at_ms=RECEIVED_MS, user_hash=None, max_payload_bytes=16384
    )
    assert [r["code"] for r in validated.rejected] == ["invalid_value"]


# --------------------------------------------------------------------------- the Glue table

GLUE_TYPES = {
    "string": pa.string(),
    "timestamp": TS,
    "map<string,string>": STR_MAP,
    "map<string,double>": NUM_MAP,
}


def _glue_table() -> dict[str, Any]:
    resource = load_template()["Resources"]["RawEventsTable"]
    assert resource["Type"] == "AWS::Glue::Table"
    return resource["Properties"]["TableInput"]


def test_schema_matches_the_glue_columns() -> None:
    columns = _glue_table()["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in columns] == RAW_EVENTS_SCHEMA.names
    for column, field in zip(columns, RAW_EVENTS_SCHEMA, strict=True):
        glue_type = column["Type"].replace(" ", "")
        assert glue_type in GLUE_TYPES, column
        assert field.type == GLUE_TYPES[glue_type], (column, field)


@pytest.mark.parametrize("name", ["event_time", "client_event_time", "received_at", "sent_at"])
def test_timestamp_columns_are_ms_utc(name: str) -> None:
    kind = RAW_EVENTS_SCHEMA.field(name).type
    assert pa.types.is_timestamp(kind) and kind.unit == "ms" and kind.tz == "UTC"


def test_partition_keys_match_the_lake_layout() -> None:
    table = _glue_table()
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [
        ("app_id", "string"),
        ("dt", "string"),
        ("hour", "string"),
    ]
    assert not set(RAW_EVENTS_SCHEMA.names) & {"app_id", "dt", "hour"}
    (message,) = make_messages([run_end("a", 1)])
    (part,) = partitions_of(message)
    assert part.key.values() == ["acme", "2025-12-03", "10"]
    assert part.key.prefix() == "raw/events/app_id=acme/dt=2025-12-03/hour=10/"
    assert table["StorageDescriptor"]["Location"] == {"Fn::Sub": "s3://${LakeBucket}/raw/events/"}
    assert table["Parameters"]["classification"] == "parquet"
