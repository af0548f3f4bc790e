"""What every admin and metrics route declares alike: the bearer security requirement, the app id
path parameter, no-store caching for secrets, and the documented error responses by role."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path

from liveops.models.app_config import APP_ID_PATTERN
from liveops.models.telemetry import ErrorResponse

BEARER: list[dict[str, list[str]]] = [{"BearerAuth": []}]
NO_STORE = {"Cache-Control": "private, no-store"}
AppIdPath = Annotated[str, Path(pattern=APP_ID_PATTERN, description="the app id")]
ERROR_CONTENT: dict[str, Any] = {"application/json": {"model": ErrorResponse}}


def protected_responses(
    role: str,
    ok: dict[int, Any] | None = None,
    *,
    invalid: str = "Invalid request",
    not_found: str | None = "Unknown app",
    conflict: str | None = None,
) -> dict[int, Any]:
    """The responses of a route behind a token of at least `role`. `ok` maps success statuses to
    their documented response (see `ok_json`); the 403 text names the role, which the access
    tests read back from the generated document."""
    documented: dict[int, Any] = dict(ok or {})
    documented[400] = {"description": invalid, "content": ERROR_CONTENT}
    documented[401] = {"description": "Missing or invalid token", "content": ERROR_CONTENT}
    documented[403] = {"description": f"The token's role is below {role}", "content": ERROR_CONTENT}
    if not_found:
        documented[404] = {"description": not_found, "content": ERROR_CONTENT}
    if conflict:
        documented[409] = {"description": conflict, "content": ERROR_CONTENT}
    documented[413] = {"description": "Body over 1 MiB (refused before it is read)", "content": ERROR_CONTENT}
    return documented


def ok_json(model: type | None = None, status: int = 200, description: str = "OK") -> dict[int, Any]:
    """A success response with a JSON body of `model` (or none documented)."""
    if model is None:
        return {status: {"description": description}}
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}
