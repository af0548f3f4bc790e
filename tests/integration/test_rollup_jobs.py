"""The rollup jobs against moto: ingest -> writer -> rollup -> curated partitions in S3 and Glue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.compute as pc
import pytest

from liveops import aws, wiring
from liveops.local.poller import QueuePoller
from liveops.models.app_config import load_app_config
from liveops.rollups import embedded
from liveops.rollups.embedded import DAY_MS
from liveops.rollups.engines import within
from liveops.rollups.jobs import JobError, RollupJobs
from liveops.rollups.schema import TABLES
from liveops.services.apps import apply_config, create_key
from liveops.storage.lake import RawEventsReader
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api, event

CONFIG: dict[str, Any] = {
    "app_id": "jobs-game",
    "name": "Jobs Game",
    "platforms": ["web", "android"],
    "max_event_age_days": 10,
    "events": {
        "run_start": {"fields": {"run_id": {"type": "string", "required": True}}},
        "run_end": {
            "fields": {
                "run_id": {"type": "string", "required": True},
                "outcome": {"type": "string", "enum": ["win", "loss"], "required": True},
                "duration_ms": {"type": "number", "min": 0},
            }
        },
    },
    "dimensions": ["platform"],
    "measures": {"run_ms": {"event": "run_end", "field": "duration_ms", "aggs": ["count", "avg", "p95"]}},
    "kpis": {
        "win_rate": {
            "numerator": {"event": "run_end", "where": {"outcome": "win"}},
            "denominator": {"event": "run_end"},
        }
    },
    "spans": {"run_time": {"start": "run_start", "end": "run_end", "key": "run_id"}},
    "funnels": {"play": {"by": "session", "window_minutes": 60, "steps": ["run_start", "run_end"]}},
}
NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture
def key(stack: AwsStack) -> str:
    store = wiring.apps_store()
    apply_config(store, load_app_config(CONFIG))
    return create_key(store, "jobs-game").api_key


def send(key: str, events: list[dict[str, Any]], session: str = "s1") -> None:
    status, _, body = Api().call(
        "POST",
        "/v1/telemetry/batch",
        {"session_id": session, "platform": "web", "user_id": f"u-{session}", "events": events},
        {"x-api-key": key},
    )
    assert status == 202 and body["rejected"] == [], body


def drain_to_lake(stack: AwsStack) -> None:
    api = Api()
    writer = api.functions["WriterFunction"]
    url = stack.env["EVENTS_QUEUE_URL"]
    poller = QueuePoller(
        aws.client("sqs"),
        url,
        "arn:aws:sqs:us-east-1:123456789012:q",
        writer.invoke,
        batch_size=100,
        window_seconds=0.2,
    )
    while poller.poll_once():
        pass


def runs(when: datetime, n: int, session: str, outcome: str = "win") -> list[dict[str, Any]]:
    events = []
    for i in range(n):
        run_id = f"{session}-r{i}"
        events.append(event("run_start", when=when, run_id=run_id))
        events.append(
            event(
                "run_end",
                when=when + timedelta(seconds=10 * (i + 1)),
                run_id=run_id,
                outcome=outcome,
                duration_ms=1000.0 * (i + 1),
            )
        )
    return events


def curated_bytes(stack: AwsStack, table: str, day: Any) -> bytes:
    key = f"curated/{table}/app_id=jobs-game/dt={day.isoformat()}/part-0.parquet"
    return bytes(aws.client("s3").get_object(Bucket=stack.env["LAKE_BUCKET"], Key=key)["Body"].read())


def test_rollup_recomputes_changed_days_and_is_idempotent(stack: AwsStack, key: str) -> None:
    send(key, runs(NOW - timedelta(minutes=20), 3, "s1"))
    drain_to_lake(stack)
    jobs = wiring.rollup_jobs()
    # a dry run lists what a run would recompute and changes nothing (through the CLI's runner too)
    planned = wiring.job("rollup")("jobs-game", {"dry_run": True})["apps"]["jobs-game"]
    assert planned["status"] == "dry_run" and planned["days"] == [TODAY.isoformat()]
    assert wiring.curated_lake().read("rollup_hourly", "jobs-game", TODAY, TODAY).num_rows == 0
    assert len(wiring.job_state().dirty("hour", "jobs-game")) == planned["hours"] >= 1
    report = jobs.run("rollup", "jobs-game")["apps"]["jobs-game"]
    assert report["status"] == "ok" and report["days"] == [TODAY.isoformat()]
    assert report["hours"] == planned["hours"]
    daily_plan = jobs.run("rollup-daily", "jobs-game", dry_run=True)["apps"]["jobs-game"]
    assert TODAY.isoformat() in daily_plan["days"]
    assert wiring.job_state().dirty("day", "jobs-game")  # still there for the real run
    hourly = wiring.curated_lake().read("rollup_hourly", "jobs-game", TODAY, TODAY)
    totals = hourly.filter(pc.and_(pc.equal(hourly["kind"], "events"), pc.equal(hourly["dim_name"], "*")))
    assert dict(zip(totals["name"].to_pylist(), totals["n"].to_pylist(), strict=True)) == {
        "run_start": 3,
        "run_end": 3,
        "*": 6,
    }
    kpi = hourly.filter(pc.and_(pc.equal(hourly["kind"], "kpi"), pc.equal(hourly["dim_name"], "*")))
    assert kpi["n"].to_pylist() == [3] and kpi["num"].to_pylist() == [3.0]

    # nothing changed: nothing is recomputed
    assert jobs.run("rollup", "jobs-game")["apps"]["jobs-game"]["days"] == []
    # forced recomputation gives byte-identical files
    before = curated_bytes(stack, "rollup_hourly", TODAY)
    wiring.job_state().mark("hour", "jobs-game", f"{TODAY.isoformat()}T{NOW.hour:02d}")
    assert jobs.run("rollup", "jobs-game")["apps"]["jobs-game"]["days"] == [TODAY.isoformat()]
    assert curated_bytes(stack, "rollup_hourly", TODAY) == before

    # partitions are registered for Athena
    partitions = aws.client("glue").get_partitions(
        DatabaseName=stack.env["GLUE_DATABASE"], TableName="rollup_hourly"
    )["Partitions"]
    assert ["jobs-game", TODAY.isoformat()] in [p["Values"] for p in partitions]


def test_late_events_recompute_only_the_days_they_touch(stack: AwsStack, key: str) -> None:
    send(key, runs(NOW - timedelta(minutes=20), 2, "s1"))
    drain_to_lake(stack)
    jobs = wiring.rollup_jobs()
    jobs.run("rollup", "jobs-game")
    today_before = curated_bytes(stack, "rollup_hourly", TODAY)
    late = YESTERDAY.isoformat()
    send(
        key,
        runs(
            datetime.combine(YESTERDAY, datetime.min.time(), UTC) + timedelta(hours=15),
            4,
            "s2",
            outcome="loss",
        ),
        session="s2",
    )
    drain_to_lake(stack)
    report = jobs.run("rollup", "jobs-game")["apps"]["jobs-game"]
    assert report["days"] == [late]
    assert curated_bytes(stack, "rollup_hourly", TODAY) == today_before
    daily = jobs.run("rollup-daily", "jobs-game")["apps"]["jobs-game"]
    assert set(daily["days"]) >= {late, TODAY.isoformat()}
    kpis = wiring.curated_lake().read("kpi_daily", "jobs-game", YESTERDAY, TODAY)
    total = kpis.filter(pc.equal(kpis["dim_name"], "*")).to_pylist()
    by_day = {row["ts"].date(): (row["numerator"], row["denominator"], row["value"]) for row in total}
    assert by_day == {YESTERDAY: (0, 4, 0.0), TODAY: (2, 2, 1.0)}
    spans = wiring.curated_lake().read("span_daily", "jobs-game", YESTERDAY, YESTERDAY).to_pylist()
    star = next(r for r in spans if r["dim_name"] == "*")
    assert star["n"] == 4 and star["min"] == 10_000 and star["max"] == 40_000
    funnels = wiring.curated_lake().read("funnel_daily", "jobs-game", TODAY, TODAY).to_pylist()
    assert [(r["step"], r["units"]) for r in funnels if r["dim_name"] == "*"] == [(0, 1), (1, 1)]
    assert jobs.run("rollup-daily", "jobs-game")["apps"]["jobs-game"]["days"] == []


class FailingOnce:
    """An engine that breaks in the middle of a daily run, once."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def span_daily(self, config: Any, day_ms: int) -> Any:
        if not self.failed:
            self.failed = True
            raise OSError("lost the connection to S3")
        return self.engine.span_daily(config, day_ms)


