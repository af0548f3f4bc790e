"""A small hand-written Discord REST client (stdlib only: http.client, json).

Covers what liveops sends: bot messages to a channel (alerts with Acknowledge / Resolve buttons,
edited when the incident changes), the original response of a deferred interaction, command
registration, and a plain webhook notifier.

Behaviour that Discord asks of every client:
- a `User-Agent: DiscordBot (url, version)` header and `Authorization: Bot <token>` on bot routes
  (never on webhook-token routes, whose token is in the path);
- `allowed_mentions` always explicit (default: nothing pings);
- rate limits: a 429 waits `retry_after` (JSON body, seconds; else the `Retry-After` header) and
  retries; `X-RateLimit-Remaining: 0` + `X-RateLimit-Reset-After` make the next request on the
  same bucket (`X-RateLimit-Bucket` plus the route's major parameter) wait first; a global 429
  holds every request. 5xx and network failures are retried with exponential backoff; any other
  4xx raises `DiscordError` at once.

Waiting uses the injected `sleep` and `clock`, so tests run instantly; a wait longer than
`max_wait` is not slept through (a Lambda must not hang): it raises `DiscordRateLimited`.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_BASE_URL = "https://discord.com/api/v10"
DEFAULT_USER_AGENT = "DiscordBot (https://github.com/liveops, 0.1.0)"
DEFAULT_ALLOWED_MENTIONS: dict[str, Any] = {"parse": []}


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class Transport(Protocol):
    def __call__(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> Response: ...  # pragma: no cover


class DiscordError(Exception):
    """A request Discord refused (or that could not be completed)."""

    retryable = False

    def __init__(self, status: int, code: int | None, message: str, errors: Any = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        detail = f" {json.dumps(errors, separators=(',', ':'))[:500]}" if errors else ""
        super().__init__(f"Discord answered {status} (code {code}): {message}{detail}")


class DiscordRateLimited(DiscordError):
    """Still rate limited after the retries, or asked to wait longer than `max_wait`."""

    retryable = True

    def __init__(self, retry_after: float, message: str, is_global: bool = False) -> None:
        super().__init__(429, None, message)
        self.retry_after = retry_after
        self.is_global = is_global


class DiscordUnavailable(DiscordError):
    """5xx answers or network failures that outlasted the retries (status 0: no answer at all)."""

    retryable = True


class HttpTransport:
    """Keep-alive connections per (scheme, host, port); one request at a time per client."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._connections: dict[tuple[str, str, int | None], http.client.HTTPConnection] = {}
        self._lock = threading.Lock()

    def __call__(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        with self._lock:
            for attempt in (1, 2):
                reused = key in self._connections
                conn = self._connection(key)
                try:
                    conn.request(method, target, body=body, headers=headers)
                    response = conn.getresponse()
                    raw = response.read()
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    # a keep-alive connection the server had already closed: retry once on a new one
                    self._drop(key)
                    if attempt == 2 or not reused:
                        raise
                    continue
                except BaseException:
                    self._drop(key)
                    raise
                if response.will_close:
                    self._drop(key)
                return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, raw)
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, key: tuple[str, str, int | None]) -> http.client.HTTPConnection:
        conn = self._connections.get(key)
        if conn is None:
            scheme, host, port = key
            cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            conn = cls(host, port, timeout=self._timeout)
            self._connections[key] = conn
        return conn

    def _drop(self, key: tuple[str, str, int | None]) -> None:
        conn = self._connections.pop(key, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        with self._lock:
            for key in list(self._connections):
                self._drop(key)


@dataclass
class _Bucket:
    remaining: int | None = None
    reset_at: float = 0.0


_SNOWFLAKE = re.compile(r"^\d+$")
_MAJOR = {"channels", "guilds", "webhooks"}


def route_key(method: str, path: str) -> tuple[str, str]:
    """(route template, major parameters) of a path: ids other than the major ones become `{id}`.

    Discord shares a bucket between routes with the same template and keeps the major parameters
    (channel, guild, webhook id + token) apart.
    """
    segments = [s for s in path.split("/") if s]
    # drop the `/api[/vN]` prefix so a webhook URL and a base-relative path give the same key
    if segments[:1] == ["api"]:
        segments = segments[2:] if len(segments) > 1 and re.fullmatch(r"v\d+", segments[1]) else segments[1:]
    template: list[str] = []
    major: list[str] = []
    i = 0
    while i < len(segments):
        segment = segments[i]
        template.append(segment)
        if segment in _MAJOR and i + 1 < len(segments) and not major:
            ident = segments[i + 1]
            template.append("{major}")
            major.append(f"{segment}:{ident}")
            i += 2
            if (
                segment == "webhooks"
                and i < len(segments)
                and segments[i] not in ("messages", "github", "slack")
            ):
                major.append(segments[i])  # the webhook (or interaction) token
                template.append("{token}")
                i += 1
            continue
        if _SNOWFLAKE.match(segment):
            template[-1] = "{id}"
        i += 1
    return f"{method} /{'/'.join(template)}", "/".join(major)


class DiscordRest:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        transport: Transport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_retries: int = 3,
        *,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_wait: float = 60.0,
        allowed_mentions: Mapping[str, Any] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.user_agent = user_agent
        self.transport: Transport = transport if transport is not None else HttpTransport()
        self.sleep = sleep
        self.clock = clock
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_wait = max_wait
        self.allowed_mentions = dict(
            allowed_mentions if allowed_mentions is not None else DEFAULT_ALLOWED_MENTIONS
        )
        self._lock = threading.Lock()
        self._route_buckets: dict[str, str] = {}  # route template -> X-RateLimit-Bucket
        self._buckets: dict[str, _Bucket] = {}  # bucket hash (or template) + major -> state
        self._global_reset_at = 0.0

    # --- the routes liveops uses -------------------------------------------------------------

    def create_message(self, channel_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self._dict(self.request("POST", f"/channels/{channel_id}/messages", self._message(payload)))

    def edit_message(self, channel_id: str, message_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        path = f"/channels/{channel_id}/messages/{message_id}"
        return self._dict(self.request("PATCH", path, self._message(payload)))

    def edit_original_interaction_response(
        self, application_id: str, interaction_token: str, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        path = f"/webhooks/{application_id}/{interaction_token}/messages/@original"
        return self._dict(self.request("PATCH", path, self._message(payload), auth=False))

    def create_followup_message(
        self, application_id: str, interaction_token: str, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        path = f"/webhooks/{application_id}/{interaction_token}?wait=true"  # implied by Discord; explicit
        return self._dict(self.request("POST", path, self._message(payload), auth=False))

    def bulk_overwrite_commands(
        self, application_id: str, commands: list[dict[str, Any]], guild_id: str | None = None
    ) -> list[dict[str, Any]]:
        path = f"/applications/{application_id}/commands"
        if guild_id is not None:
            path = f"/applications/{application_id}/guilds/{guild_id}/commands"
        result = self.request("PUT", path, list(commands))
        if not isinstance(result, list):
            raise DiscordError(200, None, "bulk overwrite did not answer a list of commands")
        return result

    def execute_webhook(self, url: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """Post to a webhook URL (`https://discord.com/api/webhooks/<id>/<token>`), waiting for the
        message so that a failure is seen; no bot authorization."""
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
        query.append(("wait", "true"))
        full = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
        result = self.request("POST", full, self._message(payload), auth=False)
        return result if isinstance(result, dict) else None

    # --- the machinery -------------------------------------------------------------------------

    def _message(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        body = dict(payload)
        if body.get("allowed_mentions") is None:
            body["allowed_mentions"] = json.loads(json.dumps(self.allowed_mentions))
        return body

    @staticmethod
    def _dict(result: Any) -> dict[str, Any]:
        if not isinstance(result, dict):
            raise DiscordError(200, None, "Discord answered no JSON object")
        return result

    def request(self, method: str, path_or_url: str, body: Any = None, *, auth: bool = True) -> Any:
        """Send one request with rate limiting and retries; the decoded JSON answer (None if empty)."""
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        headers = {"User-Agent": self.user_agent}
        if auth:
            if not self.token:
                raise ValueError("this Discord route needs a bot token")
            headers["Authorization"] = f"Bot {self.token}"
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        template, major = route_key(method, urlsplit(url).path)
        retries = 0
        while True:
            self._wait_for(template, major)
            try:
                response = self.transport(method, url, headers, data)
            except (OSError, http.client.HTTPException) as exc:
                if retries >= self.max_retries:
                    raise DiscordUnavailable(0, None, f"{type(exc).__name__}: {exc}") from exc
                self.sleep(self._backoff(retries))
                retries += 1
                continue
            parsed = _decode(response.body)
            self._update(template, major, response.headers)
            if response.status < 300:
                return parsed
            if response.status == 429:
                retry_after, is_global = self._rate_limited(template, major, response.headers, parsed)
                if retries >= self.max_retries or retry_after > self.max_wait:
                    raise DiscordRateLimited(retry_after, _message(parsed, "rate limited"), is_global)
                retries += 1
                continue
            if response.status >= 500:
                if retries >= self.max_retries:
                    raise DiscordUnavailable(response.status, _code(parsed), _message(parsed, "server error"))
                self.sleep(self._backoff(retries))
                retries += 1
                continue
            errors = parsed.get("errors") if isinstance(parsed, dict) else None
            raise DiscordError(response.status, _code(parsed), _message(parsed, "request refused"), errors)

    def _backoff(self, retries: int) -> float:
        return float(min(self.backoff * (2**retries), self.max_backoff))

    def _state_key(self, template: str, major: str) -> str:
        return f"{self._route_buckets.get(template, template)}|{major}"

    def _wait_for(self, template: str, major: str) -> None:
        """Sleep until neither the global limit nor this route's bucket holds the request."""
        while True:
            with self._lock:
                now = self.clock()
                wait = self._global_reset_at - now
                bucket = self._buckets.get(self._state_key(template, major))
                if bucket is not None and bucket.remaining == 0:
                    if bucket.reset_at > now:
                        wait = max(wait, bucket.reset_at - now)
                    else:
                        bucket.remaining = None  # the window has passed
                if wait <= 0:
                    if bucket is not None and bucket.remaining is not None and bucket.remaining > 0:
                        bucket.remaining -= 1  # keep concurrent callers from overrunning the bucket
                    return
            if wait > self.max_wait:
                raise DiscordRateLimited(wait, "rate limited for longer than max_wait")
            self.sleep(wait)
            with self._lock:
                # after the wait the window is over even if the clock did not move (tests)
                if self._global_reset_at <= now + wait:
                    self._global_reset_at = 0.0
                if bucket is not None and bucket.remaining == 0 and bucket.reset_at <= now + wait:
                    bucket.remaining = None

    def _update(self, template: str, major: str, headers: Mapping[str, str]) -> None:
        bucket_hash = headers.get("x-ratelimit-bucket")
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset_after = _number(headers.get("x-ratelimit-reset-after"))
        with self._lock:
            if bucket_hash:
                self._route_buckets[template] = bucket_hash
            if remaining is None:
                return
            bucket = self._buckets.setdefault(self._state_key(template, major), _Bucket())
            bucket.remaining = int(remaining)
            if reset_after is not None:
                bucket.reset_at = self.clock() + reset_after

    def _rate_limited(
        self, template: str, major: str, headers: Mapping[str, str], parsed: Any
    ) -> tuple[float, bool]:
        body = parsed if isinstance(parsed, dict) else {}
        retry_after = _number(body.get("retry_after"))
        if retry_after is None:
            retry_after = _number(headers.get("retry-after"))
        if retry_after is None:
            retry_after = _number(headers.get("x-ratelimit-reset-after"))
        if retry_after is None:
            retry_after = 1.0
        retry_after = max(0.0, retry_after)
        is_global = bool(body.get("global")) or headers.get("x-ratelimit-global", "").lower() == "true"
        with self._lock:
            reset_at = self.clock() + retry_after
            if is_global:
                self._global_reset_at = max(self._global_reset_at, reset_at)
            else:
                bucket = self._buckets.setdefault(self._state_key(template, major), _Bucket())
                bucket.remaining = 0
                bucket.reset_at = max(bucket.reset_at, reset_at)
        return retry_after, is_global


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:500]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _code(parsed: Any) -> int | None:
    code = parsed.get("code") if isinstance(parsed, dict) else None
    return code if isinstance(code, int) else None


def _message(parsed: Any, default: str) -> str:
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return str(parsed["message"])
    if isinstance(parsed, str) and parsed.strip():
        return parsed.strip()[:200]
    return default
