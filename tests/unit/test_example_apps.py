"""The example app configs load, and the demo traffic for each is accepted by ingest in full."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from liveops.demo.scenarios import (
    MAX_EVENTS_PER_BATCH,
    SCENARIOS,
    PayloadFitter,
    SessionPlan,
    make_batches,
)
from liveops.domain.ingest import CompiledApp, to_ms, validate_batch
from liveops.models.app_config import AppConfig, load_app_config
from liveops.models.telemetry import BatchIn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "apps"
APP_IDS = ("abyssal-architect", "awf", "great-work", "ash-bot", "web-qa")
NOW = datetime(2025, 12, 3, 10, 2, 5, 250_000, tzinfo=UTC)
SEEDS = (0, 1, 7, 42, 2025)


def _load(path: Path) -> AppConfig:
    return load_app_config(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def configs() -> dict[str, AppConfig]:
    return {path.stem: _load(path) for path in sorted(EXAMPLES.glob("*.yaml"))}


def _parse(moment: str) -> datetime:
    assert moment.endswith("Z"), moment
    return datetime.fromisoformat(moment)


def _ingest(config: AppConfig, body: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    batch = BatchIn.model_validate(body)
    result = validate_batch(
        batch,
        CompiledApp.build(config),
        batch_id="b",
        received_at_ms=to_ms(NOW),
        user_hash=None,
        max_payload_bytes=16384,
    )
    return result.accepted, result.rejected


def test_exactly_the_five_example_apps() -> None:
    assert sorted(path.stem for path in EXAMPLES.glob("*.yaml")) == sorted(APP_IDS)
    assert sorted(SCENARIOS) == sorted(APP_IDS)


@pytest.mark.parametrize("app_id", APP_IDS)
def test_example_config_is_valid_and_complete(app_id: str) -> None:
    config = _load(EXAMPLES / f"{app_id}.yaml")
    assert config.app_id == app_id
    assert config.measures and config.kpis
    assert config.thresholds
    field_options = [f for event in config.events.values() for f in event.fields.values()]
    assert any(f.required for f in field_options)
    assert any(f.enum for f in field_options)
    assert any(f.min is not None or f.max is not None for f in field_options)
    assert any(f.max_length is not None for f in field_options)
    sources = {dim.source for dim in config.dimension_specs()}
    assert "platform" in sources
    assert any(source.startswith("payload.") for source in sources)


@pytest.mark.parametrize("app_id", APP_IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_demo_traffic_is_accepted_in_full(configs: dict[str, AppConfig], app_id: str, seed: int) -> None:
    config = configs[app_id]
    batches = make_batches(config, random.Random(seed), NOW, sessions=25)
    assert batches
    event_ids: set[str] = set()
    for body in batches:
        events = body["events"]
        assert 1 <= len(events) <= MAX_EVENTS_PER_BATCH
        assert body["platform"] in config.platforms
        sent_at = _parse(body["sent_at"])
        assert NOW - timedelta(hours=1) <= sent_at <= NOW
        for event in events:
            moment = _parse(event["event_time"])
            assert NOW - timedelta(hours=1) <= moment <= sent_at
            event_ids.add(event["event_id"])
        accepted, rejected = _ingest(config, body)
        assert rejected == []
        assert accepted == len(events)
    assert len(event_ids) == sum(len(body["events"]) for body in batches)


def test_scripted_flows_look_like_the_teams_traffic(configs: dict[str, AppConfig]) -> None:
    seen: dict[str, Counter[str]] = {}
    for app_id in APP_IDS:
        batches = make_batches(configs[app_id], random.Random(3), NOW, sessions=60)
        seen[app_id] = Counter(e["event_type"] for body in batches for e in body["events"])
    # every event type of each example app shows up in a modest amount of traffic
    for app_id in APP_IDS:
        if app_id in ("abyssal-architect", "great-work"):
            continue  # crashes and scheduler pauses are rare on purpose
        assert set(seen[app_id]) == set(configs[app_id].events), app_id
    abyssal = seen["abyssal-architect"]
    assert abyssal["run_start"] == abyssal["run_end"]
    assert abyssal["draft_offered"] == abyssal["draft_pick"]
    awf_steps = configs["awf"].funnels["adventure_journey"].steps
    assert seen["awf"][awf_steps[0]] >= seen["awf"][awf_steps[-1]]
    assert seen["ash-bot"]["alert_created"] >= seen["ash-bot"]["alert_resolved"]
    assert seen["web-qa"]["test_run_start"] == seen["web-qa"]["test_run_end"] == 60


def test_run_outcomes_are_plausible(configs: dict[str, AppConfig]) -> None:
    batches = make_batches(configs["abyssal-architect"], random.Random(11), NOW, sessions=400)
    outcomes = Counter(
        e["payload"]["outcome"] for body in batches for e in body["events"] if e["event_type"] == "run_end"
    )
    total = sum(outcomes.values())
    assert 0.3 < outcomes["win"] / total < 0.6
    commands = [
        e["payload"]["success"]
        for body in make_batches(configs["great-work"], random.Random(11), NOW, sessions=200)
        for e in body["events"]
        if e["event_type"] == "command_invoked"
    ]
    assert 0.9 < sum(commands) / len(commands) < 0.99


def test_large_sessions_are_split_into_batches(configs: dict[str, AppConfig]) -> None:
    config = configs["web-qa"]
    rng = random.Random(5)
    plan = SessionPlan(config, rng, NOW, 0)
    for i in range(1201):
        plan.emit(i * 2.0, "frame_stats", fps_avg=55.0)
    batches = plan.batches(PayloadFitter(config, rng, fill_optional=0.5), to_ms(NOW))
    assert [len(body["events"]) for body in batches] == [500, 500, 201]
    assert len({body["session_id"] for body in batches}) == 1
    for body in batches:
        last = max(_parse(e["event_time"]) for e in body["events"])
        assert last <= _parse(body["sent_at"]) <= NOW
        accepted, rejected = _ingest(config, body)
        assert rejected == [] and accepted == len(body["events"])


def test_scripts_follow_an_edited_config() -> None:
    data = yaml.safe_load((EXAMPLES / "abyssal-architect.yaml").read_text(encoding="utf-8"))
    run_end = data["events"]["run_end"]["fields"]
    run_end["outcome"]["enum"] = ["won", "lost"]  # the script says win/loss/abandon
    run_end["score"]["max"] = 50  # the script scores in the thousands
    run_end["run_id"]["max_length"] = 6  # the script's run ids are longer
    run_end["mutator"] = {"type": "string", "required": True, "enum": ["fire", "frost"]}  # unknown to it
    del run_end["boss_defeated"]
    data["events"]["draft_pick"]["fields"]["tier"] = {"type": "string", "max_length": 2}  # was an integer
    del data["events"]["wave_clear"]
    data["kpis"] = {"win_rate": {"numerator": {"event": "run_end"}, "denominator": {"event": "run_start"}}}
    data["measures"] = {}
    data["thresholds"] = [t for t in data["thresholds"] if t["metric"].startswith("win_rate")]
    data["experiments"] = {"metrics": ["win_rate"]}
    config = load_app_config(data)
    kinds: Counter[str] = Counter()
    for seed in SEEDS:
        for body in make_batches(config, random.Random(seed), NOW, sessions=10):
            accepted, rejected = _ingest(config, body)
            assert rejected == [] and accepted == len(body["events"])
            for event in body["events"]:
                kinds[event["event_type"]] += 1
                if event["event_type"] == "run_end":
                    assert event["payload"]["outcome"] in ("won", "lost")
                    assert event["payload"]["mutator"] in ("fire", "frost")
                    assert "boss_defeated" not in event["payload"]
    assert kinds["run_end"] > 0 and kinds["wave_clear"] == 0


def test_generic_generator_fits_any_config() -> None:
    config = load_app_config(
        {
            "app_id": "odd-app",
            "name": "Odd app",
            "platforms": ["switch"],
            "max_event_age_days": 1,
            "events": {
                "session_start": {},
                "tick": {
                    "fields": {
                        "code": {"type": "string", "required": True, "max_length": 1},
                        "level": {"type": "integer", "required": True, "min": 1000000, "max": 1000001},
                        "ratio": {"type": "number", "required": True, "min": -0.5, "max": -0.25},
                        "choice": {"type": "integer", "enum": [3, 5, 8], "required": True},
                        "mode": {"type": "string", "enum": ["a", "bb", "ccc"], "max_length": 2},
                        "flag": {"type": "boolean", "required": True},
                        "huge": {"type": "number", "min": 1e300},
                    }
                },
                "unsatisfiable": {
                    "fields": {"n": {"type": "integer", "min": 0.2, "max": 0.8, "required": True}}
                },
                "begin": {"fields": {"key": {"type": "string", "required": True, "max_length": 8}}},
                "finish": {"fields": {"key": {"type": "string", "required": True, "max_length": 4}}},
            },
            "spans": {"work": {"start": "begin", "end": "finish", "key": "key"}},
            "funnels": {"f": {"window_minutes": 30, "steps": ["session_start", "tick", "finish"]}},
        }
    )
    kinds: Counter[str] = Counter()
    for seed in SEEDS:
        for body in make_batches(config, random.Random(seed), NOW, sessions=10):
            accepted, rejected = _ingest(config, body)
            assert rejected == [] and accepted == len(body["events"])
            kinds.update(e["event_type"] for e in body["events"])
    assert kinds["tick"] > 0 and kinds["begin"] > 0
    assert kinds["unsatisfiable"] == 0  # no valid payload exists, so it is never sent


@pytest.mark.parametrize("app_id", APP_IDS)
def test_same_seed_same_batches(configs: dict[str, AppConfig], app_id: str) -> None:
    first = make_batches(configs[app_id], random.Random(99), NOW, sessions=8)
    again = make_batches(configs[app_id], random.Random(99), NOW, sessions=8)
    other = make_batches(configs[app_id], random.Random(100), NOW, sessions=8)
    assert first == again
    assert first != other
