"""The retention job against moto: lake partitions (S3 + Glue), assignments, incidents, archive;
boundaries per category, dry run, disabled apps, failure isolation, the recorded report and its
serving by /v1/metrics/storage."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from liveops import aws, wiring
from liveops.domain.retention import LAKE_CATEGORIES, PartitionId
from liveops.models.app_config import load_app_config
from liveops.models.metrics import StorageOut
from liveops.rollups.schema import ASSIGNMENTS
from liveops.services.apps import apply_config
from liveops.services.tokens import create_token
from liveops.storage.assignments_store import AssignmentsStore
from liveops.storage.catalog import PartitionCatalog
from liveops.storage.tokens_store import TokensStore
from tests.integration.conftest import GAME_CONFIG, AwsStack
from tests.integration.helpers import Api

APP = "keep-game"
RETENTION = {
    "raw_events_days": 3,
    "rollup_hourly_days": 5,
    "rollup_daily_days": 10,
    "spans_days": 7,
    "incidents_days": 30,
    "assignments_days": 2,
    "archive_snapshots_keep": 2,
    "exports_days": 4,
}
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # the scheduled time: 03:00 UTC
BODY = b"x" * 64


class FakeIncidents:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, datetime, bool]] = []
        self.fail = fail

    def prune(self, app_id: str, before: datetime, dry_run: bool) -> tuple[int, int]:
        self.calls.append((app_id, before, dry_run))
        if self.fail:
            raise RuntimeError("incidents table unreachable")
        return 3, 300

    def usage(self, app_id: str) -> tuple[int, int]:
        return 5, 500


class FakeArchive:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bool]] = []

    def prune_archive(self, app_id: str, keep: int, dry_run: bool) -> tuple[int, int]:
        self.calls.append((app_id, keep, dry_run))
        return 4, 4000

    def archive_usage(self, app_id: str) -> dict[str, int]:
        return {"snapshots": 2, "objects": 6, "bytes": 6000}


def apply(app_id: str = APP, **retention: Any) -> None:
    config = {**GAME_CONFIG, "app_id": app_id, "retention": {**RETENTION, **retention}}
    apply_config(wiring.apps_store(), load_app_config(config))


def build(
    now: datetime = NOW, incidents: FakeIncidents | None = None, archive: FakeArchive | None = None
) -> Any:
    job = wiring.retention_job(clock=lambda: now.timestamp())
    # the real incident service and site bucket are other helpers' work, tested there
    job._incidents = lambda: incidents or FakeIncidents()
    job._archive = lambda: archive or FakeArchive()
    return job


def s3_keys(stack: AwsStack, prefix: str) -> set[str]:
    pages = (
        aws.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=stack.env["LAKE_BUCKET"], Prefix=prefix)
    )
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


def glue_values(stack: AwsStack, table: str) -> set[tuple[str, ...]]:
    catalog = PartitionCatalog(aws.client("glue"), stack.env["GLUE_DATABASE"], table)
    return {tuple(v) for v in catalog.partitions(f"app_id = '{APP}'")}


def put_partition(stack: AwsStack, category_name: str, partition: PartitionId, app_id: str = APP) -> str:
    """One object in the partition (and its Glue partition when the category has a table)."""
    category = next(c for c in LAKE_CATEGORIES if c.name == category_name)
    base = category.prefix(app_id) + partition.label() + "/"
    key = base + ("e-1/summary.json" if category.glue_table is None else "part-0.parquet")
    aws.client("s3").put_object(Bucket=stack.env["LAKE_BUCKET"], Key=key, Body=BODY)
    if category.glue_table is not None:
        catalog = PartitionCatalog(aws.client("glue"), stack.env["GLUE_DATABASE"], category.glue_table)
        catalog.register([(partition.glue_values(app_id), f"s3://{stack.env['LAKE_BUCKET']}/{base}")])
    return key


def edge_cases() -> dict[str, tuple[list[PartitionId], list[PartitionId]]]:
    """category -> (partitions just inside the window: kept, just outside: deleted)."""
    cases: dict[str, tuple[list[PartitionId], list[PartitionId]]] = {}
    for category in LAKE_CATEGORIES:
        days = RETENTION[category.setting]
        edge = (NOW - timedelta(days=days)).date()
        before = edge - timedelta(days=1)
        if category.hourly:
            # the cutoff is 03:00 of the edge day: hour 02 ends exactly there, hour 03 holds it
            cases[category.name] = (
                [PartitionId(edge, 3), PartitionId(edge, 23), PartitionId(NOW.date(), 2)],
                [PartitionId(edge, 2), PartitionId(edge, 0), PartitionId(before, 23)],
            )
        else:
            cases[category.name] = ([PartitionId(edge), PartitionId(NOW.date())], [PartitionId(before)])
    return cases


@pytest.fixture
def lake(stack: AwsStack) -> dict[str, tuple[set[str], set[str]]]:
    """The app applied and partitions at every category's boundary: category -> (kept keys, doomed keys)."""
    apply()
    apply("other-game")
    written: dict[str, tuple[set[str], set[str]]] = {}
    for name, (kept, doomed) in edge_cases().items():
        written[name] = (
            {put_partition(stack, name, p) for p in kept},
            {put_partition(stack, name, p) for p in doomed},
        )
        # another app's old partitions are not this app's business
        put_partition(stack, name, doomed[0], app_id="other-game")
    return written


