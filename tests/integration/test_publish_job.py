"""The publish job against moto: events -> rollups -> dashboard, data and archive in the site bucket."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from liveops import aws, wiring
from liveops.jobs import JobError
from liveops.jobs.publish import PublishJob
from liveops.local.gateway import dashboard_handler
from liveops.models.app_config import load_app_config
from liveops.services.apps import apply_config, create_key
from liveops.storage.site_bucket import SiteBucket
from tests.integration.conftest import AwsStack
from tests.integration.test_rollup_jobs import CONFIG, drain_to_lake, runs, send

APP = "jobs-game"
NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)


@pytest.fixture
def published_app(stack: AwsStack) -> str:
    """The rollup tests' app, with thresholds, 12 players' runs rolled up (k-anonymity needs 10)."""
    config = {
        **CONFIG,
        "thresholds": [
            {
                "id": "slow-runs",
                "metric": "run_ms.avg",
                "op": ">",
                "value": 1.0,
                "severity": "warning",
                "notify": [],
            },
            {
                "id": "wins",
                "metric": "win_rate",
                "op": "<",
                "value": 0.1,
                "severity": "critical",
                "notify": [],
            },
        ],
        "retention": {"archive_snapshots_keep": 2},
    }
    store = wiring.apps_store()
    apply_config(store, load_app_config(config))
    key = create_key(store, APP).api_key
    for player in range(12):
        send(
            key,
            runs(NOW - timedelta(days=1, hours=2), 3, f"p{player}", "win" if player % 3 else "loss"),
            f"p{player}",
        )
    drain_to_lake(stack)
    for job in ("rollup", "rollup-daily"):
        report = wiring.job(job)(APP, {})
        assert report["apps"][APP]["status"] == "ok", report
    return APP


def site_objects(stack: AwsStack) -> dict[str, bytes]:
    s3 = aws.client("s3")
    bucket = stack.env["SITE_BUCKET"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def publish_job(clock: Callable[[], datetime], site: SiteBucket | None = None) -> PublishJob:
    return PublishJob(
        wiring.apps_store(), wiring.figures(), site or wiring.site_bucket(), wiring.incident_service, clock
    )


def ticking(start: datetime) -> Callable[[], datetime]:
    moments = iter(start + timedelta(minutes=i) for i in range(1000))
    return lambda: next(moments)


def test_publish_uploads_the_dashboard_its_data_and_a_snapshot(stack: AwsStack, published_app: str) -> None:
    report = stack.function("PublishFunction").invoke({"job": "publish", "app_id": APP})
    assert report["apps"][APP]["status"] == "ok", report
    snapshot = report["apps"][APP]["snapshot"]
    objects = site_objects(stack)
    base = f"apps/{APP}/archive/{snapshot}/"
    for path in ("index.html", "data.json", "csv/kpis.csv", "csv/timeseries.csv", "csv/funnels.csv"):
        assert base + path in objects
    for path in ("index.html", "current.json", "archive/index.json", "archive/index.html"):
        assert f"apps/{APP}/{path}" in objects
    data = json.loads(objects[base + "data.json"])
    assert data["app"] == APP
    assert {r["kpi"] for r in data["tables"]["kpis"]} == {"win_rate"}
    assert data["tables"]["kpis"][0]["value"] == pytest.approx(8 / 12)
    assert {r["status"] for r in data["tables"]["slo"]} == {"breached", "ok"}
    assert data["tables"]["funnels"] and data["tables"]["spans"]
    page = objects[f"apps/{APP}/index.html"].decode()
    assert "<svg" in page and f'href="archive/{snapshot}/data.json"' in page
    pointer = json.loads(objects[f"apps/{APP}/current.json"])
    assert pointer["snapshot"] == snapshot and all(f"apps/{APP}/{f}" in objects for f in pointer["files"])
    index = json.loads(objects[f"apps/{APP}/archive/index.json"])
    assert [s["id"] for s in index["snapshots"]] == [snapshot]

    serve = dashboard_handler(wiring.site_bucket)
    status, headers, body = serve("/dashboard/")
    assert status == 200 and f'href="{APP}/"' in body.decode()
    status, headers, body = serve(f"/dashboard/{APP}/")
    assert status == 200 and headers["content-type"].startswith("text/html") and body.decode() == page
    status, headers, _ = serve(f"/dashboard/{APP}/archive/{snapshot}/data.json")
    assert status == 200 and headers["content-type"] == "application/json"
    assert serve(f"/dashboard/{APP}")[0] == 301
    assert serve(f"/dashboard/{APP}/../secrets")[0] == 404
    assert serve("/dashboard/no-such-app/")[0] == 404


def test_the_archive_keeps_the_newest_n_snapshots(stack: AwsStack, published_app: str) -> None:
    job = publish_job(ticking(NOW))
    ids = [job.run(APP, {})["apps"][APP]["snapshot"] for _ in range(4)]
    index = json.loads(site_objects(stack)[f"apps/{APP}/archive/index.json"])
    assert [s["id"] for s in index["snapshots"]] == [ids[3], ids[2]]  # keep: 2, newest first
    prefixes = {key.split("/")[3] for key in site_objects(stack) if key.count("/") >= 4}
    assert prefixes == {ids[3], ids[2]}
    assert wiring.site_bucket().prune_archive(APP, 1, dry_run=True)[0] > 0
    assert len(json.loads(site_objects(stack)[f"apps/{APP}/archive/index.json"])["snapshots"]) == 2


class FailingSite(SiteBucket):
    """Fails the upload of the first key ending in `fail_on`, as a throttled or lost S3 call
    would; records the upload order."""

    def __init__(self, base: SiteBucket, fail_on: str | None) -> None:
        super().__init__(base._s3, base.bucket, base._archive_page)
        self.fail_on = fail_on
        self.keys: list[str] = []

    def put(self, key: str, body: bytes, content_type: str, cache_control: str) -> None:
        if self.fail_on is not None and key.endswith(self.fail_on):
            raise ConnectionError("injected upload failure")
        self.keys.append(key)
        super().put(key, body, content_type, cache_control)


def test_the_switch_objects_are_written_after_everything_they_name(
    stack: AwsStack, published_app: str
) -> None:
    site = FailingSite(wiring.site_bucket(), None)
    report = publish_job(ticking(NOW), site).run(APP, {})
    snapshot = report["apps"][APP]["snapshot"]
    names = [key.removeprefix(f"apps/{APP}/") for key in site.keys]
    assert names[-2:] == ["index.html", "current.json"]
    assert names[-4:-2] == ["archive/index.json", "archive/index.html"]
    assert all(name.startswith(f"archive/{snapshot}/") for name in names[:-4])


# a file of the new snapshot; the archive index (the last write before the switch)
@pytest.mark.parametrize("fail_on", ["/data.json", "archive/index.json"])
def test_a_failed_publish_leaves_the_previous_dashboard_whole_and_opens_an_incident(
    stack: AwsStack, published_app: str, fail_on: str
) -> None:
    clock = ticking(NOW)
    assert publish_job(clock).run(APP, {})["apps"][APP]["status"] == "ok"
    before = site_objects(stack)

    report = publish_job(clock, FailingSite(wiring.site_bucket(), fail_on)).run(APP, {})

    result = report["apps"][APP]
    assert result["status"] == "failed" and "injected upload failure" in result["error"]
    assert site_objects(stack) == before  # nothing half-updated, the partial snapshot removed
    pointer = json.loads(before[f"apps/{APP}/current.json"])
    assert all(f"apps/{APP}/{f}" in before for f in pointer["files"])
    incidents = wiring.incident_service().list(APP, status="new")
    assert [(i.source, i.severity, i.incident_id) for i in incidents] == [
        ("publish", "critical", result["incident_id"])
    ]


def cli(*argv: str) -> int:
    """`liveops jobs run ...` against this process's (moto) deployment."""
    from liveops.cli.jobs import run_job

    args = {"app": None, "engine": None, "dry_run": False, "name": argv[0]}
    for flag, value in zip(argv[1::2], argv[2::2], strict=False):
        args[flag.removeprefix("--").replace("-", "_")] = value
    if "--dry-run" in argv:
        args["dry_run"] = True
    return run_job(argparse.Namespace(**args))


