"""A fake Discord REST API on 127.0.0.1 for the local stack and the tests.

It serves the routes liveops calls (channel messages, the original response and follow-ups of an
interaction, webhooks, command bulk-overwrite, interaction callbacks), answers realistic JSON with
snowflake ids, keeps messages so that edits apply, checks bot authorization and Discord's message
limits the way Discord does (401 / 400 with code 50035), sends rate-limit headers, and records
every call. `fail_next()` makes it answer the next calls with 429 (with `retry_after`) or a 5xx.

    fake = FakeDiscord().start()
    rest = DiscordRest(base_url=fake.url, token="local")
    ...
    fake.stop()

Run on its own: `python -m liveops.local.fake_discord --port 8090`.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from liveops.discord.limits import message_problems

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
BOT_USER = {"id": "1100000000000000001", "username": "liveops", "discriminator": "0", "bot": True}
RATE_LIMIT = 5  # requests per bucket window, as reported in the headers
RATE_WINDOW_SECONDS = 1.0

Reply = tuple[int, dict[str, str], Any]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connecting at once are queued, not refused


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    json: Any
    status: int = 0


@dataclass
class _Failure:
    status: int
    retry_after: float
    is_global: bool
    message: str | None


@dataclass
class _Message:
    data: dict[str, Any]
    channel_id: str
    history: list[dict[str, Any]] = field(default_factory=list)


class FakeDiscord:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, check_limits: bool = True) -> None:
        self.host = host
        self.check_limits = check_limits
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._messages: dict[str, _Message] = {}  # message id -> message
        self._originals: dict[tuple[str, str], str] = {}  # (application, token) -> message id
        self._commands: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        self._sequence = 0
        self._server = _Server((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The API base URL to give `DiscordRest(base_url=...)`."""
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    def webhook_url(self, webhook_id: str = "1200000000000000001", token: str = "local-webhook-token") -> str:
        return f"{self.url}/webhooks/{webhook_id}/{token}"

    def start(self) -> FakeDiscord:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-discord",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests look at and steer ----------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def fail_next(
        self,
        count: int = 1,
        status: int = 429,
        retry_after: float = 0.05,
        *,
        is_global: bool = False,
        message: str | None = None,
    ) -> None:
        """Answer the next `count` calls with `status` (429: with `retry_after` seconds)."""
        with self._lock:
            self._failures.extend(_Failure(status, retry_after, is_global, message) for _ in range(count))

    def message(self, message_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._messages.get(message_id)
            return copy.deepcopy(found.data) if found else None

    def messages(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(m.data)
                for m in self._messages.values()
                if channel_id is None or m.channel_id == channel_id
            ]

    def commands(self, application_id: str, guild_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._commands.get((application_id, guild_id), []))

    def bind_original(self, application_id: str, token: str, message_id: str) -> None:
        """Make `message_id` the original response of an interaction, as Discord does for a button
        pressed on that message (its deferred update's @original is the message itself).
        Over HTTP: POST {url}/_fake/originals {"application_id", "token", "message_id"}."""
        with self._lock:
            self._originals[(application_id, token)] = message_id

    def history(self, message_id: str) -> list[dict[str, Any]]:
        """The earlier versions of a message, oldest first (one per edit)."""
        with self._lock:
            found = self._messages.get(message_id)
            return copy.deepcopy(found.history) if found else []

    # --- the API -------------------------------------------------------------------------------

    def _snowflake(self) -> str:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((millis << 22) | (1 << 17) | (1 << 12) | (sequence & 0xFFF))

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            payload: Any = json.loads(body) if body else None
            bad_json = False
        except ValueError:
            payload, bad_json = body.decode("utf-8", "replace"), True
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        bucket = hashlib.sha1(re.sub(r"\d{5,}", "{id}", f"{method} {parts.path}").encode()).hexdigest()[:16]
        out_headers = {
            "content-type": "application/json",
            "x-ratelimit-bucket": bucket,
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": str(RATE_LIMIT - 1),
            "x-ratelimit-reset": f"{time.time() + RATE_WINDOW_SECONDS:.3f}",
            "x-ratelimit-reset-after": f"{RATE_WINDOW_SECONDS:.3f}",
        }
        if failure is not None:
            status, extra, reply = self._failure(failure)
            out_headers.update(extra)
        elif bad_json:
            status, reply = 400, {"code": 50109, "message": "The request body contains invalid JSON."}
        else:
            status, extra, reply = self._route(method, parts.path, query, headers, payload)
            out_headers.update(extra)
        with self._lock:
            self._calls.append(Call(method, parts.path, query, dict(headers), payload, status))
        raw = b"" if reply is None else json.dumps(reply).encode()
        if reply is None:
            out_headers.pop("content-type")
        return status, out_headers, raw

    def _failure(self, failure: _Failure) -> Reply:
        if failure.status != 429:
            return (
                failure.status,
                {},
                {"message": failure.message or f"{failure.status}: Server Error", "code": 0},
            )
        reply = {
            "message": failure.message or "You are being rate limited.",
            "retry_after": failure.retry_after,
            "global": failure.is_global,
        }
        headers = {
            "retry-after": str(math.ceil(failure.retry_after)),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset-after": f"{failure.retry_after:.3f}",
            "x-ratelimit-scope": "global" if failure.is_global else "user",
        }
        if failure.is_global:
            headers["x-ratelimit-global"] = "true"
        return 429, headers, reply

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> Reply:
        if not path.startswith(API_PREFIX + "/"):
            return _not_found()
        segments = path[len(API_PREFIX) + 1 :].split("/")
        bot = headers.get("authorization", "").startswith("Bot ")
        match method, segments:
            case "POST", ["_fake", "originals"]:  # test control, not a Discord route
                if not isinstance(body, dict) or not all(
                    isinstance(body.get(k), str) for k in ("application_id", "token", "message_id")
                ):
                    return (
                        400,
                        {},
                        {"message": "application_id, token and message_id are required", "code": 0},
                    )
                self.bind_original(body["application_id"], body["token"], body["message_id"])
                return 204, {}, None
            case "GET", ["_fake", "messages", message_id]:  # test control: a message with its edits
                found = self.message(message_id)
                if found is None:
                    return _unknown_message()
                return 200, {}, {**found, "history": self.history(message_id)}
            case "POST", ["channels", channel_id, "messages"]:
                return self._bot(bot) or self._create(channel_id, body)
            case "GET", ["channels", channel_id, "messages", message_id]:
                return self._bot(bot) or self._get(channel_id, message_id)
            case "PATCH", ["channels", channel_id, "messages", message_id]:
                return self._bot(bot) or self._edit(channel_id, message_id, body)
            case "PATCH", ["webhooks", application_id, token, "messages", "@original"]:
                return self._edit_original(application_id, token, body)
            case "POST", ["webhooks", webhook_id, token]:
                reply = self._create(f"webhook-{webhook_id}", body, webhook_id=webhook_id)
                if reply[0] == 200 and query.get("wait", "").lower() != "true":
                    return 204, {}, None
                return reply
            case "POST", ["interactions", _interaction_id, _token, "callback"]:
                return 204, {}, None
            case "PUT", ["applications", application_id, "commands"]:
                return self._bot(bot) or self._overwrite(application_id, None, body)
            case "PUT", ["applications", application_id, "guilds", guild_id, "commands"]:
                return self._bot(bot) or self._overwrite(application_id, guild_id, body)
        return _not_found()

    @staticmethod
    def _bot(authorized: bool) -> Reply | None:
        return None if authorized else (401, {}, {"message": "401: Unauthorized", "code": 0})

    def _invalid(self, body: Any) -> Reply | None:
        if not isinstance(body, dict):
            return 400, {}, {"code": 50109, "message": "The request body contains invalid JSON."}
        if self.check_limits:
            problems = message_problems(body)
            if problems:
                return (
                    400,
                    {},
                    {"code": 50035, "message": "Invalid Form Body", "errors": {"_errors": problems}},
                )
        return None

    def _create(self, channel_id: str, body: Any, webhook_id: str | None = None) -> Reply:
        invalid = self._invalid(body)
        if invalid:
            return invalid
        if not any(body.get(key) for key in ("content", "embeds", "components")):
            return 400, {}, {"code": 50006, "message": "Cannot send an empty message"}
        message_id = self._snowflake()
        data: dict[str, Any] = {
            "id": message_id,
            "type": 0,
            "channel_id": channel_id,
            "author": dict(BOT_USER)
            if webhook_id is None
            else {"id": webhook_id, "username": "webhook", "bot": True},
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "flags": int(body.get("flags") or 0),
            "timestamp": _now(),
            "edited_timestamp": None,
        }
        if webhook_id is not None:
            data["webhook_id"] = webhook_id
        with self._lock:
            self._messages[message_id] = _Message(data, channel_id)
            return 200, {}, copy.deepcopy(data)

    def _get(self, channel_id: str, message_id: str) -> Reply:
        with self._lock:
            found = self._messages.get(message_id)
            if found is None or found.channel_id != channel_id:
                return _unknown_message()
            return 200, {}, copy.deepcopy(found.data)

    def _edit(self, channel_id: str, message_id: str, body: Any) -> Reply:
        invalid = self._invalid(body)
        if invalid:
            return invalid
        with self._lock:
            found = self._messages.get(message_id)
            if found is None or found.channel_id != channel_id:
                return _unknown_message()
            found.history.append(copy.deepcopy(found.data))
            for key in ("content", "embeds", "components", "flags"):
                if key in body:
                    found.data[key] = body[key] if body[key] is not None else ("" if key == "content" else [])
            found.data["edited_timestamp"] = _now()
            return 200, {}, copy.deepcopy(found.data)

    def _edit_original(self, application_id: str, token: str, body: Any) -> Reply:
        invalid = self._invalid(body)
        if invalid:
            return invalid
        with self._lock:
            message_id = self._originals.get((application_id, token))
            bound = self._messages.get(message_id) if message_id is not None else None
        if message_id is not None and bound is not None:  # e.g. the message a pressed button is on
            return self._edit(bound.channel_id, message_id, body)
        if message_id is None:  # the deferred response's placeholder, created on first edit
            status, _, created = self._create(
                f"interaction-{application_id}", {"content": "…"}, webhook_id=application_id
            )
            if status != 200:
                return status, {}, created
            message_id = created["id"]
            with self._lock:
                self._originals[(application_id, token)] = message_id
        return self._edit(f"interaction-{application_id}", message_id, body)

    def _overwrite(self, application_id: str, guild_id: str | None, body: Any) -> Reply:
        if not isinstance(body, list) or not all(isinstance(c, dict) and c.get("name") for c in body):
            return 400, {}, {"code": 50035, "message": "Invalid Form Body"}
        commands = []
        for command in body:
            stored = {
                "id": self._snowflake(),
                "application_id": application_id,
                "version": self._snowflake(),
                "type": 1,
                "description": "",
                **command,
            }
            if guild_id is not None:
                stored["guild_id"] = guild_id
            commands.append(stored)
        with self._lock:
            self._commands[(application_id, guild_id)] = commands
            return 200, {}, copy.deepcopy(commands)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _respond(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out_headers, out = fake.handle(self.command, self.path, headers, body)
                self.send_response(status)
                for name, value in out_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if out:
                    self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _respond

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _not_found() -> Reply:
    return 404, {}, {"message": "404: Not Found", "code": 0}


def _unknown_message() -> Reply:
    return 404, {}, {"message": "Unknown Message", "code": 10008}


def main(argv: list[str] | None = None, wait: Callable[[], None] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a fake Discord REST API that records calls")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    fake = FakeDiscord(args.host, args.port).start()
    print(f"fake Discord API at {fake.url}", flush=True)
    try:
        (wait or threading.Event().wait)()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
