"""`make loadtest`: concurrent clients against a local stack, then an exact reconciliation.

Starts `liveops dev` on free ports (loopback only), runs N client threads for a bounded time, each
posting realistic batches of the example apps: valid ones, partly invalid ones (some events must be
rejected) and retried ones (the same body twice with one Idempotency-Key). It then waits for the
queue to drain, runs the rollups and checks, per app, that

    event ids acknowledged by 202 responses = distinct event ids in the raw lake
                                            = events counted by rollup_hourly = by rollup_daily

exactly. Prints throughput, latency percentiles and the reconciliation; exits 1 on any mismatch,
any 5xx other than 503 or any lost acknowledgement.

With `--faults RATE` the stack fails that share of its functions' AWS calls. Clients then do what
the API asks of them: on 503 they retry the same body (and the same Idempotency-Key) after
Retry-After. A batch still refused after its retries is "given up": its events may or may not be
in the lake (some of its messages may have been queued), and the reconciliation allows exactly
those, and no others, to be in the lake unacknowledged.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from liveops.cli.http_client import JsonClient
from liveops.local.process import StackProcess, start_stack_process
from liveops.local.template import PROJECT_ROOT
from liveops.models.app_config import AppConfig

EXAMPLES = PROJECT_ROOT / "examples" / "apps"
KINDS = {"valid": 0.6, "partly_invalid": 0.2, "retried": 0.15, "malformed": 0.05}
RETRIES_ON_503 = 5


@dataclass
class Tally:
    """What the clients saw; shared by the client threads under one lock."""

    accepted: dict[str, set[str]] = field(default_factory=dict)
    given_up: dict[str, set[str]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    events_sent: int = 0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, latency_ms: float, status: int) -> None:
        with self.lock:
            self.latencies_ms.append(latency_ms)
            self.statuses[status] += 1

    def accept(self, app_id: str, event_ids: list[str]) -> None:
        with self.lock:
            self.accepted.setdefault(app_id, set()).update(event_ids)

    def give_up(self, app_id: str, event_ids: list[str]) -> None:
        with self.lock:
            self.given_up.setdefault(app_id, set()).update(event_ids)

    def problem(self, text: str) -> None:
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(text)


def load_configs() -> dict[str, AppConfig]:
    from liveops.services.apps import parse_config_file

    configs = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        config = parse_config_file(path)
        configs[config.app_id] = config
    return configs


def corrupt(body: dict[str, Any], rng: random.Random) -> set[int]:
    """Breaks about a tenth of the events (at least one) so that ingest must reject them."""
    events = body["events"]
    broken = set(rng.sample(range(len(events)), max(1, len(events) // 10)))
    for index in broken:
        event = dict(events[index])
        choice = rng.randrange(3)
        if choice == 0:
            event["event_type"] = "not_in_the_taxonomy"
        elif choice == 1:
            event.pop("event_id", None)
        else:
            event["client_ts"] = "not a timestamp"
        events[index] = event
    return broken


def client_loop(
    stack: StackProcess, configs: dict[str, AppConfig], deadline: float, seed: int, tally: Tally
) -> None:
    from liveops.demo.scenarios import make_batches

    rng = random.Random(seed)
    clients = {
        app_id: JsonClient(stack.info["api_url"], {"x-api-key": app["api_key"]}, timeout=30)
        for app_id, app in stack.info["apps"].items()
        if app_id in configs
    }
    sent = 0
    try:
        while time.monotonic() < deadline:
            app_id = rng.choice(sorted(clients))
            for body in make_batches(configs[app_id], rng, datetime.now(UTC)):
                if time.monotonic() >= deadline:
                    break
                # each client sends every kind once first, so even a short run covers them all
                kind = (
                    list(KINDS)[sent]
                    if sent < len(KINDS)
                    else rng.choices(list(KINDS), list(KINDS.values()))[0]
                )
                sent += 1
                send_one(clients[app_id], app_id, body, kind, rng, tally)
    finally:
        for client in clients.values():
            client.close()


def send_one(
    client: JsonClient, app_id: str, body: dict[str, Any], kind: str, rng: random.Random, tally: Tally
) -> None:
    headers: dict[str, str] = {}
    broken: set[int] = set()
    payload: Any = body
    if kind == "partly_invalid":
        broken = corrupt(body, rng)
    elif kind == "retried":
        headers["idempotency-key"] = str(uuid.uuid4())
    elif kind == "malformed":
        payload = b'{"events": [' + json.dumps(body["events"][:1]).encode()[:40]
    with tally.lock:
        tally.kinds[kind] += 1
        tally.events_sent += len(body["events"])
    sends = 2 if kind == "retried" else 1  # a retried batch is sent twice with one key
    first: tuple[int, Any] | None = None
    for _ in range(sends):
        status, answer = post_until_answered(client, payload, headers, tally)
        if status == 503:
            tally.give_up(app_id, [e.get("event_id", "") for e in body["events"]])
            continue
        if first is None:
            first = (status, answer)
        elif (status, answer) != first:
            tally.problem(f"{app_id}: a retry with the same Idempotency-Key answered {status} {answer}")
        if status == 202:
            rejected = {r["index"] for r in answer["rejected"]}
            if kind == "partly_invalid" and not broken <= rejected:
                tally.problem(f"{app_id}: broken events {sorted(broken - rejected)} were not rejected")
            ids = [e["event_id"] for i, e in enumerate(body["events"]) if i not in rejected]
            if len(ids) != answer["accepted"]:
                tally.problem(f"{app_id}: accepted {answer['accepted']} but {len(ids)} not rejected")
            tally.accept(app_id, ids)
        elif kind == "malformed" and status != 400:
            tally.problem(f"{app_id}: a malformed body answered {status} {answer}")
        elif kind != "malformed":
            tally.problem(f"{app_id}: {kind} batch answered {status} {answer}")


def post_until_answered(
    client: JsonClient, payload: Any, headers: dict[str, str], tally: Tally
) -> tuple[int, Any]:
    """Posts, retrying after Retry-After while the answer is 503 (as the API asks clients to)."""
    for attempt in range(RETRIES_ON_503 + 1):
        started = time.perf_counter()
        status, response_headers, answer = client.request("POST", "/v1/telemetry/batch", payload, headers)
        tally.record((time.perf_counter() - started) * 1000, status)
        if status != 503 or attempt == RETRIES_ON_503:
            return status, answer
        time.sleep(min(float(response_headers.get("retry-after", "1")), 2.0))
    raise AssertionError("unreachable")


def wait_for_queue(stack: StackProcess, progress: Callable[[str], None], timeout: float = 300) -> None:
    """Until the events queue is empty (nothing visible or in flight) for a few seconds in a row."""
    sqs = stack.aws("sqs")
    url = stack.info["environment"]["EVENTS_QUEUE_URL"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    quiet_since: float | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        waiting = sum(int(attributes.get(name, 0)) for name in names)
        if waiting:
            quiet_since = None
            progress(f"draining: {waiting} messages in the queue")
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 3:
            return
        time.sleep(1)
    raise TimeoutError("the events queue did not drain")


def lake_event_ids(s3: Any, bucket: str, app_id: str) -> set[str]:
    """The distinct event ids of an app in the raw lake."""
    import pyarrow.parquet as pq

    ids: set[str] = set()
    for key in _keys(s3, bucket, f"raw/events/app_id={app_id}/"):
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        ids.update(pq.read_table(io.BytesIO(data), columns=["event_id"]).column("event_id").to_pylist())
    return ids


def rollup_total(s3: Any, bucket: str, table: str, app_id: str) -> int:
    """Sum of `n` over the all-events rows (kind events, name *, no grouping) of a curated table."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    total = 0
    for key in _keys(s3, bucket, f"curated/{table}/app_id={app_id}/"):
        data = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        rows = data.filter(
            pc.and_(
                pc.and_(pc.equal(data["kind"], "events"), pc.equal(data["name"], "*")),
                pc.equal(data["dim_name"], "*"),
            )
        )
        total += int(pc.sum(rows["n"]).as_py() or 0)
    return total


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []) if obj["Key"].endswith(".parquet"))
    return keys


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_load(
    stack: StackProcess, clients: int, duration: float, seed: int, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Runs the load, drains, rolls up and reconciles; returns the report (see `print_report`)."""
    configs = load_configs()
    tally = Tally()
    deadline = time.monotonic() + duration
    started = time.monotonic()
    threads = [
        threading.Thread(target=client_loop, args=(stack, configs, deadline, seed + i, tally), daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        progress(f"load: {sum(tally.statuses.values())} requests, {tally.events_sent} events sent")
    elapsed = time.monotonic() - started
    wait_for_queue(stack, progress)
    for job in ("rollup", "rollup-daily"):
        result = stack.cli("jobs", "run", job, timeout=600)
        if result.returncode != 0:
            tally.problem(f"jobs run {job} failed: {result.stderr[-2000:]}")
    apps = {}
    s3, bucket = stack.aws("s3"), stack.info["lake_bucket"]
    for app_id, accepted in sorted(tally.accepted.items()):
        in_lake = lake_event_ids(s3, bucket, app_id)
        given_up = tally.given_up.get(app_id, set()) - accepted
        unexplained = in_lake - accepted - given_up
        # events of given-up batches that made it to the lake anyway count there, not in `accepted`
        landed_anyway = len(in_lake & given_up)
        apps[app_id] = {
            "accepted": len(accepted),
            "lake_distinct": len(in_lake),
            "rollup_hourly": rollup_total(s3, bucket, "rollup_hourly", app_id),
            "rollup_daily": rollup_total(s3, bucket, "rollup_daily", app_id),
            "lost": len(accepted - in_lake),
            "given_up": len(given_up),
            "given_up_in_lake": landed_anyway,
            "unacknowledged_in_lake": len(unexplained),
        }
    server_errors = sum(count for status, count in tally.statuses.items() if status >= 500 and status != 503)
    reconciled = all(
        a["accepted"] + a["given_up_in_lake"] == a["lake_distinct"] == a["rollup_hourly"] == a["rollup_daily"]
        and not a["lost"]
        and not a["unacknowledged_in_lake"]
        for a in apps.values()
    )
    requests = sum(tally.statuses.values())
    return {
        "clients": clients,
        "fault_rate": stack.info.get("fault_rate", 0.0),
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_second": round(requests / elapsed, 1),
        "events_sent": tally.events_sent,
        "events_accepted": sum(a["accepted"] for a in apps.values()),
        "accepted_per_second": round(sum(a["accepted"] for a in apps.values()) / elapsed, 1),
        "latency_ms": {
            "p50": round(statistics.median(tally.latencies_ms), 1) if tally.latencies_ms else 0.0,
            "p99": round(percentile(tally.latencies_ms, 0.99), 1),
            "max": round(max(tally.latencies_ms, default=0.0), 1),
        },
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "batches": dict(tally.kinds),
        "apps": apps,
        "problems": tally.problems,
        "ok": reconciled and not server_errors and not tally.problems,
    }


def print_report(report: dict[str, Any]) -> None:
    latency = report["latency_ms"]
    print(
        f"\n{report['clients']} clients for {report['seconds']} s (AWS faults {report['fault_rate']:.0%}): "
        f"{report['requests']} requests "
        f"({report['requests_per_second']}/s), {report['events_accepted']} events accepted "
        f"({report['accepted_per_second']}/s); latency p50 {latency['p50']} ms, p99 {latency['p99']} ms, "
        f"max {latency['max']} ms"
    )
    print(f"statuses {report['statuses']}; batches {report['batches']}")
    columns = ("accepted", "gave up", "lake", "hourly", "daily", "lost")
    header = f"{'app':<22} " + " ".join(f"{c:>9}" for c in columns) + "  result"
    print(header)
    print("-" * len(header))
    for app_id, a in report["apps"].items():
        same = (
            a["accepted"] + a["given_up_in_lake"]
            == a["lake_distinct"]
            == a["rollup_hourly"]
            == a["rollup_daily"]
        )
        exact = same and not a["lost"] and not a["unacknowledged_in_lake"]
        values = (
            a["accepted"],
            a["given_up"],
            a["lake_distinct"],
            a["rollup_hourly"],
            a["rollup_daily"],
            a["lost"],
        )
        print(
            f"{app_id:<22} " + " ".join(f"{v:>9}" for v in values) + f"  {'exact' if exact else 'MISMATCH'}"
        )
    for problem in report["problems"]:
        print(f"problem: {problem}")
    print("reconciliation: " + ("OK" if report["ok"] else "FAILED"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", type=float, default=0.0, help="share of AWS calls that fail (0-1)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or not 0 <= args.faults <= 1:
        parser.error("--clients must be >= 1, --duration > 0 and --faults between 0 and 1")

    def progress(message: str) -> None:
        print(f"\r{message:<70}", end="", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="liveops-load-") as state_dir:
        extra = ("--faults", str(args.faults)) if args.faults else ()
        stack = start_stack_process(Path(state_dir), *extra)
        try:
            report = run_load(stack, args.clients, args.duration, args.seed, progress)
        finally:
            stack.stop()
    print(file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