def test_boundaries_per_lake_category(stack: AwsStack, lake: dict[str, tuple[set[str], set[str]]]) -> None:
    report = build().run(APP)
    app = report["apps"][APP]
    assert app["status"] == "ok", app
    for category in LAKE_CATEGORIES:
        kept, doomed = lake[category.name]
        prefix = category.prefix(APP)
        assert s3_keys(stack, prefix) == kept, category.name
        entry = app["categories"][category.name]
        assert entry["deleted"]["objects"] == len(doomed)
        assert entry["deleted"]["bytes"] == len(doomed) * len(BODY)
        assert entry["stored"] == {"objects": len(kept), "bytes": len(kept) * len(BODY)}
        assert entry["retention_days"] == RETENTION[category.setting]
        assert len(entry["deleted"]["partitions"]) == len(doomed)
        # the other app keeps its old partition
        assert s3_keys(stack, category.prefix("other-game")), category.name
        if category.glue_table is not None:
            kept_parts, doomed_parts = edge_cases()[category.name]
            assert glue_values(stack, category.glue_table) == {tuple(p.glue_values(APP)) for p in kept_parts}
            assert entry["deleted"]["glue_partitions"] == len(doomed_parts)
    assert app["deleted"]["objects"] == sum(len(d) for _, d in lake.values()) + 3 + 4


def test_hour_partition_of_raw_events_at_the_exact_cutoff(stack: AwsStack) -> None:
    apply()
    edge = (NOW - timedelta(days=3)).date()
    at_cutoff = put_partition(stack, "raw_events", PartitionId(edge, 2))  # ends at 03:00 = cutoff
    holding = put_partition(stack, "raw_events", PartitionId(edge, 3))
    build(now=NOW - timedelta(seconds=1)).run(APP)  # a second earlier, hour 02 still holds the cutoff
    assert s3_keys(stack, "raw/events/") == {at_cutoff, holding}
    build(now=NOW).run(APP)
    assert s3_keys(stack, "raw/events/") == {holding}


