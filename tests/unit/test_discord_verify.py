"""Discord request verification (liveops.discord.verify) and the front's handling of the raw bytes
(liveops.discord.interactions): the signature matrix, timestamps, exact bytes, base64 bodies."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from liveops.discord.interactions import EPHEMERAL, InteractionsFront, ephemeral_message
from liveops.discord.verify import (
    MAX_SKEW_SECONDS,
    PublicKeyError,
    SignatureError,
    verify_key,
    verify_request,
)
from liveops.errors import Unavailable

NOW = 1_764_756_000.0
STAMP = str(int(NOW))
SIGNING = SigningKey(bytes(range(32)))
PUBLIC = SIGNING.verify_key.encode().hex()
OTHER = SigningKey(bytes(range(1, 33)))
BODY = b'{"type":1,"id":"1","application_id":"2","token":"t","version":1}'


def sign(body: bytes, stamp: str = STAMP, key: SigningKey = SIGNING) -> str:
    return key.sign(stamp.encode() + body).signature.hex()


# --------------------------------------------------------------------------- verify_request


def test_a_valid_signature_verifies() -> None:
    verify_request(PUBLIC, sign(BODY), STAMP, BODY, NOW)
    verify_request(PUBLIC.upper(), sign(BODY).upper(), STAMP, BODY, NOW)  # hex in either case
    verify_request(PUBLIC, sign(b""), STAMP, b"", NOW)


@pytest.mark.parametrize(
    ("signature", "stamp", "body", "reason"),
    [
        (sign(BODY), STAMP, BODY.replace(b'"t"', b'"u"'), "invalid request signature"),
        (sign(BODY), STAMP, BODY + b" ", "invalid request signature"),
        (sign(BODY), STAMP, b"", "invalid request signature"),
        (sign(BODY, key=OTHER), STAMP, BODY, "invalid request signature"),
        (sign(BODY, stamp=str(int(NOW) - 1)), STAMP, BODY, "invalid request signature"),
        (None, STAMP, BODY, "missing X-Signature-Ed25519"),
        ("", STAMP, BODY, "missing X-Signature-Ed25519"),
        (sign(BODY), None, BODY, "missing X-Signature-Timestamp"),
        (sign(BODY), "", BODY, "missing X-Signature-Timestamp"),
        ("zz" * 64, STAMP, BODY, "not hex"),
        (sign(BODY)[:-2], STAMP, BODY, "128 hex characters"),
        (sign(BODY) + "00", STAMP, BODY, "128 hex characters"),
        (sign(BODY), f"{STAMP}.5", BODY, "Unix seconds"),
        (sign(BODY), f" {STAMP}", BODY, "Unix seconds"),
        (sign(BODY), "1_764_756_000", BODY, "Unix seconds"),
        (sign(BODY), "١٧٦٤٧٥٦٠٠٠", BODY, "Unix seconds"),  # Arabic-Indic digits: isdigit() is True
        (sign(BODY), "-1", BODY, "Unix seconds"),
        (sign(BODY), "9" * 40, BODY, "Unix seconds"),
    ],
)
def test_a_bad_request_is_refused(signature: str | None, stamp: str | None, body: bytes, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_request(PUBLIC, signature, stamp, body, NOW)


def test_timestamps_within_five_minutes_either_way_are_accepted() -> None:
    for offset in (-MAX_SKEW_SECONDS, -1, 0, 1, MAX_SKEW_SECONDS):
        stamp = str(int(NOW) + offset)
        verify_request(PUBLIC, sign(BODY, stamp), stamp, BODY, NOW)
    assert MAX_SKEW_SECONDS == 300


def test_stale_and_future_timestamps_are_refused_even_when_signed() -> None:
    stale = str(int(NOW) - MAX_SKEW_SECONDS - 1)
    with pytest.raises(SignatureError, match="older than 5 minutes"):
        verify_request(PUBLIC, sign(BODY, stale), stale, BODY, NOW)
    with pytest.raises(SignatureError, match="older than 5 minutes"):
        verify_request(PUBLIC, sign(BODY, "0"), "0", BODY, NOW)
    future = str(int(NOW) + MAX_SKEW_SECONDS + 1)
    with pytest.raises(SignatureError, match="in the future"):
        verify_request(PUBLIC, sign(BODY, future), future, BODY, NOW)


def test_a_malformed_public_key_is_a_configuration_error_not_a_bad_request() -> None:
    for key in ("", "ab", "zz" * 32, PUBLIC + "00"):
        with pytest.raises(PublicKeyError):
            verify_request(key, sign(BODY), STAMP, BODY, NOW)
    assert not issubclass(PublicKeyError, SignatureError)


def test_the_verify_key_is_built_once_per_public_key() -> None:
    assert verify_key(PUBLIC) is verify_key(PUBLIC)
    other = OTHER.verify_key.encode().hex()
    assert verify_key(other) is not verify_key(PUBLIC)


def test_the_exact_bytes_are_verified_not_re_serialised_json() -> None:
    # Discord sends UTF-8 JSON with non-ASCII as is; json.dumps would escape it (and re-space it)
    body = '{"type":2,"data":{"name":"télémétrie","options":[{"value":"日本語 🎮"}]}}'.encode()
    verify_request(PUBLIC, sign(body), STAMP, body, NOW)
    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body
    with pytest.raises(SignatureError):
        verify_request(PUBLIC, sign(body), STAMP, reserialised, NOW)
    compact = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")).encode()
    verify_request(PUBLIC, sign(body), STAMP, compact, NOW)  # the same bytes again: accepted
    assert compact == body


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=2048))
def test_any_signed_body_verifies(body: bytes) -> None:
    verify_request(PUBLIC, sign(body), STAMP, body, NOW)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), body=st.binary(min_size=1, max_size=512))
def test_any_single_byte_change_fails(data: st.DataObject, body: bytes) -> None:
    signature = sign(body)
    message = bytearray(STAMP.encode() + body)
    index = data.draw(st.integers(0, len(message) - 1), label="index")
    delta = data.draw(st.integers(1, 255), label="delta")
    message[index] = (message[index] + delta) % 256
    stamp, changed = bytes(message[: len(STAMP)]), bytes(message[len(STAMP) :])
    with pytest.raises(SignatureError):
        verify_request(PUBLIC, signature, stamp.decode("latin-1"), changed, NOW)
    # and a single changed hex digit of the signature
    position = data.draw(st.integers(0, len(signature) - 1), label="position")
    digit = data.draw(st.sampled_from("0123456789abcdef").filter(lambda d: d != signature[position]))
    tampered = signature[:position] + digit + signature[position + 1 :]
    with pytest.raises(SignatureError):
        verify_request(PUBLIC, tampered, STAMP, body, NOW)


# --------------------------------------------------------------------------- the front


def front(**kwargs: Any) -> InteractionsFront:
    return InteractionsFront(lambda: PUBLIC, clock=lambda: NOW, **kwargs)


def event(
    body: bytes,
    *,
    signature: str | None = None,
    stamp: str | None = STAMP,
    method: str = "POST",
    base64_body: bool = False,
    header_case: str = "lower",
) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    names = ("x-signature-ed25519", "x-signature-timestamp")
    if header_case == "title":
        names = ("X-Signature-Ed25519", "X-Signature-Timestamp")
    if signature is not None or stamp is not None:
        headers[names[0]] = sign(body, stamp or STAMP) if signature is None else signature
    if stamp is not None:
        headers[names[1]] = stamp
    return {
        "version": "2.0",
        "routeKey": "ANY /discord/interactions",
        "rawPath": "/discord/interactions",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": "/discord/interactions"}},
        "body": base64.b64encode(body).decode() if base64_body else body.decode("utf-8"),
        "isBase64Encoded": base64_body,
    }


def answer(response: dict[str, Any]) -> tuple[int, Any]:
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def test_ping_is_answered_with_pong() -> None:
    assert answer(front()(event(BODY))) == (200, {"type": 1})


def test_a_base64_body_is_verified_as_its_decoded_bytes() -> None:
    assert answer(front()(event(BODY, base64_body=True))) == (200, {"type": 1})
    # the signature is over the decoded bytes, never over the base64 text
    encoded = base64.b64encode(BODY)
    bad = event(BODY, base64_body=True, signature=sign(encoded))
    assert answer(front()(bad))[0] == 401


def test_a_non_ascii_body_passed_as_text_is_verified_as_utf8_bytes() -> None:
    body = '{"type":2,"id":"9","data":{"name":"télémétrie"}}'.encode()
    status, out = answer(front()(event(body)))
    assert status == 200 and out["type"] == 4
    assert "télémétrie" in out["data"]["content"]
    status, out = answer(front()(event(body, base64_body=True)))
    assert status == 200 and out["type"] == 4


def test_headers_are_found_in_any_case() -> None:
    assert answer(front()(event(BODY, header_case="title"))) == (200, {"type": 1})


@pytest.mark.parametrize(
    "bad",
    [
        {"signature": "00" * 64},
        {"signature": ""},
        {"signature": "not hex at all"},
        {"stamp": None},
        {"stamp": str(int(NOW) - 301)},
        {"stamp": str(int(NOW) + 301)},
    ],
)
def test_bad_signatures_and_timestamps_are_401_in_the_error_shape(bad: dict[str, Any]) -> None:
    status, out = answer(front()(event(BODY, **bad)))
    assert status == 401
    assert out["error"]["code"] == "unauthorized" and out["error"]["message"]
    assert out["error"]["details"] == []


def test_missing_signature_headers_are_401() -> None:
    plain = event(BODY)
    plain["headers"] = {"content-type": "application/json"}
    assert answer(front()(plain))[0] == 401
    plain.pop("headers")
    assert answer(front()(plain))[0] == 401


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_other_methods_are_405_with_allow(method: str) -> None:
    response = front()(event(BODY, method=method))
    assert response["headers"]["Allow"] == "POST"
    status, out = answer(response)
    assert status == 405 and out["error"]["code"] == "method_not_allowed"


def test_bodies_over_the_limit_are_413_before_anything_else() -> None:
    looked_up = []

    def key() -> str:
        looked_up.append(1)
        return PUBLIC

    small = InteractionsFront(key, clock=lambda: NOW, max_body_bytes=64)
    body = b'{"type":1,"pad":"' + b"x" * 64 + b'"}'
    for encoded in (False, True):
        status, out = answer(small(event(body, base64_body=encoded)))
        assert status == 413 and out["error"]["code"] == "payload_too_large"
    assert looked_up == []
    limit = b'{"type":1,"pad":"' + b"x" * (64 - 19) + b'"}'
    assert len(limit) == 64
    assert answer(small(event(limit)))[0] == 200
    # multi-byte characters count as the bytes they take
    wide = '{"type":1,"p":"' + "é" * 30 + '"}'
    assert len(wide) <= 64 < len(wide.encode())
    assert answer(small(event(wide.encode())))[0] == 413


@pytest.mark.parametrize("body", ["!!not base64!!", "eyJ0eXBlIjoxfQ", "eyJ0eXBlIjox\nfQ==", "é"])
def test_invalid_base64_is_401_like_any_unverifiable_request(body: str) -> None:
    broken = event(BODY, base64_body=True)
    broken["body"] = body
    status, out = answer(front()(broken))
    assert status == 401 and out["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[1, 2]", "invalid_interaction"),
        (b'{"type": 99}', "invalid_interaction"),
        (b'{"no_type": true}', "invalid_interaction"),
        (b"[" * 100_000, "invalid_json"),
    ],
)
def test_signed_but_malformed_interactions_are_400(body: bytes, code: str) -> None:
    status, out = answer(front(max_body_bytes=1 << 20)(event(body, base64_body=True)))
    assert status == 400 and out["error"]["code"] == code


def test_commands_and_components_not_implemented_answer_an_ephemeral_message() -> None:
    cases = [
        (
            {"type": 2, "id": "1", "data": {"name": "telemetry_report"}},
            "`/telemetry_report` is not available",
        ),
        ({"type": 3, "id": "2", "data": {"custom_id": "ack:inc-1", "component_type": 2}}, "button"),
        ({"type": 3, "id": "3", "data": {"custom_id": "menu", "component_type": 3}}, "control"),
        ({"type": 5, "id": "4", "data": {"custom_id": "form"}}, "form"),
        ({"type": 2, "id": "5"}, "is not available yet"),
        ({"type": 2, "id": "6", "data": {"name": "a`b@everyone"}}, "`/ab@everyone`"),
    ]
    for interaction, text in cases:
        body = json.dumps(interaction).encode()
        status, out = answer(front()(event(body)))
        assert status == 200
        assert out["type"] == 4
        assert out["data"]["flags"] == EPHEMERAL == 64
        assert out["data"]["allowed_mentions"] == {"parse": []}
        assert text in out["data"]["content"] and "not available yet" in out["data"]["content"]


def test_autocomplete_gets_no_choices() -> None:
    body = b'{"type":4,"data":{"name":"experiment"}}'
    assert answer(front()(event(body))) == (200, {"type": 8, "data": {"choices": []}})


def test_registered_handlers_answer_and_a_failing_one_answers_ephemerally() -> None:
    def report(interaction: dict[str, Any]) -> dict[str, Any]:
        return ephemeral_message(f"report for {interaction['data']['name']}")

    def broken(interaction: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    app = front(commands={"telemetry_report": report}, components={"ack": broken})
    status, out = answer(app(event(b'{"type":2,"data":{"name":"telemetry_report"}}')))
    assert status == 200 and out["data"]["content"] == "report for telemetry_report"
    status, out = answer(app(event(b'{"type":3,"data":{"custom_id":"ack:inc-1","component_type":2}}')))
    assert status == 200 and out["type"] == 4 and out["data"]["flags"] == 64
    assert "went wrong" in out["data"]["content"]


def test_an_unreachable_or_malformed_key_is_503_not_401_or_500() -> None:
    def unreachable() -> str:
        raise Unavailable("the Discord public key could not be read; retry later")

    response = InteractionsFront(unreachable, clock=lambda: NOW)(event(BODY))
    assert response["headers"]["Retry-After"]
    status, out = answer(response)
    assert status == 503 and out["error"]["code"] == "service_unavailable"
    status, out = answer(InteractionsFront(lambda: "not-a-key", clock=lambda: NOW)(event(BODY)))
    assert status == 503 and out["error"]["code"] == "service_unavailable"


def test_the_real_clock_is_used_by_default() -> None:
    import time

    stamp = str(int(time.time()))
    live = InteractionsFront(lambda: PUBLIC)
    assert answer(live(event(BODY, stamp=stamp))) == (200, {"type": 1})
    assert answer(live(event(BODY)))[0] == 401  # STAMP is long past


def test_the_sample_event_is_what_the_front_receives() -> None:
    # events/discord-interaction.json (sam local invoke -e): a PING as API Gateway hands it over.
    # As stored, its signature is a placeholder (and its timestamp old): 401. Signed now with the
    # application's key, the same event is answered PONG.
    from pathlib import Path

    sample = json.loads(
        (Path(__file__).resolve().parents[2] / "events" / "discord-interaction.json").read_text()
    )
    stamp = sample["headers"]["x-signature-timestamp"]
    clock = float(stamp)
    status, out = answer(InteractionsFront(lambda: PUBLIC, clock=lambda: clock)(sample))
    assert status == 401 and out["error"]["code"] == "unauthorized"
    sample["headers"]["x-signature-ed25519"] = sign(sample["body"].encode(), stamp)
    status, out = answer(InteractionsFront(lambda: PUBLIC, clock=lambda: clock)(sample))
    assert (status, out) == (200, {"type": 1})
