"""No secret, key, token or raw user id ever reaches a log line.

Every function of the template runs at DEBUG with the deployment's secrets in place (the SSM hash
secret, the Discord bot token, the Discord application's key pair): the least-privilege scenario
(admin and metrics routes, client routes, ingest with retries, the writer, rollup and
rollup-daily, alerts, signed Discord commands deferred to the worker and incident buttons,
weekly-report, publish with a failed upload, retention), plus unicode and e-mail-like user ids,
wrong and revoked credentials and a forged Discord interaction. Everything the functions log (the
`liveops` logger, rendered as Lambda renders it, and whatever they print) is searched for each
secret, raw and JSON-escaped."""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from nacl.signing import SigningKey

from liveops import wiring
from liveops.local.iam_audit import CallRecorder
from liveops.local.template import functions, project_template
from liveops.services.tokens import create_token
from tests.integration import test_discord_worker
from tests.integration.conftest import AwsStack
from tests.integration.test_discord_worker import Loop
from tests.integration.test_least_privilege import Scenario

RAW_USER_IDS = ["player-Zq81-secret-uid", "ユーザー-秘密-42", "mail.someone@example.com"]
SECRET_FIELDS = ("api_key", "token")  # fields of admin answers that carry a credential
loop = test_discord_worker.loop  # the fake Discord loop fixture (signing key, bot token), reused


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


class Secrets(list[str]):
    def found_in(self, logs: str) -> list[str]:
        return [s for s in dict.fromkeys(self) if s in logs or json.dumps(s)[1:-1] in logs]


class HygieneScenario(Scenario):
    """The least-privilege scenario, keeping every credential the admin API hands out and every
    interaction token it sends."""

    def __init__(self, *args: Any, found: Secrets) -> None:
        super().__init__(*args)
        self.found = found
        found.extend([*self.tokens.values(), self.key])

    def admin(self, method: str, path: str, body: Any = None, role: str = "admin") -> Any:
        answer = super().admin(method, path, body, role)
        if isinstance(answer, dict):
            self.found.extend(str(answer[f]) for f in SECRET_FIELDS if answer.get(f))
        return answer


def distinct_interaction_tokens(loop: Loop, found: Secrets, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interactions carry a long random token, as Discord's do (and is searched for)."""
    make = loop.interaction

    def interaction(kind: int, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        built = make(kind, data, **kwargs)
        built["token"] = "itok-" + secrets.token_urlsafe(48)
        found.append(built["token"])
        return built

    monkeypatch.setattr(loop, "interaction", interaction)


def count_invocations(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each function's handler ran (through the gateway, the queue, the schedule or an
    async invoke)."""
    counts: Counter[str] = Counter()
    for name, function in scenario.functions.items():

        def invoke(event: dict[str, Any], name: str = name, real: Any = function.invoke) -> Any:
            counts[name] += 1
            return real(event)

        monkeypatch.setattr(function, "invoke", invoke)
    return counts


def test_logs_carry_no_secrets(
    stack: AwsStack,
    loop: Loop,
    debug_logs: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")  # every function's logger, from its cold start
    private_key = loop.key.encode()
    found = Secrets(
        [
            "test-secret",  # the user-hash secret in SSM (conftest)
            "test-bot-token",  # the Discord bot token in SSM (the loop fixture)
            private_key.hex(),
            base64.b64encode(private_key).decode(),
            *RAW_USER_IDS,
            *(f"player-{n}" for n in (0, 1, 2)),  # the scenario's user ids
        ]
    )
    distinct_interaction_tokens(loop, found, monkeypatch)
    scenario = HygieneScenario(stack, loop, CallRecorder(), monkeypatch, found=found)
    invoked = count_invocations(scenario, monkeypatch)
    api = scenario.api

    # the whole scenario: every function, credentials created over the admin API
    scenario.configure()
    scenario.play()

    # ingest and client with odd user ids, retries, wrong and revoked credentials
    game = scenario.key
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
    admin = scenario.tokens["admin"]
    viewer = scenario.tokens["viewer"]
    assert api.call("GET", "/v1/admin/apps", None, {"authorization": f"Bearer {viewer}"})[0] == 403
    assert api.call("GET", "/v1/admin/apps", None, {"authorization": f"Bearer {viewer}zz"})[0] == 401
    revoked = create_token(wiring.tokens_store(), "editor")
    found.append(revoked.token)
    assert wiring.tokens_store().revoke(revoked.token_id)
    assert api.call("GET", "/v1/admin/apps", None, {"authorization": f"Bearer {revoked.token}"})[0] == 401
    assert api.call("GET", "/v1/admin/apps", None, {"authorization": f"Bearer {admin}"})[0] == 200

    scenario.land()  # writer, rollup, rollup-daily
    scenario.read_metrics()
    scenario.alert_and_respond()  # alerts; signed commands deferred to the worker; buttons

    # a forged interaction: signed by another key
    forged = loop.interaction(2, {"name": "incidents"})
    raw = json.dumps(forged).encode()
    stamp = str(int(time.time()))
    headers = {
        "x-signature-ed25519": SigningKey.generate().sign(stamp.encode() + raw).signature.hex(),
        "x-signature-timestamp": stamp,
    }
    assert api.call("POST", "/discord/interactions", None, headers, raw=raw)[0] == 401

    scenario.report_publish_prune()  # weekly-report, publish (one failing), retention

    captured = capfd.readouterr()
    logs = debug_logs.getvalue() + captured.out + captured.err
    assert '"level":"DEBUG"' in logs and "batch accepted" in logs, "the functions' logs were captured"
    every = {spec.logical_id for spec in functions(project_template())}
    assert set(invoked) == every, f"functions the scenario never ran: {sorted(every - set(invoked))}"
    assert invoked["DiscordWorkerFunction"] >= 6, invoked  # 4 commands, 2 buttons
    leaked = found.found_in(logs)
    assert leaked == [], f"secrets in the logs: {[s[:6] + '…' for s in leaked]}"