def test_a_run_that_fails_halfway_is_finished_by_the_next(stack: AwsStack, key: str) -> None:
    send(key, runs(NOW - timedelta(minutes=20), 2, "s1"))
    drain_to_lake(stack)
    base = wiring.rollup_jobs()
    base.run("rollup", "jobs-game")
    flaky = FailingOnce(base._engines["embedded"])
    jobs = RollupJobs(base._apps, base._state, base._curated, base._catalogs, {"embedded": flaky})
    with pytest.raises(OSError):
        jobs.run("rollup-daily", "jobs-game")
    assert wiring.job_state().dirty("day", "jobs-game"), "the day stays marked for the next run"
    assert wiring.job_state().last_run("rollup-daily", "jobs-game")["status"] == "failed"
    report = jobs.run("rollup-daily", "jobs-game")["apps"]["jobs-game"]
    assert report["status"] == "ok" and TODAY.isoformat() in report["days"]
    assert wiring.job_state().dirty("day", "jobs-game") == []
    for table in ("rollup_daily", "kpi_daily", "span_daily", "funnel_daily", "experiment_daily"):
        got = wiring.curated_lake().read_day(table, "jobs-game", TODAY)
        assert got is not None and got.schema == TABLES[table]


def test_one_run_at_a_time_and_clear_errors(stack: AwsStack, key: str) -> None:
    state = wiring.job_state()
    assert state.acquire("rollup", "jobs-game", "someone-else", 60)
    report = wiring.rollup_jobs().run("rollup", "jobs-game")["apps"]["jobs-game"]
    assert report["status"] == "skipped"
    with pytest.raises(JobError, match="unknown job"):
        wiring.rollup_jobs().run("compact")
    with pytest.raises(JobError, match="no app"):
        wiring.rollup_jobs().run("rollup", "nope")
    with pytest.raises(JobError, match="unknown engine"):
        wiring.rollup_jobs().run("rollup", "jobs-game", "spark")


