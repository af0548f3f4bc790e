"""Runs the template's Lambda handlers in-process, one 'container' at a time per function, as
Lambda does (Powertools resolvers keep per-request state on the app object)."""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from liveops.local.template import FunctionSpec


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
        return getattr(module, func_name)

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            if self._handler is None:
                self._handler = self._load()
            context = LocalContext(self.spec.logical_id, timeout_seconds=self.timeout_seconds)
            return self._handler(event, context)
