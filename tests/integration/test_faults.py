"""The pipeline under injected AWS faults (throttles, 5xx, timeouts on S3, SQS and DynamoDB):
ingestion answers 202 or 503 and never loses a 202, the writer's failed messages are retried until
they land and every acknowledged event is counted exactly once, rollups that fail halfway (their
S3 files or their job state in DynamoDB) or are killed halfway (no `finally`, their lease left
behind) are finished by the next run with the files of a run without faults, and an alert whose
notification or state write failed is delivered exactly once by the next alerts run."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from liveops import aws, wiring
from liveops.local.faults import FAULT_KINDS, Call, FaultInjector
from liveops.local.loadtest import lake_event_ids, rollup_total
from liveops.models.app_config import load_app_config
from liveops.rollups.jobs import LEASE_SECONDS
from liveops.services.apps import apply_config, create_key
from liveops.settings import get_settings
from liveops.storage.curated import CuratedLake
from liveops.storage.job_state import JobState
from tests.integration import test_alerts
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api, event
from tests.integration.test_alerts import CHANNEL, Env, digest, write_hourly
from tests.integration.test_rollup_jobs import CONFIG, runs

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
SERVICES = ("s3", "sqs", "dynamodb")
SEED = 11  # every run of these tests injects the same faults into the same calls
# ingest's clients make 4 attempts per call: at 10 % a call fails for good ~once in 10,000 (no 503
# in 60 batches for any seed from 0 to 136); a brown-out of BROWN_OUT_RATE then forces 503s
BROWN_OUT_RATE = 0.7
env, webhook = test_alerts.env, test_alerts.webhook  # the alerts fixtures (fake Discord), reused


@pytest.fixture
def key(stack: AwsStack) -> str:
    store = wiring.apps_store()
    apply_config(store, load_app_config(CONFIG))
    return create_key(store, "jobs-game").api_key


@pytest.fixture
def faults(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultInjector]:
    """10 % of the functions' S3, SQS and DynamoDB calls fail (the test's own clients never do).

    botocore's retry pauses are skipped (same retries and attempt limits, no waiting), so that
    high fault rates can exhaust the retries in a quick test."""
    from botocore.retries import adaptive, standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setattr(adaptive.ClientRateLimiter, "on_sending_request", lambda self, request, **kw: None)
    injector = FaultInjector(rate=0.1, seed=SEED, enabled=False)
    aws.add_client_hook(injector.attach)
    wiring.reset()  # services built from now on use faulty clients
    yield injector
    aws.remove_client_hook(injector.attach)
    wiring.reset()


class Clock:
    """The job state's clock (leases, marks): real time, moved on by the test."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def after_the_lease(self) -> None:
        """The next scheduled run, once a lease left behind has expired."""
        self.offset += LEASE_SECONDS + 1


@pytest.fixture
def clock(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    real = wiring.job_state

    def job_state() -> JobState:
        return JobState(aws.client("dynamodb", patient=True), get_settings().jobs_table, clock=moved)

    job_state.cache_clear = real.cache_clear  # type: ignore[attr-defined]
    monkeypatch.setattr(wiring, "job_state", job_state)
    return moved


def harness(service: str) -> Any:
    """A client outside liveops.aws, so the injector never touches the test's own calls."""
    return boto3.client(service, region_name="us-east-1")


def post(
    api: Api, key: str, events: list[dict[str, Any]], retry_key: str | None = None
) -> tuple[int, dict[str, str], Any]:
    headers = {"x-api-key": key}
    if retry_key:
        headers["idempotency-key"] = retry_key
    body = {"session_id": "s1", "platform": "web", "user_id": "u-1", "events": events}
    return api.call("POST", "/v1/telemetry/batch", body, headers)


def deliver(stack: AwsStack, api: Api, max_rounds: int = 60) -> Counter[str]:
    """What Lambda's SQS event source does: batches to the writer; reported failures and
    crashed invocations come back after the visibility timeout (here: at once), until empty."""
    sqs, url = harness("sqs"), stack.env["EVENTS_QUEUE_URL"]
    writer = api.functions["WriterFunction"]
    outcome: Counter[str] = Counter()
    for _ in range(max_rounds):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
            "Messages", []
        )
        if not got:
            return outcome
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
                "awsRegion": "us-east-1",
            }
            for m in got
        ]
        try:
            failures = {f["itemIdentifier"] for f in writer.invoke({"Records": records})["batchItemFailures"]}
        except Exception:  # the whole invocation failed: every message comes back
            failures = {m["MessageId"] for m in got}
            outcome["crashed_invocations"] += 1
        for m in got:
            if m["MessageId"] in failures:
                outcome["retried_messages"] += 1
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                outcome["written_messages"] += 1
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    raise AssertionError("the queue did not drain")


