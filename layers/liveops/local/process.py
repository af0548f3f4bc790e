"""`liveops dev` as a child process on free ports: used by the end-to-end tests and the load test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveops.local.stack import free_port
from liveops.local.template import PROJECT_ROOT

# the stack's output goes to a file, not a pipe: a pipe nobody reads would block the stack once
# its functions had logged a pipe's worth of warnings (a long run under faults does)
LOG_NAME = "dev.log"


class StackStartError(RuntimeError):
    """The local stack exited or did not write dev.json in time (message: its output)."""


@dataclass
class StackProcess:
    state_dir: Path
    info: dict[str, Any]
    process: subprocess.Popen[str]

    @property
    def state_file(self) -> Path:
        return self.state_dir / "dev.json"

    def cli(
        self, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Runs `liveops --state-dir <this stack> ARGS` and captures its output."""
        return subprocess.run(
            [sys.executable, "-m", "liveops.cli.main", "--state-dir", str(self.state_dir), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=PROJECT_ROOT,
            check=False,
        )

    def aws(self, service: str) -> Any:
        """A boto3 client for this stack's moto server."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.info["aws_endpoint_url"],
            region_name=self.info.get("region", "us-east-1"),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    @property
    def log_file(self) -> Path:
        return self.state_dir / LOG_NAME

    def output(self) -> str:
        """What the stack has printed so far (its functions' warnings and tracebacks included)."""
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stop(self, timeout: float = 30) -> tuple[int | None, str]:
        """Ctrl-C, as a user would; returns (exit code, output). Killed if it does not stop in time."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None, self.output()
        return self.process.returncode, self.output()


def start_stack_process(state_dir: Path, *extra_args: str, timeout: float = 90) -> StackProcess:
    """Starts `liveops dev` on free ports with state in `state_dir`; returns once dev.json exists."""
    port, aws_port = free_port(), free_port()
    # the child reaches only its own moto server: no credentials or endpoints from this shell
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / LOG_NAME).open("w")
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
            *extra_args,
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    state_file = state_dir / "dev.json"
    deadline = time.monotonic() + timeout
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            log.close()
            output = (state_dir / LOG_NAME).read_text(errors="replace")
            raise StackStartError(f"liveops dev did not start:\n{output}")
        time.sleep(0.2)
    time.sleep(0.2)  # dev.json is written last, but let the writer finish flushing it
    log.close()  # the child holds its own copy of the file
    return StackProcess(state_dir, json.loads(state_file.read_text()), process)
