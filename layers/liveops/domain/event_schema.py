"""Per-event validation against an app's taxonomy, compiled once per config for the hot path.

Each event type becomes generated Python functions with straight-line checks (the approach of
fastjsonschema): several times faster than a closure per field, which matters at 500 events a
batch. Two per type:
- `compile_event`: the reference. Reports every problem of a payload, with its code and message.
- `compile_fast_check`: the happy path. One combined condition per field and no messages; it
  returns the payload split into `nums` and `attrs`, or None whenever it is not sure, and the
  caller then asks the reference. It never accepts what the reference refuses (a test checks it).
Both sort valid fields into `nums` (integer, number, boolean) and `attrs` (string), the two maps
the lake stores, so the writer never has to inspect payload values.
Field names are restricted by the config model to [a-z][a-z0-9_]*, so they are safe to inline;
enum sets, bounds and messages are passed as constants, never formatted into the source.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the config models load with the first app config, not with the handler
    from liveops.models.app_config import AppConfig, EventSpec, FieldSpec

FLOAT_SAFE_INT = 2**53
# validate(payload, nums, attrs) -> None when valid (nums/attrs filled), else [(code, message), ...]
EventValidator = Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], "list[tuple[str, str]] | None"]
# check(payload) -> (nums, attrs) when surely valid, else None (ask the EventValidator)
FastCheck = Callable[[dict[str, Any]], "tuple[dict[str, Any], dict[str, Any]] | None"]


def _field_lines(index: int, name: str, spec: FieldSpec, consts: dict[str, Any]) -> list[str]:
    """An if/elif chain for one field: the first failing check reports, else the value is kept."""

    def report(code: str, message: str) -> str:
        key = f"M{len(consts)}"
        consts[key] = (code, f"payload.{name}: {message}")
        return f"    found.append({key})"

    def const(prefix: str, value: Any) -> str:
        consts[f"{prefix}{index}"] = value
        return f"{prefix}{index}"

    lines = [
        f"v = p.get({name!r})",
        "if v is None:",
        report("missing_field", "required") if spec.required else "    pass",
    ]
    if spec.type == "string":
        lines += ["elif type(v) is not str:", report("invalid_type", "must be a string")]
        if spec.max_length is not None:
            lines += [
                f"elif len(v) > {int(spec.max_length)}:",
                report("invalid_value", f"longer than {spec.max_length} chars"),
            ]
    elif spec.type == "boolean":
        lines += ["elif type(v) is not bool:", report("invalid_type", "must be a boolean")]
    elif spec.type == "integer":
        # the lake keeps numbers as doubles: integers beyond 2^53 would silently lose digits
        lines += [
            "elif type(v) is not int:",
            report("invalid_type", "must be an integer"),
            "elif not -FLOAT_SAFE_INT <= v <= FLOAT_SAFE_INT:",
            report("invalid_value", "must be at most 2^53 in magnitude"),
        ]
    else:
        lines += [
            "elif type(v) is not float and type(v) is not int:",
            report("invalid_type", "must be a number"),
            "elif type(v) is float and not isfinite(v):",
            report("invalid_value", "must be a finite number"),
            "elif type(v) is int and not -FLOAT_SAFE_INT <= v <= FLOAT_SAFE_INT:",
            report("invalid_value", "must be at most 2^53 in magnitude"),
        ]
    if spec.enum is not None:
        listing = ", ".join(map(str, spec.enum))
        lines += [
            f"elif v not in {const('E', frozenset(spec.enum))}:",
            report("invalid_value", f"must be one of {listing}"),
        ]
    if spec.min is not None:
        lines += [f"elif v < {const('LO', spec.min)}:", report("invalid_value", f"must be >= {spec.min:g}")]
    if spec.max is not None:
        lines += [f"elif v > {const('HI', spec.max)}:", report("invalid_value", f"must be <= {spec.max:g}")]
    target = "attrs" if spec.type == "string" else "nums"
    lines += ["else:", f"    {target}[{name!r}] = v"]
    return lines


def compile_event(spec: EventSpec) -> EventValidator:
    consts: dict[str, Any] = {
        "FLOAT_SAFE_INT": FLOAT_SAFE_INT,
        "isfinite": math.isfinite,
        "FIELDS": frozenset(spec.fields),
    }
    lines = [
        "def validate(p, nums, attrs):",
        "    found = []",
        "    if not p.keys() <= FIELDS:",
        "        for k in p:",
        "            if k not in FIELDS:",
        "                found.append(('unknown_field', f'payload.{k}: not a field of this event type'))",
    ]
    for index, (name, field) in enumerate(spec.fields.items()):
        lines += [f"    {line}" for line in _field_lines(index, name, field, consts)]
    lines.append("    return found or None")
    namespace = dict(consts)
    exec(compile("\n".join(lines), f"<taxonomy {sorted(spec.fields)}>", "exec"), namespace)
    validate: EventValidator = namespace["validate"]
    return validate


def compile_taxonomy(config: AppConfig) -> dict[str, EventValidator]:
    return {event_type: compile_event(spec) for event_type, spec in config.events.items()}


def _bounds(spec: FieldSpec) -> tuple[float, float]:
    """The accepted range of a numeric field, with the 2^53 limit folded in. For integers the
    bounds become integers (an int compares faster with an int, and v >= 1.5 is v >= 2)."""
    low = -FLOAT_SAFE_INT if spec.min is None else max(spec.min, -FLOAT_SAFE_INT)
    high = FLOAT_SAFE_INT if spec.max is None else min(spec.max, FLOAT_SAFE_INT)
    if spec.type == "integer":
        return math.ceil(low), math.floor(high)
    return low, high


def _fast_condition(index: int, spec: FieldSpec, consts: dict[str, Any]) -> str:
    """One expression, true only for a value the reference validator accepts as present.

    Conservative on purpose: a float beyond 2^53 in a number field or a NaN fails it although
    the first is valid; the reference then decides."""
    v = f"v{index}"
    if spec.type == "boolean":
        return f"type({v}) is bool"
    if spec.type == "string":
        if spec.enum is not None:  # allowed values that also fit max_length
            consts[f"E{index}"] = frozenset(
                e for e in spec.enum if spec.max_length is None or len(str(e)) <= spec.max_length
            )
            return f"type({v}) is str and {v} in E{index}"
        if spec.max_length is not None:
            return f"type({v}) is str and len({v}) <= {int(spec.max_length)}"
        return f"type({v}) is str"
    low, high = _bounds(spec)
    if spec.type == "integer":
        if spec.enum is not None:  # allowed values that are also within the bounds
            consts[f"E{index}"] = frozenset(e for e in spec.enum if isinstance(e, int) and low <= e <= high)
            return f"type({v}) is int and {v} in E{index}"
        consts[f"LO{index}"], consts[f"HI{index}"] = low, high
        return f"type({v}) is int and LO{index} <= {v} <= HI{index}"
    # number: bounds are finite, so NaN and infinities fail the comparison
    consts[f"LO{index}"], consts[f"HI{index}"] = low, high
    return f"(type({v}) is float or type({v}) is int) and LO{index} <= {v} <= HI{index}"


def _no_fields(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    return None if payload else ({}, {})


def compile_fast_check(spec: EventSpec) -> FastCheck:
    """The happy path of `compile_event` (see the module docstring).

    Two tiers: every field present (one itemgetter call, one combined condition, the two maps
    built as literals), else fields looked up one by one. A payload with a null or unknown key
    fails the key count and goes to the reference."""
    fields = list(spec.fields.items())
    if not fields:
        return _no_fields
    consts: dict[str, Any] = {}
    conditions = [_fast_condition(i, field, consts) for i, (_, field) in enumerate(fields)]
    names = [f"v{i}" for i in range(len(fields))]
    nums = [(name, names[i]) for i, (name, field) in enumerate(fields) if field.type != "string"]
    attrs = [(name, names[i]) for i, (name, field) in enumerate(fields) if field.type == "string"]

    def literal(pairs: list[tuple[str, str]]) -> str:
        return "{" + ", ".join(f"{name!r}: {var}" for name, var in pairs) + "}"

    consts["ALL"] = itemgetter(*(name for name, _ in fields))
    lines = [
        "def check(p):",
        "    try:",
        f"        {', '.join(names)} = ALL(p)",  # itemgetter of one name returns the bare value
        "    except KeyError:",
        "        return some(p)",
        f"    if len(p) == {len(fields)} and " + " and ".join(f"({c})" for c in conditions) + ":",
        f"        return {literal(nums)}, {literal(attrs)}",
        "    return some(p)",
        "",
        "def some(p):",
        "    nums = {}",
        "    attrs = {}",
    ]
    for i, (name, field) in enumerate(fields):
        target = "attrs" if field.type == "string" else "nums"
        lines.append(f"    {names[i]} = p.get({name!r})")
        if field.required:
            lines += [
                f"    if not ({conditions[i]}):",
                "        return None",
                f"    {target}[{name!r}] = {names[i]}",
            ]
        else:
            lines += [
                f"    if {names[i]} is not None:",
                f"        if not ({conditions[i]}):",
                "            return None",
                f"        {target}[{name!r}] = {names[i]}",
            ]
    lines += ["    if len(p) != len(nums) + len(attrs):", "        return None", "    return nums, attrs"]
    namespace = dict(consts)
    exec(compile("\n".join(lines), f"<fast check {sorted(spec.fields)}>", "exec"), namespace)
    check: FastCheck = namespace["check"]
    return check


def compile_fast_checks(config: AppConfig) -> dict[str, FastCheck]:
    return {event_type: compile_fast_check(spec) for event_type, spec in config.events.items()}
