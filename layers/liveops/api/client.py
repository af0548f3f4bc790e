"""Game client endpoints: active live events, sticky experiment assignments, content manifest.

Client-facing: no pyarrow, pandas or awswrangler on this path (a test checks it). The service and
the lane (the path of plain valid requests, see api/front.py) live here and import no Powertools
resolver; the routes, with their validation and OpenAPI description, are in api/client_routes.py
and load with the first request the lane passes on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from aws_lambda_powertools import Logger

from liveops.api.front import Lane, json_text, proxy_response
from liveops.domain import experiments as domain
from liveops.errors import BadRequest, LiveopsError, NotFound

if TYPE_CHECKING:
    from liveops.api.http import LaneResolver
    from liveops.domain.ingest import CompiledApp

logger = Logger(service="liveops")
EXPERIMENTS_CACHE_SECONDS = 10.0
CACHE_CONTROL = {"Cache-Control": "private, max-age=30"}
ACTIVE_PATH = "/v1/events/active"
ASSIGNMENTS_PATH = "/v1/experiments/assignments"
MANIFEST_PATH = "/v1/content/manifest"
VERSION_MAX = 64
USER_ID_MAX = 256
PLATFORM_MAX = 32
# each route's query parameters: name -> (required, at most this many characters); the routes
# declare the same with Query(...)
QUERY: dict[str, dict[str, tuple[bool, int]]] = {
    ACTIVE_PATH: {"content_version": (False, VERSION_MAX)},
    ASSIGNMENTS_PATH: {
        "user_id": (True, USER_ID_MAX),
        "platform": (False, PLATFORM_MAX),
        "client_version": (False, VERSION_MAX),
    },
    MANIFEST_PATH: {"client_version": (True, VERSION_MAX)},
}


# control characters, and what a gateway decodes invalid UTF-8 or lone surrogates to
_NOT_TEXT = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffd]")


def _text(**values: str | None) -> None:
    """Query values are text: a control character or invalid UTF-8 is a 400 (a user id that
    decoded to replacement characters would hash like every other such id)."""
    for name, value in values.items():
        if value is not None and _NOT_TEXT.search(value):
            message = f"query.{name}: must be valid UTF-8 text without control characters"
            raise BadRequest(
                message, code="invalid_request", details=[{"field": f"query.{name}", "message": message}]
            )


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
        _text(content_version=content_version)
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
        _text(user_id=user_id, platform=platform, client_version=client_version)
        app, hash_key = self.directory.authenticate(api_key)
        if client_version is not None:
            domain.version(client_version, "client_version")
        from liveops.domain.hashing import user_hash

        app_id = app.config.app_id
        now = datetime.fromtimestamp(self.clock(), UTC)
        # eligibility is checked on every call: a stored assignment stays (sticky) but is only
        # answered while the user's platform and client version are targeted
        live = [
            e for e in self._experiments(app_id) if e.in_window(now) and e.targets(platform, client_version)
        ]
        hashed = user_hash(hash_key, user_id)
        stored = self.assignments.get_many(app_id, [e.id for e in live], hashed) if live else {}
        out = []
        for experiment in live:
            variant_id = stored.get(experiment.id)
            if variant_id is None and experiment.status == "running":
                chosen = experiment.choose(user_id, platform, client_version)
                if chosen is not None:
                    # no TTL here: a running experiment keeps its assignments however long it
                    # runs; the retention job sets expires_at once the experiment has finished
                    variant_id = self.assignments.put_if_absent(app_id, experiment.id, hashed, chosen)
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
        _text(client_version=client_version)
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


def build_app(service: Callable[[], ClientService]) -> LaneResolver:
    """The client resolver with its lane; `service` is called on the first request."""
    from liveops.api.client_routes import build_routes

    app = build_routes(service)
    app.lane = lane(service)
    return app


def _answer(service: ClientService, path: str, api_key: str | None, query: dict[str, str]) -> dict[str, Any]:
    if path == ACTIVE_PATH:
        return service.active_events(api_key, query.get("content_version"))
    if path == ASSIGNMENTS_PATH:
        return service.assignments_for(
            api_key, query["user_id"], query.get("platform"), query.get("client_version")
        )
    return service.manifest(api_key, query["client_version"])


def lane(service: Callable[[], ClientService]) -> Lane:
    """The three GET routes without the resolver, for requests that are plainly valid.

    Answers exactly as the routes do through Powertools (a test compares the two on many
    requests). Whatever it is not sure of (a named stage, mixed-case headers, a comma in a value,
    an empty, missing or too long parameter, multi-value fields) returns None, and the resolver
    then answers, with its validation errors."""

    def lane(event: dict[str, Any]) -> dict[str, Any] | None:
        path = event.get("rawPath")
        params = QUERY.get(path) if type(path) is str else None
        context = event.get("requestContext") or {}
        if (
            params is None
            or context.get("stage") != "$default"
            or (context.get("http") or {}).get("method") != "GET"
            or event.get("multiValueHeaders")
            or event.get("multiValueQueryStringParameters")
        ):
            return None
        headers = event.get("headers") or {}
        query = event.get("queryStringParameters") or {}
        if type(headers) is not dict or type(query) is not dict:
            return None
        if any(type(k) is not str or not k.islower() for k in headers):
            return None
        api_key = headers.get("x-api-key")
        if api_key is not None and (type(api_key) is not str or "," in api_key):
            return None
        values: dict[str, str] = {}
        for name, (required, limit) in params.items():
            value = query.get(name)
            if value is None:
                if required:
                    return None
            elif type(value) is not str or not value or "," in value or len(value) > limit:
                return None
            else:
                values[name] = value
        try:
            body = _answer(service(), path, api_key, values)  # type: ignore[arg-type]  # path is a str here
        except LiveopsError as exc:
            return proxy_response(exc.status, json_text(exc.body()), exc.headers)
        return proxy_response(200, orjson.dumps(body).decode(), CACHE_CONTROL)

    return lane
