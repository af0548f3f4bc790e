"""Admin routes for live events [editor], experiments [editor] and the content manifest [admin].

No `from __future__ import annotations`: Powertools resolves the RBAC dependencies' annotations.
"""

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from liveops.api.admin_docs import BEARER, NO_STORE, AppIdPath, ok_json, protected_responses
from liveops.api.http import json_response
from liveops.domain.experiments import version
from liveops.errors import NotFound
from liveops.models.liveops import (
    ContentIn,
    ContentRecord,
    ContentState,
    ExperimentIn,
    ExperimentList,
    ExperimentOut,
    LiveEventIn,
    LiveEventList,
    LiveEventOut,
    StatusIn,
)
from liveops.storage.liveops_store import LiveOpsStore
from liveops.storage.tokens_store import TokenRecord

ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="an id")]


def _responses(model: type | None, role: str, conflict: bool = False) -> dict[int, Any]:
    """`model` None: a 204 without a body."""
    return protected_responses(
        role,
        ok_json(model) if model is not None else {204: {"description": "Deleted", "content": {}}},
        not_found="Unknown app or item",
        conflict="Not allowed in the current state" if conflict else None,
    )


def register(
    app: APIGatewayHttpResolver,
    store: Callable[[], LiveOpsStore],
    app_exists: Callable[[str], bool],
    editor: Callable[[], TokenRecord],
    admin: Callable[[], TokenRecord],
) -> None:
    def known(app_id: str) -> str:
        if not app_exists(app_id):
            raise NotFound(f"no app {app_id!r}", code="unknown_app")
        return app_id

    # ------------------------------------------------------------ live events and seasons
    @app.put(
        "/v1/admin/apps/<app_id>/events/<event_id>",
        summary="Create or replace a live event or season",
        tags=["live events"],
        security=BEARER,
        responses=_responses(LiveEventOut, "editor"),
    )
    def put_event(
        caller: Annotated[TokenRecord, Depends(editor)],
        app_id: AppIdPath,
        event_id: ItemId,
        event: Annotated[LiveEventIn, Body()],
    ) -> Response[Any]:
        return json_response(200, store().put_event(known(app_id), event_id, event.document()), NO_STORE)

    @app.get(
        "/v1/admin/apps/<app_id>/events",
        summary="Every live event and season of an app",
        tags=["live events"],
        security=BEARER,
        responses=_responses(LiveEventList, "editor"),
    )
    def list_events(caller: Annotated[TokenRecord, Depends(editor)], app_id: AppIdPath) -> Response[Any]:
        events = sorted(store().list_events(known(app_id)), key=lambda e: (e["start_at"], e["id"]))
        return json_response(200, {"events": events}, NO_STORE)

    @app.delete(
        "/v1/admin/apps/<app_id>/events/<event_id>",
        summary="Delete a live event",
        tags=["live events"],
        security=BEARER,
        responses=_responses(None, "editor"),
    )
    def delete_event(
        caller: Annotated[TokenRecord, Depends(editor)], app_id: AppIdPath, event_id: ItemId
    ) -> Response[Any]:
        if not store().delete_event(known(app_id), event_id):
            raise NotFound(f"no live event {event_id!r}", code="unknown_event")
        return Response(status_code=204, body="")

    # ------------------------------------------------------------ experiments
    @app.put(
        "/v1/admin/apps/<app_id>/experiments/<experiment_id>",
        summary="Create or change an experiment",
        description="New experiments start as draft. Changing weights keeps every stored assignment.",
        tags=["experiments"],
        security=BEARER,
        responses=_responses(ExperimentOut, "editor", conflict=True),
    )
    def put_experiment(
        caller: Annotated[TokenRecord, Depends(editor)],
        app_id: AppIdPath,
        experiment_id: ItemId,
        experiment: Annotated[ExperimentIn, Body()],
    ) -> Response[Any]:
        targeting = experiment.config.targeting
        for field in ("min_client_version", "max_client_version"):
            value = getattr(targeting, field)
            if value is not None:
                version(value, f"config.targeting.{field}")
        stored = store().put_experiment(known(app_id), experiment_id, experiment.document())
        return json_response(200, stored, NO_STORE)

    @app.post(
        "/v1/admin/apps/<app_id>/experiments/<experiment_id>/status",
        summary="Move an experiment: draft -> running <-> paused -> finished",
        tags=["experiments"],
        security=BEARER,
        responses=_responses(ExperimentOut, "editor", conflict=True),
    )
    def set_status(
        caller: Annotated[TokenRecord, Depends(editor)],
        app_id: AppIdPath,
        experiment_id: ItemId,
        change: Annotated[StatusIn, Body()],
    ) -> Response[Any]:
        return json_response(200, store().set_status(known(app_id), experiment_id, change.status), NO_STORE)

    @app.get(
        "/v1/admin/apps/<app_id>/experiments",
        summary="Every experiment of an app",
        tags=["experiments"],
        security=BEARER,
        responses=_responses(ExperimentList, "editor"),
    )
    def list_experiments(caller: Annotated[TokenRecord, Depends(editor)], app_id: AppIdPath) -> Response[Any]:
        return json_response(200, {"experiments": store().list_experiments(known(app_id))}, NO_STORE)

    @app.get(
        "/v1/admin/apps/<app_id>/experiments/<experiment_id>",
        summary="One experiment",
        tags=["experiments"],
        security=BEARER,
        responses=_responses(ExperimentOut, "editor"),
    )
    def get_experiment(
        caller: Annotated[TokenRecord, Depends(editor)], app_id: AppIdPath, experiment_id: ItemId
    ) -> Response[Any]:
        found = store().get_experiment(known(app_id), experiment_id)
        if found is None:
            raise NotFound(f"no experiment {experiment_id!r}", code="unknown_experiment")
        return json_response(200, found, NO_STORE)

    # ------------------------------------------------------------ content manifest
    @app.put(
        "/v1/admin/apps/<app_id>/content",
        summary="Publish a content version",
        tags=["content"],
        security=BEARER,
        responses=_responses(ContentRecord, "admin", conflict=True),
    )
    def put_content(
        caller: Annotated[TokenRecord, Depends(admin)],
        app_id: AppIdPath,
        content: Annotated[ContentIn, Body()],
    ) -> Response[Any]:
        version(content.min_supported_client_version, "min_supported_client_version")
        return json_response(200, store().set_content(known(app_id), content), NO_STORE)

    @app.post(
        "/v1/admin/apps/<app_id>/content/rollback",
        summary="Switch back to the previous content version",
        tags=["content"],
        security=BEARER,
        responses=_responses(ContentRecord, "admin", conflict=True),
    )
    def rollback_content(caller: Annotated[TokenRecord, Depends(admin)], app_id: AppIdPath) -> Response[Any]:
        return json_response(200, store().rollback_content(known(app_id)), NO_STORE)

    @app.get(
        "/v1/admin/apps/<app_id>/content",
        summary="The active content version and its history",
        tags=["content"],
        security=BEARER,
        responses=_responses(ContentState, "admin"),
    )
    def get_content(caller: Annotated[TokenRecord, Depends(admin)], app_id: AppIdPath) -> Response[Any]:
        current, history = store().content(known(app_id))
        return json_response(200, {"current": current, "history": history}, NO_STORE)
