"""The admin function against moto, called through the gateway as API Gateway would: RBAC, the app
routes, and the metrics figures checked against values computed here from synthetic raw events."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pytest

from liveops import aws, wiring
from liveops.models.admin import AppApplied, AppDetail, AppList, ClientKey
from liveops.models.app_config import load_app_config
from liveops.models.metrics import ExperimentOut, FunnelOut, KpisOut, OverviewOut, StorageOut, TimeseriesOut
from liveops.rollups.schema import EXPERIMENT_DAILY, FUNNEL_DAILY, ROLLUP, SPAN_DAILY
from liveops.services.apps import apply_config
from liveops.services.tokens import create_token
from liveops.settings import get_settings
from liveops.storage.curated import CuratedLake
from liveops.storage.tokens_store import TokensStore
from tests.integration.conftest import AwsStack
from tests.integration.helpers import Api, batch, event

APP = "arena"
CHALLENGE = "défi 🐉"
D1, D2, D3 = date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)
CONFIG: dict[str, Any] = {
    "app_id": APP,
    "name": "Arena",
    "platforms": ["web", "android"],
    "events": {
        "session_start": {"fields": {"challenge": {"type": "string"}}},
        "run_end": {
            "fields": {
                "outcome": {"type": "string", "enum": ["win", "loss"], "required": True},
                "duration_ms": {"type": "number", "min": 0},
                "challenge": {"type": "string"},
            }
        },
        "alert_created": {"fields": {"alert_id": {"type": "string"}}},
        "alert_ack": {"fields": {"alert_id": {"type": "string"}}},
    },
    "dimensions": ["platform", {"name": "challenge", "from": "payload.challenge"}],
    "measures": {
        "duration": {
            "event": "run_end",
            "field": "duration_ms",
            "aggs": ["count", "sum", "avg", "min", "max", "p95"],
        }
    },
    "kpis": {
        "win_rate": {
            "numerator": {"event": "run_end", "where": {"outcome": "win"}},
            "denominator": {"event": "run_end"},
        }
    },
    "spans": {"ttr": {"start": "alert_created", "end": "alert_ack", "key": "alert_id"}},
    "funnels": {"first_run": {"by": "user", "window_minutes": 120, "steps": ["session_start", "run_end"]}},
    "experiments": {"metrics": ["win_rate", "duration.avg"]},
}
ROLES = ("viewer", "editor", "admin")


# ---------------------------------------------------------------------------- fixtures


@dataclass
class Admin:
    api: Api
    tokens: dict[str, str]
    stack: AwsStack

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None, **params: Any
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"content-type": "application/json"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        target = f"{path}?{urlencode(params)}" if params else path
        return self.api.call(method, target, body, headers)

    def get(self, path: str, role: str = "viewer", **params: Any) -> tuple[int, dict[str, str], Any]:
        return self.call("GET", path, token=self.tokens[role], **params)

    def raw(self, path: str, role: str = "viewer", **params: Any) -> tuple[int, dict[str, str], str]:
        headers = [("authorization", f"Bearer {self.tokens[role]}")]
        status, out_headers, body = self.api.gateway.handle(
            "GET", f"{path}?{urlencode(params)}", headers, b""
        )
        return status, {k.lower(): v for k, v in out_headers.items()}, body.decode("utf-8")


def tokens_store(stack: AwsStack) -> TokensStore:
    return TokensStore(aws.client("dynamodb"), stack.env["APPS_TABLE"])


@pytest.fixture
def admin(stack: AwsStack) -> Admin:
    apply_config(wiring.apps_store(), load_app_config(CONFIG))
    tokens = {role: create_token(tokens_store(stack), role).token for role in ROLES}
    variants = [{"id": v, "weight": 1, "parameters": {}} for v in ("control", "b", "tiny")]
    wiring.liveops_store().put_experiment(
        APP,
        "exp-1",
        {
            "name": "exp 1",
            "description": "",
            "start_at": None,
            "end_at": None,
            "config": {"variants": variants},
        },
    )
    return Admin(api=Api(), tokens=tokens, stack=stack)


def lake(stack: AwsStack) -> CuratedLake:
    return CuratedLake(aws.client("s3"), stack.env["LAKE_BUCKET"])


def iso(moment: datetime | date) -> str:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def span_of(first: date, last_exclusive: date) -> dict[str, str]:
    return {"app": APP, "from": iso(first), "to": iso(last_exclusive)}


# ---------------------------------------------------------------------------- RBAC


METRICS_QUERY = {"app": APP, "from": iso(D1), "to": iso(D3)}
ROUTES: list[tuple[str, str, dict[str, Any], Any, str, int]] = [
    ("GET", "/v1/admin/apps", {}, None, "admin", 200),
    ("GET", f"/v1/admin/apps/{APP}", {}, None, "admin", 200),
    ("PUT", f"/v1/admin/apps/{APP}", {}, CONFIG, "admin", 200),
    ("POST", f"/v1/admin/apps/{APP}/keys", {}, None, "admin", 201),
    (
        "GET",
        "/v1/metrics/timeseries",
        {**METRICS_QUERY, "metric": "events.count", "granularity": "day"},
        None,
        "viewer",
        200,
    ),
    ("GET", "/v1/metrics/overview", METRICS_QUERY, None, "viewer", 200),
    ("GET", "/v1/metrics/kpis", METRICS_QUERY, None, "viewer", 200),
    ("GET", "/v1/metrics/funnel", {**METRICS_QUERY, "funnel": "first_run"}, None, "viewer", 200),
    ("GET", "/v1/metrics/experiment", {**METRICS_QUERY, "experiment": "exp-1"}, None, "viewer", 200),
    ("GET", "/v1/metrics/storage", {"app": APP}, None, "viewer", 200),
]


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "needs", "ok"), ROUTES, ids=[r[1] + " " + r[0] for r in ROUTES]
)
def test_role_matrix(
    admin: Admin, method: str, path: str, params: dict[str, Any], body: Any, needs: str, ok: int
) -> None:
    version = wiring.apps_store().get_config(APP)[1]  # type: ignore[index]
    callers: list[tuple[str, str | None]] = [
        ("no token", None),
        ("wrong token", "lot_0123456789ab_" + "x" * 43),
        *((role, admin.tokens[role]) for role in ROLES),
    ]
    for caller, token in callers:
        status, headers, answer = admin.call(method, path, body, token, **params)
        if token is None or caller == "wrong token":
            expected, code = 401, "unauthorized"
        elif ROLES.index(caller) < ROLES.index(needs):
            expected, code = 403, "forbidden"
        else:
            expected, code = ok, None
        assert status == expected, (caller, answer)
        if code is not None:
            assert answer["error"]["code"] == code and answer["error"]["message"], caller
            assert set(answer["error"]) == {"code", "message", "details"}
            assert ("www-authenticate" in headers) == (expected == 401)
            # a refused call changed nothing
            assert wiring.apps_store().get_config(APP)[1] == version  # type: ignore[index]
    if method == "PUT":
        assert wiring.apps_store().get_config(APP)[1] == version + 1  # type: ignore[index]


def test_malformed_revoked_and_foreign_credentials_are_401(admin: Admin, game: str) -> None:
    path = f"/v1/admin/apps/{APP}/incidents"  # a route viewers may read
    viewer = admin.tokens["viewer"]
    for header in [
        f"Basic {viewer}",
        "Bearer",
        "Bearer    ",
        viewer,
        f"Bearer {game}",
        f"Bearer {viewer}x",
        "Bearer " + "lot_" + "a" * 300,
    ]:
        status, _, answer = admin.api.call("GET", path, None, {"authorization": header})
        assert (status, answer["error"]["code"]) == (401, "unauthorized"), header
    status, _, _ = admin.api.call("GET", path, None, {"Authorization": f"bearer {viewer}"})
    assert status == 200  # scheme and header name are case-insensitive
    store = tokens_store(admin.stack)
    (record,) = [r for r in store.list() if r.role == "viewer"]
    assert store.revoke(record.token_id) and store.revoke(record.token_id)
    assert not store.revoke("nope")
    assert admin.get(path)[0] == 401  # revocation is immediate
    assert [r.token_id for r in store.list() if not r.active] == [record.token_id]


def test_tokens_are_stored_hashed(admin: Admin) -> None:
    items = aws.client("dynamodb").scan(TableName=admin.stack.env["APPS_TABLE"])["Items"]
    dump = json.dumps(items)
    for token in admin.tokens.values():
        assert token.startswith("lot_") and token not in dump
    assert sum(1 for i in items if i["pk"]["S"].startswith("TOKEN#")) == 3


# ---------------------------------------------------------------------------- app routes


def test_app_routes(admin: Admin, stack: AwsStack) -> None:
    status, _, listing = admin.get("/v1/admin/apps", role="admin")
    assert status == 200 and AppList.model_validate(listing).apps[0].app_id == APP
    assert admin.get(f"/v1/admin/apps/{APP}")[0] == 403  # a config is the admins' (spec: apps [admin])
    status, _, detail = admin.get(f"/v1/admin/apps/{APP}", role="admin")
    assert status == 200 and AppDetail.model_validate(detail).version == 1
    assert detail["config"]["funnels"]["first_run"]["steps"] == ["session_start", "run_end"]
    assert detail["config"]["dimensions"][1] == {"name": "challenge", "from": "payload.challenge"}

    new = {**CONFIG, "app_id": "arena-two", "name": "Arena Two ✨"}
    status, _, applied = admin.call("PUT", "/v1/admin/apps/arena-two", new, admin.tokens["admin"])
    assert (status, AppApplied.model_validate(applied).created) == (201, True)
    without_id = {k: v for k, v in new.items() if k != "app_id"}
    status, _, applied = admin.call("PUT", "/v1/admin/apps/arena-two", without_id, admin.tokens["admin"])
    assert (status, applied) == (200, {"app_id": "arena-two", "version": 2, "created": False})
    assert wiring.apps_store().get_config("arena-two")[0].name == "Arena Two ✨"  # type: ignore[index]

    bad = {**CONFIG, "measures": {"duration": {"event": "nope", "field": "x", "aggs": ["p42"]}}, "extra": 1}
    status, _, answer = admin.call("PUT", f"/v1/admin/apps/{APP}", bad, admin.tokens["admin"])
    assert status == 400 and answer["error"]["code"] == "invalid_config"
    paths = {d["path"] for d in answer["error"]["details"]}
    assert {"extra", "measures.duration.aggs[0]"} <= paths and len(answer["error"]["details"]) >= 2
    assert all(d["message"] for d in answer["error"]["details"])
    semantic = {
        **CONFIG,
        "kpis": {"k": {"numerator": {"event": "nope"}, "denominator": {"event": "run_end"}}},
    }
    status, _, answer = admin.call("PUT", f"/v1/admin/apps/{APP}", semantic, admin.tokens["admin"])
    assert status == 400 and answer["error"]["details"] == [
        {"path": "kpis.k.numerator.event", "message": "unknown event type 'nope'"},
        {"path": "experiments.metrics[0]", "message": "unknown metric 'win_rate'"},
    ]
    status, _, answer = admin.call("PUT", "/v1/admin/apps/other-app", CONFIG, admin.tokens["admin"])
    assert (status, answer["error"]["code"]) == (400, "app_id_mismatch")
    for body in (["not", "an", "object"], None):
        status, _, answer = admin.call("PUT", f"/v1/admin/apps/{APP}", body, admin.tokens["admin"])
        assert status == 400 and answer["error"]["code"] == "invalid_request"
    status, _, _ = admin.call("PUT", "/v1/admin/apps/Bad_Id", CONFIG, admin.tokens["admin"])
    assert status == 400
    assert wiring.apps_store().get_config(APP)[1] == 1  # type: ignore[index]  # nothing refused was applied

    status, headers, created = admin.call("POST", f"/v1/admin/apps/{APP}/keys", token=admin.tokens["admin"])
    key = ClientKey.model_validate(created)
    assert status == 201 and key.api_key.startswith("lo_") and "no-store" in headers["cache-control"]
    # the new key is a working client key
    status, _, accepted = admin.api.call(
        "POST", "/v1/telemetry/batch", batch([event("session_start")]), {"x-api-key": key.api_key}
    )
    assert (status, accepted["accepted"]) == (202, 1)

    for method, path in [("GET", "/v1/admin/apps/nope-app"), ("POST", "/v1/admin/apps/nope-app/keys")]:
        status, _, answer = admin.call(method, path, token=admin.tokens["admin"])
        assert (status, answer["error"]["code"]) == (404, "unknown_app"), path
    status, headers, answer = admin.call("DELETE", f"/v1/admin/apps/{APP}", token=admin.tokens["admin"])
    assert status == 405 and "PUT" in headers["allow"]
    assert admin.get("/v1/admin/nothing")[0] == 404


def test_openapi_document_is_served_without_a_token(admin: Admin) -> None:
    status, _, document = admin.api.call("GET", "/v1/openapi.json")
    assert status == 200
    timeseries = document["paths"]["/v1/metrics/timeseries"]["get"]
    assert timeseries["security"] == [{"BearerAuth": []}] and timeseries["tags"] == ["metrics"]
    assert {"200", "400", "401", "403", "404"} <= set(timeseries["responses"])
    assert "text/csv" in timeseries["responses"]["200"]["content"]
    assert document["paths"]["/v1/admin/apps/{app_id}"]["put"]["security"] == [{"BearerAuth": []}]
    assert "/v1/telemetry/batch" in document["paths"]
    assert admin.api.call("POST", "/v1/openapi.json")[0] == 405


# ---------------------------------------------------------------------------- synthetic data


@dataclass(frozen=True)
class Ev:
    when: datetime
    event_type: str
    user: str
    platform: str
    challenge: str | None
    duration: float | None = None
    outcome: str | None = None

    def groups(self) -> list[tuple[str, str]]:
        return [("*", "*"), ("platform", self.platform), ("challenge", self.challenge or "(none)")]


def make_events() -> list[Ev]:
    """30 web users and 4 android users play on three days; every fifth user never ends a run."""
    rng = random.Random(7)
    events: list[Ev] = []
    users = [(f"w{i}", "web") for i in range(30)] + [(f"a{i}", "android") for i in range(4)]
    for day in (D1, D2, D3):
        base = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        for i, (user, platform) in enumerate(users):
            challenge = CHALLENGE if i % 2 == 0 else None
            events.append(Ev(base + timedelta(minutes=i), "session_start", user, platform, challenge))
            if i % 5 == 0:
                continue
            for run in range(rng.randint(1, 3)):
                when = base + timedelta(minutes=30 + 20 * run + rng.randint(0, 15))
                duration = float(rng.randint(1_000, 90_000))
                outcome = "win" if rng.random() < 0.4 else "loss"
                events.append(Ev(when, "run_end", user, platform, challenge, duration, outcome))
    return events


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mini_rollup(events: list[Ev], bucket: Callable[[datetime], datetime]) -> pa.Table:
    """The rollup tables' rows, computed plainly from the events (docs/rollups.md)."""
    groups: dict[tuple[datetime, str, str], list[Ev]] = defaultdict(list)
    for ev in events:
        for dim_name, dim_value in ev.groups():
            groups[(bucket(ev.when), dim_name, dim_value)].append(ev)
    rows = []
    for (ts, dim_name, dim_value), evs in groups.items():
        base = {"ts": ts, "dim_name": dim_name, "dim_value": dim_value}

        def users(selected: list[Ev]) -> int:
            return len({e.user for e in selected})

        rows.append({**base, "kind": "events", "name": "*", "n": len(evs), "users": users(evs)})
        for event_type in sorted({e.event_type for e in evs}):
            typed = [e for e in evs if e.event_type == event_type]
            rows.append(
                {**base, "kind": "events", "name": event_type, "n": len(typed), "users": users(typed)}
            )
        runs = [e for e in evs if e.event_type == "run_end"]
        if runs:
            values = [e.duration for e in runs if e.duration is not None]
            rows.append(
                {
                    **base,
                    "kind": "measure",
                    "name": "duration",
                    "n": len(values),
                    "num": sum(values),
                    "min": min(values),
                    "max": max(values),
                    "p50": percentile(values, 0.5),
                    "p95": percentile(values, 0.95),
                    "p99": percentile(values, 0.99),
                    "users": users(runs),
                }
            )
            wins = sum(1 for e in runs if e.outcome == "win")
            rows.append(
                {
                    **base,
                    "kind": "kpi",
                    "name": "win_rate",
                    "n": len(runs),
                    "num": float(wins),
                    "users": users(runs),
                }
            )
    return pa.Table.from_pylist(rows, schema=ROLLUP)


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def figures(admin: Admin) -> Iterator[list[Ev]]:
    """Curated tables written from synthetic events: hourly for D1-D3, daily for D1-D2 only (D3 is
    "today": the daily rollup has not run yet)."""
    events = make_events()
    curated = lake(admin.stack)
    for day in (D1, D2, D3):
        of_day = [e for e in events if e.when.date() == day]
        curated.write("rollup_hourly", APP, day, mini_rollup(of_day, hour_of))
        if day != D3:
            curated.write("rollup_daily", APP, day, mini_rollup(of_day, day_of))
            curated.write("funnel_daily", APP, day, funnel_rows(of_day, day))
    yield events


