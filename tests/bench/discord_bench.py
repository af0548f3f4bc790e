"""Benchmark: the Discord interactions front (functions/discord/app.py).

- cold import of the handler module in fresh processes (median of 5) beside an empty handler;
- a PING handled in-process (µs per call, best of several rounds of many calls) beside the bare
  PyNaCl verify of the same message, which is most of it;
- a slash command answered in-process: verify, hand-off to the worker (recorded here; an async
  Lambda invoke in AWS) and the type-5 deferral;
- a cold container's first slash command, through the real deferral path, in fresh processes:
  the import, then the command, which imports boto3, creates the SSM client and reads the public
  key, verifies, creates the Lambda client and invokes discord-worker (InvocationType Event), and
  answers type 5; against tests.aws_stub.LocalAws on 127.0.0.1 (real boto3 clients and HTTP, no
  internet; in AWS each of the two calls adds its network round trip, ~10-50 ms);
- for the record, a container's first request when it is a PING (the SSM read, no invoke).
Never asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

Row = tuple[str, str, str, str]
RUNS = 5  # fresh processes per first-request figure (median)
ROOT = Path(__file__).resolve().parents[2]
HANDLER = ROOT / "functions" / "discord" / "app.py"
EMPTY = ROOT / "tests" / "bench" / "empty_handler.py"
LOGGER_ONLY = ROOT / "tests" / "bench" / "logger_handler.py"
PING_BODY = b'{"type":1,"id":"1","application_id":"2","token":"t","version":1}'
COMMAND_BODY = (
    b'{"type":2,"id":"3","application_id":"2","token":"t","version":1,"guild_id":"4",'
    b'"member":{"user":{"id":"5"},"roles":[]},"data":{"id":"6","name":"telemetry_report","type":1,'
    b'"options":[{"name":"section","type":3,"value":"kpis"}]}}'
)
BASE_ENV = {
    **os.environ,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}

_LOAD = (
    "import importlib.util, time, sys\n"
    "t0 = time.perf_counter()\n"
    "spec = importlib.util.spec_from_file_location('handler', {path!r})\n"
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
    "t1 = time.perf_counter()\n"
)
# the first requests of a fresh container, against the local AWS stub the parent process runs
_FIRST_REQUEST = """
import json, os
from nacl.signing import SigningKey
signing = SigningKey(bytes.fromhex(os.environ["BENCH_DISCORD_PRIVATE_KEY"]))
body = {body!r}
def event():
    stamp = str(int(time.time()))
    headers = {{"x-signature-ed25519": signing.sign(stamp.encode() + body).signature.hex(),
               "x-signature-timestamp": stamp}}
    return {{"headers": headers, "body": body.decode(), "requestContext": {{"http": {{"method": "POST"}}}}}}
