"""The admin function's resolver: /v1/admin/* and /v1/metrics/* behind bearer tokens with roles
(viewer < editor < admin), and /v1/openapi.json.

Importing this module loads neither pyarrow nor boto3: the metrics figures import pyarrow on the
first metrics request, and services (clients, stores) are built on the first request.
"""

# No `from __future__ import annotations` here: the routes' RBAC dependency is a closure, and
# Powertools reads dependencies from the evaluated annotations.

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from liveops import wiring
from liveops.api import credentials_admin as credentials_routes
from liveops.api import incidents_admin as incidents_routes
from liveops.api import liveops_admin as liveops_routes
from liveops.api import metrics as metrics_routes
from liveops.api.admin_docs import BEARER, NO_STORE, AppIdPath, ok_json, protected_responses
from liveops.api.http import (
    build_resolver,
    entrypoint,
    json_response,
    json_text,
    proxy_response,
    strict_json_loads,
)
from liveops.errors import BadRequest, Conflict, LiveopsError
from liveops.models.admin import AppApplied, AppDetail, AppList, ClientKey
from liveops.models.app_config import AppConfigError, load_app_config
from liveops.models.telemetry import ErrorResponse
from liveops.services.apps import apply_config, create_key
from liveops.services.configs import applied_config
from liveops.services.tokens import Role, TokenLookup, authorize, check_role
from liveops.storage.apps_store import AppsStore
from liveops.storage.dynamo import is_conditional_failure
from liveops.storage.liveops_store import LiveOpsStore
from liveops.storage.tokens_store import TokenRecord

logger = Logger(service="liveops")
metrics = Metrics(namespace="liveops", service="admin")


@dataclass(frozen=True)
class AdminServices:
    apps: AppsStore
    tokens: TokenLookup
    metrics: metrics_routes.MetricsBackend
    liveops: LiveOpsStore


def _responses(ok: int, model: type, needs: str, not_found: bool = True) -> dict[int, Any]:
    return protected_responses(needs, ok_json(model, ok), not_found="Unknown app" if not_found else None)


def _refused(status: int, path: str, needs: Role) -> None:
    """Counts and logs a refused call (never its credentials)."""
    metrics.add_metric(name="AuthFailures", unit=MetricUnit.Count, value=1)
    logger.warning("request refused", extra={"status": status, "needs": needs, "path": path})


def rbac(
    app: APIGatewayHttpResolver, tokens: Callable[[], TokenLookup], role: Role
) -> Callable[[], TokenRecord]:
    """A route dependency: the caller's token record when its role is at least `role`; else 401/403."""

    def require() -> TokenRecord:
        try:
            authenticated = app.context.get("caller")  # set by authenticated_entrypoint
            if isinstance(authenticated, TokenRecord):
                return check_role(authenticated, role)
            header = app.current_event.get_header_value("authorization", case_sensitive=False)
            return authorize(tokens(), header, role)
        except LiveopsError as exc:
            _refused(exc.status, app.current_event.path, role)
            raise

    require.__name__ = f"require_{role}"
    return require


PROTECTED_PREFIXES = ("/v1/admin/", "/v1/metrics/")


