"""`liveops export` logic (liveops.exporters): request checks, artifacts, fan-out with failure
isolation, the summary, the CI metadata and step outputs. Figures are given; no AWS."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from liveops.errors import NotFound
from liveops.exporters.artifacts import Artifact, ExportError, check_s3_uri, stamp
from liveops.exporters.run import ExportRequest, run_export
from liveops.services.figures import Figures

START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
BASE = "web-qa_20261101_20261108"


def figures(tables: dict[str, list[dict[str, Any]]] | None = None) -> Figures:
    return Figures(
        app_id="web-qa",
        app_name="Web QA",
        start=START,
        end=END,
        generated_at=datetime(2026, 11, 30, 3, tzinfo=UTC),
        tables=tables
        if tables is not None
        else {
            "kpis": [{"kpi": "win_rate", "numerator": 3, "denominator": 4, "value": 0.75}],
            "funnels": [{"funnel": "play", "step": 0, "name": "=cmd()", "units": 10}],
        },
    )


def request(tmp_path: Path, **overrides: Any) -> ExportRequest:
    args: dict[str, Any] = {
        "app": "web-qa",
        "start": "2026-11-01",
        "end": "2026-11-08",
        "formats": "json,csv",
        "out": str(tmp_path / "out"),
        "max_range_days": 120,
        **overrides,
    }
    return ExportRequest.parse(**args)


@dataclass
class MemoryS3:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def put_object(self, **kwargs: Any) -> None:
        self.objects[f"{kwargs['Bucket']}/{kwargs['Key']}"] = kwargs


class BrokenWriter:
    name = "broken"

    def accepts(self, artifact: Artifact) -> bool:
        return True

    def write(self, artifact: Artifact) -> dict[str, Any]:
        raise OSError("disk on fire")


def test_export_writes_every_artifact_and_summarises(tmp_path: Path) -> None:
    s3 = MemoryS3()
    req = request(tmp_path, s3="s3://ci-bucket/runs/42", ci_metadata=str(tmp_path / "meta" / "ci.json"))
    summary, status = run_export(req, lambda app, s, e: figures(), max_rows=1000, s3=lambda: s3)
    assert status == 0 and summary["status"] == "ok" and summary["failures"] == []
    out = tmp_path / "out"
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{BASE}.json", f"{BASE}_funnels.csv", f"{BASE}_kpis.csv"]
    umask = os.umask(0)
    os.umask(umask)
    assert {(out / name).stat().st_mode & 0o777 for name in names} == {0o666 & ~umask}  # not mkstemp's 0600
    document = json.loads((out / f"{BASE}.json").read_text())
    assert document["app"] == "web-qa" and document["tables"]["kpis"][0]["value"] == 0.75
    csv_text = (out / f"{BASE}_funnels.csv").read_text()
    # the funnel table's known columns, in order (cells the rows lack stay empty)
    assert (
        csv_text.splitlines()[0] == "funnel,by,step,name,units,conversion_from_start,conversion_from_previous"
    )
    assert "'=cmd()" in csv_text  # a cell a spreadsheet would run is neutralised by render_csv
    files = [a for a in summary["artifacts"] if a["writer"] in ("json", "csv")]
    uploads = [a for a in summary["artifacts"] if a["writer"] == "s3"]
    assert len(files) == 3 and len(uploads) == 3
    for artifact in files:
        body = Path(artifact["path"]).read_bytes()
        assert artifact["bytes"] == len(body) and artifact["sha256"] == hashlib.sha256(body).hexdigest()
        assert artifact["seconds"] >= 0 and artifact["relative_path"] == Path(artifact["path"]).name
    day = summary["generated_at"][:10]
    for upload in uploads:
        assert upload["uri"].startswith(
            f"s3://ci-bucket/runs/42/app_id=web-qa/dt={day}/{summary['export_id']}/"
        )
    assert len(s3.objects) == 3
    assert set(summary["timings"]["writers_seconds"]) == {"json", "csv", "s3"}
    assert summary["from"] == "2026-11-01T00:00:00Z" and summary["to"] == "2026-11-08T00:00:00Z"

    metadata = json.loads((tmp_path / "meta" / "ci.json").read_text())
    assert metadata["format"] == "liveops-export-ci/1" and metadata["status"] == "ok"
    assert (metadata["app"], metadata["from"], metadata["to"]) == ("web-qa", summary["from"], summary["to"])
    assert sorted(a["relative_path"] for a in metadata["artifacts"]) == names
    assert metadata["out_dir"] == str(out.resolve()) and len(metadata["uploads"]) == 3


def test_one_failing_writer_does_not_stop_the_others(tmp_path: Path) -> None:
    class Refusing(MemoryS3):
        def put_object(self, **kwargs: Any) -> None:
            raise ConnectionError("S3 unreachable")

    req = request(tmp_path, s3="s3://ci-bucket", ci_metadata=str(tmp_path / "ci.json"))
    summary, status = run_export(
        req, lambda app, s, e: figures(), max_rows=1000, s3=lambda: Refusing(), extra_writers=[BrokenWriter()]
    )
    assert status == 1 and summary["status"] == "failed"
    assert len([a for a in summary["artifacts"] if a["writer"] in ("json", "csv")]) == 3
    writers = sorted({f["writer"] for f in summary["failures"]})
    assert writers == ["broken", "s3"]
    assert all(f["artifact"] and f["message"] for f in summary["failures"])
    assert "S3 unreachable" in summary["failures"][0]["message"] + summary["failures"][-1]["message"]
    metadata = json.loads((tmp_path / "ci.json").read_text())
    assert metadata["status"] == "failed" and len(metadata["failures"]) == len(summary["failures"])
    assert len(metadata["artifacts"]) == 3 and metadata["uploads"] == []


def test_an_s3_client_that_cannot_be_built_is_a_writer_failure(tmp_path: Path) -> None:
    def no_client() -> Any:
        raise RuntimeError("no credentials")

    summary, status = run_export(
        request(tmp_path, s3="s3://b-1"), lambda a, s, e: figures(), 1000, s3=no_client
    )
    assert status == 1 and summary["failures"] == [
        {"writer": "s3", "artifact": None, "message": "RuntimeError: no credentials"}
    ]
    assert len(summary["artifacts"]) == 3


def test_a_failing_file_write_leaves_no_partial_file(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    blocker = tmp_path / "out" / f"{BASE}_kpis.csv"
    blocker.mkdir()  # a directory where the file should go: that one write fails
    summary, status = run_export(request(tmp_path), lambda a, s, e: figures(), 1000)
    assert status == 1
    assert [f["artifact"] for f in summary["failures"]] == [f"{BASE}_kpis.csv"]
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert (tmp_path / "out" / f"{BASE}_funnels.csv").exists()


def test_formats_choose_the_writers(tmp_path: Path) -> None:
    summary, _ = run_export(request(tmp_path, formats="csv"), lambda a, s, e: figures(), 1000)
    assert {a["format"] for a in summary["artifacts"]} == {"csv"}
    summary, _ = run_export(request(tmp_path, formats=" JSON "), lambda a, s, e: figures(), 1000)
    assert [a["name"] for a in summary["artifacts"]] == [f"{BASE}.json"]


def test_github_output_lines(tmp_path: Path) -> None:
    outputs = tmp_path / "gh_output"
    outputs.write_text("earlier=1\n")
    req = request(tmp_path, ci_metadata=str(tmp_path / "ci.json"), github_output=str(outputs))
    summary, _ = run_export(req, lambda a, s, e: figures(), 1000)
    lines = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert lines["earlier"] == "1" and lines["status"] == "ok" and lines["artifact_count"] == "3"
    assert lines["failure_count"] == "0" and lines["metadata"] == str(tmp_path / "ci.json")
    assert lines["out_dir"] == summary["out_dir"] and lines["export_id"] == summary["export_id"]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"start": "yesterday"}, "not an ISO 8601"),
        ({"end": "2026-13-01"}, "not an ISO 8601"),
        ({"start": "2026-11-08", "end": "2026-11-01"}, "later than --from"),
        ({"start": "2026-11-08", "end": "2026-11-08"}, "later than --from"),
        ({"start": "2026-01-01", "end": "2026-11-08"}, "more than 120 days"),
        ({"formats": "json,xml"}, "unknown format xml"),
        ({"formats": ","}, "unknown format"),
        ({"app": "../etc"}, "not an app id"),
        ({"out": "../escape"}, "contains '..'"),
        ({"out": "artifacts/../../escape"}, "contains '..'"),
        ({"out": "bad\nname"}, "control characters"),
        ({"out": "  "}, "empty"),
        ({"ci_metadata": "../ci.json"}, "contains '..'"),
        ({"s3": "https://bucket/x"}, "not s3://"),
        ({"s3": "s3://Bad_Bucket/x"}, "not s3://"),
        ({"s3": "s3://bucket/a/../b"}, "'..'"),
    ],
)
def test_bad_requests_are_refused(tmp_path: Path, overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ExportError, match=fragment.replace("(", r"\(")):
        request(tmp_path, **overrides)
    assert not (tmp_path / "out").exists()


def test_out_must_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="not a directory"):
        request(tmp_path, out=str(tmp_path / "file"))
    with pytest.raises(ExportError, match="is a directory"):
        request(tmp_path, ci_metadata=str(tmp_path))


def test_unknown_app_and_unsafe_table_names_write_no_artifact_but_the_summary(tmp_path: Path) -> None:
    def unknown(app: str, start: datetime, end: datetime) -> Figures:
        raise NotFound(f"no app {app!r}", code="unknown_app")

    cases: list[tuple[Any, int, str, str]] = [
        (unknown, 1000, "collect", "no app 'web-qa'"),
        (lambda a, s, e: figures({"../../etc/passwd": []}), 1000, "artifacts", "unsafe file name"),
        (lambda a, s, e: figures({"kpis": [{"v": 1}] * 3}), 2, "artifacts", "EXPORT_MAX_ROWS"),
    ]
    for collect, max_rows, stage, fragment in cases:
        meta = tmp_path / "ci.json"
        summary, status = run_export(request(tmp_path, ci_metadata=str(meta)), collect, max_rows)
        assert status == 2 and summary["status"] == "failed" and summary["artifacts"] == []
        (failure,) = summary["failures"]
        assert failure["writer"] == stage and fragment in failure["message"]
        assert json.loads(meta.read_text())["failures"] == summary["failures"]
    assert not (tmp_path / "out").exists()


class AwsDown(Exception):
    """Stands for botocore's ClientError / EndpointConnectionError: anything not a request error."""