def test_dry_run_lists_and_changes_nothing(
    stack: AwsStack, lake: dict[str, tuple[set[str], set[str]]]
) -> None:
    before = {c.name: s3_keys(stack, c.prefix(APP)) for c in LAKE_CATEGORIES}
    glue_before = {c.glue_table: glue_values(stack, c.glue_table) for c in LAKE_CATEGORIES if c.glue_table}
    incidents, archive = FakeIncidents(), FakeArchive()
    report = build(incidents=incidents, archive=archive).run(APP, dry_run=True)
    app = report["apps"][APP]
    assert report["dry_run"] is True and app["dry_run"] is True and app["status"] == "ok"
    assert {c.name: s3_keys(stack, c.prefix(APP)) for c in LAKE_CATEGORIES} == before
    assert {t: glue_values(stack, t) for t in glue_before} == glue_before
    for category in LAKE_CATEGORIES:
        kept, doomed = lake[category.name]
        entry = app["categories"][category.name]
        assert entry["deleted"]["objects"] == len(doomed)  # what would go
        assert entry["stored"]["objects"] == len(kept) + len(doomed)  # what is there now
    assert incidents.calls[0][2] is True and archive.calls == [(APP, 2, True)]
    # logged as a dry run: the last real cleanup (none yet) is not replaced
    assert wiring.job_state().last_run("retention-dry-run", APP) == app
    assert wiring.job_state().last_run("retention", APP) is None


def test_disabled_app_is_skipped_and_untouched(
    stack: AwsStack, lake: dict[str, tuple[set[str], set[str]]]
) -> None:
    apply(enabled=False)
    incidents = FakeIncidents()
    report = build(incidents=incidents).run()
    assert report["apps"][APP]["status"] == "skipped"
    assert "retention.enabled" in report["apps"][APP]["reason"]
    assert report["apps"]["other-game"]["status"] == "ok"  # every app when none is named
    for category in LAKE_CATEGORIES:
        kept, doomed = lake[category.name]
        assert s3_keys(stack, category.prefix(APP)) == kept | doomed
    assert [call[0] for call in incidents.calls] == ["other-game"]
    assert wiring.job_state().last_run("retention", APP)["status"] == "skipped"


def test_registered_partitions_without_files_are_removed(stack: AwsStack) -> None:
    apply()
    old = PartitionId(date(2026, 1, 1))
    catalog = PartitionCatalog(aws.client("glue"), stack.env["GLUE_DATABASE"], "rollup_daily")
    catalog.register([(old.glue_values(APP), "s3://nowhere/")])
    report = build().run(APP)
    entry = report["apps"][APP]["categories"]["rollup_daily"]
    assert entry["deleted"] == {
        "objects": 0,
        "bytes": 0,
        "glue_partitions": 1,
        "partitions": ["dt=2026-01-01"],
    }
    assert glue_values(stack, "rollup_daily") == set()


def test_incidents_and_archive_get_the_boundary_and_keep(stack: AwsStack) -> None:
    apply()
    incidents, archive = FakeIncidents(), FakeArchive()
    report = build(incidents=incidents, archive=archive).run(APP)
    # incidents resolved before the edge day (NOW - 30 days = 2026-10-31 03:00 -> day 2026-10-31 kept)
    assert incidents.calls == [(APP, datetime(2026, 10, 31, tzinfo=UTC), False)]
    assert archive.calls == [(APP, 2, False)]
    categories = report["apps"][APP]["categories"]
    assert categories["incidents"]["deleted"] == {"objects": 3, "bytes": 300}
    assert categories["incidents"]["stored"] == {"objects": 5, "bytes": 500}
    assert categories["incidents"]["unit"] == "items"
    assert categories["archive"]["deleted"] == {"objects": 4, "bytes": 4000}
    assert categories["archive"]["stored"] == {"snapshots": 2, "objects": 6, "bytes": 6000}


def test_a_failing_category_does_not_stop_the_others(stack: AwsStack) -> None:
    apply()
    doomed = put_partition(stack, "exports", PartitionId(date(2026, 1, 1)))
    report = build(incidents=FakeIncidents(fail=True)).run(APP)
    app = report["apps"][APP]
    assert app["status"] == "failed"
    assert "incidents table unreachable" in app["errors"]["incidents"]
    assert app["categories"]["incidents"]["status"] == "failed"
    assert app["categories"]["archive"]["deleted"]["objects"] == 4
    assert doomed not in s3_keys(stack, "exports/")
    assert wiring.job_state().last_run("retention", APP)["status"] == "failed"


