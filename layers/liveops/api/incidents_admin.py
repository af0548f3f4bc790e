"""Admin routes for thresholds [editor] and incidents [viewer reads, editor
acknowledges / resolves]. The actor recorded on an incident is `token:<token_id>`.

No `from __future__ import annotations`: Powertools resolves the RBAC dependencies' annotations.
"""

from collections.abc import Callable
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from liveops.api.admin_docs import BEARER, NO_STORE, AppIdPath, protected_responses
from liveops.api.http import json_response
from liveops.models.incidents import (
    INCIDENT_ID_PATTERN,
    Incident,
    IncidentAction,
    IncidentList,
    public_incident,
)
from liveops.services.incidents import IncidentService
from liveops.services.thresholds import ThresholdService
from liveops.storage.tokens_store import TokenRecord

ThresholdIdPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="the threshold id")]
IncidentIdPath = Annotated[str, Path(pattern=INCIDENT_ID_PATTERN, description="the incident id")]
PRECEDENCE = (
    "The app config's `thresholds` are the defaults; a threshold stored here with the same id replaces "
    "the config's (`enabled: false` switches a default off), one with a new id adds a threshold. "
    "Deleting a stored threshold brings back the config's default of that id."
)


def _responses(role: str, ok: Any = None, conflict: bool = False) -> dict[int, Any]:
    success = {
        200: {"description": "OK", "content": {"application/json": ok}} if ok else {"description": "OK"}
    }
    return protected_responses(
        role,
        success,
        not_found="Unknown app, threshold or incident",
        conflict="Not possible in the current state" if conflict else None,
    )


