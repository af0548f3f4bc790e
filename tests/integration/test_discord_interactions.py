"""POST /discord/interactions through the local gateway (routes from template.yaml) against moto:
the public key is read from SSM, requests are signed with a key pair generated here."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from nacl.signing import SigningKey

from liveops import aws, wiring
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api

PATH = "/discord/interactions"


@pytest.fixture
def signing(stack: AwsStack) -> SigningKey:
    key = SigningKey.generate()
    aws.client("ssm").put_parameter(
        Name=stack.ctx.parameters["DiscordPublicKeyParameterName"],
        Value=key.verify_key.encode().hex(),
        Type="String",
    )
    return key


def signed(key: SigningKey, body: bytes, stamp: str | None = None) -> dict[str, str]:
    stamp = stamp or str(int(time.time()))
    return {
        # mixed case as a client sends them; the gateway lower-cases them as API Gateway does
        "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
        "X-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def post(api: Api, key: SigningKey, interaction: Any = None, *, raw: bytes | None = None) -> tuple[int, Any]:
    body = raw if raw is not None else json.dumps(interaction, separators=(",", ":")).encode()
    status, headers, out = api.call("POST", PATH, raw=body, headers=signed(key, body))
    assert headers["content-type"] == "application/json"
    return status, out


def test_the_template_reads_the_key_parameter_the_stack_was_given(stack: AwsStack) -> None:
    assert stack.ctx.parameters["DiscordPublicKeyParameterName"] == "/liveops/discord/public-key"
    assert stack.env["DISCORD_PUBLIC_KEY_PARAM"] == "/liveops/discord/public-key"


def test_ping_is_answered_with_pong(signing: SigningKey) -> None:
    api = Api()
    assert post(api, signing, {"type": 1, "id": "1", "application_id": "2", "token": "t", "version": 1}) == (
        200,
        {"type": 1},
    )
    assert post(api, signing, {"type": 1}) == (200, {"type": 1})


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Async invokes of the worker, recorded instead of run (test_discord_worker.py runs them)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(wiring, "local_async_invoke", lambda name, payload: calls.append((name, payload)))
    return calls


def test_a_command_is_deferred_to_the_worker(
    signing: SigningKey, deferred: list[tuple[str, dict[str, Any]]]
) -> None:
    interaction = {
        "type": 2,
        "id": "1100",
        "application_id": "2",
        "token": "t",
        "version": 1,
        "guild_id": "42",
        "member": {"user": {"id": "7", "username": "Zoë"}, "roles": []},
        "data": {
            "id": "3",
            "name": "telemetry_report",
            "type": 1,
            "options": [{"name": "app", "value": "é"}],
        },
    }
    # UTF-8 with non-ASCII as Discord sends it: the gateway passes it as text, the bytes must verify
    body = json.dumps(interaction, ensure_ascii=False).encode()
    status, out = post(Api(), signing, raw=body)
    assert (status, out) == (200, {"type": 5})
    assert deferred == [("local-DiscordWorkerFunction", {"interaction": interaction})]


def test_an_unknown_command_answers_an_ephemeral_not_available_message(
    signing: SigningKey, deferred: list[tuple[str, dict[str, Any]]]
) -> None:
    status, out = post(Api(), signing, {"type": 2, "id": "1", "data": {"name": "nope"}})
    assert status == 200 and out["type"] == 4 and out["data"]["flags"] == 64
    assert out["data"]["allowed_mentions"] == {"parse": []}
    assert out["data"]["content"] == "`/nope` is not available yet."
    assert deferred == []


def test_a_button_is_a_deferred_update(
    signing: SigningKey, deferred: list[tuple[str, dict[str, Any]]]
) -> None:
    status, out = post(
        Api(), signing, {"type": 3, "id": "5", "data": {"custom_id": "ack:app:inc-1", "component_type": 2}}
    )
    assert (status, out) == (200, {"type": 6})
    assert len(deferred) == 1


def test_a_body_that_is_not_utf8_arrives_base64_encoded_and_still_verifies(signing: SigningKey) -> None:
    # the gateway base64-encodes it (isBase64Encoded); verified, then refused as JSON, not as a signature
    status, out = post(Api(), signing, raw=b'{"type":1,"x":"\xff"}')
    assert status == 400 and out["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(
    "case",
    [
        "no headers",
        "no timestamp",
        "bad signature",
        "wrong key",
        "tampered body",
        "stale",
        "future",
        "not hex",
    ],
)
def test_bad_requests_are_401(signing: SigningKey, case: str) -> None:
    body = b'{"type":1}'
    now = int(time.time())
    headers = signed(signing, body)
    if case == "no headers":
        headers = {"Content-Type": "application/json"}
    elif case == "no timestamp":
        headers.pop("X-Signature-Timestamp")
    elif case == "bad signature":
        headers["X-Signature-Ed25519"] = "00" * 64
    elif case == "wrong key":
        headers = signed(SigningKey.generate(), body)
    elif case == "tampered body":
        body = b'{"type":2}'
    elif case == "stale":
        headers = signed(signing, body, str(now - 301))
    elif case == "future":
        headers = signed(signing, body, str(now + 3600))
    elif case == "not hex":
        headers["X-Signature-Ed25519"] = "g" * 128
    status, _, out = Api().call("POST", PATH, raw=body, headers=headers)
    assert status == 401
    assert out["error"]["code"] == "unauthorized"
    assert set(out["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405(signing: SigningKey, method: str) -> None:
    status, headers, out = Api().call(method, PATH)
    assert status == 405
    assert headers["allow"] == "POST"
    assert out["error"]["code"] == "method_not_allowed"


def test_bodies_over_one_mib_are_413(signing: SigningKey) -> None:
    body = b'{"type":1,"pad":"' + b"x" * (1024 * 1024) + b'"}'
    status, out = post(Api(), signing, raw=body)
    assert status == 413 and out["error"]["code"] == "payload_too_large"


def test_the_key_is_read_once_per_container(signing: SigningKey, stack: AwsStack) -> None:
    api = Api()
    assert post(api, signing, {"type": 1})[0] == 200
    # a rotated parameter is not re-read by a warm container; a new container reads it
    other = SigningKey.generate()
    aws.client("ssm").put_parameter(
        Name=stack.ctx.parameters["DiscordPublicKeyParameterName"],
        Value=other.verify_key.encode().hex(),
        Type="String",
        Overwrite=True,
    )
    assert post(api, signing, {"type": 1})[0] == 200
    wiring.reset()
    assert post(api, signing, {"type": 1})[0] == 401
    assert post(api, other, {"type": 1})[0] == 200


def test_a_missing_key_parameter_is_503_and_recovers(stack: AwsStack) -> None:
    api = Api()
    key = SigningKey.generate()
    status, out = post(api, key, {"type": 1})
    assert status == 503 and out["error"]["code"] == "service_unavailable"
    aws.client("ssm").put_parameter(
        Name=stack.ctx.parameters["DiscordPublicKeyParameterName"],
        Value=key.verify_key.encode().hex(),
        Type="String",
    )
    assert post(api, key, {"type": 1}) == (200, {"type": 1})  # the failure was not cached
