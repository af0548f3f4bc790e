"""Retention and CI exports against `liveops dev` (real process, real HTTP): the scheduled job's
entry, a dry run then a run from the CLI, the report over /v1/metrics/storage and `liveops
storage`, and `liveops export` writing files, S3 uploads and the CI metadata."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveops.cli.http_client import JsonClient
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e
APP = "web-qa"


def test_retention_from_the_cli_and_its_report_over_http(running_stack: RunningStack) -> None:
    assert running_stack.info["schedules"]["Daily0300"] == "cron(0 3 * * ? *)"
    s3, bucket = running_stack.aws("s3"), running_stack.info["lake_bucket"]
    old = f"exports/app_id={APP}/dt=2020-01-01/e-old/summary.json"
    s3.put_object(Bucket=bucket, Key=old, Body=b"{}")

    dry = running_stack.cli("jobs", "run", "retention", "--app", APP, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)["apps"][APP]
    assert report["dry_run"] is True and report["status"] == "ok", report
    assert report["categories"]["exports"]["deleted"]["partitions"] == ["dt=2020-01-01"]
    assert "would delete" in dry.stderr  # progress
    assert s3.list_objects_v2(Bucket=bucket, Prefix=old)["KeyCount"] == 1

    run = running_stack.cli("jobs", "run", "retention", "--app", APP)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["apps"][APP]["categories"]["exports"]["deleted"]["objects"] == 1
    assert s3.list_objects_v2(Bucket=bucket, Prefix=old)["KeyCount"] == 0

    viewer = JsonClient(
        running_stack.info["api_url"], {"authorization": f"Bearer {running_stack.info['tokens']['viewer']}"}
    )
    status, _, body = viewer.request("GET", f"/v1/metrics/storage?app={APP}")
    assert status == 200, body
    assert body["last_cleanup"]["dry_run"] is False
    assert body["last_cleanup"]["categories"]["exports"]["deleted"]["objects"] == 1
    assert body["last_dry_run"] == report  # the dry run is kept beside the real cleanup
    assert {"incidents", "assignments", "archive", "exports"} <= {c["category"] for c in body["categories"]}
    shown = running_stack.cli("storage", "--app", APP)
    assert shown.returncode == 0 and json.loads(shown.stdout)["last_cleanup"] == body["last_cleanup"]


def test_export_for_ci(running_stack: RunningStack, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    out, meta = tmp_path / "artifacts", tmp_path / "ci.json"
    lake = running_stack.info["lake_bucket"]
    args = [
        "export",
        "--app",
        APP,
        "--from",
        str(today - timedelta(days=6)),
        "--to",
        str(today + timedelta(days=1)),
    ]
    done = running_stack.cli(
        *args, "--out", str(out), "--s3", f"s3://{lake}/exports", "--ci-metadata", str(meta)
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "ok" and summary["failures"] == []
    metadata = json.loads(meta.read_text())
    assert {a["relative_path"] for a in metadata["artifacts"]} == {p.name for p in out.iterdir()}
    assert len(metadata["uploads"]) == len(metadata["artifacts"]) > 1

    refused = running_stack.cli(*args[:-2], "--to", "not-a-date", "--out", str(tmp_path / "never"))
    assert refused.returncode == 2 and "not an ISO 8601" in refused.stderr and refused.stdout == ""
    assert not (tmp_path / "never").exists()
