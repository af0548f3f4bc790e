"""A tiny keep-alive JSON HTTP client for the CLI (demo traffic, local checks)."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit


class JsonClient:
    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self._headers = headers or {}
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        all_headers = {"content-type": "application/json", **self._headers, **(headers or {})}
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, self._base + path, body=data, headers=all_headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt == 2:
                    raise
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
