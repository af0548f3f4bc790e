"""Per-event validation against an app's taxonomy, compiled once per config for the hot path."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from liveops.models.app_config import AppConfig, FieldSpec

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# a check returns None when the value is fine, else (code, message)
Check = Callable[[Any], "tuple[str, str] | None"]


def _type_check(spec: FieldSpec) -> Check:
    kind = spec.type
    if kind == "string":

        def check(value: Any) -> tuple[str, str] | None:
            return None if type(value) is str else ("invalid_type", "must be a string")

    elif kind == "boolean":

        def check(value: Any) -> tuple[str, str] | None:
            return None if type(value) is bool else ("invalid_type", "must be a boolean")

    elif kind == "integer":

        def check(value: Any) -> tuple[str, str] | None:
            if type(value) is not int:
                return ("invalid_type", "must be an integer")
            if not INT64_MIN <= value <= INT64_MAX:
                return ("invalid_value", "must fit in a signed 64-bit integer")
            return None

    else:

        def check(value: Any) -> tuple[str, str] | None:
            kind_of = type(value)
            if kind_of is float:
                return None if math.isfinite(value) else ("invalid_value", "must be a finite number")
            if kind_of is int:
                return None if abs(value) <= 2**53 else ("invalid_value", "must be at most 2^53 in magnitude")
            return ("invalid_type", "must be a number")

    return check


def _compile_field(spec: FieldSpec) -> Check:
    type_check = _type_check(spec)
    extra: list[Check] = []
    if spec.enum is not None:
        allowed = frozenset(spec.enum)
        listing = ", ".join(map(str, spec.enum))
        extra.append(lambda v: None if v in allowed else ("invalid_value", f"must be one of {listing}"))
    if spec.min is not None:
        low = spec.min
        extra.append(lambda v: None if v >= low else ("invalid_value", f"must be >= {low:g}"))
    if spec.max is not None:
        high = spec.max
        extra.append(lambda v: None if v <= high else ("invalid_value", f"must be <= {high:g}"))
    if spec.max_length is not None:
        longest = spec.max_length
        extra.append(
            lambda v: None if len(v) <= longest else ("invalid_value", f"longer than {longest} chars")
        )
    if not extra:
        return type_check

    def check(value: Any) -> tuple[str, str] | None:
        problem = type_check(value)
        if problem is not None:
            return problem
        for more in extra:
            problem = more(value)
            if problem is not None:
                return problem
        return None

    return check


@dataclass(frozen=True, slots=True)
class EventValidator:
    checks: dict[str, Check]
    required: frozenset[str]

    def problems(self, payload: dict[str, Any]) -> list[tuple[str, str]]:
        """(code, message) for each problem of the payload; empty when it is valid."""
        found: list[tuple[str, str]] = []
        checks = self.checks
        for name, value in payload.items():
            check = checks.get(name)
            if check is None:
                found.append(("unknown_field", f"payload.{name}: not a field of this event type"))
            elif value is not None:
                problem = check(value)
                if problem is not None:
                    found.append((problem[0], f"payload.{name}: {problem[1]}"))
        for name in self.required:
            if payload.get(name) is None:
                found.append(("missing_field", f"payload.{name}: required"))
        return found


def compile_taxonomy(config: AppConfig) -> dict[str, EventValidator]:
    return {
        event_type: EventValidator(
            checks={name: _compile_field(field) for name, field in spec.fields.items()},
            required=frozenset(name for name, field in spec.fields.items() if field.required),
        )
        for event_type, spec in config.events.items()
    }
