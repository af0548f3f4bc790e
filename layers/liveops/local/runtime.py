"""Runs the template's Lambda handlers in-process, one 'container' at a time per function, as
Lambda does (Powertools resolvers keep per-request state on the app object)."""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from liveops.api.front import LazyResolver
from liveops.local.template import FunctionSpec

log = logging.getLogger("liveops.local")

# One cold start at a time across all functions: a handler's first call imports most of what it
# uses, and two threads importing overlapping modules at once can meet a partly initialised
# module (an ImportError Lambda, one process per container, never sees).
_COLD_START = threading.Lock()

# the logical id of the function whose handler is running (liveops.local.iam_audit reads it)
current_function: ContextVar[str | None] = ContextVar("current_function", default=None)


@dataclass
class LocalContext:
    """The parts of the Lambda context object that Powertools reads."""

    function_name: str
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.timeout_seconds = spec.timeout_seconds
        self._lock = threading.Lock()
        self._handler: Any = None

    def _load(self) -> Any:
        module_name, func_name = self.spec.handler.rsplit(".", 1)
        path = self.spec.code_dir / f"{module_name.replace('.', '/')}.py"
        unique = f"liveops_fn_{self.spec.logical_id}"
        loader_spec = importlib.util.spec_from_file_location(unique, path)
        if loader_spec is None or loader_spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        module = importlib.util.module_from_spec(loader_spec)
        loader_spec.loader.exec_module(module)
        resolver = getattr(module, "app", None)
        if isinstance(resolver, LazyResolver):
            resolver.get()  # built on a later request in Lambda; here, inside the cold start
        return getattr(module, func_name)

    def _call(self, event: dict[str, Any]) -> Any:
        context = LocalContext(self.spec.logical_id, timeout_seconds=self.timeout_seconds)
        token = current_function.set(self.spec.logical_id)
        try:
            return self._handler(event, context)
        finally:
            current_function.reset(token)

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            if self._handler is not None:
                return self._call(event)
            with _COLD_START:  # the first call too: it builds the function's clients and services
                self._handler = self._load()
                return self._call(event)


class AsyncInvoker:
    """Lambda async invokes (InvocationType Event) in-process, as moto cannot run Lambda code:
    each invoke returns at once and runs the function's handler in a thread of its own (the
    function's lock still runs one request at a time per function, like one container).

    `names` maps what callers pass as FunctionName (the template's Ref of the function, e.g.
    `local-DiscordWorkerFunction`) to logical ids; logical ids work too. A failed invocation is
    logged (Lambda would retry it twice, then drop it)."""

    def __init__(self, functions: Mapping[str, LocalFunction], names: Mapping[str, Any]) -> None:
        self.functions = dict(functions)
        self.names = {
            str(names[logical_id]): logical_id for logical_id in self.functions if logical_id in names
        }
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __call__(self, function_name: str, payload: dict[str, Any]) -> None:
        logical_id = self.names.get(function_name, function_name)
        function = self.functions.get(logical_id)
        if function is None:
            raise LookupError(f"no local function {function_name!r}")
        thread = threading.Thread(
            target=self._run, args=(function, payload), name=f"async-{logical_id}", daemon=True
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    @staticmethod
    def _run(function: LocalFunction, payload: dict[str, Any]) -> None:
        try:
            function.invoke(payload)
        except Exception:
            log.exception("async invocation of %s failed", function.spec.logical_id)

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait for the invocations started so far (tests); False if some are still running."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)
