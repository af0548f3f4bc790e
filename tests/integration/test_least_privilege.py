"""Least privilege: every function's IAM policy in template.yaml against the AWS calls it makes.

A realistic scenario runs through every function of the template in-process against moto (ingest
-> writer -> rollup / rollup-daily -> admin and metrics routes -> client routes -> alerts -> the
Discord front and worker -> weekly-report -> publish -> retention) while liveops.local.iam_audit
records each call as (IAM action, resource ARN). Then (a) every call must be allowed by the
function's own policy (a miss is an AccessDenied once deployed) and (b) every grant must have been
used, except the few in RARE_PATHS, each with its reason.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import pytest

from liveops import aws, wiring
from liveops.domain.retention import LAKE_CATEGORIES, PartitionId
from liveops.local.iam_audit import Arns, CallRecorder, invoking
from liveops.local.iam_policy import Grant, denied, function_grants, unused
from liveops.local.poller import QueuePoller
from liveops.local.template import functions, project_template
from liveops.services.apps import create_key
from liveops.services.tokens import create_token
from tests.integration import test_discord_worker
from tests.integration.conftest import GAME_CONFIG, AwsStack
from tests.integration.helpers import batch, event
from tests.integration.test_discord_worker import ALERTS, APP, DISCORD, RESPONDER, Loop
from tests.integration.test_publish_job import FailingSite
from tests.integration.test_retention_job import put_partition

# (function, action, resource pattern, why the scenario does not take that path)
RARE_PATHS = [
    ("WriterFunction", "s3:DeleteObject", "*/raw/events/*", "rollback of a partly failed write"),
    ("IngestFunction", "dynamodb:DeleteItem", "*-idempotency", "Powertools drops a failed request's record"),
    ("IngestFunction", "dynamodb:GetItem", "*-idempotency", "a failed conditional put returned no item"),
    ("ClientFunction", "dynamodb:GetItem", "*-assignments", "a concurrent first assignment won the put"),
    ("RollupFunction", "athena:StopQueryExecution", "*", "a query that times out is cancelled"),
    ("RollupFunction", "s3:PutObject", "*/athena-results/*", "Athena writes results as the caller"),
    ("RollupFunction", "s3:GetBucketLocation", "*", "Athena checks the results bucket as the caller"),
    ("RollupFunction", "glue:GetDatabase", "*", "Athena reads the catalog as the caller"),
    ("RollupFunction", "glue:GetPartitions", "*", "Athena plans a partitioned query as the caller"),
    ("AlertsFunction", "s3:ListBucket", "*", "a missing partition is 404, not 403, with ListBucket"),
    ("AlertsFunction", "dynamodb:DeleteItem", "*-incidents", "a breach that clears before `for_minutes`"),
]
loop = test_discord_worker.loop  # the fake Discord loop fixture (signing key, async invoker), reused

NOW = datetime.now(UTC)
OLD_DAY = date(2020, 1, 6)  # a Monday, older than any retention


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Scenario:
    """Drives the template's functions the way the deployed stack would be used."""

    def __init__(
        self, stack: AwsStack, loop: Loop, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.stack, self.loop, self.api, self.monkeypatch = stack, loop, loop.api, monkeypatch
        self.functions = loop.api.functions
        store = wiring.tokens_store()
        self.tokens = {role: create_token(store, role).token for role in ("viewer", "editor", "admin")}
        self.key = create_key(wiring.apps_store(), APP).api_key
        invoker = loop.invoker

        def recorded_invoke(function_name: str, payload: dict[str, Any]) -> None:
            recorder.record_async_invoke(function_name)
            invoker(function_name, payload)

        wiring.local_async_invoke = recorded_invoke  # the loop fixture restores it

    @staticmethod
    def cold_start() -> None:
        """In Lambda every function has its own caches; in-process they are shared. Forgetting them
        before each invocation makes each function make the calls its own cold start makes."""
        from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS

        wiring.reset()
        for provider in DEFAULT_PROVIDERS.values():  # the values, not the providers' clients
            provider.clear_cache()

    def post(self, interaction: dict[str, Any]) -> int:
        self.cold_start()
        status, _ = self.loop.post(interaction)
        return status

    def admin(self, method: str, path: str, body: Any = None, role: str = "admin") -> Any:
        self.cold_start()
        headers = {"authorization": f"Bearer {self.tokens[role]}"}
        status, _, answer = self.api.call(method, path, body, headers)
        assert status < 300, (method, path, status, answer)
        return answer

    def client(self, path: str) -> Any:
        self.cold_start()
        status, _, answer = self.api.call("GET", path, None, {"x-api-key": self.key})
        assert status == 200, (path, answer)
        return answer

    def job(self, function: str, job: str, **options: Any) -> dict[str, Any]:
        """As the schedule runs it: every app (the scheduled event names no app)."""
        self.cold_start()
        report: dict[str, Any] = self.functions[function].invoke({"job": job, **options})
        assert report["apps"][APP]["status"] in ("ok", "skipped"), report
        return report

    # ------------------------------------------------------------------ steps
    def configure(self) -> None:
        config = json.loads(json.dumps(GAME_CONFIG))
        # the weekly report is due this hour, so the scheduled run reads and records its week
        # (a schedule fixed on one weekday would make the run, and this audit, depend on the day)
        now = datetime.now(UTC)
        config["discord"] = {**DISCORD, "weekly_report": {"day": f"{now:%A}".lower(), "hour": now.hour}}
        config["measures"] = {
            "run_end_score": {"event": "run_end", "field": "score", "aggs": ["count", "avg"]}
        }
        config["kpis"] = {
            "win_rate": {
                "numerator": {"event": "run_end", "where": {"outcome": "win"}},
                "denominator": {"event": "run_end"},
            }
        }
        config["funnels"] = {
            "play": {"by": "session", "window_minutes": 60, "steps": ["session_start", "run_end"]}
        }
        config["experiments"] = {"metrics": ["run_end_score.avg"], "min_sample_per_variant": 1}
        config["retention"] = {"archive_snapshots_keep": 2}
        self.config = config
        self.admin("PUT", f"/v1/admin/apps/{APP}", config)
        self.admin("GET", "/v1/admin/apps")
        self.admin("GET", f"/v1/admin/apps/{APP}")
        spare = self.admin("POST", f"/v1/admin/apps/{APP}/keys")
        self.admin("GET", f"/v1/admin/apps/{APP}/keys")
        self.admin("DELETE", f"/v1/admin/apps/{APP}/keys/{spare['key_id']}")
        token = self.admin("POST", "/v1/admin/tokens", {"role": "viewer"})
        self.admin("GET", "/v1/admin/tokens")
        self.admin("DELETE", f"/v1/admin/tokens/{token['token_id']}")
        hour = timedelta(hours=1)
        live = {
            "type": "event",
            "start_at": iso(NOW - hour),
            "end_at": iso(NOW + hour),
            "content_version": "*",
            "rules": {},
        }
        self.admin("PUT", f"/v1/admin/apps/{APP}/events/spring", live, "editor")
        self.admin("PUT", f"/v1/admin/apps/{APP}/events/gone", live, "editor")
        self.admin("DELETE", f"/v1/admin/apps/{APP}/events/gone", role="editor")
        self.admin("GET", f"/v1/admin/apps/{APP}/events", role="editor")
        variants = [{"id": "a", "weight": 1, "parameters": {}}, {"id": "b", "weight": 1, "parameters": {}}]
        experiment = {"name": "Spawn", "start_at": iso(NOW - hour), "config": {"variants": variants}}
        self.admin("PUT", f"/v1/admin/apps/{APP}/experiments/spawn", experiment, "editor")
        self.admin("POST", f"/v1/admin/apps/{APP}/experiments/spawn/status", {"status": "running"}, "editor")
        self.admin("GET", f"/v1/admin/apps/{APP}/experiments", role="editor")
        self.admin("GET", f"/v1/admin/apps/{APP}/experiments/spawn", role="editor")
        for version in ("1.0.0", "1.1.0"):
            manifest = {
                "version": version,
                "content_hash": "sha256:" + "0" * 64,
                "min_supported_client_version": "1.0.0",
            }
            self.admin("PUT", f"/v1/admin/apps/{APP}/content", manifest)
        self.admin("POST", f"/v1/admin/apps/{APP}/content/rollback")
        self.admin("GET", f"/v1/admin/apps/{APP}/content")
        threshold = {
            "metric": "run_end_score.avg",
            "op": ">",
            "value": 1,
            "severity": "critical",
            "notify": ["discord"],
        }
        self.admin("PUT", f"/v1/admin/apps/{APP}/thresholds/high-score", threshold, "editor")
        many_runs = {**threshold, "op": ">=", "value": 2, "severity": "warning"}
        self.admin("PUT", f"/v1/admin/apps/{APP}/thresholds/many-runs", many_runs, "editor")
        self.admin("PUT", f"/v1/admin/apps/{APP}/thresholds/spare", threshold, "editor")
        self.admin("DELETE", f"/v1/admin/apps/{APP}/thresholds/spare", role="editor")
        self.admin("GET", f"/v1/admin/apps/{APP}/thresholds", role="editor")

    def send(self, n: int) -> None:
        events = [event("session_start", when=NOW - timedelta(minutes=5))]
        events += [event(run_id=f"r{n}", outcome="win", score=10 + n, when=NOW - timedelta(minutes=4))]
        body = batch(events, session_id=f"s-{n}", user_id=f"player-{n}")
        headers = {"x-api-key": self.key, "idempotency-key": f"batch-{n}"}
        for _ in range(2):  # a retried request answers from the idempotency record
            self.cold_start()
            status, _, answer = self.api.call("POST", "/v1/telemetry/batch", body, headers)
            assert status == 202 and answer["rejected"] == [], answer

    def play(self) -> None:
        """Game clients: live events, sticky assignments (first and stored), manifest, telemetry."""
        self.client("/v1/events/active?content_version=1.1.0")
        for user in ("player-1", "player-2"):
            self.client(f"/v1/experiments/assignments?user_id={user}")
            self.client(f"/v1/experiments/assignments?user_id={user}")
        self.client("/v1/content/manifest?client_version=1.0.0")
        for n in range(3):
            self.send(n)

    def athena_rollup(self) -> None:
        """The athena engine on new events (moto runs no SQL: the run's outcome is not the point,
        its calls are)."""
        self.send(99)
        self.drain()
        self.cold_start()
        with contextlib.suppress(Exception):  # awswrangler finds no result file: moto writes none
            self.functions["RollupFunction"].invoke({"job": "rollup", "engine": "athena"})

    def land(self) -> None:
        self.drain()
        self.job("RollupFunction", "rollup")
        self.job("RollupFunction", "rollup-daily")

    def drain(self) -> None:
        writer = self.functions["WriterFunction"]
        queue_url = self.stack.env["EVENTS_QUEUE_URL"]
        poller = QueuePoller(
            aws.client("sqs"),
            queue_url,
            Arns().queue(queue_url),
            writer.invoke,
            batch_size=100,
            window_seconds=0.2,
        )
        self.cold_start()
        while poller.poll_once():
            pass

    def read_metrics(self) -> None:
        query = f"app={APP}&from={iso(NOW - timedelta(days=2))}&to={iso(NOW + timedelta(hours=1))}"
        for path in (
            f"timeseries?metric=events.count&granularity=hour&{query}",
            f"timeseries?metric=run_end_score.avg&granularity=day&{query}",
            f"overview?{query}",
            f"kpis?{query}",
            f"funnel?funnel=play&{query}",
            f"experiment?experiment=spawn&{query}",
            f"storage?app={APP}",
        ):
            self.admin("GET", f"/v1/metrics/{path}", role="viewer")
        self.cold_start()
        status, _, _ = self.api.call("GET", "/v1/openapi.json")
        assert status == 200

    def alert_and_respond(self) -> None:
        self.job("AlertsFunction", "alerts")
        incidents = self.admin("GET", f"/v1/admin/apps/{APP}/incidents?status=new", role="viewer")[
            "incidents"
        ]
        first, second = sorted(incidents, key=lambda incident: str(incident["incident_id"]))
        for incident in (first, second):
            self.admin("GET", f"/v1/admin/apps/{APP}/incidents/{incident['incident_id']}", role="viewer")
        # the first through the admin API then Discord, the second the other way round
        self.admin("POST", self.incident_path(first, "acknowledge"), {"note": "on it"}, "editor")
        assert self.post(self.press("resolve", first)) == 200
        assert self.post(self.press("ack", second)) == 200
        self.admin("POST", self.incident_path(second, "resolve"), {"note": "fixed"}, "editor")
        # the Discord front: PING and the commands it defers to the worker
        assert self.post({"type": 1}) == 200
        for name in ("incidents", "telemetry_report", "weekly_report"):
            assert self.post(self.loop.interaction(2, {"name": name})) == 200
        experiment = {"name": "experiment", "options": [{"name": "id", "value": "spawn"}]}
        assert self.post(self.loop.interaction(2, experiment)) == 200

    def failed_publish(self) -> None:
        """An upload fails: the publish job opens an incident and notifies Discord."""
        real = wiring.site_bucket

        def failing() -> FailingSite:
            return FailingSite(real(), "/data.json")

        failing.cache_clear = real.cache_clear  # type: ignore[attr-defined]
        self.monkeypatch.setattr(wiring, "site_bucket", failing)
        self.cold_start()
        with pytest.raises(RuntimeError, match="publish failed"):  # fails the invocation (its alarm)
            self.functions["PublishFunction"].invoke({"job": "publish"})
        self.monkeypatch.setattr(wiring, "site_bucket", real)

    @staticmethod
    def incident_path(incident: dict[str, Any], action: str) -> str:
        return f"/v1/admin/apps/{APP}/incidents/{incident['incident_id']}/{action}"

    def press(self, action: str, incident: dict[str, Any]) -> dict[str, Any]:
        message = incident.get("discord_message_id") or "1"
        interaction = self.loop.interaction(
            3,
            {"custom_id": f"{action}:{APP}:{incident['incident_id']}", "component_type": 2},
            roles=[RESPONDER],
            message={"id": message, "channel_id": ALERTS},
        )
        self.loop.fake.bind_original(interaction["application_id"], interaction["token"], message)
        return interaction

    def report_publish_prune(self) -> None:
        self.job("WeeklyReportFunction", "weekly-report")  # due: posts and records the week
        self.job("WeeklyReportFunction", "weekly-report")  # already posted: reads its state only
        self.job("WeeklyReportFunction", "weekly-report", force=True)
        self.job("PublishFunction", "publish")
        self.job("PublishFunction", "publish")
        self.job("PublishFunction", "publish")  # a third snapshot: the oldest goes
        self.failed_publish()
        # the operator keeps fewer snapshots and finishes the experiment; old lake partitions
        self.admin(
            "PUT", f"/v1/admin/apps/{APP}", {**self.config, "retention": {"archive_snapshots_keep": 1}}
        )
        self.admin("POST", f"/v1/admin/apps/{APP}/experiments/spawn/status", {"status": "finished"}, "editor")
        for category in LAKE_CATEGORIES:
            put_partition(
                self.stack, category.name, PartitionId(OLD_DAY, 0 if category.hourly else None), app_id=APP
            )
        self.job("RetentionFunction", "retention", dry_run=True)
        self.job("RetentionFunction", "retention")
        # a year on (the job's clock moved): incidents and the finished experiment's assignments go
        self.cold_start()
        a_year_on = time.time() + 400 * 86400
        with invoking("RetentionFunction"):
            report = wiring.retention_job(clock=lambda: a_year_on).run(None)
        assert report["apps"][APP]["status"] == "ok", report


@pytest.fixture
def recorder(stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[CallRecorder]:
    from aws_lambda_powertools.utilities.parameters import base

    with CallRecorder() as recording:
        base.DEFAULT_PROVIDERS.clear()  # Powertools Parameters builds its SSM client anew
        wiring.reset()
        yield recording
    base.DEFAULT_PROVIDERS.clear()


def test_every_function_is_allowed_what_it_calls_and_uses_what_it_is_granted(
    stack: AwsStack, loop: Loop, recorder: CallRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = Scenario(stack, loop, recorder, monkeypatch)
    scenario.configure()
    scenario.play()
    scenario.land()
    scenario.read_metrics()
    scenario.alert_and_respond()
    scenario.report_publish_prune()
    scenario.athena_rollup()

    template = project_template()
    grants = function_grants(template, stack.ctx)
    recorded = recorder.by_function()
    problems: list[str] = []
    for spec in functions(template):
        name = spec.logical_id
        calls = recorded.get(name, [])
        if not calls and grants[name]:
            problems.append(f"{name}: the scenario made no AWS call (does the function exist and run?)")
        problems += [
            f"{name}: DENIED {a.action} on {a.resource} ({a.operation})" for a in denied(calls, grants[name])
        ]
        problems += [
            f"{name}: UNUSED {g.action} on {g.resource} [{g.source}]"
            for g in unused(grants[name], calls)
            if not _rare(g)
        ]
    all_grants = [g for found in grants.values() for g in found]
    problems += [
        f"RARE_PATHS entry matches no grant any more: {entry}"
        for entry in RARE_PATHS
        if not any(_rare(g, [entry]) for g in all_grants)
    ]
    assert not problems, "\n".join(problems)


def _rare(grant: Grant, entries: list[tuple[str, str, str, str]] = RARE_PATHS) -> bool:
    return any(
        function == grant.function
        and fnmatchcase(grant.action, action)
        and fnmatchcase(grant.resource, resource)
        for function, action, resource, _ in entries
    )


def test_every_granted_action_exists_in_iam(stack: AwsStack) -> None:
    """A granted name that is no IAM action (dynamodb:TransactWriteItems is one: transactions are
    authorised per item) grants nothing; cfn-lint ships the Service Authorization Reference."""
    from importlib.resources import files

    known = json.loads(files("cfnlint").joinpath("data/AdditionalSpecs/Policies.json").read_text())
    grants = function_grants(project_template(), stack.ctx)
    unknown = sorted(
        {
            f"{g.function}: {g.action}"
            for found in grants.values()
            for g in found
            if "*" not in g.action
            and g.action.split(":", 1)[1].lower()
            not in known.get(g.action.split(":", 1)[0], {}).get("Actions", {})
        }
    )
    assert not unknown, unknown
