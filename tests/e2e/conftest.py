"""End-to-end fixtures: `liveops dev` started as a real process on free ports."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from liveops.local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningStack:
    state_dir: Path
    info: dict[str, Any]
    process: subprocess.Popen[str]

    def cli(
        self, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "liveops.cli.main", "--state-dir", str(self.state_dir), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            check=False,
        )

    def aws(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.info["aws_endpoint_url"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def lake_rows(self, app_id: str) -> list[dict[str, Any]]:
        s3 = self.aws("s3")
        bucket = self.info["lake_bucket"]
        rows: list[dict[str, Any]] = []
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"raw/events/app_id={app_id}/"
        ):
            for obj in page.get("Contents", []):
                data = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                rows.extend(pq.read_table(io.BytesIO(data)).to_pylist())
        return rows


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    state_dir = tmp_path_factory.mktemp("liveops-state")
    port, aws_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "liveops.cli.main",
            "--state-dir",
            str(state_dir),
            "dev",
            "--port",
            str(port),
            "--aws-port",
            str(aws_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    state_file = state_dir / "dev.json"
    deadline = time.monotonic() + 90
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"liveops dev did not start:\n{output}")
        time.sleep(0.2)
    time.sleep(0.2)
    stack = RunningStack(state_dir, json.loads(state_file.read_text()), process)
    yield stack
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("liveops dev did not stop on Ctrl-C within 30 s")
    assert process.returncode == 0, output
    assert "stopped." in output
    assert not state_file.exists(), "dev.json should be removed on a clean stop"
