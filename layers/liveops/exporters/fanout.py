"""Every writer gets its artifacts; an exception is recorded (writer, artifact, message) and the
rest carries on, so one failing writer (or file) never stops the others."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from liveops.exporters.artifacts import Artifact
from liveops.exporters.writers import Writer


@dataclass
class FanOutResult:
    written: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # writer -> wall time


def message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def fan_out(artifacts: Sequence[Artifact], writers: Sequence[Writer]) -> FanOutResult:
    result = FanOutResult()
    for writer in writers:
        started = time.perf_counter()
        for artifact in artifacts:
            if not writer.accepts(artifact):
                continue
            began = time.perf_counter()
            try:
                where = writer.write(artifact)
            except Exception as exc:  # isolation: record and go on with the next artifact/writer
                result.failures.append(
                    {"writer": writer.name, "artifact": artifact.name, "message": message(exc)}
                )
                continue
            result.written.append(
                {
                    "writer": writer.name,
                    "name": artifact.name,
                    "format": artifact.format,
                    "table": artifact.table,
                    **where,
                    "bytes": len(artifact.body),
                    "sha256": artifact.sha256,
                    "seconds": round(time.perf_counter() - began, 6),
                }
            )
        result.seconds[writer.name] = round(time.perf_counter() - started, 6)
    return result
