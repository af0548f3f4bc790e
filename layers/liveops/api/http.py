"""The HTTP API conventions shared by every function: the spec's error shape, 404/405, 413.

Each function builds its resolver with `build_resolver` and exposes `entrypoint(resolver)`.
A resolver may carry a `lane`: a function that answers the plain, valid requests of a hot route
before Powertools' per-request routing and validation (~0.3 ms of Python a request) and returns
None for anything else, which the resolver then answers as usual (see api/front.py, api/ingest.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from liveops.api.front import Lane, body_size, front, json_text, proxy_response
from liveops.domain.json_keys import DuplicateKey, json_loads, refuse_duplicate_pairs
from liveops.errors import LiveopsError, error_body

__all__ = [  # the front's helpers are re-exported: routes build responses with them
    "Lane",
    "LaneResolver",
    "body_size",
    "build_resolver",
    "entrypoint",
    "error_response",
    "json_response",
    "json_text",
    "proxy_response",
]

logger = Logger(service="liveops")


class LaneResolver(APIGatewayHttpResolver):
    lane: Lane | None = None


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json_text(body),
        headers=headers or {},
    )


def error_response(error: LiveopsError) -> Response:
    return json_response(error.status, error.body(), error.headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":  # loc holds a character offset, ctx the parser's reason
            reason = (err.get("ctx") or {}).get("error")
            details.append(
                {
                    "field": "",
                    "message": f"the body is not valid JSON: {reason}"
                    if reason
                    else "the body is not valid JSON",
                }
            )
            continue
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        details.append({"field": ".".join(loc), "message": err.get("msg", "invalid")})
    return details


def _allowed_methods(app: APIGatewayHttpResolver, path: str) -> list[str]:
    # Powertools has no 405 of its own; its route table tells which methods the path has.
    routes = app._static_routes + app._dynamic_routes
    return sorted({route.method for route in routes if route.rule.match(path)})


def strict_json_loads(text: str | bytes) -> Any:
    """JSON for the admin API: as `json_loads` (liveops.domain.json_keys), parsed once by json."""

    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        try:
            return refuse_duplicate_pairs(pairs)
        except DuplicateKey as exc:
            raise json.JSONDecodeError(str(exc), _text(text), 0) from None

    def refuse_constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not JSON", _text(text), 0)

    def bounded_int(digits: str) -> int:
        value = int(digits)
        if not -(2**63) <= value < 2**64:
            raise json.JSONDecodeError("integer out of range", _text(text), 0)
        return value

    return json.loads(
        text, object_pairs_hook=refuse_duplicates, parse_constant=refuse_constant, parse_int=bounded_int
    )


def _text(text: str | bytes) -> str:
    return text if isinstance(text, str) else text.decode("utf-8", "replace")


def build_resolver(**kwargs: Any) -> LaneResolver:
    # orjson parses bodies ~3x faster than json and refuses NaN/Infinity and >64-bit integers
    kwargs.setdefault("json_body_deserializer", json_loads)
    app = LaneResolver(
        enable_validation=True,
        serializer=lambda obj: orjson.dumps(obj).decode(),
        **kwargs,
    )
    # security schemes are attached when the document is generated (liveops.api.openapi): the
    # OpenAPI models cost ~150 ms of import that no request needs

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        first = details[0] if details else {"field": "", "message": "invalid request"}
        where = f"{first['field']}: " if first["field"] else ""
        return json_response(400, error_body("invalid_request", f"{where}{first['message']}", details))

    @app.exception_handler(LiveopsError)
    def _liveops_error(exc: LiveopsError) -> Response:
        return error_response(exc)

    @app.exception_handler(RecursionError)
    def _too_deep(_exc: RecursionError) -> Response:
        return json_response(400, error_body("invalid_json", "the JSON body is nested too deeply"))

    @app.not_found
    def _not_found(_exc: NotFoundError) -> Response:
        path = app.current_event.path
        allowed = _allowed_methods(app, path)
        if allowed:
            return json_response(
                405,
                error_body("method_not_allowed", f"{app.current_event.http_method} is not allowed on {path}"),
                {"Allow": ", ".join(allowed)},
            )
        return json_response(404, error_body("not_found", f"no route for {path}"))

    return app


def entrypoint(app: APIGatewayHttpResolver) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler: refuses oversized bodies before anything parses them, then routes
    (through the resolver's lane first, when it has one)."""
    return front(lambda: app, app.lane if isinstance(app, LaneResolver) else None)
