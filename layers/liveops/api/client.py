"""Game client endpoints: active live events, sticky experiment assignments, content manifest.

Client-facing: no pyarrow, pandas or awswrangler on this path (a test checks it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from liveops.api.http import build_resolver
from liveops.domain import experiments as domain
from liveops.errors import NotFound
from liveops.models.liveops import ActiveEvents, Assignments, Manifest
from liveops.models.telemetry import ErrorResponse

if TYPE_CHECKING:
    from liveops.domain.ingest import CompiledApp

logger = Logger(service="liveops")
EXPERIMENTS_CACHE_SECONDS = 10.0
# module level: with postponed annotations Powertools resolves route annotations from module globals
ApiKey = Annotated[str | None, Header(description="the app's client key")]


class Authenticator(Protocol):
    def authenticate(self, api_key: str | None) -> tuple[CompiledApp, bytes]: ...


class LiveOps(Protocol):
    def list_events(self, app_id: str) -> list[dict[str, Any]]: ...
    def list_experiments(self, app_id: str) -> list[dict[str, Any]]: ...
    def content(self, app_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]: ...


class StickyAssignments(Protocol):
    def get_many(self, app_id: str, experiment_ids: list[str], user_hash: str) -> dict[str, str]: ...
    def put_if_absent(
        self, app_id: str, experiment_id: str, user_hash: str, variant_id: str, expires_at: int | None = None
    ) -> str: ...


@dataclass
class ClientService:
    directory: Authenticator
    liveops: LiveOps
    assignments: StickyAssignments
    clock: Callable[[], float] = time.time
    _plans: dict[str, tuple[float, list[domain.LiveExperiment]]] = field(default_factory=dict)

    def active_events(self, api_key: str | None, content_version: str | None) -> dict[str, Any]:
        app, _ = self.directory.authenticate(api_key)
        now = datetime.fromtimestamp(self.clock(), UTC)
        events = domain.active_events(self.liveops.list_events(app.config.app_id), now, content_version)
        return {"server_time": now.isoformat().replace("+00:00", "Z"), "events": events}

    def _experiments(self, app_id: str) -> list[domain.LiveExperiment]:
        now = self.clock()
        cached = self._plans.get(app_id)
        if cached is None or cached[0] <= now:
            plans = [
                domain.LiveExperiment.build(e)
                for e in self.liveops.list_experiments(app_id)
                if e["status"] in ("running", "paused")
            ]
            cached = (now + EXPERIMENTS_CACHE_SECONDS, plans)
            self._plans[app_id] = cached
        return cached[1]

    def assignments_for(
        self, api_key: str | None, user_id: str, platform: str | None, client_version: str | None
    ) -> dict[str, Any]:
        app, hash_key = self.directory.authenticate(api_key)
        if client_version is not None:
            domain.version(client_version, "client_version")
        from liveops.domain.hashing import user_hash

        app_id = app.config.app_id
        now = datetime.fromtimestamp(self.clock(), UTC)
        live = [e for e in self._experiments(app_id) if e.in_window(now)]
        hashed = user_hash(hash_key, user_id)
        stored = self.assignments.get_many(app_id, [e.id for e in live], hashed) if live else {}
        expires = int(self.clock()) + app.config.retention.assignments_days * 86_400
        out = []
        for experiment in live:
            variant_id = stored.get(experiment.id)
            if variant_id is None and experiment.status == "running":
                chosen = experiment.choose(user_id, platform, client_version)
                if chosen is not None:
                    variant_id = self.assignments.put_if_absent(
                        app_id, experiment.id, hashed, chosen, expires
                    )
            if variant_id is not None and variant_id in experiment.parameters:
                out.append(
                    {
                        "experiment_id": experiment.id,
                        "variant_id": variant_id,
                        "parameters": experiment.parameters[variant_id],
                    }
                )
        return {"assignments": out}

    def manifest(self, api_key: str | None, client_version: str) -> dict[str, Any]:
        app, _ = self.directory.authenticate(api_key)
        client = domain.version(client_version, "client_version")
        current, _ = self.liveops.content(app.config.app_id)
        if current is None:
            raise NotFound("this app has no content manifest yet", code="no_content")
        minimum = domain.version(current["min_supported_client_version"], "min_supported_client_version")
        return {
            "active_version": current["active_version"],
            "content_hash": current["content_hash"],
            "min_supported_client_version": current["min_supported_client_version"],
            "update_required": client < minimum,
        }


def _responses(model: type) -> dict[int, Any]:
    error = {"application/json": {"model": ErrorResponse}}
    return {
        200: {"description": "OK", "content": {"application/json": {"model": model}}},
        400: {"description": "Invalid request", "content": error},
        401: {"description": "Missing or invalid key", "content": error},
    }


def build_app(service: Callable[[], ClientService]) -> APIGatewayHttpResolver:
    app = build_resolver()

    def ok(body: dict[str, Any]) -> Response[Any]:
        return Response(
            status_code=200,
            content_type=content_types.APPLICATION_JSON,
            body=body,
            headers={"Cache-Control": "private, max-age=30"},
        )

    @app.get(
        "/v1/events/active",
        summary="Live events and seasons active now",
        tags=["client"],
        security=[{"ApiKey": []}],
        responses=_responses(ActiveEvents),
    )
    def get_active(
        x_api_key: ApiKey = None, content_version: Annotated[str | None, Query(max_length=64)] = None
    ) -> Response[Any]:
        return ok(service().active_events(x_api_key, content_version))

    @app.get(
        "/v1/experiments/assignments",
        summary="The user's variant in every running experiment",
        description="Sticky: the first assignment is stored and returned from then on.",
        tags=["client"],
        security=[{"ApiKey": []}],
        responses=_responses(Assignments),
    )
    def get_assignments(
        user_id: Annotated[str, Query(min_length=1, max_length=256)],
        x_api_key: ApiKey = None,
        platform: Annotated[str | None, Query(max_length=32)] = None,
        client_version: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response[Any]:
        return ok(service().assignments_for(x_api_key, user_id, platform, client_version))

    @app.get(
        "/v1/content/manifest",
        summary="The live content version and whether this client must update",
        tags=["client"],
        security=[{"ApiKey": []}],
        responses=_responses(Manifest),
    )
    def get_manifest(
        client_version: Annotated[str, Query(min_length=1, max_length=64)], x_api_key: ApiKey = None
    ) -> Response[Any]:
        return ok(service().manifest(x_api_key, client_version))

    return app
