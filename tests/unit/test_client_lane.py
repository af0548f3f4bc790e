"""The client lane answers exactly as the Powertools routes do, on valid and invalid requests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from liveops.api.client import ClientService, build_app
from liveops.api.http import entrypoint
from liveops.domain.ingest import CompiledApp
from liveops.errors import Unauthorized
from liveops.models.app_config import load_app_config

NOW = 1764756125.0  # 2025-12-03T10:02:05Z
APP = CompiledApp.build(
    load_app_config(
        {"app_id": "acme-roguelike", "name": "Acme", "platforms": ["web"], "events": {"session_start": {}}}
    )
)
EVENTS = [
    {
        "id": "fest",
        "type": "event",
        "start_at": "2025-12-01T00:00:00Z",
        "end_at": "2025-12-10T00:00:00Z",
        "content_version": "*",
        "rules": {"xp": 2, "name": "Fête ✨"},
    },
    {
        "id": "only-1.1",
        "type": "season",
        "start_at": "2025-12-01T00:00:00Z",
        "end_at": "2026-01-01T00:00:00Z",
        "content_version": "1.1.0",
        "rules": {},
    },
]
EXPERIMENTS = [
    {
        "id": "exp_a",
        "status": "running",
        "config": {
            "variants": [
                {"id": "control", "weight": 1, "parameters": {"waves": 10}},
                {"id": "hard", "weight": 1, "parameters": {"waves": 12}},
            ]
        },
    },
    {
        "id": "exp_web",
        "status": "running",
        "config": {
            "variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 3}],
            "targeting": {"platforms": ["web"], "min_client_version": "0.5.0"},
        },
    },
]
CONTENT = {"active_version": "1.2.0", "content_hash": "h", "min_supported_client_version": "0.6.0"}


class Directory:
    def authenticate(self, api_key: str | None) -> tuple[CompiledApp, bytes]:
        if api_key != "good":
            raise Unauthorized("missing or invalid API key")
        return APP, b"k" * 32


class LiveOps:
    def __init__(self, content: bool) -> None:
        self.has_content = content

    def list_events(self, app_id: str) -> list[dict[str, Any]]:
        return copy.deepcopy(EVENTS)

    def list_experiments(self, app_id: str) -> list[dict[str, Any]]:
        return copy.deepcopy(EXPERIMENTS)

    def content(self, app_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        return (dict(CONTENT) if self.has_content else None), []


class Sticky:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], str] = {}

    def get_many(self, app_id: str, experiment_ids: list[str], user_hash: str) -> dict[str, str]:
        return {e: self.stored[(e, user_hash)] for e in experiment_ids if (e, user_hash) in self.stored}

    def put_if_absent(
        self, app_id: str, experiment_id: str, user_hash: str, variant_id: str, expires_at: int | None = None
    ) -> str:
        return self.stored.setdefault((experiment_id, user_hash), variant_id)


def request(
    path: str, query: dict[str, Any] | None = None, headers: Any = None, **changes: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"x-api-key": "good"} if headers is None else headers,
        "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default", "requestId": "r"},
        "isBase64Encoded": False,
    }
    if query is not None:
        event["queryStringParameters"] = query
    event.update(changes)
    return event


ACTIVE, ASSIGN, MANIFEST = "/v1/events/active", "/v1/experiments/assignments", "/v1/content/manifest"
REQUESTS = [
    request(ACTIVE),
    request(ACTIVE, {"content_version": "1.1.0"}),
    request(ACTIVE, {"content_version": "v" * 64}),
    request(ACTIVE, {"content_version": "v" * 65}),
    request(ACTIVE, {"content_version": ""}),
    request(ACTIVE, {"content_version": "1.1.0,1.2.0"}),
    request(ACTIVE, headers={}),
    request(ACTIVE, headers={"x-api-key": "bad"}),
    request(ACTIVE, headers={"X-Api-Key": "good"}),
    request(ACTIVE, headers={"x-api-key": "good,bad"}),
    request(ASSIGN, {"user_id": "player-1"}),
    request(ASSIGN, {"user_id": "joueur-é", "platform": "web", "client_version": "0.6.0"}),
    request(ASSIGN, {"user_id": "player-2", "platform": "web", "client_version": "0.4.0", "extra": "x"}),
    request(ASSIGN, {"user_id": "player-2", "client_version": "not-a-version"}),
    request(ASSIGN, {"user_id": "u" * 256}),
    request(ASSIGN, {"user_id": "u" * 257}),
    request(ASSIGN, {"user_id": ""}),
    request(ASSIGN, {"platform": "web"}),
    request(ASSIGN),
    request(ASSIGN, {"user_id": "p", "platform": "p" * 33}),
    request(MANIFEST, {"client_version": "0.5.0"}),
    request(MANIFEST, {"client_version": "0.7.0"}),
    request(MANIFEST, {"client_version": "x"}),
    request(MANIFEST, {"client_version": "9" * 65}),
    request(MANIFEST),
    request(MANIFEST, {"client_version": "0.5.0"}, headers={"x-api-key": "bad"}),
    request("/v1/events/active/", {"content_version": "1.1.0"}),
    request(ACTIVE, requestContext={"http": {"method": "POST", "path": ACTIVE}, "stage": "$default"}),
    request("/prod" + ACTIVE, requestContext={"http": {"method": "GET", "path": ACTIVE}, "stage": "prod"}),
]


def answers(index: int, has_content: bool) -> list[Any]:
    results = []
    for with_lane in (True, False):
        sticky = Sticky()
        service = ClientService(Directory(), LiveOps(has_content), sticky, clock=lambda: NOW)
        app = build_app(lambda: service)  # noqa: B023 - called within this iteration
        if not with_lane:
            app.lane = None
        results.append((entrypoint(app)(copy.deepcopy(REQUESTS[index]), None), sticky.stored))
    return results


@pytest.mark.parametrize("has_content", [True, False])
@pytest.mark.parametrize("index", range(len(REQUESTS)))
def test_lane_answers_as_the_routes(index: int, has_content: bool) -> None:
    with_lane, without = answers(index, has_content)
    assert with_lane == without


def test_lane_answers_plain_requests_itself() -> None:
    service = ClientService(Directory(), LiveOps(True), Sticky(), clock=lambda: NOW)
    app = build_app(lambda: service)
    assert app.lane is not None
    for index in (0, 1, 2, 6, 7, 10, 11, 12, 13, 14, 20, 21, 22, 25):
        assert app.lane(copy.deepcopy(REQUESTS[index])) is not None, index
    for index in (3, 4, 5, 8, 9, 15, 16, 17, 18, 19, 23, 24, 26, 27, 28):
        assert app.lane(copy.deepcopy(REQUESTS[index])) is None, index
