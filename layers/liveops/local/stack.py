"""The local stack: moto server, resources from template.yaml, the HTTP gateway, queue pollers.

`liveops dev` runs it; tests start it on free ports. Everything runs in this one process.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveops import aws, wiring
from liveops.local.gateway import DASHBOARD_PREFIX, Gateway, dashboard_handler
from liveops.local.poller import QueuePoller
from liveops.local.provision import provision
from liveops.local.runtime import AsyncInvoker, LocalFunction
from liveops.local.scheduler import Scheduler, schedules
from liveops.local.template import (
    PROJECT_ROOT,
    Context,
    functions,
    http_routes,
    parameter_defaults,
    project_template,
    resolve,
)
from liveops.services.apps import apply_config, create_key, parse_config_file
from liveops.settings import get_settings

EXAMPLES_DIR = PROJECT_ROOT / "examples" / "apps"
LOCAL_BOT_TOKEN = "local-bot-token"
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    aws_port: int = 5000
    state_dir: Path = field(default_factory=lambda: Path(".liveops"))
    apply_examples: bool = True
    log_level: str = "WARNING"
    fake_discord: bool = True  # a FakeDiscord on a free port stands in for discord.com
    fault_rate: float = 0.0  # share of the functions' S3/SQS/DynamoDB calls that fail (local/faults.py)


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.template = project_template()
        self.ctx = Context()
        self.functions: dict[str, LocalFunction] = {}
        self.pollers: list[QueuePoller] = []
        self.moto: Any = None
        self.http: Any = None
        self.http_thread: threading.Thread | None = None
        self.info: dict[str, Any] = {}
        self.scheduler: Scheduler | None = None
        self.fake_discord: Any = None
        self.async_invoker: AsyncInvoker | None = None
        self.faults: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.options.host}:{self.options.aws_port}"

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> dict[str, Any]:
        from moto.server import ThreadedMotoServer

        opts = self.options
        opts.state_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(LOCAL_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        # Powertools: no EMF metrics or X-Ray segments locally
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        self.moto = ThreadedMotoServer(ip_address=opts.host, port=opts.aws_port, verbose=False)
        self.moto.start()
        aws.reset_clients()

        self.ctx.parameters = {**parameter_defaults(self.template), "LogLevel": opts.log_level}
        provision(self.template, self.ctx, lambda service: aws.client(service))
        stored = self._put_secrets()
        environment = self._function_environment()
        if opts.fake_discord:
            from liveops.local.fake_discord import FakeDiscord

            self.fake_discord = FakeDiscord(opts.host).start()
            environment["DISCORD_API_BASE_URL"] = self.fake_discord.url
        os.environ.update(environment)
        get_settings.cache_clear()
        wiring.reset()

        for spec in functions(self.template):
            self.functions[spec.logical_id] = LocalFunction(spec)
        # Lambda async invokes (the Discord front -> discord-worker) run in-process
        self.async_invoker = AsyncInvoker(self.functions, self.ctx.refs)
        wiring.local_async_invoke = self.async_invoker
        apps = self._apply_examples() if opts.apply_examples else {}
        self._start_pollers()
        self._start_gateway()
        self.scheduler = Scheduler(
            schedules(self.template), lambda fn, event: self.functions[fn].invoke(event)
        )
        self.scheduler.start()
        self.info = {
            "api_url": f"http://{opts.host}:{opts.port}",
            "aws_endpoint_url": self.endpoint,
            "region": self.ctx.region,
            "lake_bucket": environment.get("LAKE_BUCKET"),
            "site_bucket": environment.get("SITE_BUCKET"),
            "apps": apps,
            "tokens": self._issue_tokens(),
            "discord": {
                "public_key": stored["discord_public_key"],
                "private_key": stored["discord_private_key"],  # local only: signs test interactions
                "api_base_url": environment.get("DISCORD_API_BASE_URL"),
            },
            "schedules": {s.name: s.expression for s in self.scheduler.entries},
            "environment": environment,
            "pid": os.getpid(),
        }
        if opts.fault_rate:
            self._inject_faults(opts.fault_rate)
            self.info["fault_rate"] = opts.fault_rate
        self._write_state()
        return self.info

    def _inject_faults(self, rate: float) -> None:
        """From now on the functions' AWS calls fail at `rate` (the queue poller, which stands in
        for Lambda's event source, and setup calls made above keep their clients)."""
        from liveops.local.faults import FaultInjector

        self.faults = FaultInjector(rate=rate, seed=int.from_bytes(os.urandom(4), "big"))
        aws.add_client_hook(self.faults.attach)
        wiring.reset()

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop_event.set()
        for poller in self.pollers:
            poller.stop_event.set()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        for poller in self.pollers:
            poller.stop()
        if self.moto is not None:
            self.moto.stop()
        if self.faults is not None:
            aws.remove_client_hook(self.faults.attach)
        if self.fake_discord is not None:
            self.fake_discord.stop()
        if wiring.local_async_invoke is self.async_invoker:
            wiring.local_async_invoke = None
        state = self.options.state_dir / "dev.json"
        if state.exists():
            try:
                if json.loads(state.read_text()).get("pid") == os.getpid():
                    state.unlink()
            except (OSError, ValueError):
                pass

    # ---------------------------------------------------------------- parts
    def _put_secrets(self) -> dict[str, str]:
        """Deployment secrets the operator puts in SSM; locally generated once and kept in state_dir."""
        path = self.options.state_dir / "secrets.json"
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        if not {"user_hash_secret", "discord_private_key", "discord_public_key"} <= set(stored):
            from nacl.signing import SigningKey

            stored.setdefault("user_hash_secret", secrets.token_hex(32))
            # the local Discord application's key pair: tools and tests sign interactions with it
            signing = SigningKey.generate()
            stored.setdefault("discord_private_key", signing.encode().hex())
            private = SigningKey(bytes.fromhex(stored["discord_private_key"]))
            stored["discord_public_key"] = private.verify_key.encode().hex()
            path.write_text(json.dumps(stored, indent=2))
            path.chmod(0o600)
        ssm = aws.client("ssm")
        ssm.put_parameter(
            Name=self.ctx.parameters["UserHashSecretParameterName"],
            Value=stored["user_hash_secret"],
            Type="SecureString",
            Overwrite=True,
        )
        ssm.put_parameter(
            Name=self.ctx.parameters["DiscordPublicKeyParameterName"],
            Value=stored["discord_public_key"],
            Type="String",
            Overwrite=True,
        )
        if self.options.fake_discord:  # the fake accepts any bot token; discord.com needs the real one
            ssm.put_parameter(
                Name=self.ctx.parameters.get("DiscordBotTokenParameterName") or "/liveops/discord/bot-token",
                Value=LOCAL_BOT_TOKEN,
                Type="SecureString",
                Overwrite=True,
            )
        return stored

    def _function_environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for spec in functions(self.template):
            for name, value in resolve(spec.environment, self.ctx).items():
                env[name] = str(value)
        return env

    def _issue_tokens(self) -> dict[str, str]:
        """One admin/metrics token per role (moto starts empty, so each start issues new ones)."""
        from liveops.services.tokens import ROLES, create_token

        store = wiring.tokens_store()
        return {role: create_token(store, role).token for role in ROLES}

    def _apply_examples(self) -> dict[str, dict[str, str]]:
        store = wiring.apps_store()
        apps: dict[str, dict[str, str]] = {}
        for path in sorted(EXAMPLES_DIR.glob("*.yaml")):
            config = parse_config_file(path)
            apply_config(store, config)
            apps[config.app_id] = {"api_key": create_key(store, config.app_id).api_key}
        return apps

    def _start_pollers(self) -> None:
        sqs = aws.client("sqs")
        arn_to_url = {
            attr: self.ctx.refs[name]
            for (name, kind), attr in self.ctx.attrs.items()
            if kind == "Arn" and str(attr).startswith("arn:aws:sqs:")
        }
        for function in self.functions.values():
            for event in function.spec.events.values():
                if event.get("Type") != "SQS":
                    continue
                props = resolve(event["Properties"], self.ctx)
                poller = QueuePoller(
                    sqs,
                    arn_to_url[props["Queue"]],
                    props["Queue"],
                    function.invoke,
                    batch_size=int(props.get("BatchSize", 10)),
                    # locally a short window keeps the lake fresh while staying batch-oriented
                    window_seconds=min(1.0, float(props.get("MaximumBatchingWindowInSeconds", 0))),
                )
                poller.start()
                self.pollers.append(poller)

    def _start_gateway(self) -> None:
        gateway = Gateway(
            http_routes(self.template),
            lambda fn, event: self.functions[fn].invoke(event),
            static={DASHBOARD_PREFIX: dashboard_handler(wiring.site_bucket)},  # the site bucket
        )
        self.http = gateway.serve(self.options.host, self.options.port)
        self.http_thread = threading.Thread(target=self.http.serve_forever, name="gateway", daemon=True)
        self.http_thread.start()

    def _write_state(self) -> None:
        path = self.options.state_dir / "dev.json"
        path.write_text(json.dumps(self.info, indent=2))
        path.chmod(0o600)


def free_port(host: str = "127.0.0.1") -> int:
    return _free_port(host)
