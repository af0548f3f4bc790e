"""A tiny stand-in for the two AWS APIs the Discord front calls, on 127.0.0.1 (no internet):
SSM GetParameter (the public key) and Lambda Invoke (the hand-off to discord-worker). Real boto3
clients reach it through `AWS_ENDPOINT_URL`, so a fresh interpreter runs the front's deployed path
(client creation, signing, the HTTP round trip) and the test sees what it asked for.

Used by tests/unit/test_cold_imports.py and tests/bench/discord_bench.py (`make bench`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INVOKE_PREFIX = "/2015-03-31/functions/"


@dataclass
class Invocation:
    function: str
    invocation_type: str
    payload: Any


@dataclass
class LocalAws:
    parameters: dict[str, str] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    parameter_reads: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LocalAws:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="local-aws", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        if headers.get("x-amz-target") == "AmazonSSM.GetParameter":
            name = str(json.loads(body or b"{}").get("Name"))
            with self._lock:
                self.parameter_reads.append(name)
            if name not in self.parameters:
                error = {"__type": "ParameterNotFound", "message": f"{name} not found"}
                return 400, "application/x-amz-json-1.1", json.dumps(error).encode()
            parameter = {"Name": name, "Type": "String", "Value": self.parameters[name], "Version": 1}
            return 200, "application/x-amz-json-1.1", json.dumps({"Parameter": parameter}).encode()
        if path.startswith(INVOKE_PREFIX) and path.endswith("/invocations"):
            function = path.removeprefix(INVOKE_PREFIX).removesuffix("/invocations")
            kind = headers.get("x-amz-invocation-type", "RequestResponse")
            with self._lock:
                self.invocations.append(Invocation(function, kind, json.loads(body or b"null")))
            return (202 if kind == "Event" else 200), "application/json", b""
        error = {"__type": "UnknownOperationException", "message": path}
        return 400, "application/json", json.dumps(error).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, content_type, out = stub._answer(self.path.split("?", 1)[0], headers, body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(out)))
                self.send_header("x-amzn-RequestId", "local")
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