def funnel_rows(events: list[Ev], day: date) -> pa.Table:
    rows = []
    starts = {e.user: e for e in events if e.event_type == "session_start"}
    finished = {e.user for e in events if e.event_type == "run_end"}
    for dim_name, dim_value in {g for e in starts.values() for g in e.groups()}:
        members = [u for u, e in starts.items() if (dim_name, dim_value) in e.groups()]
        for step, name, units in [
            (0, "session_start", len(members)),
            (1, "run_end", len(set(members) & finished)),
        ]:
            rows.append(
                {
                    "ts": datetime(day.year, day.month, day.day, tzinfo=UTC),
                    "funnel": "first_run",
                    "dim_name": dim_name,
                    "dim_value": dim_value,
                    "step": step,
                    "step_name": name,
                    "units": units,
                }
            )
    return pa.Table.from_pylist(rows, schema=FUNNEL_DAILY)


def points(answer: dict[str, Any], dims: dict[str, str] | None = None) -> dict[str, tuple[float, int]]:
    for series in answer["series"]:
        if series["dims"] == (dims or {}):
            return {p["t"]: (p["value"], p["n"]) for p in series["points"]}
    return {}


def distinct(events: list[Ev]) -> int:
    return len({e.user for e in events})


# ---------------------------------------------------------------------------- timeseries


