"""A tiny keep-alive HTTPS client for the load generator (one connection per thread, admin token)."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from typing import Any
from urllib.parse import quote, urlsplit

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {body[:300]!r}")
        self.status = status


class Api:
    """GET/POST/PATCH/DELETE against the API server; safe to share between threads."""

    def __init__(self, server: str, ca_file: str, token: str) -> None:
        url = urlsplit(server)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 443
        self.context = ssl.create_default_context(cafile=ca_file)
        self.token = token
        self._local = threading.local()

    @classmethod
    def for_cluster(cls, info) -> Api:
        return cls(info.server, info.ca_file, info.token)

    def _connection(self, timeout: float) -> http.client.HTTPSConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)
            self._local.conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def request(self, method: str, path: str, body: Any = None, content_type: str = JSON,
                timeout: float = 60.0) -> tuple[int, bytes]:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Authorization": f"Bearer {self.token}", "Accept": JSON}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in range(3):
            conn = self._connection(timeout)
            try:
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                return response.status, payload
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, body: Any = None, content_type: str = JSON,
             timeout: float = 60.0, ok: tuple[int, ...] = ()) -> dict:
        status, payload = self.request(method, path, body, content_type, timeout)
        if status >= 300 and status not in ok:
            raise ApiError(method, path, status, payload)
        return json.loads(payload) if payload else {}

    def get(self, path: str, timeout: float = 60.0) -> dict:
        return self.call("GET", path, timeout=timeout)

    def list_all(self, path: str, page: int = 500) -> list[dict]:
        """Every item of a collection, paginated like kubectl (limit/continue)."""
        items: list[dict] = []
        token = ""
        while True:
            sep = "&" if "?" in path else "?"
            query = f"{sep}limit={page}" + (f"&continue={quote(token)}" if token else "")
            body = self.get(path + query)
            items.extend(body.get("items") or [])
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return items
