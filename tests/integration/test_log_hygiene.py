"""No secret, key, token or raw user id ever reaches a log line.

Runs a scenario through the functions with DEBUG logging (ingest with user ids and retries, wrong
and revoked credentials, keys and tokens created over the admin API, sticky assignments, the writer,
a forged Discord interaction), captures everything they print, and searches it."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from liveops import aws, wiring
from liveops.services.tokens import create_token
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api

RAW_USER_IDS = ["player-Zq81-secret-uid", "ユーザー-秘密-42", "mail.someone@example.com"]


def event(event_type: str = "session_start", **payload: Any) -> dict[str, Any]:
    moment = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "event_time": moment, "payload": payload}


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    """Every record of the functions' logger at DEBUG, rendered as the Lambda logs render it
    (structured JSON with the extra keys); the logger may have been set up by earlier tests."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LambdaPowertoolsFormatter())
    logger = logging.getLogger("liveops")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_logs_carry_no_secrets(
    stack: AwsStack,
    game: str,
    debug_logs: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")  # every function's logger, from its cold start
    api = Api()
    admin = create_token(wiring.tokens_store(), "admin").token
    viewer = create_token(wiring.tokens_store(), "viewer").token
    secrets: list[str] = [game, admin, viewer, "test-secret", *RAW_USER_IDS]

    for user_id in RAW_USER_IDS:
        body = {"session_id": "s-1", "platform": "web", "user_id": user_id, "events": [event()]}
        assert api.call("POST", "/v1/telemetry/batch", body, {"x-api-key": game})[0] == 202
        retry = {"x-api-key": game, "idempotency-key": "retry-" + user_id.encode().hex()}
        assert api.call("POST", "/v1/telemetry/batch", body, retry)[0] == 202
        assert api.call("POST", "/v1/telemetry/batch", body, retry)[0] == 202
        assert api.call("POST", "/v1/telemetry/batch", body, {"x-api-key": game + "x"})[0] == 401
        status, _, _ = api.call(
            "GET", f"/v1/experiments/assignments?user_id={user_id}", None, {"x-api-key": game}
        )
        assert status == 200

    bearer = {"authorization": f"Bearer {admin}"}
    status, _, created_key = api.call("POST", "/v1/admin/apps/test-game/keys", None, bearer)
    assert status == 201
    secrets.append(created_key["api_key"])
    status, _, created_token = api.call("POST", "/v1/admin/tokens", {"role": "editor"}, bearer)
    assert status == 201
    secrets.append(created_token["token"])
    assert api.call("GET", "/v1/admin/apps", None, {"authorization": f"Bearer {viewer}"})[0] == 403
    assert api.call("GET", "/v1/admin/apps", None, {"authorization": f"Bearer {viewer}zz"})[0] == 401
    assert api.call("DELETE", f"/v1/admin/tokens/{created_token['token_id']}", None, bearer)[0] == 200
    assert (
        api.call("GET", "/v1/admin/apps", None, {"authorization": f"Bearer {created_token['token']}"})[0]
        == 401
    )

    # the writer sees the queued events (hashed ids only)
    sqs, url = aws.client("sqs"), stack.env["EVENTS_QUEUE_URL"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {},
        }
        for m in got
    ]
    assert api.functions["WriterFunction"].invoke({"Records": records})["batchItemFailures"] == []

    # a forged Discord interaction
    from nacl.signing import SigningKey

    aws.client("ssm").put_parameter(
        Name=stack.ctx.parameters["DiscordPublicKeyParameterName"],
        Value=SigningKey.generate().verify_key.encode().hex(),
        Type="String",
        Overwrite=True,
    )
    forged = json.dumps({"type": 1, "token": "interaction-token-not-for-logs"})
    secrets.append("interaction-token-not-for-logs")
    headers = {"x-signature-ed25519": "00" * 64, "x-signature-timestamp": "1700000000"}
    assert api.call("POST", "/discord/interactions", None, headers, raw=forged.encode())[0] == 401

    captured = capfd.readouterr()
    logs = debug_logs.getvalue() + captured.out + captured.err
    assert '"level":"DEBUG"' in logs and "batch accepted" in logs, "the functions' logs were captured"
    leaked = [secret for secret in secrets if secret in logs or json.dumps(secret)[1:-1] in logs]
    assert leaked == [], f"secrets in the logs: {[s[:6] + '…' for s in leaked]}"
