"""A local stand-in for API Gateway HTTP APIs: HTTP requests -> payload 2.0 events -> handlers.

Routes come from the template's HttpApi events, so a function added there is served with no
change here.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from liveops.errors import error_body
from liveops.local.template import HttpRoute

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
Invoke = Callable[[str, dict[str, Any]], Any]
# extra handlers for paths no function serves (e.g. the local dashboard): path prefix -> handler
StaticHandler = Callable[[str], "tuple[int, dict[str, str], bytes]"]


def build_event(
    route: HttpRoute,
    params: dict[str, str],
    method: str,
    raw_path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
) -> dict[str, Any]:
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query_params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        query_params[name] = f"{query_params[name]},{value}" if name in query_params else value
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    now = time.time()
    route_key = f"{route.method} {route.path}" if route.method != "ANY" else f"ANY {route.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": merged.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": text is None,
    }
    if cookies:
        event["cookies"] = cookies
    if query_params:
        event["queryStringParameters"] = query_params
    if params:
        event["pathParameters"] = params
    if body:
        event["body"] = text if text is not None else base64.b64encode(body).decode()
    return event


def to_http(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Interpret a handler's return value as API Gateway does for payload format 2.0."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(map(str, values))
    return int(result["statusCode"]), headers, raw


DASHBOARD_PREFIX = "/dashboard"


def dashboard_handler(site: Callable[[], Any]) -> StaticHandler:
    """Serves the local site bucket (a liveops.storage.site_bucket.SiteBucket, built on first use)
    at /dashboard/: the list of apps, and /dashboard/<app>/... -> apps/<app>/... (a path ending
    in / serves its index.html), as a static host in front of the bucket would."""
    from urllib.parse import unquote

    def serve(path: str) -> tuple[int, dict[str, str], bytes]:
        from liveops.models.app_config import APP_ID_PATTERN
        from liveops.publish.html import CSP, render_app_list
        from liveops.storage.site_bucket import app_prefix

        headers = {
            "cache-control": "no-cache",
            "x-content-type-options": "nosniff",
            "content-security-policy": CSP,
        }
        if path == DASHBOARD_PREFIX:
            return 301, {**headers, "location": DASHBOARD_PREFIX + "/"}, b""
        if not path.startswith(DASHBOARD_PREFIX + "/"):
            return _not_found(path)
        app_id, slash, rest = unquote(path[len(DASHBOARD_PREFIX) + 1 :]).partition("/")
        if not app_id:
            html = render_app_list(site().apps())
            return 200, {**headers, "content-type": "text/html; charset=utf-8"}, html
        if re.fullmatch(APP_ID_PATTERN.strip("^$"), app_id) is None or ".." in rest.split("/"):
            return _not_found(path)
        if not slash:
            return 301, {**headers, "location": f"{DASHBOARD_PREFIX}/{app_id}/"}, b""
        found = site().get(
            app_prefix(app_id) + (rest if rest and not rest.endswith("/") else rest + "index.html")
        )
        if found is None:
            return _not_found(path)
        body, content_type = found
        return 200, {**headers, "content-type": content_type}, body

    return serve


def _not_found(path: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps(error_body("not_found", f"nothing published at {path}")).encode()
    return 404, {"content-type": "application/json"}, body


class Gateway:
    def __init__(
        self, routes: list[HttpRoute], invoke: Invoke, static: dict[str, StaticHandler] | None = None
    ) -> None:
        self.routes = [(route, route.pattern()) for route in routes]
        self.invoke = invoke
        self.static = static or {}

    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | list[str]:
        """The route and its path parameters, or the methods the path allows (empty: no route)."""
        allowed: list[str] = []
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found is None:
                continue
            if route.method in ("ANY", method):
                return route, found.groupdict()
            allowed.append(route.method)
        return allowed

    def handle(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str = "127.0.0.1",
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        path = parts.path or "/"
        for prefix, serve in self.static.items():
            if path.startswith(prefix) and method in ("GET", "HEAD"):
                return serve(path)
        found = self.match(method, path)
        if isinstance(found, list):
            if found:
                body_out = error_body("method_not_allowed", f"{method} is not allowed on {path}")
                return (
                    405,
                    {"content-type": "application/json", "allow": ", ".join(sorted(found))},
                    json.dumps(body_out).encode(),
                )
            return (
                404,
                {"content-type": "application/json"},
                json.dumps(error_body("not_found", f"no route for {path}")).encode(),
            )
        route, params = found
        event = build_event(route, params, method, path, parts.query, headers, body, source_ip)
        try:
            return to_http(self.invoke(route.function, event))
        except Exception as exc:  # an unhandled error in a handler: API Gateway answers 500
            # and Lambda logs the traceback, as here
            logging.getLogger("liveops.gateway").exception("%s %s: unhandled error", method, path)
            message = {"message": "Internal Server Error", "error": type(exc).__name__}
            return 500, {"content-type": "application/json"}, json.dumps(message).encode()

    def serve(self, host: str, port: int) -> ThreadingHTTPServer:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _respond(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > API_GATEWAY_MAX_BODY:
                    status, headers, out = (
                        413,
                        {"content-type": "application/json"},
                        json.dumps(
                            error_body(
                                "payload_too_large", "request bodies are limited to 10 MB by the gateway"
                            )
                        ).encode(),
                    )
                    self.close_connection = True
                else:
                    body = self.rfile.read(length) if length else b""
                    status, headers, out = gateway.handle(
                        self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                    )
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _respond

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        return server
