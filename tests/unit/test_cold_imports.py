"""Client-facing functions must start fast: no pyarrow, pandas or awswrangler on their path.

The Discord front must also stay clear of the Powertools resolver and its validation stack
(event_handler, openapi) and of pydantic: it answers PINGs with PyNaCl and the Logger alone."""

from __future__ import annotations

import json
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


# the Discord front handles a signed PING with an injected key (the SSM lookup is the wiring's)
DISCORD_PING = """
import time
from nacl.signing import SigningKey
signing = SigningKey.generate()
module.front.public_key = lambda: signing.verify_key.encode().hex()
body, stamp = b'{"type":1}', str(int(time.time()))
headers = {"x-signature-ed25519": signing.sign(stamp.encode() + body).signature.hex(),
           "x-signature-timestamp": stamp}
event = {"headers": headers, "body": body.decode(), "requestContext": {"http": {"method": "POST"}}}
assert module.front(event)["body"] == '{"type":1}'
"""
DISCORD_EXTRA = ("aws_lambda_powertools.event_handler", "pydantic", "boto3")  # botocore: Logger needs it


@pytest.mark.parametrize(
    ("function", "warm", "prefixes"),
    [
        ("ingest", "from liveops.wiring import ingest_service; ingest_service()", ()),
        ("client", "from liveops.wiring import client_service; client_service()", ()),
        ("discord", DISCORD_PING, DISCORD_EXTRA),
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
