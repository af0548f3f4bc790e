"""The Lambda front of every HTTP function, without the Powertools resolver (cheap to import).

`front(resolver, lane)` refuses oversized bodies before anything parses them, decodes base64
bodies once, lets the `lane` answer the plain, valid requests of a hot route (it returns None for
anything else) and hands the rest to the resolver, which `resolver()` builds on first need. A
function whose lane answers its usual requests (ingest) so never imports the resolver's routing
and validation stack on that path. `api/http.py` builds the resolvers and `entrypoint(app)`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from liveops.errors import error_body

JSON = "application/json"
# a lane: the Lambda response of a request it is sure of, else None
Lane = Callable[[dict[str, Any]], "dict[str, Any] | None"]
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def proxy_response(status: int, body: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The Lambda response Powertools builds for an HTTP API (v2) JSON response."""
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "headers": {**(headers or {}), "Content-Type": JSON},
        "cookies": [],
    }


def json_text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8")) if not body.isascii() else len(body)


class LazyResolver:
    """Stands for a resolver built on first use (`get()`, or any attribute, as the OpenAPI
    document generator reads `app`)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._built: Any = None

    def get(self) -> Any:
        if self._built is None:
            self._built = self._build()
        return self._built

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


def front(resolver: Callable[[], Any], lane: Lane | None = None) -> Handler:
    """The Lambda handler (see the module docstring)."""
    limits: list[int] = []  # read on the first request: settings are not needed to import a handler

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if not limits:
            from liveops.settings import get_settings

            limits.append(get_settings().max_body_bytes)
        limit = limits[0]
        size = body_size(event)
        if size > limit:
            body = error_body("payload_too_large", f"the request body is {size} bytes; at most {limit}")
            return {
                "statusCode": 413,
                "headers": {"Content-Type": JSON},
                "body": json.dumps(body),
            }
        if event.get("isBase64Encoded") and event.get("body"):
            # decode once here so that routes and validation see the raw JSON text
            try:
                event = {
                    **event,
                    "body": base64.b64decode(event["body"]).decode("utf-8"),
                    "isBase64Encoded": False,
                }
            except (ValueError, UnicodeDecodeError):
                body = error_body("invalid_body", "the request body is not valid UTF-8")
                return {
                    "statusCode": 400,
                    "headers": {"Content-Type": JSON},
                    "body": json.dumps(body),
                }
        if lane is not None:
            answer = lane(event)
            if answer is not None:
                return answer
        response: dict[str, Any] = resolver().resolve(event, context)
        return response

    return handler
