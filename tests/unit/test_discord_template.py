"""template.yaml's Discord wiring: the front hands deferred interactions to discord-worker (its
name in the front's own environment, permission to invoke it), the worker has no HTTP route, the
weekly-report job fires hourly, and the front's settings (read without pydantic) agree with the
Settings model."""

from __future__ import annotations

import pytest

from liveops.local.scheduler import schedules
from liveops.local.template import functions, load_template
from liveops.settings import Settings, get_settings

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


FRONT_SETTINGS = ("discord_public_key_param", "discord_worker_function", "discord_api_base_url")


def test_the_front_reads_its_settings_as_the_settings_model_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # wiring.discord_setting reads the environment without pydantic; absent, the model answers
    from liveops import wiring

    for name in FRONT_SETTINGS:
        monkeypatch.delenv(name.upper(), raising=False)
    get_settings.cache_clear()
    for name in FRONT_SETTINGS:
        assert wiring.discord_setting(name) == getattr(Settings(), name)
    for name in FRONT_SETTINGS:
        monkeypatch.setenv(name.upper(), f" value of {name} ")
    get_settings.cache_clear()
    for name in FRONT_SETTINGS:
        assert wiring.discord_setting(name) == getattr(Settings(), name) == f" value of {name} "
    get_settings.cache_clear()


def test_the_template_gives_the_front_every_setting_it_reads() -> None:
    # deployed, the front never falls back to the Settings model (and so never imports pydantic)
    (front,) = [spec for spec in functions(TEMPLATE) if spec.logical_id == "DiscordFunction"]
    assert {"DISCORD_PUBLIC_KEY_PARAM", "DISCORD_WORKER_FUNCTION"} <= set(front.environment)


# events/ holds a sample event for every function (README); the Discord front's is a signed PING
SAMPLE_EVENTS = {
    "AdminFunction": "admin-metrics-overview.json",
    "AlertsFunction": "alerts.json",
    "ClientFunction": "client-active-events.json",
    "DiscordFunction": "discord-interaction.json",
    "DiscordWorkerFunction": "discord-worker.json",
    "IngestFunction": "ingest-batch.json",
    "PublishFunction": "publish.json",
    "RetentionFunction": "retention.json",
    "RollupFunction": "rollup.json",
    "WeeklyReportFunction": "weekly-report.json",
    "WriterFunction": "writer-sqs-batch.json",
}


def test_every_function_has_a_sample_event() -> None:
    import json
    from pathlib import Path

    events = Path(__file__).resolve().parents[2] / "events"
    assert sorted(spec.logical_id for spec in functions(TEMPLATE)) == sorted(SAMPLE_EVENTS)
    for name in SAMPLE_EVENTS.values():
        assert isinstance(json.loads((events / name).read_text()), dict), name
    front = json.loads((events / SAMPLE_EVENTS["DiscordFunction"]).read_text())
    assert front["requestContext"]["http"]["method"] == "POST" and front["rawPath"] == "/discord/interactions"
    assert json.loads(front["body"])["type"] == 1