def test_timeseries_events_by_day_fill_today_from_hourly(admin: Admin, figures: list[Ev]) -> None:
    status, headers, answer = admin.get(
        "/v1/metrics/timeseries",
        **span_of(D1, D3 + timedelta(days=1)),
        metric="events.count",
        granularity="day",
    )
    assert status == 200, answer
    TimeseriesOut.model_validate(answer)
    assert (answer["app"], answer["metric"], answer["granularity"]) == (APP, "events.count", "day")
    assert "no-store" in headers["cache-control"]
    expected = {iso(day): sum(1 for e in figures if e.when.date() == day) for day in (D1, D2, D3)}
    assert {t: value for t, (value, _) in points(answer).items()} == expected
    assert all(n == value for value, n in points(answer).values())
    typed = admin.get(
        "/v1/metrics/timeseries", **span_of(D1, D2), metric="events.run_end", granularity="day"
    )[2]
    assert points(typed) == {
        iso(D1): (sum(1 for e in figures if e.when.date() == D1 and e.event_type == "run_end"),) * 2
    }


def test_timeseries_by_hour_groups_and_suppresses_small_groups(admin: Admin, figures: list[Ev]) -> None:
    status, _, answer = admin.get(
        "/v1/metrics/timeseries",
        **span_of(D1, D2),
        metric="events.count",
        granularity="hour",
        group_by="platform",
    )
    assert status == 200, answer
    TimeseriesOut.model_validate(answer)
    by_bucket: dict[tuple[str, str], list[Ev]] = defaultdict(list)
    for e in figures:
        if e.when.date() == D1:
            by_bucket[(e.platform, iso(hour_of(e.when)))].append(e)
    kept = {key: evs for key, evs in by_bucket.items() if distinct(evs) >= 10}
    assert answer["suppressed"] == len(by_bucket) - len(kept) > 0  # android: 4 players
    assert [s["dims"] for s in answer["series"]] == [{"platform": "web"}]
    assert points(answer, {"platform": "web"}) == {
        t: (len(evs), len(evs)) for (p, t), evs in kept.items() if p == "web"
    }