def test_unknown_app_is_a_job_error(stack: AwsStack) -> None:
    from liveops.jobs import JobError

    with pytest.raises(JobError, match="no app"):
        build().run("nope-app")


# ---------------------------------------------------------------------------- assignments


def finished_experiment(experiment_id: str) -> None:
    store = wiring.liveops_store()
    variants = [{"id": v, "weight": 1, "parameters": {}} for v in ("a", "b")]
    store.put_experiment(
        APP,
        experiment_id,
        {
            "name": experiment_id,
            "start_at": "2026-01-01T00:00:00Z",
            "end_at": None,
            "config": {"variants": variants},
        },
    )
    store.set_status(APP, experiment_id, "running")
    store.set_status(APP, experiment_id, "finished")


def test_assignments_of_finished_experiments_go_after_their_retention(stack: AwsStack) -> None:
    apply()
    finished_experiment("old-exp")
    running = wiring.liveops_store()
    running.put_experiment(APP, "live-exp", {"name": "live", "config": {"variants": []}})
    running.set_status(APP, "live-exp", "running")
    store = AssignmentsStore(aws.client("dynamodb"), stack.env["ASSIGNMENTS_TABLE"])
    for user in range(30):
        store.put_if_absent(APP, "old-exp", f"u{user:02d}", "a")
        store.put_if_absent(APP, "live-exp", f"u{user:02d}", "b")
    rows = [("old-exp", "a", f"u{u:02d}") for u in range(30)] + [
        ("live-exp", "b", f"u{u:02d}") for u in range(30)
    ]
    export = pa.table(
        {
            "experiment_id": [r[0] for r in rows],
            "variant_id": [r[1] for r in rows],
            "user_hash": [r[2] for r in rows],
            "assigned_at": pa.array([0] * len(rows), pa.int64()).cast(ASSIGNMENTS.field("assigned_at").type),
        }
    )
    wiring.curated_lake().write_assignments(APP, export)
    finished_day = datetime.now(UTC).date()  # set_status stamps the real time
    at_edge = datetime.combine(finished_day + timedelta(days=2), datetime.min.time(), UTC) + timedelta(
        hours=23
    )
    report = build(now=at_edge).run(APP)
    entry = report["apps"][APP]["categories"]["assignments"]
    assert entry["deleted"]["objects"] == 0 and entry["deleted"]["experiments"] == []
    assert entry["stored"]["objects"] == 60
    assert len(store.export(APP, "old-exp")) == 30
    # a backstop TTL: the finished experiment's items expire when retention would delete them
    assert entry["ttl_set"] == 30
    until = int((datetime.combine(finished_day, datetime.min.time(), UTC) + timedelta(days=3)).timestamp())
    items = aws.client("dynamodb").scan(TableName=stack.env["ASSIGNMENTS_TABLE"])["Items"]
    assert {i["expires_at"]["N"] for i in items if i["pk"]["S"].endswith("#old-exp")} == {str(until)}
    assert build(now=at_edge).run(APP)["apps"][APP]["categories"]["assignments"]["ttl_set"] == 0

    dry = build(now=at_edge + timedelta(hours=1)).run(APP, dry_run=True)["apps"][APP]["categories"][
        "assignments"
    ]
    assert dry["deleted"]["objects"] == 30 and dry["deleted"]["export_rows"] == 30
    assert len(store.export(APP, "old-exp")) == 30

    report = build(now=at_edge + timedelta(hours=1)).run(APP)  # the finishing day is now wholly past
    entry = report["apps"][APP]["categories"]["assignments"]
    assert entry["deleted"]["experiments"] == ["old-exp"]
    assert entry["deleted"]["objects"] == 30 and entry["deleted"]["bytes"] > 0
    assert entry["deleted"]["export_rows"] == 30 and entry["deleted"]["export_bytes"] > 0
    assert entry["stored"]["objects"] == 30
    assert store.export(APP, "old-exp") == [] and len(store.export(APP, "live-exp")) == 30
    remaining = wiring.curated_lake().assignments(APP)
    assert set(remaining["experiment_id"].to_pylist()) == {"live-exp"} and remaining.num_rows == 30