def test_daily_figures_from_the_narrow_read_equal_those_of_whole_rows(stack: AwsStack, key: str) -> None:
    """The engine reads only the columns the rollups use (strings as dictionaries, no payload
    text), file by file; the figures are those of the whole rows."""
    send(key, runs(NOW - timedelta(minutes=50), 3, "s1"))
    send(key, runs(NOW - timedelta(minutes=20), 2, "s2", outcome="loss"), session="s2")
    send(key, runs(NOW - timedelta(minutes=20), 1, "s2", outcome="loss"), session="s2")  # a repeat
    drain_to_lake(stack)
    engine = wiring.rollup_jobs()._engines["embedded"]
    config = load_app_config(CONFIG)
    day_ms = int(datetime.combine(TODAY, datetime.min.time(), UTC).timestamp() * 1000)
    reader = RawEventsReader(aws.client("s3"), wiring.get_settings().lake_bucket)
    whole = reader.read_days("jobs-game", YESTERDAY, TODAY + timedelta(days=1))
    assert whole.num_rows > 0 and "payload" in whole.column_names

    def rows_of(table: Any) -> list[dict[str, Any]]:
        return sorted(table.to_pylist(), key=repr)

    end = day_ms + DAY_MS
    assert rows_of(engine.span_daily(config, day_ms)) == rows_of(
        embedded.span_daily(within(whole, day_ms - DAY_MS, end), config, day_ms)
    )
    assert rows_of(engine.funnel_daily(config, day_ms)) == rows_of(
        embedded.funnel_daily(within(whole, day_ms, end + DAY_MS), config, day_ms)
    )
    assert rows_of(engine.experiment_daily(config, day_ms)) == rows_of(
        embedded.experiment_daily(
            within(whole, day_ms, end), config, day_ms, wiring.curated_lake().assignments("jobs-game")
        )
    )
    assert engine.span_daily(config, day_ms).num_rows > 0


class Recording:
    """An engine that records which job called it and answers with the real embedded engine."""

    def __init__(self, inner: Any, calls: list[str], name: str) -> None:
        self._inner, self._calls, self._name = inner, calls, name

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any) -> Any:
            self._calls.append(f"{self._name}.{method}")
            return getattr(self._inner, method)(*args)

        return call