def test_timeseries_filter_on_a_unicode_dimension_value(admin: Admin, figures: list[Ev]) -> None:
    status, _, answer = admin.get(
        "/v1/metrics/timeseries",
        **span_of(D2, D3),
        metric="duration.avg",
        granularity="day",
        challenge=CHALLENGE,
    )
    assert status == 200, answer
    values = [e.duration for e in figures if e.when.date() == D2 and e.challenge == CHALLENGE and e.duration]
    assert answer["series"][0]["dims"] == {"challenge": CHALLENGE}
    (value, n) = points(answer, {"challenge": CHALLENGE})[iso(D2)]
    assert n == len(values) and value == pytest.approx(sum(values) / len(values))


def test_measures_combine_over_time_and_percentiles_stay_at_their_grain(
    admin: Admin, figures: list[Ev]
) -> None:
    def durations(day: date, hour: int | None = None) -> list[float]:
        return [
            e.duration
            for e in figures
            if e.duration is not None and e.when.date() == day and (hour is None or e.when.hour == hour)
        ]

    query = span_of(D1, D3 + timedelta(days=1))
    for agg, expect in [
        ("avg", lambda v: sum(v) / len(v)),
        ("sum", sum),
        ("min", min),
        ("max", max),
        ("count", len),
    ]:
        answer = admin.get("/v1/metrics/timeseries", **query, metric=f"duration.{agg}", granularity="day")[2]
        got = {t: value for t, (value, _) in points(answer).items()}
        # D3 has hourly rows only: its day figure is combined from them, exactly
        assert got == pytest.approx({iso(d): expect(durations(d)) for d in (D1, D2, D3)}), agg
    answer = admin.get("/v1/metrics/timeseries", **query, metric="duration.p95", granularity="day")[2]
    got = {t: value for t, (value, _) in points(answer).items()}
    # a day's p95 comes from its daily row; D3 has two hourly rows, which are never averaged
    assert got == pytest.approx({iso(d): percentile(durations(d), 0.95) for d in (D1, D2)})
    assert len({e.when.hour for e in figures if e.when.date() == D3 and e.duration}) == 2
    hourly = admin.get(
        "/v1/metrics/timeseries",
        **span_of(D3, D3 + timedelta(days=1)),
        metric="duration.p95",
        granularity="hour",
    )[2]
    got = {t: value for t, (value, _) in points(hourly).items()}
    runs = [e for e in figures if e.event_type == "run_end" and e.when.date() == D3]
    shown = [h for h in (10, 11) if distinct([e for e in runs if e.when.hour == h]) >= 10]
    assert shown and hourly["suppressed"] == 2 - len(shown)
    assert got == pytest.approx(
        {iso(datetime(2025, 11, 5, h, tzinfo=UTC)): percentile(durations(D3, h), 0.95) for h in shown}
    )