# ---------------------------------------------------------------------------- report served


def test_report_is_served_by_the_storage_endpoint(
    stack: AwsStack, lake: dict[str, tuple[set[str], set[str]]]
) -> None:
    api = Api()
    token = create_token(TokensStore(aws.client("dynamodb"), stack.env["APPS_TABLE"]), "viewer").token
    headers = {"authorization": f"Bearer {token}"}
    status, _, answer = api.call("GET", f"/v1/metrics/storage?app={APP}", headers=headers)
    assert status == 200 and answer["last_cleanup"] is None
    report = build().run(APP)["apps"][APP]
    status, _, answer = api.call("GET", f"/v1/metrics/storage?app={APP}", headers=headers)
    assert status == 200, answer
    assert answer["last_cleanup"] == json.loads(json.dumps(report))
    by_category = {c["category"]: c for c in answer["categories"]}
    for name, (kept, _) in lake.items():
        assert by_category[name]["objects"] == len(kept)
        assert answer["last_cleanup"]["categories"][name]["stored"]["objects"] == len(kept)
    status, _, _ = api.call("GET", f"/v1/metrics/storage?app={APP}")
    assert status == 401


def test_lambda_handler_runs_the_scheduled_event(stack: AwsStack) -> None:
    apply()
    doomed = put_partition(stack, "exports", PartitionId(date(2020, 1, 1)))
    result = stack.function("RetentionFunction").invoke({"job": "retention", "app_id": APP, "dry_run": True})
    assert result["apps"][APP]["dry_run"] is True
    assert doomed in s3_keys(stack, "exports/")
    assert result["apps"][APP]["categories"]["exports"]["deleted"]["partitions"] == ["dt=2020-01-01"]


# ---------------------------------------------------------------------------- incidents, for real


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Incidents:
    """Incidents written through the real IncidentService at chosen moments."""

    def __init__(self) -> None:
        from liveops.services.incidents import IncidentService

        self.clock = Clock(datetime(2019, 1, 1, tzinfo=UTC))
        self.service = IncidentService(
            wiring.incidents_store(), wiring.apps_store(), wiring.discord_rest, self.clock
        )

    def opened(self, source: str, at: datetime) -> str:
        self.clock.at = at
        return self.service.open_job_incident(APP, source, f"{source} failed").incident_id

    def acknowledged(self, source: str, at: datetime) -> str:
        incident_id = self.opened(source, at)
        self.clock.at = at + timedelta(hours=1)
        self.service.acknowledge(APP, incident_id, by="test")
        return incident_id

    def resolved(self, source: str, at: datetime) -> str:
        incident_id = self.opened(source, at - timedelta(hours=5))
        self.clock.at = at
        self.service.resolve(APP, incident_id, by="test")
        return incident_id


def incident_ttls(stack: AwsStack) -> dict[str, int | None]:
    items = aws.client("dynamodb").scan(TableName=stack.env["INCIDENTS_TABLE"])["Items"]
    return {
        i["sk"]["S"].removeprefix("INC#"): int(i["expires_at"]["N"]) if "expires_at" in i else None
        for i in items
        if i["sk"]["S"].startswith("INC#")
    }


def stored_incident_ids() -> set[str]:
    return {i.incident_id for i in wiring.incident_service().list(APP, limit=1000)}