def authenticated_entrypoint(
    app: APIGatewayHttpResolver, tokens: Callable[[], TokenLookup]
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The function's entrypoint: a token is checked before anything else on the protected paths.

    Powertools validates a request before it resolves the route's dependencies, so without this an
    anonymous caller would get 400s that describe the fields it got wrong; here it gets 401 and
    nothing more. The role (403) is still checked per route, after validation."""
    route = entrypoint(app)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        path = str(event.get("rawPath") or event.get("path") or "")
        if path.startswith(PROTECTED_PREFIXES):
            headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
            try:
                app.append_context(caller=authorize(tokens(), headers.get("authorization"), "viewer"))
            except LiveopsError as exc:
                _refused(exc.status, path, "viewer")
                return proxy_response(exc.status, json_text(exc.body()), exc.headers)
        try:
            return route(event, context)
        finally:
            app.clear_context()

    return handler


@lru_cache(maxsize=1)
def _openapi_document() -> dict[str, Any]:
    # generated by `make openapi` into the package (docs/openapi.json links to it), so that a
    # deployment serves it without template.yaml or the other handlers
    text = resources.files("liveops.api").joinpath("openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def build_app(services: Callable[[], AdminServices]) -> APIGatewayHttpResolver:
    """The admin resolver; `services` is called on the first request that needs them."""
    app = build_resolver(json_body_deserializer=strict_json_loads)
    viewer = rbac(app, lambda: services().tokens, "viewer")
    admin = rbac(app, lambda: services().tokens, "admin")

    @app.get(
        "/v1/admin/apps",
        summary="List the applied apps",
        tags=["admin"],
        security=BEARER,
        responses=_responses(200, AppList, "admin", not_found=False),
    )
    def list_apps(caller: Annotated[TokenRecord, Depends(admin)]) -> Response[Any]:
        apps = services().apps.list_apps()
        return json_response(200, {"apps": [{"app_id": a, "version": v} for a, v in apps]})

    @app.get(
        "/v1/admin/apps/<app_id>",
        summary="An app's applied config",
        tags=["admin"],
        security=BEARER,
        responses=_responses(200, AppDetail, "admin"),
    )
    def get_app(caller: Annotated[TokenRecord, Depends(admin)], app_id: AppIdPath) -> Response[Any]:
        config, version = applied_config(services().apps, app_id)
        document = config.model_dump(mode="json", by_alias=True, exclude_none=True)
        return json_response(200, {"app_id": app_id, "version": version, "config": document})

    @app.put(
        "/v1/admin/apps/<app_id>",
        summary="Apply an app config",
        description=(
            "The body is an app config (the YAML format of `liveops apps apply`, as JSON); its `app_id` "
            "may be left out and must otherwise equal the path's. A bad config is refused with every "
            "problem listed in `details` (path and message), and nothing changes. 201 when the app is "
            "new, 200 when it gets a new config version; 409 when another config was applied meanwhile."
        ),
        tags=["admin"],
        security=BEARER,
        responses={
            **_responses(200, AppApplied, "admin", not_found=False),
            201: {"description": "Created", "content": {"application/json": {"model": AppApplied}}},
            409: {
                "description": "Applied concurrently; retry",
                "content": {"application/json": {"model": ErrorResponse}},
            },
        },
    )
    def put_app(
        caller: Annotated[TokenRecord, Depends(admin)],
        app_id: AppIdPath,
        config: Annotated[dict[str, Any], Body(description="the app config")],
    ) -> Response[Any]:
        document = {"app_id": app_id, **config}
        if document["app_id"] != app_id:
            raise BadRequest(
                f"the config is for {document['app_id']!r} but the path names {app_id!r}",
                code="app_id_mismatch",
            )
        try:
            parsed = load_app_config(document)
        except AppConfigError as exc:
            raise BadRequest(
                f"the config was refused ({len(exc.problems)} problems); nothing was applied",
                code="invalid_config",
                details=[{"path": p.path, "message": p.message} for p in exc.problems],
            ) from None
        try:
            applied = apply_config(services().apps, parsed)
        except Exception as exc:
            if is_conditional_failure(exc):
                raise Conflict("another config of this app was applied meanwhile; retry") from None
            raise
        logger.info(
            "app config applied",
            extra={"app_id": app_id, "version": applied.version, "token_id": caller.token_id},
        )
        body = {"app_id": applied.app_id, "version": applied.version, "created": applied.created}
        return json_response(201 if applied.created else 200, body)

    @app.post(
        "/v1/admin/apps/<app_id>/keys",
        summary="Create a client key for an app (shown once, stored hashed)",
        tags=["admin"],
        security=BEARER,
        responses=_responses(201, ClientKey, "admin"),
    )
    def post_key(caller: Annotated[TokenRecord, Depends(admin)], app_id: AppIdPath) -> Response[Any]:
        key = create_key(services().apps, app_id)
        logger.info(
            "client key created", extra={"app_id": app_id, "key_id": key.key_id, "token_id": caller.token_id}
        )
        body = {"app_id": key.app_id, "key_id": key.key_id, "api_key": key.api_key}
        return json_response(201, body, NO_STORE)

    @app.get(
        "/v1/openapi.json",
        summary="This OpenAPI document",
        tags=["docs"],
        responses={200: {"description": "OpenAPI 3.1 document of the whole HTTP API"}},
    )
    def get_openapi() -> Response[Any]:
        return json_response(200, _openapi_document())

    metrics_routes.register(app, lambda: services().metrics, viewer)
    editor = rbac(app, lambda: services().tokens, "editor")
    liveops_routes.register(
        app,
        lambda: services().liveops,
        lambda app_id: services().apps.get_config(app_id) is not None,
        editor,
        admin,
    )
    # built by the wiring on first use, like the other services
    incidents_routes.register(app, wiring.threshold_service, wiring.incident_service, viewer, editor)
    credentials_routes.register(app, lambda: services().apps, wiring.tokens_store, admin)
    return app
