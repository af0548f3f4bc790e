"""Live events, experiments with sticky assignment, and the content manifest, against moto."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from liveops import wiring
from liveops.models.liveops import ActiveEvents, Assignments, LiveEventOut
from liveops.services.tokens import create_token
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api

APP = "test-game"
NOW = datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Caller:
    def __init__(self, key: str) -> None:
        self.api = Api()
        store = wiring.tokens_store()
        self.tokens = {role: create_token(store, role).token for role in ("viewer", "editor", "admin")}
        self.key = key

    def admin(self, method: str, path: str, role: str | None = "admin", body: Any = None) -> tuple[int, Any]:
        headers = {"authorization": f"Bearer {self.tokens[role]}"} if role else {}
        status, _, answer = self.api.call(method, f"/v1/admin/apps/{APP}{path}", body, headers)
        return status, answer

    def client(self, path: str, key: str | None = None) -> tuple[int, Any]:
        status, _, answer = self.api.call("GET", path, None, {"x-api-key": key or self.key})
        return status, answer


@pytest.fixture
def caller(stack: AwsStack, game: str) -> Caller:
    return Caller(game)


def event_body(start: datetime, end: datetime, content_version: str = "*", **rules: Any) -> dict[str, Any]:
    return {
        "type": "event",
        "start_at": iso(start),
        "end_at": iso(end),
        "content_version": content_version,
        "rules": rules,
    }


def test_active_events_window_and_content_version(caller: Caller) -> None:
    hour = timedelta(hours=1)
    assert (
        caller.admin("PUT", "/events/now", "editor", event_body(NOW - hour, NOW + hour, mutator="fire"))[0]
        == 200
    )
    assert (
        caller.admin("PUT", "/events/v110", "editor", event_body(NOW - hour, NOW + hour, "1.1.0"))[0] == 200
    )
    assert caller.admin("PUT", "/events/past", "editor", event_body(NOW - 2 * hour, NOW - hour))[0] == 200
    assert caller.admin("PUT", "/events/soon", "editor", event_body(NOW + hour, NOW + 2 * hour))[0] == 200
    season = {**event_body(NOW - 24 * hour, NOW + 24 * hour), "type": "season"}
    assert caller.admin("PUT", "/events/s1", "editor", season)[0] == 200
    status, body = caller.client("/v1/events/active?content_version=1.1.0")
    assert status == 200, body
    ActiveEvents.model_validate(body)  # the documented response shape
    assert sorted(e["id"] for e in body["events"]) == ["now", "s1", "v110"]
    assert all(set(e) == {"id", "type", "start_at", "end_at", "rules"} for e in body["events"])
    assert next(e for e in body["events"] if e["id"] == "now")["rules"] == {"mutator": "fire"}
    assert abs(datetime.fromisoformat(body["server_time"]) - datetime.now(UTC)) < timedelta(seconds=30)
    _, other = caller.client("/v1/events/active?content_version=1.0.0")
    assert sorted(e["id"] for e in other["events"]) == ["now", "s1"]
    bad = caller.admin("PUT", "/events/bad", "editor", event_body(NOW, NOW - hour))
    assert bad[0] == 400
    # times given with an offset are stored in UTC
    offset = {**event_body(NOW, NOW + hour), "start_at": "2030-01-01T02:00:00+02:00"}
    offset["end_at"] = "2030-01-02T00:00:00Z"
    status, stored = caller.admin("PUT", "/events/offset", "editor", offset)
    assert status == 200 and stored["start_at"] == "2030-01-01T00:00:00Z"
    LiveEventOut.model_validate(stored)
    assert caller.admin("DELETE", "/events/now", "editor")[0] == 204
    assert caller.admin("DELETE", "/events/now", "editor")[0] == 404
    assert caller.client("/v1/events/active", key="lo_wrong_key")[0] == 401


def experiment(weights: tuple[float, ...] = (50, 50), **config: Any) -> dict[str, Any]:
    variants = [{"id": f"v{i}", "weight": w, "parameters": {"waves": 10 + i}} for i, w in enumerate(weights)]
    return {"name": "Wave count", "config": {"variants": variants, **config}}


def assignments(caller: Caller, user: str, extra: str = "") -> dict[str, str]:
    status, body = caller.client(f"/v1/experiments/assignments?user_id={user}{extra}")
    assert status == 200, body
    Assignments.model_validate(body)
    for answer in body["assignments"]:  # each variant's parameters come with it (see experiment())
        assert answer["parameters"] == {"waves": 10 + int(answer["variant_id"][1:])}, answer
    return {a["experiment_id"]: a["variant_id"] for a in body["assignments"]}


def test_experiment_lifecycle_and_sticky_assignment(caller: Caller) -> None:
    assert caller.admin("PUT", "/experiments/waves", "editor", experiment())[1]["status"] == "draft"
    assert assignments(caller, "u1") == {}
    assert caller.admin("POST", "/experiments/waves/status", "editor", {"status": "paused"})[0] == 409
    assert caller.admin("POST", "/experiments/waves/status", "editor", {"status": "running"})[0] == 200
    wiring.client_service()._plans.clear()  # the client function caches experiments for 10 s
    users = [f"user-{i}" for i in range(40)]
    first = {u: assignments(caller, u)["waves"] for u in users}
    assert set(first.values()) == {"v0", "v1"}
    # weights change: everyone keeps the first assignment
    assert caller.admin("PUT", "/experiments/waves", "editor", experiment((0, 100)))[0] == 200
    wiring.client_service()._plans.clear()  # the client function caches experiments for 10 s
    assert {u: assignments(caller, u)["waves"] for u in users} == first
    assert assignments(caller, "newcomer")["waves"] == "v1"
    # paused: stored assignments still answered, nobody new assigned
    assert caller.admin("POST", "/experiments/waves/status", "editor", {"status": "paused"})[0] == 200
    wiring.client_service()._plans.clear()
    assert assignments(caller, users[0]) == {"waves": first[users[0]]}
    assert assignments(caller, "late-user") == {}
    # finished: nothing, and no way back
    assert caller.admin("POST", "/experiments/waves/status", "editor", {"status": "finished"})[0] == 200
    wiring.client_service()._plans.clear()
    assert assignments(caller, users[0]) == {}
    assert caller.admin("POST", "/experiments/waves/status", "editor", {"status": "running"})[0] == 409
    assert caller.admin("PUT", "/experiments/waves", "editor", experiment())[0] == 409
    _, listed = caller.admin("GET", "/experiments", "editor")
    assert [e["status"] for e in listed["experiments"]] == ["finished"]


def test_concurrent_first_calls_agree(caller: Caller) -> None:
    caller.admin("PUT", "/experiments/race", "editor", experiment((1, 1, 1, 1, 1)))
    caller.admin("POST", "/experiments/race/status", "editor", {"status": "running"})
    store = wiring.client_service().assignments
    answers: list[str] = []
    barrier = threading.Barrier(8)

    def first_call(variant: str) -> None:
        barrier.wait()
        answers.append(store.put_if_absent(APP, "race", "hash-of-someone", variant))

    threads = [threading.Thread(target=first_call, args=(f"v{i % 5}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(answers)) == 1


def test_targeting_and_bad_versions(caller: Caller) -> None:
    config = experiment(targeting={"platforms": ["web"], "min_client_version": "1.2.0"})
    caller.admin("PUT", "/experiments/web-only", "editor", config)
    caller.admin("POST", "/experiments/web-only/status", "editor", {"status": "running"})
    wiring.client_service()._plans.clear()
    assert assignments(caller, "u9", "&platform=android&client_version=1.5.0") == {}
    assert assignments(caller, "u9", "&platform=web&client_version=1.1.9") == {}
    assert "web-only" in assignments(caller, "u9", "&platform=web&client_version=1.2.0")
    status, body = caller.client("/v1/experiments/assignments?user_id=u9&client_version=1.2")
    assert status == 400 and body["error"]["code"] == "invalid_version"
    # sticky but still targeted: a stored assignment is answered only while the user is eligible
    web = assignments(caller, "u9", "&platform=web&client_version=1.2.0")["web-only"]
    assert assignments(caller, "u9", "&platform=android&client_version=1.2.0") == {}
    assert assignments(caller, "u9", "&platform=web&client_version=1.3.0") == {"web-only": web}
    bad = experiment(targeting={"min_client_version": "one"})
    assert caller.admin("PUT", "/experiments/bad", "editor", bad)[0] == 400
    assert caller.client("/v1/experiments/assignments")[0] == 400  # user_id is required


def test_experiment_window(caller: Caller) -> None:
    hour = timedelta(hours=1)
    windows = {"later": (NOW + hour, NOW + 2 * hour), "over": (NOW - 2 * hour, NOW - hour)}
    windows["open"] = (NOW - hour, NOW + hour)
    for name, (start, end) in windows.items():
        body = {**experiment(), "start_at": iso(start), "end_at": iso(end)}
        assert caller.admin("PUT", f"/experiments/{name}", "editor", body)[0] == 200
        assert caller.admin("POST", f"/experiments/{name}/status", "editor", {"status": "running"})[0] == 200
    wiring.client_service()._plans.clear()
    assert set(assignments(caller, "someone")) == {"open"}


def test_rollback_walks_back_through_the_history(caller: Caller) -> None:
    versions = [("1.0.0", "a"), ("1.1.0", "b"), ("1.2.0", "c"), ("1.2.0", "c2")]
    for version, content_hash in versions:
        body = {"version": version, "content_hash": content_hash, "min_supported_client_version": "1.0.0"}
        assert caller.admin("PUT", "/content", "admin", body)[0] == 200
    steps = []
    for _ in range(4):
        status, answer = caller.admin("POST", "/content/rollback", "admin")
        if status != 200:
            assert status == 409 and answer["error"]["code"] == "nothing_to_roll_back"
            break
        steps.append((answer["active_version"], answer["content_hash"]))
        manifest = caller.client("/v1/content/manifest?client_version=1.0.0")[1]
        assert (manifest["active_version"], manifest["content_hash"]) == steps[-1]
    assert steps == [("1.2.0", "c"), ("1.1.0", "b"), ("1.0.0", "a")]


def test_content_manifest_set_history_rollback(caller: Caller) -> None:
    assert caller.client("/v1/content/manifest?client_version=0.5.0")[0] == 404
    one = {"version": "1.0.0", "content_hash": "sha256:aaa", "min_supported_client_version": "0.5.0"}
    two = {"version": "1.1.0", "content_hash": "sha256:bbb", "min_supported_client_version": "0.6.0"}
    assert caller.admin("PUT", "/content", "admin", one)[0] == 200
    assert caller.admin("PUT", "/content", "admin", two)[0] == 200
    status, manifest = caller.client("/v1/content/manifest?client_version=0.5.3")
    assert status == 200
    assert manifest == {
        "active_version": "1.1.0",
        "content_hash": "sha256:bbb",
        "min_supported_client_version": "0.6.0",
        "update_required": True,
    }
    assert caller.client("/v1/content/manifest?client_version=0.10.0")[1]["update_required"] is False
    rolled = caller.admin("POST", "/content/rollback", "admin")
    assert rolled[0] == 200 and rolled[1]["active_version"] == "1.0.0"
    assert caller.client("/v1/content/manifest?client_version=0.5.3")[1]["update_required"] is False
    _, state = caller.admin("GET", "/content", "admin")
    assert [(h["action"], h["version"]) for h in state["history"]] == [
        ("rollback", "1.0.0"),
        ("set", "1.1.0"),
        ("set", "1.0.0"),
    ]
    status, body = caller.client("/v1/content/manifest?client_version=banana")
    assert status == 400 and body["error"]["code"] == "invalid_version"
    assert caller.admin("PUT", "/content", "admin", {**one, "min_supported_client_version": "x"})[0] == 400


ROUTES = [
    (
        "PUT",
        "/events/e1",
        "editor",
        {"type": "event", "start_at": "2030-01-01T00:00:00Z", "end_at": "2030-01-02T00:00:00Z"},
    ),
    ("GET", "/events", "editor", None),
    ("DELETE", "/events/e1", "editor", None),
    ("PUT", "/experiments/x1", "editor", experiment()),
    ("POST", "/experiments/x1/status", "editor", {"status": "running"}),
    ("GET", "/experiments", "editor", None),
    ("GET", "/experiments/x1", "editor", None),
    (
        "PUT",
        "/content",
        "admin",
        {"version": "1.0.0", "content_hash": "h", "min_supported_client_version": "1.0.0"},
    ),
    ("POST", "/content/rollback", "admin", None),
    ("GET", "/content", "admin", None),
]
RANK = {"viewer": 0, "editor": 1, "admin": 2}


@pytest.mark.parametrize(
    ("method", "path", "needed", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
def test_role_matrix(caller: Caller, method: str, path: str, needed: str, body: Any) -> None:
    status, answer = caller.admin(method, path, None, body)
    assert status == 401 and answer["error"]["code"] == "unauthorized"
    headers = {"authorization": "Bearer lot_nope_nope"}
    assert caller.api.call(method, f"/v1/admin/apps/{APP}{path}", body, headers)[0] == 401
    for role in ("viewer", "editor", "admin"):
        status, answer = caller.admin(method, path, role, body)
        if RANK[role] < RANK[needed]:
            assert status == 403 and answer["error"]["code"] == "forbidden", (role, answer)
        else:
            assert status not in (401, 403), (role, answer)
