"""End-to-end fixtures: `liveops dev` started as a real process on free ports."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest

from liveops.local.process import StackProcess, StackStartError, start_stack_process


class RunningStack(StackProcess):
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
    try:
        started = start_stack_process(state_dir)
    except StackStartError as exc:
        pytest.fail(str(exc))
    stack = RunningStack(started.state_dir, started.info, started.process)
    yield stack
    code, output = stack.stop()
    if code is None:
        pytest.fail("liveops dev did not stop on Ctrl-C within 30 s")
    assert code == 0, output
    assert "stopped." in output
    assert not stack.state_file.exists(), "dev.json should be removed on a clean stop"
