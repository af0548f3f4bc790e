"""Retention benchmark: the retention job over 10k lake objects against a moto server.

One app, 120 days of raw events (3 or 4 objects per hour partition, 10,080 objects, every hour
registered in Glue) and `raw_events_days: 60`, so that about half of them are past retention. The
dry run (list S3 and Glue, decide, change nothing) is timed first, best of 3; then the real run
(which also deletes ~5k objects with DeleteObjects and ~1.4k Glue partitions with
BatchDeletePartition), once, as it consumes its data. Beside them, in the same run: listing the
app's 10k objects alone (the floor every run pays). Everything goes over HTTP to a local moto
server (`moto.server.ThreadedMotoServer` on 127.0.0.1), so the figures are moto's speed, not AWS's.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

Row = tuple[str, str, str, str]
APP = "retention-bench"
DAYS = 120
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
BODY = b"p" * 2048


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_stack() -> tuple[Any, dict[str, str]]:
    """A moto server with the template's resources; returns (server, function environment)."""
    from moto.server import ThreadedMotoServer

    from liveops import aws, wiring
    from liveops.local.provision import provision
    from liveops.local.stack import LOCAL_CREDENTIALS
    from liveops.local.template import Context, functions, parameter_defaults, project_template, resolve
    from liveops.settings import get_settings

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    aws.reset_clients()
    template = project_template()
    ctx = Context(parameters=parameter_defaults(template))
    provision(template, ctx, lambda service: aws.client(service))
    env: dict[str, str] = {}
    for spec in functions(template):
        env.update({k: str(v) for k, v in resolve(spec.environment, ctx).items()})
    os.environ.update(env)
    get_settings.cache_clear()
    wiring.reset()
    return server, env


def _populate(env: dict[str, str]) -> int:
    from liveops import aws, wiring
    from liveops.domain.retention import PartitionId
    from liveops.models.app_config import load_app_config
    from liveops.services.apps import apply_config
    from liveops.storage.catalog import PartitionCatalog

    config = {
        "app_id": APP,
        "name": "Retention bench",
        "platforms": ["web"],
        "events": {"session_start": {}},
        "retention": {"raw_events_days": 60},
    }
    apply_config(wiring.apps_store(), load_app_config(config))
    s3, bucket = aws.client("s3"), env["LAKE_BUCKET"]
    keys: list[str] = []
    partitions: list[tuple[list[str], str]] = []
    first = NOW.date() - timedelta(days=DAYS)
    for index in range(DAYS * 24):
        part = PartitionId(first + timedelta(days=index // 24), index % 24)
        prefix = f"raw/events/app_id={APP}/{part.label()}/"
        keys += [f"{prefix}part-{n}.parquet" for n in range(4 if index % 2 else 3)]
        partitions.append((part.glue_values(APP), f"s3://{bucket}/{prefix}"))
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=BODY), keys))
    PartitionCatalog(
        aws.client("glue"), env["GLUE_DATABASE"], env.get("RAW_EVENTS_TABLE", "raw_events")
    ).register(partitions)
    return len(keys)


def bench_retention() -> list[Row]:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return [("retention: 10k objects", "skipped: moto[server] is not installed", "-", "-")]
    from liveops import wiring
    from liveops.storage.lake_usage import LakeUsage

    server, env = _start_stack()
    try:
        objects = _populate(env)
        job = wiring.retention_job(clock=lambda: NOW.timestamp())
        usage = LakeUsage(wiring.client("s3"), env["LAKE_BUCKET"])
        listing = min(_timed(lambda: usage.usage(f"raw/events/app_id={APP}/"))[0] for _ in range(3))
        dry_runs = [_timed(lambda: job.run(APP, dry_run=True)) for _ in range(3)]
        dry_seconds, dry_report = min(dry_runs, key=lambda r: r[0])
        real_seconds, report = _timed(lambda: job.run(APP))
    finally:
        server.stop()
        os.environ.pop("AWS_ENDPOINT_URL", None)
    raw = report["apps"][APP]["categories"]["raw_events"]
    would = dry_report["apps"][APP]["categories"]["raw_events"]["deleted"]["objects"]
    return [
        (
            f"retention: dry run over {objects:,} objects",
            f"{dry_seconds:.2f} s ({would:,} objects would go)",
            f"listing the {objects:,} objects alone {listing:.2f} s",
            "-",
        ),
        (
            f"retention: run over {objects:,} objects",
            f"{real_seconds:.2f} s (deleted {raw['deleted']['objects']:,} objects, "
            f"{raw['deleted']['glue_partitions']:,} Glue partitions)",
            f"listing alone {listing:.2f} s; moto server on 127.0.0.1",
            "-",
        ),
    ]


def _timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


if __name__ == "__main__":
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    for row in bench_retention():
        print(" | ".join(row))
