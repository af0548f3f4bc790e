"""The local scheduler fires the template's schedules like EventBridge would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from liveops.local.scheduler import Cron, Schedule, ScheduleError, Scheduler, schedules
from liveops.local.template import project_template


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("0 2 * * ? *", "2026-11-22T02:00", True),
        ("0 2 * * ? *", "2026-11-22T02:01", False),
        ("0 2 * * ? *", "2026-11-22T03:00", False),
        ("*/5 * * * ? *", "2026-11-22T10:35", True),
        ("*/5 * * * ? *", "2026-11-22T10:36", False),
        ("0 9 ? * MON *", "2026-11-23T09:00", True),  # a Monday
        ("0 9 ? * MON *", "2026-11-22T09:00", False),  # a Sunday
        ("0 9 ? * 1 *", "2026-11-22T09:00", True),  # 1 = Sunday in EventBridge
        ("15,45 8-10 1 JAN-MAR ? 2027", "2027-02-01T09:45", True),
        ("15,45 8-10 1 JAN-MAR ? 2027", "2027-04-01T09:45", False),
        ("0/30 * * * ? *", "2026-11-22T10:30", True),
    ],
)
def test_cron_matches_like_eventbridge(expression: str, moment: str, expected: bool) -> None:
    assert Cron.parse(expression).matches(at(moment)) is expected


@pytest.mark.parametrize(
    "expression",
    ["cron(0 2 * * ?)", "cron(61 * * * ? *)", "rate(5 fortnights)", "every day", "cron(0 25 * * ? *)"],
)
def test_bad_expressions_are_refused(expression: str) -> None:
    with pytest.raises((ScheduleError, ValueError)):
        Schedule("Fn", "bad", expression, {})


def test_rate_fires_every_interval_after_start() -> None:
    schedule = Schedule("Fn", "every15", "rate(15 minutes)", {})
    assert not schedule.due(1000.0)  # first tick arms it
    assert not schedule.due(1000.0 + 899)
    assert schedule.due(1000.0 + 900)
    assert not schedule.due(1000.0 + 901)
    assert schedule.due(1000.0 + 1800)


def test_cron_fires_once_per_matching_minute() -> None:
    schedule = Schedule("Fn", "daily", "cron(0 2 * * ? *)", {})
    two = at("2026-11-22T02:00").timestamp()
    assert schedule.due(two + 1)
    assert not schedule.due(two + 30)
    assert not schedule.due(two + 61)
    assert schedule.due(two + 86_400 + 5)


def test_the_template_schedules_are_read_with_their_inputs() -> None:
    found = {s.name: s for s in schedules(project_template())}
    assert found["Every15Minutes"].every_seconds == 900
    assert found["Every15Minutes"].payload == {"job": "rollup"}
    assert found["Daily0200"].cron is not None and found["Daily0200"].payload == {"job": "rollup-daily"}
    assert found["Daily0200"].function == "RollupFunction"


def test_scheduler_invokes_due_functions_with_the_input() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    now = [at("2026-11-22T01:59:30").timestamp()]
    entry = Schedule("RollupFunction", "Daily0200", "cron(0 2 * * ? *)", {"job": "rollup-daily"})
    scheduler = Scheduler([entry], lambda fn, event: calls.append((fn, event)), clock=lambda: now[0])
    assert scheduler.tick() == []
    now[0] += 45
    assert [e.name for e in scheduler.tick()] == ["Daily0200"]
    for thread in list(__import__("threading").enumerate()):
        if thread.name == "job-Daily0200":
            thread.join(5)
    assert calls == [("RollupFunction", {"job": "rollup-daily", "source": "liveops.local.scheduler"})]
