"""The pipeline under injected AWS faults (throttles, 5xx, timeouts on S3, SQS and DynamoDB):
ingestion answers 202 or 503 and never loses a 202, the writer's failed messages are retried until
they land and every acknowledged event is counted exactly once, and rollups that fail halfway are
finished by the next run with the same figures as a run without faults."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from liveops import aws, wiring
from liveops.local.faults import FaultInjector
from liveops.local.loadtest import lake_event_ids, rollup_total
from liveops.models.app_config import load_app_config
from liveops.services.apps import apply_config, create_key
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api, event
from tests.integration.test_rollup_jobs import CONFIG, runs

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)


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
    injector = FaultInjector(rate=0.1, seed=11, enabled=False)
    aws.add_client_hook(injector.attach)
    wiring.reset()  # services built from now on use faulty clients
    yield injector
    aws.remove_client_hook(injector.attach)
    wiring.reset()


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
    statuses: Counter[int] = Counter()
    faults.enabled = True
    for i in range(60):
        events = [event(run_id=f"r{i}-{j}", outcome="win", duration_ms=float(j)) for j in range(20)]
        retry_key = str(uuid.uuid4()) if i % 3 == 0 else None
        for _attempt in range(2 if retry_key else 1):
            status, headers, answer = post(api, key, events, retry_key)
            statuses[status] += 1
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

    assert statuses[202] > 0
    assert sum(faults.injected.values()) > 0, "faults were injected"
    assert outcome["retried_messages"] + outcome["crashed_invocations"] > 0, (
        outcome,
        faults.calls,
        faults.injected,
    )
    in_lake = lake_event_ids(harness("s3"), stack.env["LAKE_BUCKET"], "jobs-game")
    assert acknowledged <= in_lake, "an acknowledged event was lost"
    # the raw lake is at-least-once (a message retried after a partial write lands again); every
    # figure is computed after dedupe by event_id, so each acknowledged event counts exactly once
    for job in ("rollup", "rollup-daily"):
        assert wiring.job(job)("jobs-game", {})["apps"]["jobs-game"]["status"] == "ok"
    assert events_counted(stack, "rollup_hourly") == len(in_lake) == len(acknowledged)
    assert events_counted(stack, "rollup_daily") == len(acknowledged)


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


def test_rollups_under_faults_finish_with_the_figures_of_a_clean_run(
    stack: AwsStack, key: str, faults: FaultInjector
) -> None:
    api = Api()
    for session in ("s1", "s2", "s3"):
        status, _, answer = post(api, key, runs(NOW - timedelta(minutes=40), 4, session))
        assert status == 202, answer
    deliver(stack, api)

    # curated reads and writes fail; the job state in DynamoDB stays reachable (a lease left
    # behind by a failed release would hold later runs off for its 15 minutes)
    faults.services, faults.enabled = frozenset({"s3"}), True
    failed_runs = 0
    for job in ("rollup", "rollup-daily"):
        # first run: 75 % of S3 calls fail, so even 8 attempts per call give up and the run dies
        # halfway; later runs (a new container each, as after a crash) see the 10 % of the issue
        faults.rate = 0.75
        for _ in range(20):
            try:
                report = wiring.job(job)("jobs-game", {})
            except Exception:  # died halfway; its marks stay for the next run
                failed_runs += 1
                faults.rate = 0.1
                aws.reset_clients()
                wiring.reset()
                continue
            if report["apps"]["jobs-game"]["status"] == "ok":
                break
        else:
            raise AssertionError(f"{job} never finished under faults")
    faults.enabled = False
    assert failed_runs > 0, "at least one run failed halfway (raise the rate if the seed changes)"
    under_faults = curated_files(stack)
    assert under_faults

    # recompute everything without faults: the same bytes
    state = wiring.job_state()
    for day in {k.split("dt=")[1][:10] for k in under_faults}:
        state.mark("day", "jobs-game", day)
        for hour in range(24):
            state.mark("hour", "jobs-game", f"{day}T{hour:02d}")
    wiring.job("rollup")("jobs-game", {})
    wiring.job("rollup-daily")("jobs-game", {})
    clean = curated_files(stack)
    # (the recompute also writes the neighbouring days that marked days can affect)
    assert {key: clean[key] for key in under_faults} == under_faults


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
