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
from liveops.local.fake_discord import FakeDiscord
from liveops.local.gateway import dashboard_handler
from liveops.models.app_config import load_app_config
from liveops.services.apps import apply_config, create_key
from liveops.settings import get_settings
from liveops.storage.site_bucket import SiteBucket
from tests.integration.conftest import AwsStack
from tests.integration.test_discord_worker import ALERTS, DISCORD
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
    would; with `fail_restore`, also fails any second write of a key ending in it (putting back
    what a failed switch replaced); records the upload order."""

    def __init__(self, base: SiteBucket, fail_on: str | None, fail_restore: str | None = None) -> None:
        super().__init__(base._s3, base.bucket, base._archive_page)
        self.fail_on = fail_on
        self.fail_restore = fail_restore
        self.keys: list[str] = []

    def put(self, key: str, body: bytes, content_type: str, cache_control: str) -> None:
        if self.fail_on is not None and key.endswith(self.fail_on):
            raise ConnectionError("injected upload failure")
        if self.fail_restore is not None and key.endswith(self.fail_restore) and key in self.keys:
            raise ConnectionError("injected restore failure")
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


SWITCH_OBJECTS = ("archive/index.json", "archive/index.html", "index.html", "current.json")
# every step of a publish: files of the new snapshot (its page: `Z/index.html`, the snapshot id
# ends in Z), then each switch object (the app's own page: `<app>/index.html`)
FAIL_ON = [
    "Z/index.html",
    "/data.json",
    "/csv/kpis.csv",
    *SWITCH_OBJECTS[:2],
    f"{APP}/index.html",
    "current.json",
]


def _switch_state(objects: dict[str, bytes]) -> dict[str, bytes | None]:
    return {name: objects.get(f"apps/{APP}/{name}") for name in SWITCH_OBJECTS}


@pytest.mark.parametrize("fail_on", FAIL_ON)
def test_a_failed_publish_leaves_the_previous_dashboard_whole_and_opens_an_incident(
    stack: AwsStack, published_app: str, fail_on: str
) -> None:
    clock = ticking(NOW)
    assert publish_job(clock).run(APP, {})["apps"][APP]["status"] == "ok"
    before = site_objects(stack)

    site = FailingSite(wiring.site_bucket(), fail_on)
    report = publish_job(clock, site).run(APP, {})

    result = report["apps"][APP]
    assert result["status"] == "failed" and "injected upload failure" in result["error"]
    assert result["live"] == "previous" and "new_objects" not in result
    after = site_objects(stack)
    # every object that names a snapshot is back as it was: the previous dashboard, whole
    assert _switch_state(after) == _switch_state(before)
    pointer = json.loads(after[f"apps/{APP}/current.json"])
    assert all(f"apps/{APP}/{f}" in after for f in pointer["files"])
    wrote_a_switch_object = any(key.endswith(SWITCH_OBJECTS[0]) for key in site.keys)
    new_keys = set(after) - set(before)
    if wrote_a_switch_object:
        # a pointer named the new snapshot for a moment: it stays, complete, for whoever followed it
        assert {key.split("/")[2] for key in new_keys} == {"archive"}
        (snapshot,) = {key.split("/")[3] for key in new_keys}
        assert f"apps/{APP}/archive/{snapshot}/data.json" in new_keys
        assert f"apps/{APP}/archive/{snapshot}/index.html" in new_keys
    else:
        assert after == before  # nothing changed; the partial snapshot removed
    assert set(before) <= set(after) and all(after[k] == before[k] for k in before)
    incidents = wiring.incident_service().list(APP, status="new")
    assert [(i.source, i.severity, i.incident_id) for i in incidents] == [
        ("publish", "critical", result["incident_id"])
    ]
    assert "the previous dashboard is still served unchanged" in incidents[0].summary


def test_a_switch_whose_restore_fails_reports_exactly_what_readers_see(
    stack: AwsStack, published_app: str
) -> None:
    clock = ticking(NOW)
    first = publish_job(clock).run(APP, {})["apps"][APP]["snapshot"]
    # current.json fails, then putting the previous page back fails too
    site = FailingSite(wiring.site_bucket(), "current.json", fail_restore=f"{APP}/index.html")
    result = publish_job(clock, site).run(APP, {})["apps"][APP]

    assert result["status"] == "failed" and result["live"] == "partial"
    assert result["new_objects"] == ["archive/index.json", "archive/index.html", "index.html"]
    assert "injected restore failure" in result["restore_error"]
    objects = site_objects(stack)
    index = json.loads(objects[f"apps/{APP}/archive/index.json"])
    second = index["snapshots"][0]["id"]
    assert second != first and [s["id"] for s in index["snapshots"]] == [second, first]
    # the page shows the new snapshot, complete; current.json still the previous one, complete
    assert f'href="archive/{second}/data.json"'.encode() in objects[f"apps/{APP}/index.html"]
    pointer = json.loads(objects[f"apps/{APP}/current.json"])
    assert pointer["snapshot"] == first and all(f"apps/{APP}/{f}" in objects for f in pointer["files"])
    assert f"apps/{APP}/archive/{second}/data.json" in objects
    (incident,) = wiring.incident_service().list(APP, status="new")
    assert incident.incident_id == result["incident_id"]
    assert "only partly switched" in incident.summary and "index.html" in incident.summary

    # the next publish repairs it: every switch object names its snapshot
    third = publish_job(clock).run(APP, {})["apps"][APP]
    objects = site_objects(stack)
    assert json.loads(objects[f"apps/{APP}/current.json"])["snapshot"] == third["snapshot"]
    assert f"archive/{third['snapshot']}/data.json".encode() in objects[f"apps/{APP}/index.html"]


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


def test_a_failed_publish_notifies_the_alert_channel_and_fails_the_invocation(
    stack: AwsStack, published_app: str, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = wiring.apps_store()
    config, _ = store.get_config(APP)
    apply_config(store, load_app_config({**config.model_dump(mode="json"), "discord": DISCORD}))
    monkeypatch.setattr(SiteBucket, "upload_snapshot", _raise)

    # the handler fails the invocation: the function's Errors count it (PublishErrorsAlarm)
    with pytest.raises(RuntimeError, match="publish failed"):
        stack.function("PublishFunction").invoke({"job": "publish", "app_id": APP})

    (incident,) = wiring.incident_service().list(APP, status="new")
    assert incident.source == "publish" and incident.severity == "critical"
    posts = [
        call
        for call in fake_discord.calls
        if call.method == "POST" and call.path == f"/api/v10/channels/{ALERTS}/messages"
    ]
    assert len(posts) == 1 and "could not be published" in json.dumps(posts[0].json)
    assert incident.discord_message_id is not None and not incident.notification_pending
    assert site_objects(stack) == {}


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


class BrokenFigures:
    def collect(self, app_id: str, start: datetime, end: datetime) -> Any:
        raise ConnectionError("injected lake failure")


def test_a_failed_dry_run_reports_but_opens_no_incident(stack: AwsStack, published_app: str) -> None:
    job = PublishJob(wiring.apps_store(), BrokenFigures(), wiring.site_bucket(), wiring.incident_service)
    result = job.run(APP, {"dry_run": True})["apps"][APP]
    assert result["status"] == "failed" and "injected lake failure" in result["error"]
    assert "incident_id" not in result and wiring.incident_service().list(APP) == []
    result = job.run(APP, {})["apps"][APP]  # a real run that fails the same way pages
    assert result["status"] == "failed" and result["incident_id"]


def test_unknown_app_is_a_clear_error(stack: AwsStack) -> None:
    with pytest.raises(JobError, match="unknown app"):
        wiring.job("publish")("no-such-app", {})


def test_k_anonymity_applies_to_the_published_figures(
    stack: AwsStack, published_app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_KANON_MIN", "50")

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


@pytest.mark.parametrize("kanon", [12, 13])
def test_the_uploaded_dashboard_holds_no_group_under_k(
    stack: AwsStack, published_app: str, monkeypatch: pytest.MonkeyPatch, kanon: int
) -> None:
    """What readers download (data.json, every CSV, the page): with 12 players, k = 12 shows the
    win rate, k = 13 leaves out every group, in every file."""
    monkeypatch.setenv("METRICS_KANON_MIN", str(kanon))

    get_settings.cache_clear()
    wiring.reset()
    report = stack.function("PublishFunction").invoke({"job": "publish", "app_id": APP})
    assert report["apps"][APP]["status"] == "ok", report
    base = f"apps/{APP}/archive/{report['apps'][APP]['snapshot']}/"
    objects = site_objects(stack)
    data = json.loads(objects[base + "data.json"])
    csvs = {key: objects[key].decode() for key in objects if key.startswith(base + "csv/")}
    page = objects[f"apps/{APP}/index.html"].decode()
    win_rate = f"{8 / 12:.4f}"[:5]  # 0.666 however it is rounded
    # incident counts are no user figures; SLO rows are checked below
    shown = [name for name, rows in data["tables"].items() if rows and name not in ("slo", "incident_stats")]
    if kanon == 12:
        assert {"kpis", "timeseries", "funnels", "spans"} <= set(shown), shown
        assert win_rate in json.dumps(data["tables"]["kpis"]) and "win_rate" in csvs[base + "csv/kpis.csv"]
        return
    assert shown == [], {name: data["tables"][name] for name in shown}
    assert data["suppressed"]["kpis"] >= 1 and data["suppressed"]["timeseries"] >= 1
    for key, text in csvs.items():
        if not key.endswith(("incident_stats.csv", "slo.csv")):
            assert len(text.strip().splitlines()) <= 1, (key, text)  # the header only
    assert win_rate not in page and "66.7" not in page
    slo = data["tables"]["slo"]
    assert all(row["status"] not in ("ok", "breached") for row in slo), slo