def test_kpi_timeseries_and_kpis_over_the_range(admin: Admin, figures: list[Ev]) -> None:
    runs = [e for e in figures if e.event_type == "run_end"]
    answer = admin.get("/v1/metrics/timeseries", **span_of(D1, D3), metric="win_rate", granularity="day")[2]
    for day in (D1, D2):
        of_day = [e for e in runs if e.when.date() == day]
        wins = sum(1 for e in of_day if e.outcome == "win")
        assert points(answer)[iso(day)] == (pytest.approx(wins / len(of_day)), len(of_day))

    status, _, answer = admin.get(
        "/v1/metrics/kpis", **span_of(D1, D3 + timedelta(days=1)), group_by="challenge"
    )
    assert status == 200, answer
    KpisOut.model_validate(answer)
    assert (answer["from"], answer["to"], answer["suppressed"]) == (iso(D1), iso(D3 + timedelta(days=1)), 0)
    expected = {}
    for challenge in (CHALLENGE, "(none)"):
        chosen = [e for e in runs if (e.challenge or "(none)") == challenge]
        wins = sum(1 for e in chosen if e.outcome == "win")
        expected[challenge] = (wins, len(chosen), pytest.approx(wins / len(chosen)))
    got = {k["dims"]["challenge"]: (k["numerator"], k["denominator"], k["value"]) for k in answer["kpis"]}
    assert got == expected
    suppressed = admin.get("/v1/metrics/kpis", **span_of(D1, D3), group_by="platform")[2]
    assert [k["dims"] for k in suppressed["kpis"]] == [{"platform": "web"}] and suppressed["suppressed"] == 1