def register(
    app: APIGatewayHttpResolver,
    thresholds: Callable[[], ThresholdService],
    incidents: Callable[[], IncidentService],
    viewer: Callable[[], TokenRecord],
    editor: Callable[[], TokenRecord],
) -> None:
    # ------------------------------------------------------------ thresholds
    @app.put(
        "/v1/admin/apps/<app_id>/thresholds/<threshold_id>",
        summary="Create or replace a threshold (overrides the app config's default of that id)",
        description=(
            "The body is the app config's threshold shape (`metric`, `op` one of > < >= <= = !=, `value`, "
            "`severity`, `for_minutes`, `where` (one dimension at most), `auto_resolve`, "
            "`suggested_actions`, `notify` [discord, webhook], `description`, `enabled`); `id` may be "
            "left out and must otherwise equal the path's. An unknown metric or dimension, or a notify "
            "target the app has no channel / webhook for, is a 400 listing every problem. " + PRECEDENCE
        ),
        tags=["thresholds"],
        security=BEARER,
        responses=_responses("editor", {"schema": {"type": "object"}}),
    )
    def put_threshold(
        caller: Annotated[TokenRecord, Depends(editor)],
        app_id: AppIdPath,
        threshold_id: ThresholdIdPath,
        threshold: Annotated[dict[str, Any], Body(description="the threshold")],
    ) -> Response[Any]:
        stored = thresholds().put(app_id, threshold_id, threshold)
        return json_response(200, stored.to_json(), NO_STORE)

    @app.get(
        "/v1/admin/apps/<app_id>/thresholds",
        summary="The thresholds an app is evaluated against (config defaults and stored overrides)",
        description=PRECEDENCE
        + " Each entry says its `source` (config or api) and whether it `overrides_config`.",
        tags=["thresholds"],
        security=BEARER,
        responses=_responses("editor", {"schema": {"type": "object"}}),
    )
    def list_thresholds(caller: Annotated[TokenRecord, Depends(editor)], app_id: AppIdPath) -> Response[Any]:
        found = [t.to_json() for t in thresholds().effective(app_id)]
        return json_response(200, {"app_id": app_id, "thresholds": found}, NO_STORE)

    @app.get(
        "/v1/admin/apps/<app_id>/thresholds/<threshold_id>",
        summary="One threshold as evaluated",
        tags=["thresholds"],
        security=BEARER,
        responses=_responses("editor", {"schema": {"type": "object"}}),
    )
    def get_threshold(
        caller: Annotated[TokenRecord, Depends(editor)], app_id: AppIdPath, threshold_id: ThresholdIdPath
    ) -> Response[Any]:
        return json_response(200, thresholds().get(app_id, threshold_id).to_json(), NO_STORE)

    @app.delete(
        "/v1/admin/apps/<app_id>/thresholds/<threshold_id>",
        summary="Delete a stored threshold (the config's default of that id, if any, applies again)",
        description="409 for a threshold that only the app config defines: change the config instead.",
        tags=["thresholds"],
        security=BEARER,
        responses=_responses("editor", {"schema": {"type": "object"}}, conflict=True),
    )
    def delete_threshold(
        caller: Annotated[TokenRecord, Depends(editor)], app_id: AppIdPath, threshold_id: ThresholdIdPath
    ) -> Response[Any]:
        restored = thresholds().delete(app_id, threshold_id)
        body = {"deleted": threshold_id, "effective": restored.to_json() if restored else None}
        return json_response(200, body, NO_STORE)

    # ------------------------------------------------------------ incidents
    @app.get(
        "/v1/admin/apps/<app_id>/incidents",
        summary="An app's incidents, newest first",
        tags=["incidents"],
        security=BEARER,
        responses=_responses("viewer", {"model": IncidentList}),
    )
    def list_incidents(
        caller: Annotated[TokenRecord, Depends(viewer)],
        app_id: AppIdPath,
        status: Annotated[
            Literal["new", "acknowledged", "resolved"] | None,
            Query(description="only incidents in this state"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500, description="at most this many")] = 50,
    ) -> Response[Any]:
        thresholds().config(app_id)  # 404 for an unknown app
        found = incidents().list(app_id, status=status, limit=limit)
        return json_response(200, {"incidents": [public_incident(i) for i in found]}, NO_STORE)

    @app.get(
        "/v1/admin/apps/<app_id>/incidents/<incident_id>",
        summary="One incident",
        tags=["incidents"],
        security=BEARER,
        responses=_responses("viewer", {"model": Incident}),
    )
    def get_incident(
        caller: Annotated[TokenRecord, Depends(viewer)], app_id: AppIdPath, incident_id: IncidentIdPath
    ) -> Response[Any]:
        return json_response(200, public_incident(incidents().get(app_id, incident_id)), NO_STORE)

    def act(
        action: str, caller: TokenRecord, app_id: str, incident_id: str, body: IncidentAction | None
    ) -> Response[Any]:
        service = incidents()
        change = service.acknowledge if action == "acknowledge" else service.resolve
        note = body.note if body is not None else None
        incident = change(app_id, incident_id, by=f"token:{caller.token_id}", note=note)
        return json_response(200, public_incident(incident), NO_STORE)

    @app.post(
        "/v1/admin/apps/<app_id>/incidents/<incident_id>/acknowledge",
        summary="Acknowledge an incident (new -> acknowledged)",
        description=(
            "Idempotent: acknowledging an incident that is already acknowledged or resolved changes "
            "nothing and answers the incident as it is. The Discord alert message is edited."
        ),
        tags=["incidents"],
        security=BEARER,
        responses=_responses("editor", {"model": Incident}),
    )
    def acknowledge(
        caller: Annotated[TokenRecord, Depends(editor)],
        app_id: AppIdPath,
        incident_id: IncidentIdPath,
        body: Annotated[IncidentAction | None, Body()] = None,
    ) -> Response[Any]:
        return act("acknowledge", caller, app_id, incident_id, body)

    @app.post(
        "/v1/admin/apps/<app_id>/incidents/<incident_id>/resolve",
        summary="Resolve an incident (new or acknowledged -> resolved)",
        description=(
            "Idempotent: resolving a resolved incident changes nothing. The Discord alert message is edited."
        ),
        tags=["incidents"],
        security=BEARER,
        responses=_responses("editor", {"model": Incident}),
    )
    def resolve(
        caller: Annotated[TokenRecord, Depends(editor)],
        app_id: AppIdPath,
        incident_id: IncidentIdPath,
        body: Annotated[IncidentAction | None, Body()] = None,
    ) -> Response[Any]:
        return act("resolve", caller, app_id, incident_id, body)
