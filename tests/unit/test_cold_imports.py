"""Client-facing functions must start fast: no pyarrow, pandas or awswrangler on their path."""

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
after_import = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
{warm}
after_build = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps([after_import, after_build]))
"""


@pytest.mark.parametrize(
    ("function", "warm"),
    [
        ("ingest", "from liveops.wiring import ingest_service; ingest_service()"),
        ("client", "from liveops.wiring import client_service; client_service()"),
    ],
)
def test_client_facing_function_imports_no_data_libraries(function: str, warm: str) -> None:
    code = PROBE.format(path=str(ROOT / "functions" / function / "app.py"), heavy=HEAVY, warm=warm)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    after_import, after_build = json.loads(result.stdout.strip().splitlines()[-1])
    assert after_import == []
    assert after_build == []
