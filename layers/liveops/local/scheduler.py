"""Fires the template's Schedule events locally (moto cannot), with the same inputs.

Supports EventBridge `rate(N minute|minutes|hour|hours|day|days)` and
`cron(minutes hours day-of-month month day-of-week year)` (UTC; `*`, `?`, lists, ranges, steps,
month and weekday names; day-of-week 1-7 = SUN-SAT as in EventBridge).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from liveops.local.template import functions

logger = Logger(service="liveops-local")
MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
WEEKDAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


class ScheduleError(ValueError):
    """An expression this scheduler does not understand."""


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """The allowed values of one cron field; None means any."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.upper().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            first, last = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _value(a, names), _value(b, names)
        else:
            first = _value(part, names)
            last = high if step > 1 else first
        if not low <= first <= high or not low <= last <= high:
            raise ScheduleError(f"{text!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text in names:
        return names[text]
    return int(text)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None
    years: frozenset[int] | None

    @classmethod
    def parse(cls, body: str) -> Cron:
        parts = body.split()
        if len(parts) != 6:
            raise ScheduleError(f"cron needs 6 fields, got {body!r}")
        return cls(
            _field(parts[0], 0, 59),
            _field(parts[1], 0, 23),
            _field(parts[2], 1, 31),
            _field(parts[3], 1, 12, MONTHS),
            _field(parts[4], 1, 7, WEEKDAYS),
            _field(parts[5], 1970, 2199),
        )

    def matches(self, moment: datetime) -> bool:
        weekday = moment.isoweekday() % 7 + 1  # Sunday = 1
        return all(
            allowed is None or value in allowed
            for allowed, value in (
                (self.minutes, moment.minute),
                (self.hours, moment.hour),
                (self.days, moment.day),
                (self.months, moment.month),
                (self.weekdays, weekday),
                (self.years, moment.year),
            )
        )


@dataclass
class Schedule:
    function: str
    name: str
    expression: str
    payload: dict[str, Any]
    cron: Cron | None = None
    every_seconds: int | None = None
    next_rate: float = 0.0
    last_minute: int = -1

    def __post_init__(self) -> None:
        found = re.fullmatch(r"(rate|cron)\((.*)\)", self.expression.strip())
        if found is None:
            raise ScheduleError(f"unsupported schedule {self.expression!r}")
        kind, body = found.groups()
        if kind == "cron":
            self.cron = Cron.parse(body)
        else:
            amount, unit = body.split()
            if unit not in UNITS:
                raise ScheduleError(f"unsupported rate unit {unit!r}")
            self.every_seconds = int(amount) * UNITS[unit]

    def due(self, now: float) -> bool:
        if self.every_seconds is not None:
            if not self.next_rate:
                self.next_rate = now + self.every_seconds
            if now >= self.next_rate:
                self.next_rate += self.every_seconds
                return True
            return False
        minute = int(now // 60)
        if minute == self.last_minute or self.cron is None:
            return False
        if self.cron.matches(datetime.fromtimestamp(minute * 60, UTC)):
            self.last_minute = minute
            return True
        return False


def schedules(template: dict[str, Any]) -> list[Schedule]:
    found = []
    for spec in functions(template):
        for name, event in spec.events.items():
            if event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            props = event.get("Properties", {})
            expression = props.get("Schedule") or props.get("ScheduleExpression")
            payload = json.loads(props.get("Input", "{}"))
            found.append(Schedule(spec.logical_id, name, expression, payload))
    return found


@dataclass
class Scheduler:
    entries: list[Schedule]
    invoke: Callable[[str, dict[str, Any]], Any]
    clock: Callable[[], float] = time.time
    stop_event: threading.Event = field(default_factory=threading.Event)
    fired: list[tuple[str, float]] = field(default_factory=list)

    def tick(self) -> list[Schedule]:
        now = self.clock()
        due = [entry for entry in self.entries if entry.due(now)]
        for entry in due:
            self.fired.append((entry.name, now))
            threading.Thread(target=self._fire, args=(entry,), name=f"job-{entry.name}", daemon=True).start()
        return due

    def _fire(self, entry: Schedule) -> None:
        try:
            self.invoke(entry.function, {**entry.payload, "source": "liveops.local.scheduler"})
        except Exception:
            logger.exception("scheduled job failed", extra={"schedule": entry.name})

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            self.tick()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="scheduler", daemon=True)
        thread.start()
        return thread