def test_overview(admin: Admin, figures: list[Ev]) -> None:
    status, _, answer = admin.get("/v1/metrics/overview", **span_of(D1, D3 + timedelta(days=1)))
    assert status == 200, answer
    OverviewOut.model_validate(answer)
    per_day_users = [distinct([e for e in figures if e.when.date() == d]) for d in (D1, D2)]
    # D3 comes from hourly rows: the most distinct users of one of its hours
    d3_hours = [distinct([e for e in figures if e.when.date() == D3 and e.when.hour == h]) for h in (10, 11)]
    assert answer["totals"] == {"events": len(figures), "users_lower_bound": max(per_day_users + d3_hours)}
    counts = defaultdict(int)
    for e in figures:
        counts[e.event_type] += 1
    assert answer["events_by_type"] == [
        {"event_type": t, "count": c} for t, c in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    runs = [e for e in figures if e.event_type == "run_end"]
    wins = sum(1 for e in runs if e.outcome == "win")
    assert answer["top_kpis"] == [
        {
            "kpi": "win_rate",
            "dims": {},
            "numerator": wins,
            "denominator": len(runs),
            "value": pytest.approx(wins / len(runs)),
        }
    ]
    assert answer["latest_incidents"] == [] and answer["suppressed"] == 0


def test_funnel(admin: Admin, figures: list[Ev]) -> None:
    status, _, answer = admin.get(
        "/v1/metrics/funnel", **span_of(D1, D3), funnel="first_run", group_by="platform"
    )
    assert status == 200, answer
    FunnelOut.model_validate(answer)
    assert (answer["by"], answer["window_minutes"], answer["suppressed"]) == ("user", 120, 1)  # android
    (web,) = answer["groups"]
    entered = finished = 0
    for day in (D1, D2):
        starts = {
            e.user
            for e in figures
            if e.when.date() == day and e.platform == "web" and e.event_type == "session_start"
        }
        ends = {
            e.user
            for e in figures
            if e.when.date() == day and e.platform == "web" and e.event_type == "run_end"
        }
        entered, finished = entered + len(starts), finished + len(starts & ends)
    assert web["dims"] == {"platform": "web"}
    assert [(s["name"], s["units"]) for s in web["steps"]] == [
        ("session_start", entered),
        ("run_end", finished),
    ]
    assert web["steps"][1]["conversion_from_start"] == pytest.approx(finished / entered)
    assert web["steps"][1]["conversion_from_previous"] == pytest.approx(finished / entered)
    assert web["steps"][0]["conversion_from_previous"] is None
    status, _, answer = admin.get("/v1/metrics/funnel", **span_of(D1, D3), funnel="nope")
    assert (status, answer["error"]["code"]) == (400, "unknown_funnel")


def test_experiment_readout_sums_variant_statistics(admin: Admin) -> None:
    rows = []
    stats = {("control", D1): 20, ("control", D2): 25, ("b", D1): 22, ("b", D2): 18, ("tiny", D1): 3}
    for (variant, day), units in stats.items():
        for metric in ("duration.avg", "win_rate"):
            rows.append(
                {
                    "ts": datetime(day.year, day.month, day.day, tzinfo=UTC),
                    "experiment_id": "exp-1",
                    "variant_id": variant,
                    "metric": metric,
                    "units": units,
                    "sum_x": units * 0.5,
                    "sum_x2": units * 0.25,
                    "sum_y": float(units),
                    "sum_y2": float(units),
                    "sum_xy": units * 0.5,
                }
            )
    for day in (D1, D2):
        lake(admin.stack).write(
            "experiment_daily",
            APP,
            day,
            pa.Table.from_pylist([r for r in rows if r["ts"].date() == day], schema=EXPERIMENT_DAILY),
        )
    status, _, answer = admin.get("/v1/metrics/experiment", **span_of(D1, D3), experiment="exp-1")
    assert status == 200, answer
    ExperimentOut.model_validate(answer)
    assert [m["metric"] for m in answer["metrics"]] == ["win_rate", "duration.avg"]  # the config's order
    assert answer["suppressed"] == 2  # "tiny", in both metrics
    for metric in answer["metrics"]:
        assert metric["variants"] == [
            {
                "variant": v,
                "units": u,
                "sum_x": u * 0.5,
                "sum_x2": u * 0.25,
                "sum_y": float(u),
                "sum_y2": float(u),
                "sum_xy": u * 0.5,
            }
            for v, u in [("b", 22 + 18), ("control", 20 + 25)]
        ]
    one_day = admin.get("/v1/metrics/experiment", **span_of(D2, D3), experiment="exp-1")[2]
    assert {v["variant"]: v["units"] for v in one_day["metrics"][0]["variants"]} == {"b": 18, "control": 25}
    readout = answer["readout"]
    assert readout["control"] == "control" and readout["srm"]["srm_warning"] is True  # 45/40 vs 1/3 each
    win = next(m for m in readout["metrics"] if m["metric"] == "win_rate")
    b = next(v for v in win["variants"] if v["variant_id"] == "b")
    assert b["absolute_lift"] == pytest.approx(0.0)
    unknown = admin.get("/v1/metrics/experiment", **span_of(D1, D3), experiment="nope")
    assert unknown[0] == 404 and unknown[2]["error"]["code"] == "unknown_experiment"
    csv_status, headers, text = admin.raw(
        "/v1/metrics/experiment", **span_of(D1, D3), experiment="exp-1", format="csv"
    )
    assert csv_status == 200 and headers["content-type"].startswith("text/csv") and "win_rate" in text


def test_span_timeseries_is_daily_only(admin: Admin) -> None:
    row = {
        "span": "ttr",
        "dim_name": "*",
        "dim_value": "*",
        "n": 12,
        "avg": 1500.5,
        "min": 10.0,
        "max": 9000.0,
        "p50": 1200.0,
        "p95": 8000.0,
        "p99": 8900.0,
        "users": 11,
    }
    lake(admin.stack).write(
        "span_daily",
        APP,
        D1,
        pa.Table.from_pylist([{**row, "ts": datetime(2025, 11, 3, tzinfo=UTC)}], schema=SPAN_DAILY),
    )
    answer = admin.get("/v1/metrics/timeseries", **span_of(D1, D2), metric="ttr.p95", granularity="day")[2]
    assert points(answer) == {iso(D1): (8000.0, 12)}
    answer = admin.get("/v1/metrics/timeseries", **span_of(D1, D2), metric="ttr.avg", granularity="day")[2]
    assert points(answer) == {iso(D1): (1500.5, 12)}
    status, _, answer = admin.get(
        "/v1/metrics/timeseries", **span_of(D1, D2), metric="ttr.p95", granularity="hour"
    )
    assert (status, answer["error"]["code"]) == (400, "invalid_granularity")


# ---------------------------------------------------------------------------- csv, limits, storage


def test_csv_format(admin: Admin, figures: list[Ev]) -> None:
    status, headers, text = admin.raw(
        "/v1/metrics/timeseries",
        **span_of(D1, D2),
        metric="events.count",
        granularity="day",
        group_by="challenge",
        format="csv",
    )
    assert status == 200 and headers["content-type"].startswith("text/csv")
    lines = text.splitlines()
    assert lines[0] == "t,challenge,value,n"
    of_day = [e for e in figures if e.when.date() == D1]
    expected = {
        f"{iso(D1)},{c},{n},{n}"
        for c, n in [
            (CHALLENGE, sum(1 for e in of_day if e.challenge == CHALLENGE)),
            ("(none)", sum(1 for e in of_day if e.challenge is None)),
        ]
    }
    assert set(lines[1:]) == expected and headers["x-suppressed"] == "0"
    status, headers, text = admin.raw("/v1/metrics/kpis", **span_of(D1, D2), format="csv")
    assert status == 200 and text.splitlines()[0] == "kpi,numerator,denominator,value"
    status, _, text = admin.raw("/v1/metrics/storage", app=APP, format="csv")
    assert status == 200 and text.splitlines()[0] == "category,prefix,bytes,objects"


def test_range_row_and_dimension_limits(
    admin: Admin, figures: list[Ev], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = {"metric": "events.count", "granularity": "day"}
    start = datetime(2025, 11, 3, tzinfo=UTC)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"app": APP, "from": iso(start), "to": iso(start + timedelta(days=121))}, 400, "range_too_long"),
        ({"app": APP, "from": iso(D2), "to": iso(D1)}, 400, "invalid_range"),
        ({**span_of(D1, D2), "group_by": "platform", "challenge": CHALLENGE}, 400, "too_many_dimensions"),
        ({**span_of(D1, D2), "platform": "web", "challenge": CHALLENGE}, 400, "too_many_dimensions"),
        ({**span_of(D1, D2), "locale": "fr"}, 400, "unknown_dimension"),
        ({**span_of(D1, D2), "group_by": "locale"}, 400, "unknown_dimension"),
        ({**span_of(D1, D2), "metric": "nope.p95"}, 400, "unknown_metric"),
        ({**span_of(D1, D2), "metric": "duration.p99"}, 400, "unknown_metric"),
        ({**span_of(D1, D2), "app": "nope-app"}, 404, "unknown_app"),
        ({**span_of(D1, D2), "format": "xml"}, 400, "invalid_request"),
        ({**span_of(D1, D2), "granularity": "minute"}, 400, "invalid_request"),
        ({**span_of(D1, D2), "from": "yesterday"}, 400, "invalid_request"),
        ({"app": APP, "from": iso(D1)}, 400, "invalid_request"),
    ]
    for params, status, code in cases:
        got, _, answer = admin.get("/v1/metrics/timeseries", **{**base, **params})
        assert (got, answer["error"]["code"]) == (status, code), params
    ok = admin.get(
        "/v1/metrics/timeseries",
        **base,
        app=APP,
        **{"from": iso(start), "to": iso(start + timedelta(days=120))},
    )
    assert ok[0] == 200
    assert admin.get("/v1/metrics/kpis", **span_of(D1, D2), platform="web", challenge="x")[0] == 400

    monkeypatch.setenv("EXPORT_MAX_ROWS", "2")
    get_settings.cache_clear()
    wiring.reset()  # a new container reads the new setting
    limited = Admin(api=Api(), tokens=admin.tokens, stack=admin.stack)
    two_days = {**base, **span_of(D1, D3)}
    assert limited.get("/v1/metrics/timeseries", **two_days)[0] == 200  # 2 rows
    status, _, answer = limited.get(
        "/v1/metrics/timeseries", **{**two_days, "to": iso(D3 + timedelta(days=1))}
    )
    assert (status, answer["error"]["code"]) == (400, "too_many_rows")
    status, _, _ = limited.raw(
        "/v1/metrics/timeseries", **{**two_days, "group_by": "challenge", "format": "csv"}
    )
    assert status == 400