def test_a_failed_publish_via_the_cli_exits_non_zero(
    stack: AwsStack, published_app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SiteBucket, "upload_snapshot", _raise)
    assert cli("publish", "--app", APP) == 1
    assert site_objects(stack) == {}


def _raise(*args: Any, **kwargs: Any) -> int:
    raise ConnectionError("injected upload failure")


def test_dry_run_renders_and_lists_but_uploads_nothing(
    stack: AwsStack, published_app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("publish", "--app", APP, "--dry-run") == 0
    report = json.loads(capsys.readouterr().out)
    result = report["apps"][APP]
    assert report["dry_run"] is True and result["status"] == "ok" and result["bytes"] > 0
    assert "index.html" in result["files"] and any(f.endswith("/data.json") for f in result["files"])
    assert site_objects(stack) == {}
    assert wiring.incident_service().list(APP) == []


def test_unknown_app_is_a_clear_error(stack: AwsStack) -> None:
    with pytest.raises(JobError, match="unknown app"):
        wiring.job("publish")("no-such-app", {})


def test_k_anonymity_applies_to_the_published_figures(
    stack: AwsStack, published_app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_KANON_MIN", "50")
    from liveops.settings import get_settings

    get_settings.cache_clear()
    wiring.reset()
    figures = wiring.figures().collect(APP, NOW - timedelta(days=7), NOW + timedelta(days=1))
    assert figures.tables["kpis"] == [] and figures.tables["timeseries"] == []
    assert figures.suppressed["kpis"] >= 1 and figures.suppressed["timeseries"] >= 1


def test_prune_archive_removes_old_snapshots_and_leftovers_but_not_newer_uploads(stack: AwsStack) -> None:
    site = wiring.site_bucket()
    app = "some-app"
    entries = [{"id": f"2026110{d}T000000Z", "generated_at": f"2026-11-0{d}"} for d in (5, 4, 3)]
    for snapshot in [*(e["id"] for e in entries), "20261102T000000Z", "20261109T000000Z"]:
        site.put(f"apps/{app}/archive/{snapshot}/index.html", b"x" * 10, "text/html", "no-cache")
    site.write_archive_index(app, "Some App", entries)

    assert site.prune_archive(app, 2, dry_run=True) == (2, 20)  # the 3rd snapshot, the leftover
    assert len(site.listing(f"apps/{app}/archive/")) == 7  # a dry run deletes nothing

    assert site.prune_archive(app, 2, dry_run=False) == (2, 20)
    left = {key.split("/")[3] for key, _ in site.listing(f"apps/{app}/archive/") if key.count("/") == 4}
    # 20261109: newer than the newest listed snapshot, maybe a publish in progress: kept
    assert left == {"20261105T000000Z", "20261104T000000Z", "20261109T000000Z"}
    assert [s["id"] for s in site.snapshots(app)] == ["20261105T000000Z", "20261104T000000Z"]
    assert b"20261103T000000Z" not in (site.get(f"apps/{app}/archive/index.html") or (b"", ""))[0]
    assert site.prune_archive(app, 2, dry_run=False) == (0, 0)
    assert site.prune_archive("never-published", 2, dry_run=False) == (0, 0)
