"""POST /v1/telemetry/batch: authenticate, validate, hash, correct clock skew, enqueue durably.

The service and the lane (the path of plain valid requests) live here and import no Powertools
resolver; the route, with its validation and OpenAPI description, is in api/ingest_routes.py and
loads with the first request the lane passes on.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from liveops.api.front import JSON, Lane, json_text, proxy_response
from liveops.domain.hashing import user_hash
from liveops.domain.ingest import CompiledApp, queue_messages, validate_batch
from liveops.domain.json_keys import json_loads
from liveops.errors import Conflict, LiveopsError, Unavailable
from liveops.models.telemetry import BatchIn

if TYPE_CHECKING:  # settings load with the first request (wiring), not with the handler
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

    from liveops.api.http import LaneResolver
    from liveops.settings import Settings

logger = Logger(service="liveops")
metrics = Metrics(namespace="liveops", service="ingest")

BATCH_PATH = "/v1/telemetry/batch"
IDEMPOTENCY_KEY_MAX = 255


# the app a client key belongs to, and its user-hash key
Authenticated = tuple[CompiledApp, bytes]


class Authenticator(Protocol):
    def authenticate(self, api_key: str | None) -> Authenticated: ...


class Queue(Protocol):
    def send(self, bodies: list[bytes]) -> None: ...


@dataclass
class IngestService:
    directory: Authenticator
    queue: Queue
    settings: Settings
    persistence: BasePersistenceLayer | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.idempotency: IdempotencyConfig | None = None
        if self.persistence is not None:
            # imported here: Powertools idempotency pulls in boto3, which the import phase can skip
            from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

            self.idempotency = IdempotencyConfig(
                event_key_jmespath="key",
                payload_validation_jmespath="body_sha256",
                expires_after_seconds=self.settings.idempotency_ttl_seconds,
                raise_on_no_idempotency_key=True,
            )
            self._accept_once = idempotent_function(
                self._accept,
                data_keyword_argument="request",
                persistence_store=self.persistence,
                config=self.idempotency,
            )

    def decode(self, raw_body: str, api_key: str | None) -> tuple[BatchIn, Authenticated] | None:
        """The batch decoded by the key's app decoder (events type-checked on the way), with the
        app it was decoded for, or None when the key or the body is not plainly right (the caller
        then takes the reference path, which answers with the exact refusal)."""
        try:
            authenticated = self.directory.authenticate(api_key)
        except LiveopsError:
            return None
        decoder = authenticated[0].decoder
        decoded = decoder.decode(raw_body) if decoder is not None else None
        if decoded is None:
            return None
        try:
            return BatchIn.decoded(*decoded), authenticated
        except ValidationError:
            return None

    def handle(
        self,
        batch: BatchIn,
        raw_body: str,
        api_key: str | None,
        idempotency_key: str | None,
        authenticated: Authenticated | None = None,
    ) -> dict[str, Any]:
        """The 202 response body; raises LiveopsError for every refusal. `authenticated`: the
        key's app when the caller already looked it up (the batch was decoded for that app)."""
        app, hash_key = authenticated or self.directory.authenticate(api_key)
        request = {"app_id": app.config.app_id}
        if idempotency_key is None:
            return self._accept(request=request, batch=batch, app=app, hash_key=hash_key)
        if self.persistence is None:
            raise Unavailable("idempotency is not configured")
        request["key"] = f"{app.config.app_id}:{idempotency_key}"
        request["body_sha256"] = hashlib.sha256(raw_body.encode("utf-8")).hexdigest()
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        try:
            body = self._accept_once(request=request, batch=batch, app=app, hash_key=hash_key)
        except IdempotencyValidationError:
            raise Conflict(
                "this Idempotency-Key was already used with a different body",
                code="idempotency_key_reused",
                status=422,
            ) from None
        except IdempotencyAlreadyInProgressError:
            # 503, not 409: the first attempt may still be running, or may have failed without
            # clearing its record (the record expires with that invocation); either way the
            # client's answer is the same as for any unavailability: retry after a moment
            raise Unavailable(
                "a request with this Idempotency-Key is still being processed; retry shortly",
                code="idempotency_in_progress",
                retry_after=1,
            ) from None
        except IdempotencyPersistenceLayerError as exc:
            raise Unavailable("the idempotency store is unreachable; retry later") from exc
        return dict(body)

    def _accept(
        self, *, request: dict[str, Any], batch: BatchIn, app: CompiledApp, hash_key: bytes
    ) -> dict[str, Any]:
        received_ms = int(self.clock() * 1000)
        batch_id = f"{received_ms:013x}{secrets.token_hex(8)}"
        validated = validate_batch(
            batch,
            app,
            batch_id=batch_id,
            received_at_ms=received_ms,
            user_hash=user_hash(hash_key, batch.user_id) if batch.user_id is not None else None,
            max_payload_bytes=self.settings.max_payload_bytes,
            max_future_ms=self.settings.max_future_skew_hours * 3_600_000,
        )
        if validated.accepted:
            # raises Unavailable (503): nothing is acknowledged unless every message is queued
            self.queue.send(queue_messages(validated, self.settings.queue_message_max_bytes))
        accepted = validated.accepted
        # DEBUG: the counts are in the EMF metrics; a line per batch would cost ~0.09 ms of the
        # ~0.6 ms a batch takes, and CloudWatch Logs ingestion, at every request
        logger.debug(
            "batch accepted",
            extra={
                "app_id": request["app_id"],
                "batch_id": batch_id,
                "accepted": accepted,
                "rejected": len(validated.rejected),
            },
        )
        metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=accepted)
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=len(validated.rejected))
        return {"batch_id": batch_id, "accepted": accepted, "rejected": validated.rejected}