def test_storage_counts_bytes_and_objects_per_category(admin: Admin) -> None:
    s3 = aws.client("s3")
    bucket = admin.stack.env["LAKE_BUCKET"]
    objects = {
        f"raw/events/app_id={APP}/dt=2025-11-03/hour=10/part-a.parquet": b"x" * 100,
        f"raw/events/app_id={APP}/dt=2025-11-03/hour=11/part-b.parquet": b"x" * 50,
        f"exports/app_id={APP}/2025-11-03/summary.json": b"{}",
        "raw/events/app_id=arena-other/dt=2025-11-03/hour=10/part-c.parquet": b"x" * 999,  # another app
    }
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    curated_key = lake(admin.stack).write("rollup_daily", APP, D1, mini_rollup(make_events()[:5], day_of))
    curated_size = s3.head_object(Bucket=bucket, Key=curated_key)["ContentLength"]
    status, _, answer = admin.get("/v1/metrics/storage", app=APP)
    assert status == 200, answer
    StorageOut.model_validate(answer)
    by_category = {c["category"]: (c["bytes"], c["objects"]) for c in answer["categories"]}
    assert by_category["raw_events"] == (150, 2)
    assert by_category["exports"] == (2, 1)
    assert by_category["rollup_daily"] == (curated_size, 1)
    assert by_category["rollup_hourly"] == (0, 0)
    assert answer["total"] == {"bytes": 152 + curated_size, "objects": 4}
    assert answer["last_cleanup"] is None
    assert admin.get("/v1/metrics/storage", app="nope-app")[0] == 404


