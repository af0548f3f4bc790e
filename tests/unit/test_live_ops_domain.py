"""Live events' windows, experiments' windows and targeting, and content rollback, as pure logic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from liveops.domain.experiments import LiveExperiment, active_events, rollback_target
from liveops.models.liveops import ExperimentIn, LiveEventIn, utc_text

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
END = START + timedelta(days=2)


def stored_event(event_id: str, start: datetime, end: datetime, content_version: str = "*") -> dict[str, Any]:
    event = LiveEventIn(type="event", start_at=start, end_at=end, content_version=content_version)
    return {"id": event_id, **event.document(), "updated_at": utc_text(start)}


@pytest.mark.parametrize(
    ("now", "active"),
    [
        (START - timedelta(microseconds=1), False),
        (START, True),  # start inclusive
        (END - timedelta(microseconds=1), True),
        (END, False),  # end exclusive
    ],
)
def test_event_window_edges(now: datetime, active: bool) -> None:
    shown = active_events([stored_event("e", START, END)], now, None)
    assert [e["id"] for e in shown] == (["e"] if active else [])


def test_content_version_star_or_exact_and_client_shape() -> None:
    events = [
        stored_event("any", START, END),
        stored_event("v110", START, END, "1.1.0"),
        stored_event("v120", START, END, "1.2.0"),
    ]
    shown = active_events(events, START, "1.1.0")
    assert [e["id"] for e in shown] == ["any", "v110"]
    assert set(shown[0]) == {"id", "type", "start_at", "end_at", "rules"}  # the spec's shape
    assert [e["id"] for e in active_events(events, START, None)] == ["any"]


def test_times_are_stored_in_utc_and_events_order_by_moment() -> None:
    plus_two = timezone_offset(2)
    early = stored_event("b-early", START.astimezone(plus_two), END)  # 14:00+02:00 = 12:00Z
    assert early["start_at"] == "2026-12-01T12:00:00Z"
    # an event stored with an offset by an older release still orders by its moment
    legacy = {**stored_event("a-later", START, END), "start_at": "2026-12-01T13:30:00+02:00"}  # 11:30Z
    shown = active_events([early, legacy], START, None)
    assert [e["id"] for e in shown] == ["a-later", "b-early"]


def timezone_offset(hours: int) -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def experiment(**overrides: Any) -> LiveExperiment:
    body: dict[str, Any] = {
        "name": "x",
        "config": {
            "variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 1}],
            "targeting": {"platforms": ["web"], "min_client_version": "1.2.0"},
        },
        **overrides,
    }
    doc = ExperimentIn.model_validate(body).document()
    return LiveExperiment.build({"id": "exp", "status": "running", **doc})


def test_experiment_window_start_inclusive_end_exclusive() -> None:
    live = experiment(start_at=utc_text(START), end_at=utc_text(END))
    assert not live.in_window(START - timedelta(microseconds=1))
    assert live.in_window(START)
    assert not live.in_window(END)
    assert experiment().in_window(START)  # no window: always


@pytest.mark.parametrize(
    ("platform", "client_version", "targeted"),
    [
        ("web", "1.2.0", True),
        ("web", "2.0.0", True),
        ("web", "1.1.9", False),
        ("web", None, False),
        ("web", "banana", False),
        ("android", "1.5.0", False),
        (None, "1.5.0", False),
    ],
)
def test_targeting(platform: str | None, client_version: str | None, targeted: bool) -> None:
    live = experiment()
    assert live.targets(platform, client_version) is targeted
    assert (live.choose("user-1", platform, client_version) is not None) is targeted


def entry(seq: int, action: str, version: str, content_hash: str | None = None) -> dict[str, Any]:
    return {
        "seq": seq,
        "action": action,
        "version": version,
        "content_hash": content_hash or f"h-{version}",
        "min_supported_client_version": "1.0.0",
        "at": "2026-12-01T00:00:00Z",
    }


def test_rollback_walks_back_one_version_at_a_time() -> None:
    history = [entry(1, "set", "A"), entry(2, "set", "B"), entry(3, "set", "C")]
    target = rollback_target(history)
    assert target is not None and target["version"] == "B"
    history.append(entry(4, "rollback", "B"))
    target = rollback_target(history)
    assert target is not None and target["version"] == "A"
    history.append(entry(5, "rollback", "A"))
    assert rollback_target(history) is None  # nothing earlier than the first version
    history.append(entry(6, "set", "D"))
    target = rollback_target(history)
    assert target is not None and target["version"] == "A"


def test_rollback_of_a_republished_version_returns_to_its_previous_hash() -> None:
    history = [entry(1, "set", "A"), entry(2, "set", "B", "b1"), entry(3, "set", "B", "b2")]
    target = rollback_target(history)
    assert target is not None and (target["version"], target["content_hash"]) == ("B", "b1")


def test_rollback_needs_two_versions() -> None:
    assert rollback_target([]) is None
    assert rollback_target([entry(1, "set", "A")]) is None
