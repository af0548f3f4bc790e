"""Per-event validation against an app's taxonomy: the reference that words every rejection.

Each event type becomes a generated Python function with straight-line checks (the approach of
fastjsonschema), several times faster than a closure per field: it reports every problem of a
payload with its code and message. Whole valid batches do not come here: the app's msgspec
decoder (domain/batch_decoder.py) checks them in C, and sends here only what it is not sure of.
Field names are restricted by the config model to [a-z][a-z0-9_]*, so they are safe to inline;
enum sets, bounds and messages are passed as constants, never formatted into the source.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the config models load with the first app config, not with the handler
    from liveops.models.app_config import AppConfig, EventSpec, FieldSpec

FLOAT_SAFE_INT = 2**53
# validate(payload) -> None when valid, else [(code, message), ...]
EventValidator = Callable[[dict[str, Any]], "list[tuple[str, str]] | None"]


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
    return lines


def compile_event(spec: EventSpec) -> EventValidator:
    consts: dict[str, Any] = {
        "FLOAT_SAFE_INT": FLOAT_SAFE_INT,
        "isfinite": math.isfinite,
        "FIELDS": frozenset(spec.fields),
    }
    lines = [
        "def validate(p):",
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
