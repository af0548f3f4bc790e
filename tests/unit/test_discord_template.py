"""template.yaml's Discord wiring: the front hands deferred interactions to discord-worker (its
name in the front's own environment, permission to invoke it), the worker has no HTTP route, and
the weekly-report job fires hourly."""

from __future__ import annotations

from liveops.local.scheduler import schedules
from liveops.local.template import functions, load_template
from liveops.settings import Settings

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def test_the_front_names_the_worker_in_its_own_environment_only() -> None:
    specs = {spec.logical_id: spec for spec in functions(TEMPLATE)}
    assert specs["DiscordFunction"].environment["DISCORD_WORKER_FUNCTION"] == {"Ref": "DiscordWorkerFunction"}
    assert "discord_worker_function" in Settings.model_fields
    # not in Globals: the worker's own environment would then refer to itself
    assert "DISCORD_WORKER_FUNCTION" not in TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert all(
        "DISCORD_WORKER_FUNCTION" not in spec.environment
        for name, spec in specs.items()
        if name != "DiscordFunction"
    )


def test_the_front_may_invoke_the_worker_and_nothing_else() -> None:
    statements = RESOURCES["DiscordFunction"]["Properties"]["Policies"][0]["Statement"]
    invoke = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert invoke == [
        {
            "Sid": "DeferToWorker",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": {"Fn::GetAtt": ["DiscordWorkerFunction", "Arn"]},
        }
    ]


def test_the_worker_has_no_http_route_and_the_weekly_report_runs_hourly() -> None:
    worker = RESOURCES["DiscordWorkerFunction"]["Properties"]
    assert "Events" not in worker and worker["CodeUri"] == "functions/discord_worker/"
    entries = {(e.function, e.expression): e.payload for e in schedules(TEMPLATE)}
    assert entries[("WeeklyReportFunction", "cron(0 * * * ? *)")] == {"job": "weekly-report"}