def test_incident_boundaries_and_ttl_against_the_incidents_table(stack: AwsStack) -> None:
    apply()  # incidents_days: 30; at NOW (2026-11-30 03:00) the first day kept is 2026-10-31
    made = Incidents()
    at_edge = made.resolved("edge", datetime(2026, 10, 31, 0, 0, tzinfo=UTC))  # the cutoff day's start
    late_edge = made.resolved("edge-late", datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC))
    day_before = made.resolved("day-before", datetime(2026, 10, 30, 23, 59, 59, tzinfo=UTC))
    old = made.resolved("old", datetime(2020, 1, 2, 12, tzinfo=UTC))
    still_open = made.opened("open", datetime(2019, 1, 1, tzinfo=UTC))
    acknowledged = made.acknowledged("acked", datetime(2019, 1, 1, tzinfo=UTC))

    # the TTL (a backstop) is the moment the job's whole-day rule deletes the incident
    def day_rule(day: date) -> int:
        return int((datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=31)).timestamp())

    assert incident_ttls(stack) == {
        at_edge: day_rule(date(2026, 10, 31)),
        late_edge: day_rule(date(2026, 10, 31)),
        day_before: day_rule(date(2026, 10, 30)),
        old: day_rule(date(2020, 1, 2)),
        still_open: None,
        acknowledged: None,
    }

    def run(at: datetime, dry_run: bool = False) -> dict[str, Any]:
        report = wiring.retention_job(clock=lambda: at.timestamp()).run(APP, dry_run=dry_run)
        assert report["apps"][APP]["status"] == "ok", report
        return dict(report["apps"][APP]["categories"]["incidents"])

    dry = run(NOW, dry_run=True)
    assert dry["deleted"]["objects"] == 2 and dry["stored"]["objects"] == 6
    assert len(stored_incident_ids()) == 6

    entry = run(NOW)
    assert entry["cutoff"] == "2026-10-31T00:00:00Z" and entry["deleted"]["objects"] == 2
    assert entry["deleted"]["bytes"] > 0 and entry["stored"]["objects"] == 4 and entry["stored"]["bytes"] > 0
    assert stored_incident_ids() == {at_edge, late_edge, still_open, acknowledged}

    # the edge day goes exactly when its TTL says: kept a second before, deleted at that moment
    ttl = datetime.fromtimestamp(day_rule(date(2026, 10, 31)), UTC)
    assert run(ttl - timedelta(seconds=1))["deleted"]["objects"] == 0
    assert run(ttl)["deleted"]["objects"] == 2
    # open and acknowledged incidents are never pruned, however old
    assert run(NOW + timedelta(days=3650))["deleted"]["objects"] == 0
    assert stored_incident_ids() == {still_open, acknowledged}


# ---------------------------------------------------------------------------- storage per category


OTHER_CATEGORIES = {"assignments_export", "incidents", "assignments", "archive"}
EVERY_CATEGORY = {c.name for c in LAKE_CATEGORIES} | OTHER_CATEGORIES