first, second = event(), event()
t2 = time.perf_counter()
answer = module.front(first)
t3 = time.perf_counter()
assert answer["body"] == {expected!r}, answer
module.front(second)
t4 = time.perf_counter()
print(json.dumps([t1 - t0, t3 - t2, t4 - t3]))
"""


def _fresh(code: str, env: dict[str, str]) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=ROOT
    )
    return [float(v) for v in json.loads(out.stdout.strip().splitlines()[-1])]


def cold_import(path: Path, runs: int = 5) -> float:
    code = _LOAD.format(path=str(path)) + "import json; print(json.dumps([t1 - t0]))\n"
    return statistics.median(_fresh(code, BASE_ENV)[0] for _ in range(runs))


def per_call(fn: Callable[[], Any], number: int = 2000, repeat: int = 5) -> float:
    """Seconds per call: the best of `repeat` rounds of `number` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def _ping_event(signing: SigningKey, body: bytes = PING_BODY) -> dict[str, Any]:
    stamp = str(int(time.time()))
    return {
        "version": "2.0",
        "routeKey": "ANY /discord/interactions",
        "rawPath": "/discord/interactions",
        "headers": {
            "content-type": "application/json",
            "x-signature-ed25519": signing.sign(stamp.encode() + body).signature.hex(),
            "x-signature-timestamp": stamp,
        },
        "requestContext": {"http": {"method": "POST", "path": "/discord/interactions"}},
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def _in_process(signing: SigningKey) -> tuple[float, float, float, float]:
    """(handler, front, bare verify) seconds per PING and front seconds per deferred command in
    this process, key already cached."""
    import importlib.util

    from liveops.local.runtime import LocalContext

    for name, value in BASE_ENV.items():
        os.environ.setdefault(name, value)
    spec = importlib.util.spec_from_file_location("discord_bench_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    public = signing.verify_key.encode().hex()
    module.front.public_key = lambda: public
    event = _ping_event(signing)
    context = LocalContext("DiscordFunction")
    assert module.handler(event, context)["body"] == '{"type":1}'
    handler = per_call(lambda: module.handler(event, context))
    front = per_call(lambda: module.front(event))
    key = signing.verify_key
    headers = event["headers"]
    message = headers["x-signature-timestamp"].encode() + PING_BODY
    signature = bytes.fromhex(headers["x-signature-ed25519"])
    verify = per_call(lambda: key.verify(message, signature))
    import liveops.wiring

    handed: list[Any] = []
    liveops.wiring.local_async_invoke = lambda name, payload: handed.append(payload)
    try:
        command = _ping_event(signing, COMMAND_BODY)
        assert module.front(command)["body"] == '{"type":5}'
        deferral = per_call(lambda: module.front(command), number=1000)
    finally:
        liveops.wiring.local_async_invoke = None
    return handler, front, verify, deferral


def _first_request(
    signing: SigningKey, body: bytes, expected: str, runs: int = RUNS
) -> tuple[float, float, float, int]:
    """Median (import, first request, second request) seconds in fresh processes whose first
    request is `body`, and how many worker invocations the stub saw; real boto3 clients against
    tests.aws_stub.LocalAws on 127.0.0.1 (the deployed environment's names)."""
    if str(ROOT) not in sys.path:  # run alone: `python tests/bench/discord_bench.py`
        sys.path.insert(0, str(ROOT))
    from tests.aws_stub import LocalAws

    parameter = "/liveops/discord/public-key"
    worker = "liveops-DiscordWorkerFunction"
    with LocalAws(parameters={parameter: signing.verify_key.encode().hex()}) as aws:
        env = {
            **BASE_ENV,
            "AWS_ENDPOINT_URL": aws.url,
            "DISCORD_PUBLIC_KEY_PARAM": parameter,
            "DISCORD_WORKER_FUNCTION": worker,
            "BENCH_DISCORD_PRIVATE_KEY": signing.encode().hex(),
        }
        code = _LOAD.format(path=str(HANDLER)) + _FIRST_REQUEST.format(body=body, expected=expected)
        samples = [_fresh(code, env) for _ in range(runs)]
        invoked = sum(1 for i in aws.invocations if i.function == worker and i.invocation_type == "Event")
    load, first, second = (statistics.median(column) for column in zip(*samples, strict=True))
    return load, first, second, invoked


def bench_discord() -> list[Row]:
    signing = SigningKey.generate()
    baseline = cold_import(EMPTY)
    logger_only = cold_import(LOGGER_ONLY)
    imported = cold_import(HANDLER)
    handler, front, verify, deferral = _in_process(signing)
    rows: list[Row] = [
        (
            "discord: cold import of the front",
            f"{imported * 1000:.0f} ms",
            f"empty handler {baseline * 1000:.0f} ms, Powertools Logger alone {logger_only * 1000:.0f} ms",
            "≤ 150 ms",
        ),
        (
            "discord: PING in-process (verify + PONG)",
            f"{handler * 1e6:.0f} µs/call with the Logger wrapper, {front * 1e6:.0f} µs front alone",
            f"bare PyNaCl verify {verify * 1e6:.0f} µs",
            "≤ 1 ms",
        ),
        (
            "discord: slash command answered in-process (verify + hand-off + type-5 deferral)",
            f"{deferral * 1e6:.0f} µs/call (hand-off recorded; in AWS an async Lambda invoke adds ~20-50 ms)",
            f"PING {front * 1e6:.0f} µs",
            "well within 3 s",
        ),
    ]
    load, command, warm_command, invoked = _first_request(signing, COMMAND_BODY, '{"type":5}')
    rows.append(
        (
            "discord: a cold container's first slash command (deferral through a real boto3 Lambda invoke)",
            f"{(load + command) * 1000:.0f} ms = import {load * 1000:.0f} ms + first command "
            f"{command * 1000:.0f} ms (boto3, SSM client + key read, verify, Lambda client + "
            f"async invoke, type 5); worker invoked {invoked}/{2 * RUNS}",
            f"next command {warm_command * 1000:.1f} ms; local AWS stub on 127.0.0.1, in AWS add "
            "~10-50 ms per call (2 calls)",
            "answered or deferred well within 3 s",
        )
    )
    load, ping, warm = _first_request(signing, PING_BODY, '{"type":1}')[:3]
    rows.append(
        (
            "discord: first request of a container when it is a PING",
            f"import {load * 1000:.0f} ms + first PING {ping * 1000:.0f} ms (boto3, SSM read)",
            f"second PING {warm * 1e6:.0f} µs",
            "-",
        )
    )
    return rows


if __name__ == "__main__":
    for row in bench_discord():
        print(" | ".join(row))
