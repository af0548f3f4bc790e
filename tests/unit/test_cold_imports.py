"""Client-facing functions must start fast: no pyarrow, pandas or awswrangler on their path.

The Discord front must also stay clear of the Powertools resolver and its validation stack
(event_handler, parser) and of pydantic / pydantic-settings, on its whole first-request path as
deployed: import, the public key's SSM parameter name and the worker's name from the environment
template.yaml sets, the key read from SSM, a PING, a slash command handed to discord-worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pyarrow", "pandas", "awswrangler", "numpy")
PROBE = """
import importlib.util, json, os, sys
os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
                  EVENTS_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/1/q",
                  APPS_TABLE="a", IDEMPOTENCY_TABLE="i", LIVEOPS_TABLE="l", ASSIGNMENTS_TABLE="s")
spec = importlib.util.spec_from_file_location("handler", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
def heavy_modules():
    return sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r} or m.startswith({prefixes!r}))
after_import = heavy_modules()
{warm}
after_build = heavy_modules()
print(json.dumps([after_import, after_build]))
"""


# The Discord front, as deployed: its environment resolved from template.yaml, a signed PING and a
# signed slash command through the Lambda handler in a fresh interpreter, the public key read from
# SSM and the worker invoked through real boto3 clients (against tests.aws_stub on 127.0.0.1)
DISCORD_FIRST_REQUESTS = """
import importlib.util, json, os, sys, time, types
FORBIDDEN = ("pydantic", "pydantic_core", "pydantic_settings", "pyarrow", "pandas", "awswrangler", "numpy",
             "aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.parser")
def loaded(extra=()):
    return sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN or m.startswith(FORBIDDEN + extra))
spec = importlib.util.spec_from_file_location("handler", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
after_import = loaded(("boto3", "botocore.client"))
from nacl.signing import SigningKey
signing = SigningKey(bytes.fromhex(os.environ["TEST_DISCORD_SIGNING_KEY"]))
context = types.SimpleNamespace(function_name="discord", memory_limit_in_mb=512, aws_request_id="r",
                                invoked_function_arn="arn:aws:lambda:us-east-1:1:function:discord")
def event(body):
    stamp = str(int(time.time()))
    return {{"version": "2.0", "routeKey": "ANY /discord/interactions", "rawPath": "/discord/interactions",
            "headers": {{"content-type": "application/json",
                        "x-signature-ed25519": signing.sign(stamp.encode() + body).signature.hex(),
                        "x-signature-timestamp": stamp}},
            "requestContext": {{"http": {{"method": "POST", "path": "/discord/interactions"}}}},
            "body": body.decode(), "isBase64Encoded": False}}
ping = module.handler(event(b'{{"type":1}}'), context)
command = module.handler(event({command!r}), context)
out = {{"after_import": after_import, "after_requests": loaded(), "ping": ping, "command": command}}
print(json.dumps(out))
"""
COMMAND = (
    b'{"type":2,"id":"3","application_id":"2","token":"t","version":1,"guild_id":"4",'
    b'"member":{"user":{"id":"5"},"roles":[]},"data":{"id":"6","name":"telemetry_report","type":1}}'
)


def deployed_environment(logical_id: str) -> dict[str, str]:
    """A function's environment as CloudFormation would set it (resources by their logical ids)."""
    from liveops.local.template import Context, functions, load_template, parameter_defaults, resolve

    template = load_template()
    ctx = Context(
        parameters=parameter_defaults(template),
        refs={name: f"liveops-{name}" for name in template["Resources"]},
    )
    (spec,) = [f for f in functions(template) if f.logical_id == logical_id]
    return {name: str(value) for name, value in resolve(spec.environment, ctx).items()}


@pytest.mark.parametrize(
    ("function", "warm", "prefixes"),
    [
        ("ingest", "from liveops.wiring import ingest_service; ingest_service()", ()),
        ("client", "from liveops.wiring import client_service; client_service()", ()),
    ],
)
def test_client_facing_function_imports_no_data_libraries(
    function: str, warm: str, prefixes: tuple[str, ...]
) -> None:
    code = PROBE.format(
        path=str(ROOT / "functions" / function / "app.py"), heavy=HEAVY, warm=warm, prefixes=prefixes
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    after_import, after_build = json.loads(result.stdout.strip().splitlines()[-1])
    assert after_import == []
    assert after_build == []


def test_the_discord_front_answers_its_first_requests_without_pydantic_or_data_libraries() -> None:
    from nacl.signing import SigningKey

    from tests.aws_stub import LocalAws

    signing = SigningKey.generate()
    env = deployed_environment("DiscordFunction")
    key_param, worker = env["DISCORD_PUBLIC_KEY_PARAM"], env["DISCORD_WORKER_FUNCTION"]
    assert worker == "liveops-DiscordWorkerFunction"
    with LocalAws(parameters={key_param: signing.verify_key.encode().hex()}) as aws:
        run_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DISCORD_", "POWERTOOLS_"))},
            **env,
            "AWS_ENDPOINT_URL": aws.url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "TEST_DISCORD_SIGNING_KEY": signing.encode().hex(),
        }
        code = DISCORD_FIRST_REQUESTS.format(
            path=str(ROOT / "functions" / "discord" / "app.py"), command=COMMAND
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=run_env, cwd=ROOT, timeout=120
        )
        assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["ping"]["statusCode"] == 200 and out["ping"]["body"] == '{"type":1}'
    assert out["command"]["statusCode"] == 200 and json.loads(out["command"]["body"]) == {"type": 5}
    # the deployed path ran: the key read from SSM once, the worker invoked asynchronously
    assert aws.parameter_reads == [key_param]
    (invocation,) = aws.invocations
    assert (invocation.function, invocation.invocation_type) == (worker, "Event")
    assert invocation.payload["interaction"]["data"]["name"] == "telemetry_report"
    assert out["after_import"] == []  # not even boto3 at import
    assert out["after_requests"] == []
