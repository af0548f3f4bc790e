"""`liveops export`, `liveops jobs run retention` and `liveops storage` against moto: the CLI's
summary, exit codes and files, S3 uploads into the lake's exports/ and their pruning."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveops import aws, wiring
from liveops.cli.main import build_parser
from liveops.models.app_config import load_app_config
from liveops.services.apps import apply_config
from tests.integration.conftest import GAME_CONFIG, AwsStack

APP = "test-game"


def cli(*argv: str) -> int:
    """Run a command as `liveops` would once connected (the stack fixture is the connection)."""
    args = build_parser().parse_args(list(argv))
    return int(args.run(args))


@pytest.fixture
def app(stack: AwsStack) -> str:
    config = {**GAME_CONFIG, "retention": {"exports_days": 3}}
    apply_config(wiring.apps_store(), load_app_config(config))
    return APP


def export_args(out: Path, *extra: str) -> list[str]:
    today = datetime.now(UTC).date()
    return [
        "export",
        "--app",
        APP,
        "--from",
        (today - timedelta(days=7)).isoformat(),
        "--to",
        today.isoformat(),
        "--out",
        str(out),
        *extra,
    ]


def lake_keys(stack: AwsStack, prefix: str) -> list[str]:
    found = aws.client("s3").list_objects_v2(Bucket=stack.env["LAKE_BUCKET"], Prefix=prefix)
    return sorted(o["Key"] for o in found.get("Contents", []))


def test_export_to_files_and_the_lake_then_retention_prunes_the_upload(
    stack: AwsStack, app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, meta = tmp_path / "artifacts" / "telemetry", tmp_path / "ci.json"
    lake = stack.env["LAKE_BUCKET"]
    status = cli(*export_args(out, "--s3", f"s3://{lake}/exports", "--ci-metadata", str(meta)))
    summary = json.loads(capsys.readouterr().out)
    assert status == 0 and summary["status"] == "ok", summary
    document = next(a for a in summary["artifacts"] if a["writer"] == "json")
    tables = json.loads(Path(document["path"]).read_text())["tables"]
    assert {"overview", "kpis", "timeseries", "incidents"} <= set(tables)
    csvs = [a for a in summary["artifacts"] if a["writer"] == "csv"]
    assert {a["table"] for a in csvs} == set(tables)
    uploaded = lake_keys(stack, f"exports/app_id={APP}/")
    assert len(uploaded) == 1 + len(tables)
    assert all(f"/{summary['export_id']}/" in key for key in uploaded)
    metadata = json.loads(meta.read_text())
    assert metadata["status"] == "ok" and len(metadata["artifacts"]) == 1 + len(tables)
    assert all((out / a["relative_path"]).is_file() for a in metadata["artifacts"])

    # the uploads live under exports/app_id=/dt=<today>/: kept at the edge, deleted a day later
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    job = wiring.retention_job(clock=lambda: (today + timedelta(days=3, hours=23)).timestamp())
    assert job.run(APP)["apps"][APP]["categories"]["exports"]["deleted"]["objects"] == 0
    job = wiring.retention_job(clock=lambda: (today + timedelta(days=4)).timestamp())
    entry = job.run(APP)["apps"][APP]["categories"]["exports"]
    assert entry["deleted"]["objects"] == len(uploaded) and lake_keys(stack, "exports/") == []


def test_unreachable_bucket_fails_only_the_s3_writer(
    stack: AwsStack, app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    status = cli(
        *export_args(out, "--s3", "s3://no-such-bucket-here/x", "--ci-metadata", str(tmp_path / "m.json"))
    )
    summary = json.loads(capsys.readouterr().out)
    assert status == 1 and summary["status"] == "failed"
    assert {f["writer"] for f in summary["failures"]} == {"s3"}
    assert all("NoSuchBucket" in f["message"] for f in summary["failures"])
    assert len(list(out.iterdir())) == len([a for a in summary["artifacts"] if a["writer"] != "s3"]) > 1
    assert json.loads((tmp_path / "m.json").read_text())["status"] == "failed"


BAD_ARGUMENTS = [
    (["--app", "Not An App"], "is not an app id"),
    (["--from", "2026-02-30"], "not an ISO 8601"),
    (["--from", "2020-01-01"], "more than 120 days"),
    (["--format", "parquet"], "unknown format parquet"),
    (["--out", "../outside"], "contains '..'"),
]


def test_bad_arguments_exit_2_and_write_nothing(
    stack: AwsStack, app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, fragment in BAD_ARGUMENTS:  # one stack for every case: each changes nothing
        base = export_args(tmp_path / "out", "--ci-metadata", str(tmp_path / "m.json"))
        for option, value in zip(argv[::2], argv[1::2], strict=True):
            if option in base:
                base[base.index(option) + 1] = value
            else:
                base += [option, value]
        assert cli(*base) == 2, argv
        captured = capsys.readouterr()
        assert captured.out == "" and fragment in captured.err and captured.err.startswith("error: "), argv
        assert list(tmp_path.iterdir()) == [], argv


def test_an_aws_error_while_collecting_still_prints_the_summary_and_writes_the_ci_metadata(
    stack: AwsStack, app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = aws.client("s3")
    lake = stack.env["LAKE_BUCKET"]
    for key in lake_keys(stack, ""):
        s3.delete_object(Bucket=lake, Key=key)
    s3.delete_bucket(Bucket=lake)  # every read of the figures now fails with NoSuchBucket
    out, meta, outputs = tmp_path / "out", tmp_path / "ci" / "m.json", tmp_path / "gh"
    status = cli(*export_args(out, "--ci-metadata", str(meta), "--github-output", str(outputs)))
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert status == 1 and summary["status"] == "failed" and summary["artifacts"] == []
    (failure,) = summary["failures"]
    assert failure["writer"] == "collect" and "NoSuchBucket" in failure["message"]
    assert "NoSuchBucket" in captured.err
    metadata = json.loads(meta.read_text())
    assert metadata["status"] == "failed" and metadata["failures"] == summary["failures"]
    assert "failure_count=1" in outputs.read_text()
    assert not out.exists()


def test_an_unknown_app_exits_2_with_the_summary_and_no_artifact(
    stack: AwsStack, app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = export_args(tmp_path / "out", "--ci-metadata", str(tmp_path / "m.json"))
    args[args.index("--app") + 1] = "nope-app"
    assert cli(*args) == 2
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["failures"] == [{"writer": "collect", "artifact": None, "message": "no app 'nope-app'"}]
    assert "no app 'nope-app'" in captured.err
    assert json.loads((tmp_path / "m.json").read_text())["status"] == "failed"
    assert not (tmp_path / "out").exists()


def test_jobs_run_retention_and_storage_commands(
    stack: AwsStack, app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key = f"exports/app_id={APP}/dt=2020-01-01/e1/x.json"
    aws.client("s3").put_object(Bucket=stack.env["LAKE_BUCKET"], Key=key, Body=b"{}")
    assert cli("jobs", "run", "retention", "--app", APP, "--dry-run") == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True
    assert report["apps"][APP]["categories"]["exports"]["deleted"]["partitions"] == ["dt=2020-01-01"]
    assert lake_keys(stack, "exports/") == [key]
    assert cli("jobs", "run", "retention", "--app", APP) == 0
    capsys.readouterr()
    assert lake_keys(stack, "exports/") == []
    assert cli("storage", "--app", APP) == 0
    storage = json.loads(capsys.readouterr().out)
    assert storage["last_cleanup"]["dry_run"] is False
    assert storage["last_cleanup"]["categories"]["exports"]["deleted"]["objects"] == 1
    # the dry run before it is shown apart, not lost and not in the way
    assert storage["last_dry_run"] == report["apps"][APP]
    # every retention category, wherever it is stored
    assert {c["category"] for c in storage["categories"]} >= {
        "raw_events",
        "rollup_hourly",
        "rollup_daily",
        "span_daily",
        "exports",
        "assignments_export",
        "incidents",
        "assignments",
        "archive",
    }
    assert cli("storage", "--app", "nope-app") == 1
