"""The Powertools routes of the client endpoints: query/header validation, the error wording of
invalid requests, the OpenAPI description. Imported with the first request the client lane does
not answer itself (see api/client.py), or to generate the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from liveops.api.client import (
    ACTIVE_PATH,
    ASSIGNMENTS_PATH,
    CACHE_CONTROL,
    MANIFEST_PATH,
    PLATFORM_MAX,
    USER_ID_MAX,
    VERSION_MAX,
)
from liveops.api.http import LaneResolver, build_resolver
from liveops.models.liveops import ActiveEvents, Assignments, Manifest
from liveops.models.telemetry import ErrorResponse

if TYPE_CHECKING:
    from liveops.api.client import ClientService

# module level: with postponed annotations Powertools resolves route annotations from module globals
ApiKey = Annotated[str | None, Header(description="the app's client key")]


def _responses(model: type, not_found: str | None = None) -> dict[int, Any]:
    error = {"application/json": {"model": ErrorResponse}}
    documented: dict[int, Any] = {
        200: {"description": "OK", "content": {"application/json": {"model": model}}},
        400: {"description": "Invalid request", "content": error},
        401: {"description": "Missing or invalid key", "content": error},
    }
    if not_found:
        documented[404] = {"description": not_found, "content": error}
    return documented


def build_routes(service: Callable[[], ClientService]) -> LaneResolver:
    """The client resolver (without its lane); `service` is called on the first request."""
    app = build_resolver()

    def ok(body: dict[str, Any]) -> Response[Any]:
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body=body,
            headers=dict(CACHE_CONTROL),
        )

    @app.get(
        ACTIVE_PATH,
        summary="Live events and seasons active now",
        tags=["client"],
        security=[{"ApiKey": []}],
        responses=_responses(ActiveEvents),
    )
    def get_active(
        x_api_key: ApiKey = None,
        content_version: Annotated[str | None, Query(min_length=1, max_length=VERSION_MAX)] = None,
    ) -> Response[Any]:
        return ok(service().active_events(x_api_key, content_version))

    @app.get(
        ASSIGNMENTS_PATH,
        summary="The user's variant in every running experiment",
        description="Sticky: the first assignment is stored and returned from then on.",
        tags=["client"],
        security=[{"ApiKey": []}],
        responses=_responses(Assignments),
    )
    def get_assignments(
        user_id: Annotated[str, Query(min_length=1, max_length=USER_ID_MAX)],
        x_api_key: ApiKey = None,
        platform: Annotated[str | None, Query(max_length=PLATFORM_MAX)] = None,
        client_version: Annotated[str | None, Query(max_length=VERSION_MAX)] = None,
    ) -> Response[Any]:
        return ok(service().assignments_for(x_api_key, user_id, platform, client_version))

    @app.get(
        MANIFEST_PATH,
        summary="The live content version and whether this client must update",
        tags=["client"],
        security=[{"ApiKey": []}],
        responses=_responses(Manifest, not_found="The app has no content manifest yet (`no_content`)"),
    )
    def get_manifest(
        client_version: Annotated[str, Query(min_length=1, max_length=VERSION_MAX)], x_api_key: ApiKey = None
    ) -> Response[Any]:
        return ok(service().manifest(x_api_key, client_version))

    return app
