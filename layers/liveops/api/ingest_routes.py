"""The Powertools route of POST /v1/telemetry/batch: request validation, the error wording of
invalid requests, the OpenAPI description. Imported with the first request the ingest lane does
not answer itself (see api/ingest.py), or to generate the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Header

from liveops.api.http import LaneResolver, build_resolver
from liveops.api.ingest import BATCH_PATH, IDEMPOTENCY_KEY_MAX, handle_batch
from liveops.errors import BadRequest
from liveops.models.telemetry import BatchAccepted, BatchIn, ErrorResponse

if TYPE_CHECKING:
    from liveops.api.ingest import IngestService


def build_routes(service: Callable[[], IngestService]) -> LaneResolver:
    """The ingest resolver (without its lane); `service` is called on the first request."""
    app = build_resolver()

    @app.post(
        BATCH_PATH,
        summary="Send a batch of telemetry events",
        description=(
            "Validates each event against the app's taxonomy on its own and enqueues the accepted ones. "
            "A 202 means the accepted events are durably queued. Send `Idempotency-Key` to make retries safe."
        ),
        tags=["telemetry"],
        security=[{"ApiKey": []}],
        responses={
            202: {
                "description": "Accepted (possibly with per-event rejections)",
                "content": {"application/json": {"model": BatchAccepted}},
            },
            400: {
                "description": "Invalid envelope",
                "content": {"application/json": {"model": ErrorResponse}},
            },
            401: {
                "description": "Missing or invalid key",
                "content": {"application/json": {"model": ErrorResponse}},
            },
            413: {
                "description": "Body over 1 MiB",
                "content": {"application/json": {"model": ErrorResponse}},
            },
            422: {
                "description": "Idempotency-Key reused with another body",
                "content": {"application/json": {"model": ErrorResponse}},
            },
            503: {
                "description": "Queue unreachable, or the first request with this Idempotency-Key is "
                "still in progress; retry after Retry-After seconds",
                "content": {"application/json": {"model": ErrorResponse}},
            },
        },
    )
    def post_batch(
        batch: Annotated[BatchIn, Body()],
        x_api_key: Annotated[str | None, Header(description="the app's client key")] = None,
        idempotency_key: Annotated[
            str | None, Header(max_length=IDEMPOTENCY_KEY_MAX, description="makes retries safe")
        ] = None,
    ) -> Response[BatchAccepted]:
        if idempotency_key is not None and not idempotency_key.strip():
            raise BadRequest("Idempotency-Key must not be blank", code="invalid_idempotency_key")
        body = handle_batch(service(), batch, app.current_event.body or "", x_api_key, idempotency_key)
        accepted = BatchAccepted(**body)
        return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=accepted)

    return app
