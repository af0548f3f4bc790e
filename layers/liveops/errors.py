"""Errors that carry an HTTP status and the spec's error shape."""

from __future__ import annotations

from typing import Any


class LiveopsError(Exception):
    """A failure with a stable machine-readable code and an HTTP status."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


class BadRequest(LiveopsError):
    status = 400
    code = "bad_request"


class Unauthorized(LiveopsError):
    status = 401
    code = "unauthorized"


class Forbidden(LiveopsError):
    status = 403
    code = "forbidden"


class NotFound(LiveopsError):
    status = 404
    code = "not_found"


class Conflict(LiveopsError):
    status = 409
    code = "conflict"


class PayloadTooLarge(LiveopsError):
    status = 413
    code = "payload_too_large"


class Unavailable(LiveopsError):
    """A dependency (queue, table) could not be reached; the client should retry."""

    status = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int = 2, **kwargs: Any) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)}, **kwargs)
