"""The Discord interactions front: POST /discord/interactions as an HTTP API (payload 2.0) event.

Hand-written routing for one route and one method (no Powertools resolver: its validation stack
costs more to import than this whole function may take). Order of checks: method (405), body
size (413, before anything is decoded or parsed: a body over 1 MiB is refused unread, whoever
sent it), signature and timestamp over the exact bytes received (401; a base64 body that does not
decode cannot be verified either, so it is a 401 too), JSON (400), then the interaction type:
PING -> PONG; commands and components -> their handler, or an ephemeral "not available yet"
message. Pure apart from the public-key lookup, which is injected.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from liveops.discord.verify import PublicKeyError, SignatureError, verify_request
from liveops.errors import LiveopsError, error_body

logger = Logger(service="liveops")

MIB = 1024 * 1024
ALLOWED_METHOD = "POST"

# interaction types (requests) and interaction callback types (responses)
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
AUTOCOMPLETE_RESULT = 8
EPHEMERAL = 1 << 6
BUTTON = 2

# a handler takes the interaction and returns the interaction response (the JSON Discord reads)
InteractionHandler = Callable[[dict[str, Any]], dict[str, Any]]
Response = dict[str, Any]
_JSON = {"Content-Type": "application/json"}


def ephemeral_message(content: str) -> dict[str, Any]:
    """An interaction response only the invoking user sees, which never pings anyone."""
    return {
        "type": CHANNEL_MESSAGE_WITH_SOURCE,
        "data": {"content": content[:2000], "flags": EPHEMERAL, "allowed_mentions": {"parse": []}},
    }


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return {
        "statusCode": status,
        "headers": {**_JSON, **headers} if headers else {**_JSON},
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    }


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, error_body(code, message), headers)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """HTTP API v2 lower-cases header names; other sources (tests, v1 events) may not."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _plain(text: Any, limit: int) -> str:
    """A name from the interaction, safe to show inside inline code."""
    return str(text).replace("`", "")[:limit] if text else ""


class InteractionsFront:
    """The handler logic: `front(event) -> API Gateway response`.

    public_key: returns the application's hex public key (cached by the caller; may raise
    LiveopsError, e.g. Unavailable when SSM cannot be reached). commands maps a command name,
    components a custom_id prefix (the part before the first ':'), to its handler.
    """

    def __init__(
        self,
        public_key: Callable[[], str],
        *,
        commands: Mapping[str, InteractionHandler] | None = None,
        components: Mapping[str, InteractionHandler] | None = None,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = MIB,
    ) -> None:
        self.public_key = public_key
        self.commands = dict(commands or {})
        self.components = dict(components or {})
        self.clock = clock
        self.max_body_bytes = max_body_bytes

    def __call__(self, event: Mapping[str, Any]) -> Response:
        method = _method(event)
        if method != ALLOWED_METHOD:
            return _error(
                405,
                "method_not_allowed",
                f"{method} is not allowed on /discord/interactions",
                {"Allow": ALLOWED_METHOD},
            )
        raw = self._body(event)
        if not isinstance(raw, bytes):
            return raw
        headers = event.get("headers") or {}
        try:
            verify_request(
                self.public_key(),
                _header(headers, "x-signature-ed25519"),
                _header(headers, "x-signature-timestamp"),
                raw,
                self.clock(),
            )
        except SignatureError as exc:
            return _error(401, "unauthorized", str(exc))
        except LiveopsError as exc:
            logger.warning("Discord public key unavailable", extra={"error": exc.message})
            return _json(exc.status, exc.body(), exc.headers)
        except PublicKeyError as exc:
            logger.error("Discord public key misconfigured", extra={"error": str(exc)})
            return _error(503, "service_unavailable", "the Discord endpoint is not configured")
        try:
            interaction = json.loads(raw)
        except (ValueError, RecursionError):
            return _error(400, "invalid_json", "the request body is not valid JSON")
        if not isinstance(interaction, dict):
            return _error(400, "invalid_interaction", "the request body is not an interaction object")
        return self.dispatch(interaction)

    def _body(self, event: Mapping[str, Any]) -> bytes | Response:
        """The exact bytes the client sent, or the error response (413 too large; 401 when a base64
        body does not decode: like any request whose signature cannot be checked)."""
        body = event.get("body") or ""
        encoded = bool(event.get("isBase64Encoded"))
        limit = self.max_body_bytes
        # refuse before decoding anything large (base64 is 4 characters per 3 bytes)
        estimate = len(body) * 3 // 4 if encoded else len(body)
        if estimate > limit:
            return _error(413, "payload_too_large", f"the request body is over {limit} bytes")
        try:
            raw = base64.b64decode(body, validate=True) if encoded else body.encode("utf-8")
        except (binascii.Error, ValueError):
            return _error(401, "unauthorized", "the request body could not be verified (invalid base64)")
        if len(raw) > limit:
            return _error(413, "payload_too_large", f"the request body is {len(raw)} bytes; at most {limit}")
        return raw

    def dispatch(self, interaction: dict[str, Any]) -> Response:
        kind = interaction.get("type")
        if kind == PING:
            return {"statusCode": 200, "headers": {**_JSON}, "body": '{"type":1}'}
        data = interaction.get("data")
        data = data if isinstance(data, dict) else {}
        if kind == APPLICATION_COMMAND:
            name = _plain(data.get("name"), 32)
            return self._run(self.commands.get(name), interaction, f"`/{name}` is not available yet.")
        if kind == MESSAGE_COMPONENT:
            custom_id = str(data.get("custom_id") or "")
            what = "button" if data.get("component_type") == BUTTON else "control"
            handler = self.components.get(custom_id.split(":", 1)[0])
            return self._run(handler, interaction, f"This {what} is not available yet.")
        if kind == MODAL_SUBMIT:
            return self._run(None, interaction, "This form is not available yet.")
        if kind == APPLICATION_COMMAND_AUTOCOMPLETE:
            return _json(200, {"type": AUTOCOMPLETE_RESULT, "data": {"choices": []}})
        return _error(400, "invalid_interaction", f"unknown interaction type {_plain(kind, 20)!r}")

    def _run(self, handler: InteractionHandler | None, interaction: dict[str, Any], missing: str) -> Response:
        if handler is None:
            logger.info(
                "Discord interaction not implemented",
                extra={"interaction_type": interaction.get("type"), "interaction_id": interaction.get("id")},
            )
            return _json(200, ephemeral_message(missing))
        try:
            return _json(200, handler(interaction))
        except Exception:  # a failing command answers the user instead of failing the interaction
            logger.exception("Discord interaction failed", extra={"interaction_id": interaction.get("id")})
            return _json(200, ephemeral_message("Something went wrong; please try again later."))


def _method(event: Mapping[str, Any]) -> str:
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(http.get("method") or event.get("httpMethod") or "").upper()
