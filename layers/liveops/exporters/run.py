"""One export: check the request, collect the figures, build the artifacts, fan them out to every
writer, then write the CI metadata. A malformed request (ExportRequest.parse) writes nothing.
Once the request is sound, every outcome ends with the summary and the CI files: a failure while
collecting the figures (an unknown app, a range the metrics refuse, any AWS or other error) or
building the artifacts is reported in `failures` (writer `collect` or `artifacts`) and no artifact
is written; otherwise every writer runs whatever the others do."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from liveops.errors import BadRequest, NotFound
from liveops.exporters import ci
from liveops.exporters.artifacts import (
    Artifact,
    ExportError,
    FiguresLike,
    build_artifacts,
    check_local_path,
    check_s3_uri,
    parse_formats,
    parse_moment,
    stamp,
)
from liveops.exporters.fanout import FanOutResult, fan_out, message
from liveops.exporters.writers import FileWriter, S3Writer, Writer
from liveops.models.app_config import APP_ID_PATTERN

Collect = Callable[[str, datetime, datetime], FiguresLike]


@dataclass(frozen=True)
class ExportRequest:
    app_id: str
    start: datetime
    end: datetime
    formats: list[str]
    out_dir: Path
    s3: tuple[str, str] | None = None  # (bucket, key prefix)
    ci_metadata: Path | None = None
    github_output: Path | None = None

    @classmethod
    def parse(
        cls,
        *,
        app: str,
        start: str,
        end: str,
        formats: str,
        out: str,
        max_range_days: int,
        s3: str | None = None,
        ci_metadata: str | None = None,
        github_output: str | None = None,
    ) -> ExportRequest:
        """Every argument checked; ExportError says what is wrong."""
        if not re.fullmatch(APP_ID_PATTERN, app):
            raise ExportError(f"--app {app!r} is not an app id ([a-z0-9-], 3 to 40 characters)")
        first, last = parse_moment(start, "--from"), parse_moment(end, "--to")
        if last <= first:
            raise ExportError("--to must be later than --from (the range is [from, to))")
        if last - first > timedelta(days=max_range_days):
            raise ExportError(
                f"the range spans more than {max_range_days} days (METRICS_MAX_RANGE_DAYS); ask for less"
            )
        out_dir = check_local_path(out, "--out")
        if out_dir.exists() and not out_dir.is_dir():
            raise ExportError(f"--out {out!r} exists and is not a directory")
        metadata = check_local_path(ci_metadata, "--ci-metadata") if ci_metadata is not None else None
        outputs = check_local_path(github_output, "--github-output") if github_output is not None else None
        for path, option in ((metadata, "--ci-metadata"), (outputs, "--github-output")):
            if path is not None and path.is_dir():
                raise ExportError(f"{option} {str(path)!r} is a directory; name a file")
        return cls(
            app_id=app,
            start=first,
            end=last,
            formats=parse_formats(formats),
            out_dir=out_dir,
            s3=check_s3_uri(s3) if s3 is not None else None,
            ci_metadata=metadata,
            github_output=outputs,
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


EXIT_OK, EXIT_FAILED, EXIT_BAD_REQUEST = 0, 1, 2


def run_export(
    request: ExportRequest,
    collect: Collect,
    max_rows: int,
    s3: Callable[[], Any] | None = None,
    extra_writers: list[Writer] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[dict[str, Any], int]:
    """(the summary, the exit status: 0 when every writer succeeded; 2 when the app is unknown or
    the request is refused (range, EXPORT_MAX_ROWS, table names); 1 for any other failure)."""
    began = time.perf_counter()
    failures: list[dict[str, Any]] = []
    refused = False
    figures: FiguresLike | None = None
    artifacts: list[Artifact] = []
    stage = "collect"
    try:
        figures = collect(request.app_id, request.start, request.end)
        stage = "artifacts"
        artifacts = build_artifacts(figures, request.formats, max_rows)
    except (NotFound, BadRequest, ExportError) as exc:  # the request named no app, or asks too much
        refused = True
        failures.append({"writer": stage, "artifact": None, "message": str(exc)})
    except Exception as exc:  # an AWS error (or any other): reported like a writer's failure
        failures.append({"writer": stage, "artifact": None, "message": message(exc)})
    collected = time.perf_counter()
    generated = clock()
    export_id = f"{stamp(generated.replace(microsecond=0))}-{uuid.uuid4().hex[:8]}"

    result = FanOutResult()
    if not failures:
        writers: list[Writer] = [FileWriter(fmt, request.out_dir) for fmt in request.formats]
        if request.s3 is not None:
            bucket, prefix = request.s3
            key_prefix = (
                f"{prefix + '/' if prefix else ''}app_id={request.app_id}/dt={generated.date()}/{export_id}/"
            )
            try:
                writers.append(S3Writer(s3() if s3 is not None else None, bucket, key_prefix))
            except Exception as exc:
                failures.append({"writer": "s3", "artifact": None, "message": message(exc)})
        writers += extra_writers or []
        result = fan_out(artifacts, writers)
        failures = result.failures + failures

    summary: dict[str, Any] = {
        "status": "failed" if failures else "ok",
        "app": request.app_id,
        "from": _iso(request.start),
        "to": _iso(request.end),
        "formats": request.formats,
        "export_id": export_id,
        "generated_at": _iso(generated),
        "out_dir": str(request.out_dir.resolve()),
        "artifacts": result.written,
        "failures": failures,
        "suppressed": dict(getattr(figures, "suppressed", None) or {}),
        "ci_metadata": str(request.ci_metadata) if request.ci_metadata else None,
        "timings": {
            "collect_seconds": round(collected - began, 6),
            "writers_seconds": result.seconds,
        },
    }
    _write_ci_files(request, summary)
    summary["timings"]["total_seconds"] = round(time.perf_counter() - began, 6)
    if refused:
        return summary, EXIT_BAD_REQUEST
    return summary, EXIT_FAILED if summary["failures"] else EXIT_OK


def _write_ci_files(request: ExportRequest, summary: dict[str, Any]) -> None:
    """The metadata file and the step outputs, each isolated like a writer."""
    if request.ci_metadata is not None:
        try:
            request.ci_metadata.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(ci.ci_metadata(summary), indent=2, ensure_ascii=False) + "\n"
            request.ci_metadata.write_text(text, encoding="utf-8")
        except Exception as exc:
            summary["failures"].append({"writer": "ci-metadata", "artifact": None, "message": message(exc)})
            summary["status"] = "failed"
    if request.github_output is not None:
        try:
            metadata = str(request.ci_metadata) if request.ci_metadata else None
            with request.github_output.open("a", encoding="utf-8") as stream:
                stream.write(ci.github_output(summary, metadata))
        except Exception as exc:
            summary["failures"].append({"writer": "github-output", "artifact": None, "message": message(exc)})
            summary["status"] = "failed"