def counted(
    route: Callable[[dict[str, Any], Any], dict[str, Any]],
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The route, counting each answer by status class (`Responses2xx`, `Responses4xx`, ...):
    refused batches show in CloudWatch beside the accepted events, and no flush is empty."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response = route(event, context)
        status = int(response.get("statusCode") or 500)
        metrics.add_metric(name=f"Responses{status // 100}xx", unit=MetricUnit.Count, value=1)
        return response

    return handler


def build_app(service: Callable[[], IngestService]) -> LaneResolver:
    """The ingest resolver with its lane; `service` is called on the first request."""
    from liveops.api.ingest_routes import build_routes

    app = build_routes(service)
    app.lane = lane(service)
    return app


def handle_batch(
    service: IngestService,
    batch: BatchIn,
    raw_body: str,
    api_key: str | None,
    idempotency_key: str | None,
    authenticated: Authenticated | None = None,
) -> dict[str, Any]:
    try:
        return service.handle(batch, raw_body, api_key, idempotency_key, authenticated)
    except LiveopsError as exc:
        if exc.status >= 500:
            logger.warning("batch not accepted", extra={"code": exc.code, "reason": exc.message})
        raise


def _plain_header(headers: dict[str, Any], name: str) -> tuple[bool, str | None]:
    """(usable, value): Powertools splits header values at commas, so those take the long way."""
    value = headers.get(name)
    return (value is None or (type(value) is str and "," not in value)), value


def lane(service: Callable[[], IngestService]) -> Lane:
    """POST /v1/telemetry/batch without the resolver, for requests that are plainly valid.

    Answers exactly as the route (api/ingest_routes.py) does through Powertools (a test compares
    the two on many requests): the same service call, the same 202 body and headers, the same
    error responses. Whatever it is not sure of (a named stage, mixed-case, multi-value or
    comma-separated headers, another content type, a body that does not parse or validate, a
    blank Idempotency-Key) returns None, and the resolver then answers, with its validation errors.
    The body is read by the key's app decoder when it can (`IngestService.decode`), else parsed
    as JSON for the event-by-event reference, which words per-event rejections."""

    def lane(event: dict[str, Any]) -> dict[str, Any] | None:
        context = event.get("requestContext") or {}
        if (
            event.get("rawPath") != BATCH_PATH
            or context.get("stage") != "$default"
            or (context.get("http") or {}).get("method") != "POST"
            or event.get("multiValueHeaders")
        ):
            return None
        headers = event.get("headers") or {}
        if type(headers) is not dict or any(type(k) is not str or not k.islower() for k in headers):
            return None
        content_type = headers.get("content-type")
        if content_type is not None and not (
            type(content_type) is str and content_type.strip().startswith(JSON)
        ):
            return None
        key_ok, api_key = _plain_header(headers, "x-api-key")
        idem_ok, idempotency_key = _plain_header(headers, "idempotency-key")
        if not (key_ok and idem_ok) or (
            idempotency_key is not None
            and (len(idempotency_key) > IDEMPOTENCY_KEY_MAX or not idempotency_key.strip())
        ):
            return None
        raw_body = event.get("body")
        if type(raw_body) is not str or not raw_body:
            return None
        ingest = service()
        decoded = ingest.decode(raw_body, api_key)
        authenticated: Authenticated | None = None
        if decoded is not None:
            batch, authenticated = decoded
        else:
            try:
                batch = BatchIn.model_validate(json_loads(raw_body))
            except (json.JSONDecodeError, ValidationError):
                return None
        try:
            body = handle_batch(ingest, batch, raw_body, api_key, idempotency_key, authenticated)
        except LiveopsError as exc:
            return proxy_response(exc.status, json_text(exc.body()), exc.headers)
        return proxy_response(202, orjson.dumps(body).decode())

    return lane