def redrive(stack: AwsStack) -> int:
    """Moves every message of the events DLQ back to the events queue (docs/operations.md)."""
    sqs = harness("sqs")
    dlq = sqs.get_queue_url(QueueName=stack.env["EVENTS_QUEUE_URL"].rsplit("/", 1)[1] + "-dlq")["QueueUrl"]
    moved = 0
    while got := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", []):
        for m in got:
            sqs.send_message(QueueUrl=stack.env["EVENTS_QUEUE_URL"], MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    return moved


def test_ingest_and_writer_never_lose_or_double_an_acknowledged_event(
    stack: AwsStack, key: str, faults: FaultInjector
) -> None:
    api = Api()
    acknowledged: set[str] = set()
    sent: set[str] = set()
    statuses: dict[str, Counter[int]] = {"10 %": Counter(), "brown-out": Counter()}
    faults.enabled = True
    for i in range(75):
        phase = "10 %" if i < 60 else "brown-out"
        faults.rate = 0.1 if i < 60 else BROWN_OUT_RATE
        events = [event(run_id=f"r{i}-{j}", outcome="win", duration_ms=float(j)) for j in range(20)]
        retry_key = str(uuid.uuid4()) if i % 3 == 0 else None
        sent.update(e["event_id"] for e in events)
        for _attempt in range(2 if retry_key else 1):
            status, headers, answer = post(api, key, events, retry_key)
            statuses[phase][status] += 1
            assert status in (202, 503), (status, answer)
            if status == 503:
                assert answer["error"]["code"] and int(headers["retry-after"]) > 0
                continue
            assert answer["accepted"] == 20 and answer["rejected"] == []
            acknowledged.update(e["event_id"] for e in events)
    # the writer's clients retry up to 8 times: a high rate makes some messages fail for real
    faults.rate = 0.9
    outcome = deliver(stack, api)
    faults.enabled = False
    # messages that failed 5 times were parked in the dead-letter queue; the runbook redrives them
    outcome["redriven"] = redrive(stack)
    outcome.update(deliver(stack, api))

    assert statuses["10 %"][202] > 0 and statuses["brown-out"][202] > 0, statuses
    assert statuses["brown-out"][503] > 0, statuses  # failed for good: 503 + Retry-After, never a lost 202
    every = {f"{service}:{kind}" for service in SERVICES for kind in FAULT_KINDS}
    assert every <= set(faults.injected), f"not injected: {sorted(every - set(faults.injected))}"
    assert outcome["retried_messages"] + outcome["crashed_invocations"] > 0, (
        outcome,
        faults.calls,
        faults.injected,
    )
    in_lake = lake_event_ids(harness("s3"), stack.env["LAKE_BUCKET"], "jobs-game")
    assert acknowledged <= in_lake, "an acknowledged event was lost"
    # a 503 may come after the events were queued (the idempotency record could not be completed):
    # those land too, and the client's retry of the same events changes no figure
    assert in_lake <= sent
    # the raw lake is at-least-once (a message retried after a partial write lands again); every
    # figure is computed after dedupe by event_id, so each acknowledged event counts exactly once
    for job in ("rollup", "rollup-daily"):
        assert wiring.job(job)("jobs-game", {})["apps"]["jobs-game"]["status"] == "ok"
    assert events_counted(stack, "rollup_hourly") == len(in_lake)
    assert events_counted(stack, "rollup_daily") == len(in_lake)


def events_counted(stack: AwsStack, table: str) -> int:
    return rollup_total(harness("s3"), stack.env["LAKE_BUCKET"], table, "jobs-game")


def curated_files(stack: AwsStack) -> dict[str, bytes]:
    s3, bucket = harness("s3"), stack.env["LAKE_BUCKET"]
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="curated/"):
        for obj in page.get("Contents", []):
            if "/assignments/" not in obj["Key"]:
                found[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return found


def land_three_sessions(stack: AwsStack, api: Api, key: str) -> None:
    for session in ("s1", "s2", "s3"):
        status, _, answer = post(api, key, runs(NOW - timedelta(minutes=40), 4, session))
        assert status == 202, answer
    deliver(stack, api)


def clean_recompute(stack: AwsStack, keys: dict[str, bytes]) -> dict[str, bytes]:
    """Every curated file recomputed from scratch without faults (all hours and days marked)."""
    state = wiring.job_state()
    for day in {k.split("dt=")[1][:10] for k in keys}:
        state.mark("day", "jobs-game", day)
        for hour in range(24):
            state.mark("hour", "jobs-game", f"{day}T{hour:02d}")
    for job in ("rollup", "rollup-daily"):
        assert wiring.job(job)("jobs-game", {})["apps"]["jobs-game"]["status"] == "ok"
    return curated_files(stack)


def jobs_table_call(kind: str) -> Any:
    return lambda label: ":" + get_settings().jobs_table + ":" + kind in label


def test_rollups_under_faults_finish_with_the_figures_of_a_clean_run(
    stack: AwsStack, key: str, faults: FaultInjector, clock: Clock
) -> None:
    api = Api()
    land_three_sessions(stack, api, key)

    # the curated files in S3 and the job state in DynamoDB (leases, dirty marks, runs) fail
    faults.services, faults.enabled = frozenset({"s3", "dynamodb"}), True
    failed_runs = skipped_runs = 0
    for job in ("rollup", "rollup-daily"):
        # first run: 75 % of the calls fail, so even 8 attempts per call give up and the run dies
        # halfway; later runs (a new container each, as after a crash) see the 10 % of the issue
        faults.rate = 0.75
        for _ in range(30):
            try:
                report = wiring.job(job)("jobs-game", {})
            except Exception:  # died halfway; its marks stay for the next run (its lease may too)
                failed_runs += 1
                faults.rate = 0.1
                aws.reset_clients()
                wiring.reset()
                continue
            status = report["apps"]["jobs-game"]["status"]
            if status == "ok":
                break
            assert status == "skipped", report  # a failed release left the lease behind
            skipped_runs += 1
            clock.after_the_lease()
        else:
            raise AssertionError(f"{job} never finished under faults")
    faults.enabled = False
    assert failed_runs > 0, "at least one run failed halfway (raise the rate if the seed changes)"
    injected = list(faults.injected_calls)
    for kind in ("LEASE#", "DIRTY#"):
        assert any(jobs_table_call(kind)(label) for label in injected), (kind, faults.injected_calls)
    assert any(label.startswith("s3:") for label in injected), faults.injected_calls
    under_faults = curated_files(stack)
    assert under_faults

    # recompute everything without faults: the same bytes
    clean = clean_recompute(stack, under_faults)
    # (the recompute also writes the neighbouring days that marked days can affect)
    assert {key: clean[key] for key in under_faults} == under_faults


class Killed(BaseException):
    """Lambda's timeout: the process stops where it is; no except or finally runs after it."""


@pytest.mark.parametrize(
    ("job", "dies_at"),
    [
        ("rollup", "mark"),  # its day file written; the day not marked, no hour mark cleared yet
        ("rollup-daily", "write"),  # two of the day's five tables written
    ],
)
def test_a_run_killed_halfway_is_completed_once_its_lease_expires(
    stack: AwsStack,
    key: str,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    job: str,
    dies_at: str,
) -> None:
    api = Api()
    land_three_sessions(stack, api, key)
    if job == "rollup-daily":
        assert wiring.job("rollup")("jobs-game", {})["apps"]["jobs-game"]["status"] == "ok"
    before = curated_files(stack)

    # the run is killed halfway: nothing after that point runs (its lease is never released, no
    # run is recorded, no mark is cleared), as when Lambda stops a function at its timeout
    armed, dead = True, False
    written: list[str] = []
    real_write, real_mark = CuratedLake.write, JobState.mark

    def write(self: CuratedLake, table_name: str, *args: Any) -> str:
        nonlocal dead
        if dead or (armed and dies_at == "write" and len(written) == 2):
            dead = True
            raise Killed
        written.append(table_name)
        return real_write(self, table_name, *args)

    def mark(self: JobState, *args: Any) -> None:
        nonlocal dead
        if dead or (armed and dies_at == "mark"):
            dead = True
            raise Killed
        real_mark(self, *args)

    def unless_dead(name: str) -> Any:
        real = getattr(JobState, name)
        return lambda self, *args, **kwargs: None if dead else real(self, *args, **kwargs)

    monkeypatch.setattr(CuratedLake, "write", write)
    monkeypatch.setattr(JobState, "mark", mark)
    for name in ("release", "record_run", "clear", "set_watermark"):
        monkeypatch.setattr(JobState, name, unless_dead(name))
    with pytest.raises(Killed):
        wiring.job(job)("jobs-game", {})
    assert written, "the killed run wrote part of its files"
    halfway = curated_files(stack)
    assert halfway != before
    armed = dead = False  # the next run is a new container
    wiring.reset()

    # its lease holds the next scheduled run off (nothing written meanwhile) ...
    report = wiring.job(job)("jobs-game", {})["apps"]["jobs-game"]
    assert report["status"] == "skipped", report
    assert curated_files(stack) == halfway
    # ... until it expires: then the next run completes the work
    clock.after_the_lease()
    report = wiring.job(job)("jobs-game", {})["apps"]["jobs-game"]
    assert report["status"] == "ok" and report["days"], report
    if job == "rollup":  # what the killed rollup never got to: the day marked for rollup-daily
        assert wiring.job("rollup-daily")("jobs-game", {})["apps"]["jobs-game"]["status"] == "ok"
    completed = curated_files(stack)
    assert set(completed) > set(halfway) or completed != halfway

    # byte-identical to a clean recomputation
    clean = clean_recompute(stack, completed)
    assert {key: clean[key] for key in completed} == completed


# ---------------------------------------------------------------------------- alerts


def alerts_run(now: datetime) -> dict[str, Any]:
    report: dict[str, Any] = test_alerts.alerts_job(now).run(test_alerts.APP, {})["apps"][test_alerts.APP]
    return report


def incidents(env: Env) -> list[dict[str, Any]]:
    status, body = env.call("GET", f"/v1/admin/apps/{test_alerts.APP}/incidents", "viewer")
    assert status == 200
    found: list[dict[str, Any]] = body["incidents"]
    return found


@pytest.mark.parametrize("failure", ["notification", "state write"])
def test_an_alert_that_failed_under_faults_is_delivered_exactly_once_by_the_next_run(
    env: Env, faults: FaultInjector, clock: Clock, failure: str
) -> None:
    write_hourly(*digest(45000))
    incidents_table = get_settings().incidents_table
    faults.enabled = True  # 10 % of every S3, SQS and DynamoDB call
    if failure == "notification":
        env.fake.fail_next(4, status=503)  # Discord refuses the post and every retry
    else:  # every item write of the incidents table fails (breach state, claims, deliveries)

        def rate_for(call: Call) -> float:
            return 1.0 if call.operation == "PutItem" and call.target == incidents_table else faults.rate

        faults.rate_for = rate_for
    first = alerts_run(test_alerts.NOW)
    faults.rate_for = None
    if failure == "notification":
        assert first["status"] == "ok" and first["notifications"] == {"delivered": 0, "still_pending": 1}
    else:
        assert first["status"] == "failed", first
        assert any(f":PutItem:{incidents_table}" in label for label in faults.injected_calls)
    (pending,) = incidents(env)
    assert pending["notification_pending"] is True and pending["discord_message_id"] is None
    assert env.fake.messages(CHANNEL) == []

    # the next run, still under 10 % faults, delivers it; the one after has nothing to send
    second = alerts_run(test_alerts.NOW + timedelta(minutes=5))
    assert second["status"] == "ok", second
    assert second["notifications"] == {"delivered": 1, "still_pending": 0}, second
    third = alerts_run(test_alerts.NOW + timedelta(minutes=10))
    assert third["status"] == "ok" and third["notifications"]["delivered"] == 0, third
    faults.enabled = False
    (delivered,) = incidents(env)
    assert delivered["incident_id"] == pending["incident_id"]
    assert delivered["notification_pending"] is False and delivered["discord_message_id"] is not None
    assert len(env.fake.messages(CHANNEL)) == 1
    assert len([c for c in env.channel_calls("POST") if c.status == 200]) == 1
    assert sum(faults.injected.values()) > 0


def test_the_injector_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultInjector(rate=1.5)
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultInjector(kinds=("meteor",))


def test_faults_look_like_aws_errors_to_botocore(stack: AwsStack) -> None:
    injector = FaultInjector(rate=1.0, kinds=("throttle",), services=frozenset({"dynamodb"}))
    client = boto3.client("dynamodb", region_name="us-east-1", config=_no_retries())
    injector.attach(client)
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.list_tables()
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert json.loads(json.dumps(dict(injector.injected))) == {"dynamodb:throttle": 1}


def _no_retries() -> Any:
    from botocore.config import Config

    return Config(retries={"total_max_attempts": 1, "mode": "standard"})