@pytest.mark.parametrize("error", [AwsDown("AccessDenied on lake"), RuntimeError("boom"), KeyError("tables")])
def test_any_failure_collecting_the_figures_still_gives_the_summary_and_ci_files(
    tmp_path: Path, error: Exception
) -> None:
    def failing(app: str, start: datetime, end: datetime) -> Figures:
        raise error

    meta, outputs = tmp_path / "meta" / "ci.json", tmp_path / "gh-output"
    req = request(tmp_path, s3="s3://ci-bucket", ci_metadata=str(meta), github_output=str(outputs))
    summary, status = run_export(req, failing, 1000, s3=lambda: MemoryS3())
    assert status == 1 and summary["status"] == "failed" and summary["artifacts"] == []
    (failure,) = summary["failures"]
    assert failure == {"writer": "collect", "artifact": None, "message": f"{type(error).__name__}: {error}"}
    assert summary["timings"]["collect_seconds"] >= 0 and summary["export_id"]
    metadata = json.loads(meta.read_text())
    assert metadata["status"] == "failed" and metadata["failures"] == summary["failures"]
    assert "status=failed\n" in outputs.read_text() and "failure_count=1\n" in outputs.read_text()
    assert not (tmp_path / "out").exists()


def test_names_and_uris() -> None:
    assert stamp(datetime(2026, 11, 1, tzinfo=UTC)) == "20261101"
    assert stamp(datetime(2026, 11, 1, 3, 30, tzinfo=UTC)) == "20261101T033000Z"
    assert check_s3_uri("s3://lake-bucket/exports/") == ("lake-bucket", "exports")
    assert check_s3_uri("s3://lake-bucket") == ("lake-bucket", "")


def test_unreachable_s3_endpoint_is_isolated(tmp_path: Path) -> None:
    import socket

    import boto3
    from botocore.config import Config

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    summary, status = run_export(
        request(tmp_path, s3="s3://ci-bucket"), lambda a, s, e: figures(), 1000, s3=lambda: client
    )
    assert status == 1
    assert {f["writer"] for f in summary["failures"]} == {"s3"} and len(summary["failures"]) == 3
    assert "EndpointConnectionError" in summary["failures"][0]["message"]
    assert len(list((tmp_path / "out").iterdir())) == 3