def test_no_table_holds_a_plaintext_key_or_token(admin: Admin, stack: AwsStack) -> None:
    """Keys and tokens created every way (admin API, services, CLI paths share them) are stored
    only as their SHA-256: no item of any table holds a key, a token or its random part, in any
    form a scan could read back (as stored, JSON-escaped, base64), and each digest is there."""
    import base64

    from liveops.domain.hashing import token_hash
    from liveops.services.apps import create_key

    secrets = list(admin.tokens.values())
    status, _, created = admin.call("POST", f"/v1/admin/apps/{APP}/keys", None, admin.tokens["admin"])
    assert status == 201
    secrets.append(created["api_key"])
    status, _, created = admin.call("POST", "/v1/admin/tokens", {"role": "editor"}, admin.tokens["admin"])
    assert status == 201
    secrets.append(created["token"])
    secrets.append(create_key(wiring.apps_store(), APP).api_key)
    revoked = create_token(tokens_store(stack), "viewer")
    assert tokens_store(stack).revoke(revoked.token_id)
    secrets.append(revoked.token)
    # a request with each: lookups, caches and last-used stamps must not store them either
    for token in secrets:
        header = {"authorization": f"Bearer {token}", "x-api-key": token}
        admin.api.call("GET", "/v1/admin/apps", None, header)
        admin.api.call("GET", "/v1/events/active", None, header)

    db = aws.client("dynamodb")
    tables = db.list_tables()["TableNames"]
    assert {stack.env["APPS_TABLE"], stack.env["IDEMPOTENCY_TABLE"], stack.env["JOBS_TABLE"]} <= set(tables)
    dump = ""
    for table in tables:
        for page in db.get_paginator("scan").paginate(TableName=table):
            dump += json.dumps(page["Items"], ensure_ascii=False)
    for secret in secrets:
        # the random part is token_urlsafe(32): its last 43 characters (it may itself hold "_")
        random_part = secret[-43:]
        forms = {secret, random_part, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1]}
        found = [form[:8] + "…" for form in forms if form in dump]
        assert not found, f"a plaintext credential is stored: {found}"
        assert token_hash(secret) in dump, "each credential is stored as its SHA-256"
