"""The whole ingestion path over real HTTP against `liveops dev`: every accepted event lands in
the lake exactly once and no rejected one does."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveops.cli.http_client import JsonClient
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

CONFIG = """
app_id: e2e-game
name: E2E Game
platforms: [web, desktop]
max_event_age_days: 10
events:
  session_start: {}
  run_end:
    fields:
      run_id: {type: string, required: true, max_length: 64}
      outcome: {type: string, enum: [win, loss, abandon], required: true}
      score: {type: integer, min: 0}
dimensions: [platform, {name: outcome, from: payload.outcome}]
measures:
  score: {event: run_end, field: score, aggs: [count, avg, p95]}
kpis:
  win_rate: {numerator: {event: run_end, where: {outcome: win}}, denominator: {event: run_end}}
experiments: {metrics: [win_rate, score.avg], min_sample_per_variant: 5}
"""
BAD_CONFIG = """
app_id: e2e-game
name: E2E Game
platforms: [web]
events:
  run_end:
    fields:
      score: {type: string, min: 0}
measures:
  score: {event: run_end, field: nope, aggs: [p42]}
colour: blue
"""


def ev(kind: str = "run_end", **payload: Any) -> dict[str, Any]:
    when = datetime.now(UTC) - timedelta(seconds=30)
    if kind == "run_end" and not payload:
        payload = {"run_id": "r", "outcome": "win", "score": 5}
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": kind,
        "event_time": when.isoformat().replace("+00:00", "Z"),
        "payload": payload,
    }


def envelope(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "session_id": "sess-1",
        "platform": "web",
        "client_version": "0.6.0",
        "user_id": "player-7",
        "sent_at": datetime.now(UTC).isoformat(),
        "events": events,
    }


@pytest.fixture(scope="module")
def app_key(running_stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("configs")
    good, bad = Path(folder, "good.yaml"), Path(folder, "bad.yaml")
    good.write_text(CONFIG)
    bad.write_text(BAD_CONFIG)
    applied = running_stack.cli("apps", "apply", "-f", str(good), "--json")
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout) == {"app_id": "e2e-game", "version": 1, "created": True}
    refused = running_stack.cli("apps", "apply", "-f", str(bad))
    assert refused.returncode == 1
    for fragment in ("colour", "events.run_end.fields.score", "measures.score"):
        assert fragment in refused.stderr
    shown = running_stack.cli("apps", "show", "e2e-game")
    assert json.loads(shown.stdout)["platforms"] == ["web", "desktop"], "a refused config must change nothing"
    created = running_stack.cli("keys", "create", "--app", "e2e-game", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert set(key) == {"app_id", "key_id", "api_key"}
    listed = running_stack.cli("keys", "list", "--app", "e2e-game", "--json")
    assert key["api_key"] not in listed.stdout and key["key_id"] in listed.stdout
    return str(key["api_key"])


def test_every_accepted_event_lands_exactly_once(running_stack: RunningStack, app_key: str) -> None:
    api = JsonClient(running_stack.info["api_url"], {"x-api-key": app_key})
    accepted: list[str] = []
    rejected: list[str] = []

    valid = [ev() for _ in range(20)] + [ev("session_start")]
    status, _, body = api.request("POST", "/v1/telemetry/batch", envelope(valid))
    assert status == 202 and body["accepted"] == 21 and body["rejected"] == []
    accepted += [e["event_id"] for e in valid]

    mixed = [ev(), ev("level_up"), ev(run_id="r", outcome="draw"), ev(), ev(run_id="x" * 65, outcome="win")]
    status, _, body = api.request("POST", "/v1/telemetry/batch", envelope(mixed))
    assert status == 202 and body["accepted"] == 2
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [
        (1, "unknown_event_type"),
        (2, "invalid_value"),
        (4, "invalid_value"),
    ]
    accepted += [mixed[0]["event_id"], mixed[3]["event_id"]]
    rejected += [mixed[i]["event_id"] for i in (1, 2, 4)]

    malformed = b'{"session_id": "s", "platform": "web", "events": [}'
    status, _, body = api.request("POST", "/v1/telemetry/batch", malformed)
    assert status == 400 and body["error"]["code"] == "invalid_request"

    no_session = envelope([ev()])
    del no_session["session_id"]
    rejected.append(no_session["events"][0]["event_id"])
    status, _, body = api.request("POST", "/v1/telemetry/batch", no_session)
    assert status == 400 and body["error"]["details"]

    oversized = envelope([ev(run_id="r", outcome="win", score=1) | {"pad": "x" * 5000} for _ in range(250)])
    rejected += [e["event_id"] for e in oversized["events"]]
    status, _, body = api.request("POST", "/v1/telemetry/batch", oversized)
    assert status == 413 and body["error"]["code"] == "payload_too_large"

    wrong_key = envelope([ev()])
    rejected += [e["event_id"] for e in wrong_key["events"]]
    status, _, body = api.request("POST", "/v1/telemetry/batch", wrong_key, {"x-api-key": "lo_bad_key"})
    assert status == 401 and body["error"]["code"] == "invalid_api_key"

    retried = envelope([ev() for _ in range(5)])
    first = api.request("POST", "/v1/telemetry/batch", retried, {"idempotency-key": "retry-42"})
    second = api.request("POST", "/v1/telemetry/batch", retried, {"idempotency-key": "retry-42"})
    assert first[0] == second[0] == 202 and first[2] == second[2]
    accepted += [e["event_id"] for e in retried["events"]]

    status, _, body = api.request("GET", "/v1/telemetry/batch")
    assert status == 405
    api.close()

    deadline = time.monotonic() + 60
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = running_stack.lake_rows("e2e-game")
        if len({r["event_id"] for r in rows}) >= len(accepted):
            break
        time.sleep(0.5)
    time.sleep(1.5)  # anything extra (a duplicate) would land by now
    rows = running_stack.lake_rows("e2e-game")
    counts = Counter(r["event_id"] for r in rows)
    assert set(counts) == set(accepted)
    assert all(n == 1 for n in counts.values()), [k for k, n in counts.items() if n > 1]
    assert not set(rejected) & set(counts)
    assert all("player-7" not in json.dumps(r, default=str) for r in rows)
    assert {dict(r["attrs"]).get("outcome") for r in rows} >= {"win"}
    assert {r["platform"] for r in rows} == {"web"}


def test_demo_traffic_for_every_example_app(running_stack: RunningStack) -> None:
    apps = running_stack.info["apps"]
    assert len(apps) == 5
    for app_id in apps:
        result = running_stack.cli("demo", "--app", app_id, "--rate", "400", "--duration", "1", "--seed", "7")
        assert result.returncode == 0, result.stdout + result.stderr
        summary = result.stdout.strip().splitlines()[-1]
        sent = int(summary.split(": ", 1)[1].split(" events sent")[0])
        assert sent > 0 and ", 0 rejected, 0 failed requests" in summary, summary


def test_cli_errors_are_clear(running_stack: RunningStack, tmp_path: Path) -> None:
    missing = running_stack.cli("keys", "create", "--app", "no-such-app")
    assert missing.returncode == 1 and "no app 'no-such-app'" in missing.stderr
    nowhere = running_stack.cli("--state-dir", str(tmp_path), "apps", "list")
    assert nowhere.returncode == 1 and "make dev" in nowhere.stderr


def test_jobs_run_by_hand_against_the_running_stack(running_stack: RunningStack) -> None:
    demo = running_stack.cli("demo", "--app", "awf", "--rate", "500", "--duration", "1", "--seed", "3")
    assert demo.returncode == 0, demo.stderr
    deadline = time.monotonic() + 30
    while not running_stack.lake_rows("awf") and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # the poller's last batch
    hourly = running_stack.cli("jobs", "run", "rollup", "--app", "awf")
    assert hourly.returncode == 0, hourly.stderr
    report = json.loads(hourly.stdout)["apps"]["awf"]
    assert report["status"] == "ok" and report["rows"] > 0
    assert "rollup awf:" in hourly.stderr  # progress
    daily = running_stack.cli("jobs", "run", "rollup-daily", "--app", "awf")
    assert daily.returncode == 0, daily.stderr
    assert json.loads(daily.stdout)["apps"]["awf"]["rows"]["rollup_daily"] > 0
    s3 = running_stack.aws("s3")
    listed = s3.list_objects_v2(Bucket=running_stack.info["lake_bucket"], Prefix="curated/")
    tables = {obj["Key"].split("/")[1] for obj in listed.get("Contents", [])}
    assert {"rollup_hourly", "rollup_daily", "kpi_daily", "funnel_daily"} <= tables
    wrong = running_stack.cli("jobs", "run", "rollup", "--app", "nope")
    assert wrong.returncode == 1 and "no app 'nope'" in wrong.stderr
    expected = {"Every15Minutes": "rate(15 minutes)", "Daily0200": "cron(0 2 * * ? *)"}
    assert running_stack.info["schedules"].items() >= expected.items()


def test_experiment_loop_assign_play_rollup_report(running_stack: RunningStack, app_key: str) -> None:
    """Create and start an experiment over HTTP, get sticky assignments, send those players' runs,
    roll up, and read the readout from the CLI and the metrics API."""
    admin = JsonClient(
        running_stack.info["api_url"], {"authorization": f"Bearer {running_stack.info['tokens']['editor']}"}
    )
    variants = [
        {"id": "control", "weight": 50, "parameters": {"waves": 10}},
        {"id": "hard", "weight": 50, "parameters": {"waves": 14}},
    ]
    status, _, body = admin.request(
        "PUT",
        "/v1/admin/apps/e2e-game/experiments/waves",
        {"name": "Wave count", "config": {"variants": variants}},
    )
    assert status == 200 and body["status"] == "draft", body
    status, _, body = admin.request(
        "POST", "/v1/admin/apps/e2e-game/experiments/waves/status", {"status": "running"}
    )
    assert status == 200, body
    time.sleep(10.5)  # the client function caches experiments for 10 s
    client = JsonClient(running_stack.info["api_url"], {"x-api-key": app_key})
    players = [f"exp-player-{i}" for i in range(40)]  # no history from the other tests
    chosen = {}
    for player in players:
        status, _, body = client.request("GET", f"/v1/experiments/assignments?user_id={player}")
        assert status == 200, body
        (assignment,) = body["assignments"]
        chosen[player] = assignment["variant_id"]
        again = client.request("GET", f"/v1/experiments/assignments?user_id={player}")[2]
        assert again["assignments"][0]["variant_id"] == chosen[player]
    assert set(chosen.values()) == {"control", "hard"}
    for player in players:
        outcome = "win" if chosen[player] == "control" else "loss"
        body = {**envelope([ev(run_id="r", outcome=outcome, score=7)]), "user_id": player}
        assert client.request("POST", "/v1/telemetry/batch", body)[0] == 202
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline
        and len({r["user_hash"] for r in running_stack.lake_rows("e2e-game")}) < 41
    ):
        time.sleep(0.5)
    time.sleep(2)
    for job in ("rollup", "rollup-daily"):
        result = running_stack.cli("jobs", "run", job, "--app", "e2e-game")
        assert result.returncode == 0, result.stderr
    report = running_stack.cli("experiments", "report", "waves", "--app", "e2e-game")
    assert report.returncode == 0, report.stderr
    readout = json.loads(report.stdout)["readout"]
    win = next(m for m in readout["metrics"] if m["metric"] == "win_rate")
    by_variant = {v["variant_id"]: v for v in win["variants"]}
    assert by_variant["control"]["mean"] == 1.0 and by_variant["hard"]["mean"] == 0.0
    assert by_variant["hard"]["units"] == sum(1 for v in chosen.values() if v == "hard")
    csv_report = running_stack.cli("experiments", "report", "waves", "--app", "e2e-game", "--format", "csv")
    assert csv_report.returncode == 0 and "win_rate" in csv_report.stdout
    viewer = JsonClient(
        running_stack.info["api_url"], {"authorization": f"Bearer {running_stack.info['tokens']['viewer']}"}
    )
    today = datetime.now(UTC).date()
    query = f"app=e2e-game&from={today}T00:00:00Z&to={today + timedelta(days=1)}T00:00:00Z&experiment=waves"
    status, _, body = viewer.request("GET", f"/v1/metrics/experiment?{query}")
    assert status == 200 and body["readout"]["control"] == "control", body


def test_live_events_from_the_cli(running_stack: RunningStack, app_key: str) -> None:
    start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    end = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    made = running_stack.cli(
        "events",
        "create",
        "--app",
        "e2e-game",
        "--id",
        "fire-fest",
        "--start",
        start,
        "--end",
        end,
        "--rules",
        '{"mutator": "fire"}',
        "--json",
    )
    assert made.returncode == 0, made.stderr
    client = JsonClient(running_stack.info["api_url"], {"x-api-key": app_key})
    active = client.request("GET", "/v1/events/active")[2]
    assert [e["id"] for e in active["events"]] == ["fire-fest"]
    listed = json.loads(running_stack.cli("events", "list", "--app", "e2e-game", "--json").stdout)
    assert [e["id"] for e in listed["events"]] == ["fire-fest"]
    assert running_stack.cli("events", "end", "--app", "e2e-game", "fire-fest").returncode == 0
    assert client.request("GET", "/v1/events/active")[2]["events"] == []
    bad = running_stack.cli(
        "events", "create", "--app", "e2e-game", "--id", "x", "--start", end, "--end", start
    )
    assert bad.returncode == 1 and "invalid live event" in bad.stderr