def test_the_app_configs_engine_is_used_unless_a_run_names_one(stack: AwsStack, key: str) -> None:
    send(key, runs(NOW - timedelta(minutes=20), 2, "s1"))
    drain_to_lake(stack)
    base = wiring.rollup_jobs()
    calls: list[str] = []
    real = base._engines["embedded"]
    engines = {"embedded": Recording(real, calls, "embedded"), "athena": Recording(real, calls, "athena")}
    jobs = RollupJobs(base._apps, base._state, base._curated, base._catalogs, engines)

    assert jobs.run("rollup", "jobs-game")["apps"]["jobs-game"]["engine"] == "embedded"
    assert calls and {c.split(".")[0] for c in calls} == {"embedded"}
    apply_config(wiring.apps_store(), load_app_config({**CONFIG, "rollup_engine": "athena"}))
    calls.clear()
    wiring.job_state().mark("hour", "jobs-game", f"{TODAY.isoformat()}T{NOW.hour:02d}")
    assert jobs.run("rollup", "jobs-game")["apps"]["jobs-game"]["engine"] == "athena"
    assert calls and {c.split(".")[0] for c in calls} == {"athena"}
    calls.clear()  # `--engine` on the command line wins over the app config
    report = jobs.run("rollup-daily", "jobs-game", "embedded")["apps"]["jobs-game"]
    assert report["engine"] == "embedded" and {c.split(".")[0] for c in calls} == {"embedded"}
    assert {c.split(".")[1] for c in calls} == {"rollup", "span_daily", "funnel_daily", "experiment_daily"}


def test_every_curated_table_is_registered_in_glue(stack: AwsStack, key: str) -> None:
    send(key, runs(NOW - timedelta(minutes=20), 2, "s1"))
    drain_to_lake(stack)
    for job in ("rollup", "rollup-daily"):
        assert wiring.job(job)("jobs-game", {})["apps"]["jobs-game"]["status"] == "ok"
    glue, bucket = aws.client("glue"), stack.env["LAKE_BUCKET"]
    for table in (
        "rollup_hourly",
        "rollup_daily",
        "kpi_daily",
        "span_daily",
        "funnel_daily",
        "experiment_daily",
    ):
        partitions = glue.get_partitions(DatabaseName=stack.env["GLUE_DATABASE"], TableName=table)[
            "Partitions"
        ]
        found = {tuple(p["Values"]): p["StorageDescriptor"]["Location"] for p in partitions}
        assert ("jobs-game", TODAY.isoformat()) in found, (table, found)
        location = found[("jobs-game", TODAY.isoformat())]
        assert location.startswith(f"s3://{bucket}/curated/{table}/app_id=jobs-game/dt={TODAY.isoformat()}")


def test_a_copy_with_another_event_type_in_another_file_is_deduplicated(stack: AwsStack, key: str) -> None:
    """span_daily and funnel_daily read their own event types only, yet an event id delivered
    first as a `ping` and later (another batch, another lake file) as a `run_start` counts as the
    ping: the earliest received copy wins, whatever its type (docs/rollups.md, "Dedupe")."""
    doc = {**CONFIG, "events": {**CONFIG["events"], "ping": {"fields": {}}}}
    apply_config(wiring.apps_store(), load_app_config(doc))
    config = load_app_config(doc)
    first = event("ping", when=NOW - timedelta(minutes=25))
    send(key, [first, *runs(NOW - timedelta(minutes=20), 2, "s1")])
    drain_to_lake(stack)
    copy = {
        **event("run_start", when=NOW - timedelta(minutes=15), run_id="dup"),
        "event_id": first["event_id"],
    }
    end = event("run_end", when=NOW - timedelta(minutes=10), run_id="dup", outcome="win", duration_ms=1.0)
    send(key, [copy, end], session="s2")
    drain_to_lake(stack)
    reader = RawEventsReader(aws.client("s3"), wiring.get_settings().lake_bucket)
    whole = reader.read_days("jobs-game", YESTERDAY, TODAY + timedelta(days=1))
    assert pc.sum(pc.equal(whole["event_id"], first["event_id"])).as_py() == 2  # both copies stored

    engine = wiring.rollup_jobs()._engines["embedded"]
    day_ms = int(datetime.combine(TODAY, datetime.min.time(), UTC).timestamp() * 1000)
    spans = engine.span_daily(config, day_ms)
    total = spans.filter(pc.equal(spans["dim_name"], "*")).to_pylist()
    assert [(row["span"], row["n"]) for row in total] == [("run_time", 2)]  # not the "dup" run
    assert sorted(spans.to_pylist(), key=repr) == sorted(
        embedded.span_daily(within(whole, day_ms - DAY_MS, day_ms + DAY_MS), config, day_ms).to_pylist(),
        key=repr,
    )
    funnels = engine.funnel_daily(config, day_ms)
    assert sorted(funnels.to_pylist(), key=repr) == sorted(
        embedded.funnel_daily(within(whole, day_ms, day_ms + 2 * DAY_MS), config, day_ms).to_pylist(),
        key=repr,
    )
    play = funnels.filter(pc.equal(funnels["dim_name"], "*"))
    assert dict(zip(play["step"].to_pylist(), play["units"].to_pylist(), strict=True)) == {
        0: 1,
        1: 1,
    }  # s1 only
