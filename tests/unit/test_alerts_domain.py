"""Threshold evaluation: operators, `for_minutes` boundaries, scopes, auto-resolve, episodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liveops.domain.alerts import BreachState, compare, incident_dedupe_key, scope_key, step, summary
from liveops.models.app_config import ThresholdSpec

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def spec(**changes: object) -> ThresholdSpec:
    base: dict[str, object] = {"id": "slow", "metric": "d.p95", "op": ">", "value": 100.0, "for_minutes": 10}
    return ThresholdSpec.model_validate({**base, **changes})


@pytest.mark.parametrize(
    ("op", "observed", "expected"),
    [
        (">", 101, True),
        (">", 100, False),
        (">", 99, False),
        ("<", 99, True),
        ("<", 100, False),
        (">=", 100, True),
        (">=", 99.999, False),
        ("<=", 100, True),
        ("<=", 100.001, False),
        ("=", 100, True),
        ("=", 100.5, False),
        ("!=", 100.5, True),
        ("!=", 100, False),
    ],
)
def test_every_operator(op: str, observed: float, expected: bool) -> None:
    assert compare(op, observed, 100) is expected


def test_equality_tolerates_float_rounding() -> None:
    assert compare("=", 0.1 + 0.2, 0.3)
    assert not compare("!=", 0.1 + 0.2, 0.3)


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError):
        compare("~", 1, 1)


def run(threshold: ThresholdSpec, values: list[float | None], *, every: int = 5) -> list[str]:
    """Evaluate a series every `every` minutes, firing into an incident kept open; the actions."""
    state: BreachState | None = None
    open_id: str | None = None
    actions = []
    for i, value in enumerate(values):
        now = T0 + timedelta(minutes=every * i)
        decided = step(threshold, value, state, open_id, now)
        actions.append(decided.action)
        state = decided.state
        if decided.action == "fire":
            open_id = f"inc-{i}"
            assert state is not None
            state = BreachState(state.since, state.last_value, open_id)
        if decided.action == "resolve":
            open_id = None
    return actions


def test_fires_only_after_breaching_for_for_minutes() -> None:
    # breaching at 0, 5 and 10 minutes: fires at 10 (10 - 0 >= for_minutes), not at 5
    assert run(spec(), [150, 150, 150, 150]) == ["wait", "wait", "fire", "update"]


def test_for_minutes_zero_fires_at_the_first_breach() -> None:
    assert run(spec(for_minutes=0), [150]) == ["fire"]


def test_a_recovery_before_for_minutes_restarts_the_clock() -> None:
    assert run(spec(), [150, 150, 50, 150, 150, 150]) == ["wait", "wait", "ok", "wait", "wait", "fire"]


def test_just_under_for_minutes_waits() -> None:
    threshold = spec(for_minutes=11)
    assert run(threshold, [150, 150, 150]) == ["wait", "wait", "wait"]
    assert run(threshold, [150, 150, 150, 150]) == ["wait", "wait", "wait", "fire"]


def test_auto_resolve_on_recovery_then_a_new_breach_opens_a_new_incident() -> None:
    assert run(spec(for_minutes=0), [150, 50, 150]) == ["fire", "resolve", "fire"]


def test_without_auto_resolve_a_recovery_keeps_the_incident_open() -> None:
    threshold = spec(for_minutes=0, auto_resolve=False)
    # the open incident is updated again on the next breach, never duplicated
    assert run(threshold, [150, 50, 150]) == ["fire", "recovered", "update"]


def test_no_figure_changes_nothing() -> None:
    state = BreachState(T0, 150.0, None)
    decided = step(spec(), None, state, None, T0 + timedelta(minutes=30))
    assert decided.action == "no_data"
    assert decided.state == state
    assert run(spec(), [150, None, 150]) == ["wait", "no_data", "fire"]


def test_an_incident_resolved_by_hand_stays_quiet_until_the_figure_recovers() -> None:
    threshold = spec(for_minutes=0)
    fired = step(threshold, 150, None, None, T0)
    state = BreachState(fired.state.since, 150, "inc-1")  # type: ignore[union-attr]
    # resolved by hand: no open incident any more, the figure still breaches
    quiet = step(threshold, 160, state, None, T0 + timedelta(minutes=5))
    assert quiet.action == "suppressed"
    recovered = step(threshold, 50, quiet.state, None, T0 + timedelta(minutes=10))
    assert recovered.action == "ok" and recovered.state is None
    again = step(threshold, 150, recovered.state, None, T0 + timedelta(minutes=15))
    assert again.action == "fire"


def test_update_carries_the_observed_value() -> None:
    decided = step(spec(), 175.5, BreachState(T0, 150, "inc-1"), "inc-1", T0 + timedelta(minutes=5))
    assert decided.action == "update"
    assert decided.observed == 175.5
    assert decided.state == BreachState(T0, 175.5, "inc-1")


def test_scopes_have_their_own_keys() -> None:
    web = scope_key("slow", {"platform": "web"})
    android = scope_key("slow", {"platform": "android"})
    total = scope_key("slow", {})
    assert len({web, android, total}) == 3
    assert scope_key("slow", {"platform": "web"}) == web
    assert incident_dedupe_key("slow", {"platform": "web"}) == f"T#{web}"
    assert scope_key("other", {"platform": "web"}) != web


def test_breach_state_round_trips() -> None:
    state = BreachState(T0, 1.5, "inc-1")
    assert BreachState.from_json(state.to_json()) == state


def test_summary_names_metric_operator_and_scope() -> None:
    text = summary(spec(where={"platform": "web"}), 150)
    assert text == "slow: d.p95 = 150 (> 100) where platform=web"
    assert summary(spec(description="Slow runs"), 150).startswith("Slow runs: ")


def test_thresholds_may_count_one_event_type_and_filter_one_dimension() -> None:
    from liveops.models.app_config import AppConfigError, load_app_config

    config = {
        "app_id": "thr-app",
        "name": "T",
        "platforms": ["web"],
        "events": {"digest": {}},
        "dimensions": ["platform", "client_version"],
        "thresholds": [{"id": "few-digests", "metric": "events.digest", "op": "<", "value": 1, "notify": []}],
    }
    assert load_app_config(config).thresholds[0].metric == "events.digest"
    for metric in ("digest", "events.nothing"):
        with pytest.raises(AppConfigError, match="unknown metric"):
            load_app_config(
                {**config, "thresholds": [{"id": "x", "metric": metric, "op": "<", "value": 1, "notify": []}]}
            )
    two = {
        "id": "x",
        "metric": "events.count",
        "op": "<",
        "value": 1,
        "where": {"platform": "web", "client_version": "1"},
    }
    with pytest.raises(AppConfigError, match="one dimension at most"):
        load_app_config({**config, "thresholds": [two]})