def test_every_category_reports_what_it_stores_and_the_endpoint_lists_it(
    stack: AwsStack, lake: dict[str, tuple[set[str], set[str]]]
) -> None:
    made = Incidents()
    made.resolved("old", datetime(2020, 1, 2, tzinfo=UTC))  # pruned by this run
    made.opened("open", datetime(2026, 11, 29, tzinfo=UTC))
    experiments = wiring.liveops_store()
    experiments.put_experiment(APP, "live-exp", {"name": "live", "config": {"variants": []}})
    assignments = AssignmentsStore(aws.client("dynamodb"), stack.env["ASSIGNMENTS_TABLE"])
    for user in range(5):
        assignments.put_if_absent(APP, "live-exp", f"u{user}", "a")
    site = wiring.site_bucket()
    for snapshot in ("20261128T023000Z", "20261129T023000Z"):
        site.put(f"apps/{APP}/archive/{snapshot}/index.html", b"<p>x</p>", "text/html", "no-cache")
    entries = [{"id": f"202611{d}T023000Z", "generated_at": f"2026-11-{d}T02:30:00Z"} for d in (29, 28)]
    site.write_archive_index(APP, "Keep", entries)

    report = wiring.retention_job(clock=lambda: NOW.timestamp()).run(APP)["apps"][APP]
    assert report["status"] == "ok", report
    categories = report["categories"]
    for name, entry in categories.items():  # every retention category says what it stores
        assert entry["stored"]["objects"] >= 0 and entry["stored"]["bytes"] >= 0, name
    assert categories["incidents"]["stored"]["objects"] == 1
    assert categories["assignments"]["stored"]["objects"] == 5
    # keep 2: both snapshots stay; their pages and the archive index (json + html)
    assert categories["archive"]["stored"] == {
        "snapshots": 2,
        "objects": 4,
        "bytes": categories["archive"]["stored"]["bytes"],
    }

    token = create_token(TokensStore(aws.client("dynamodb"), stack.env["APPS_TABLE"]), "viewer").token
    status, _, answer = Api().call(
        "GET", f"/v1/metrics/storage?app={APP}", headers={"authorization": f"Bearer {token}"}
    )
    assert status == 200, answer
    StorageOut.model_validate(answer)
    by_category = {c["category"]: c for c in answer["categories"]}
    assert set(by_category) == EVERY_CATEGORY
    for name in ("incidents", "assignments", "archive", *lake):
        shown = by_category[name]
        assert (shown["objects"], shown["bytes"]) == (
            categories[name]["stored"]["objects"],
            categories[name]["stored"]["bytes"],
        ), name
    assert by_category["incidents"]["prefix"] == f"dynamodb://{stack.env['INCIDENTS_TABLE']}/APP#{APP}/INC#"
    assert by_category["archive"]["prefix"] == f"s3://{stack.env['SITE_BUCKET']}/apps/{APP}/archive/"
    assert answer["total"]["objects"] == sum(c["objects"] for c in answer["categories"])


# ---------------------------------------------------------------------------- what the run log keeps


def test_a_dry_run_is_logged_apart_and_never_hides_the_last_cleanup(stack: AwsStack) -> None:
    apply()
    put_partition(stack, "exports", PartitionId(date(2020, 1, 1)))
    real = build().run(APP)["apps"][APP]
    put_partition(stack, "exports", PartitionId(date(2020, 1, 2)))
    dry = build(now=NOW + timedelta(hours=1)).run(APP, dry_run=True)["apps"][APP]
    assert real["categories"]["exports"]["deleted"]["objects"] == 1
    assert dry["dry_run"] is True and dry["categories"]["exports"]["deleted"]["objects"] == 1

    token = create_token(TokensStore(aws.client("dynamodb"), stack.env["APPS_TABLE"]), "viewer").token
    status, _, answer = Api().call(
        "GET", f"/v1/metrics/storage?app={APP}", headers={"authorization": f"Bearer {token}"}
    )
    assert status == 200, answer
    assert answer["last_cleanup"] == json.loads(json.dumps(real))  # the real one, still
    assert answer["last_dry_run"] == json.loads(json.dumps(dry))  # and the dry run beside it


def test_a_run_that_finds_the_lease_taken_is_logged_as_skipped(stack: AwsStack) -> None:
    apply()
    doomed = put_partition(stack, "exports", PartitionId(date(2020, 1, 1)))
    progress: list[str] = []
    job = wiring.retention_job(progress=progress.append, clock=lambda: NOW.timestamp())
    assert wiring.job_state().acquire("retention", APP, "another-run", 900)

    report = job.run(APP)["apps"][APP]
    assert report["status"] == "skipped" and "lease" in report["reason"]
    assert doomed in s3_keys(stack, "exports/")
    assert any("skipped" in line and "lease" in line for line in progress)
    assert wiring.job_state().last_run("retention-skipped", APP) == report
    assert wiring.job_state().last_run("retention", APP) is None  # the last cleanup is not replaced
