"""Titled, user-facing errors and the translation of API/connection failures into them."""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

import urllib3.exceptions

# Titles for HTTP status codes the dashboard meets; anything else falls back to the reason phrase.
_STATUS_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    410: "Expired",
    415: "Unsupported media type",
    422: "Invalid",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
    504: "Timeout",
}

_UNREACHABLE = "Cannot reach the API server"


class ApiException(Exception):
    """A non-2xx answer (status, reason, body text, headers), or a TLS failure as status 0."""

    def __init__(self, status: int | None = None, reason: str | None = None, http_resp: Any = None, *,
                 body: str | None = None, data: Any = None) -> None:
        self.status = status
        self.reason = reason
        self.body = body
        self.data = data
        self.headers: Any = None
        if http_resp is not None:
            if self.status is None:
                self.status = http_resp.status
            if self.reason is None:
                self.reason = http_resp.reason
            if self.body is None:
                try:
                    self.body = http_resp.data.decode("utf-8")
                except Exception:  # noqa: BLE001 - a body that is not text stays unset
                    pass
            self.headers = http_resp.getheaders()
        super().__init__(status, reason)

    def __str__(self) -> str:
        text = f"({self.status})\nReason: {self.reason}\n"
        if self.headers:
            text += f"HTTP response headers: {self.headers}\n"
        if self.body:
            text += f"HTTP response body: {self.body}\n"
        return text


class ConfigError(Exception):
    """A kubeconfig (or in-cluster setup) that cannot give a working configuration."""


class KdashError(Exception):
    """An error with a short title and a message fit to show the user as is."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(f"{title}: {message}")
        self.title = title
        self.message = message


def parse_status(body: Any) -> dict[str, Any]:
    """The Kubernetes Status object in an error body, or {} when the body is not one."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, dict):
        return body
    if not isinstance(body, str) or not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def describe_status(status: dict[str, Any], code: int | None = None) -> KdashError:
    """A KdashError from a Status dict (an HTTP error body or a watch ERROR event object)."""
    code = status.get("code") or code or 0
    title = _STATUS_TITLES.get(code) or _title_from_reason(status.get("reason")) or "API error"
    message = status.get("message") or status.get("reason") or f"HTTP {code}"
    return KdashError(title, str(message))


def describe_api_error(exc: BaseException) -> KdashError:
    """Turn an ApiException, a urllib3/socket error or a config error into a KdashError."""
    if isinstance(exc, KdashError):
        return exc
    if isinstance(exc, ApiException):
        return _describe_api_exception(exc)
    if isinstance(exc, ConfigError):
        return KdashError("Invalid kubeconfig", str(exc))
    return _describe_transport_error(exc)


def _describe_api_exception(exc: Any) -> KdashError:
    status_code = exc.status or 0
    if status_code == 0:
        # The REST layer reports TLS failures as status 0 with the SSL error in `reason`.
        reason = str(exc.reason or "")
        if "SSL" in reason or "certificate" in reason.lower():
            return KdashError("TLS error", _first_line_after_type(reason))
        return KdashError(_UNREACHABLE, reason or "no response")
    status = parse_status(exc.body)
    if status.get("kind") == "Status" or "message" in status:
        return describe_status(status, status_code)
    title = _STATUS_TITLES.get(status_code) or str(exc.reason or "API error")
    message = str(exc.reason or f"HTTP {status_code}")
    return KdashError(title, message)


def _describe_transport_error(exc: BaseException) -> KdashError:
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        where = _where(exc)
        inner = _describe_transport_error(exc.reason)
        return KdashError(inner.title, f"{inner.message}{where}")
    # Subclasses first: NameResolutionError < NewConnectionError < ConnectTimeoutError.
    if isinstance(exc, urllib3.exceptions.NameResolutionError):
        return KdashError(_UNREACHABLE, f"cannot resolve host name {exc.conn.host!r}")
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return KdashError(_UNREACHABLE, _connection_message(exc))
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return KdashError(_UNREACHABLE, "connection timed out")
    if isinstance(exc, urllib3.exceptions.SSLError | ssl.SSLError):
        return KdashError("TLS error", str(exc))
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | socket.timeout | TimeoutError):
        return KdashError("Timeout", "the API server did not answer in time")
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return KdashError("Connection lost", "the API server closed the connection")
    if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError):
        return KdashError(_UNREACHABLE, str(exc))
    if isinstance(exc, FileNotFoundError):
        return KdashError("File not found", str(exc))
    return KdashError("Error", f"{type(exc).__name__}: {exc}")


def _connection_message(exc: BaseException) -> str:
    text = str(exc)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "timed out" in text:
        return "connection timed out"
    # urllib3 prefixes the connection repr; keep the part after the last colon-separated tag.
    return text.split(": ", 1)[-1]


def _where(exc: urllib3.exceptions.MaxRetryError) -> str:
    pool = getattr(exc, "pool", None)
    if pool is None or not getattr(pool, "host", None):
        return ""
    scheme = getattr(pool, "scheme", "https")
    port = f":{pool.port}" if getattr(pool, "port", None) else ""
    return f" ({scheme}://{pool.host}{port})"


def _title_from_reason(reason: Any) -> str:
    # Status reasons are CamelCase words (e.g. "AlreadyExists"); split them for display.
    if not reason:
        return ""
    text = str(reason)
    words = [""]
    for char in text:
        if char.isupper() and words[-1]:
            words.append(char)
        else:
            words[-1] += char
    return " ".join(words).capitalize()


def _first_line_after_type(reason: str) -> str:
    lines = [line for line in reason.splitlines() if line.strip()]
    return lines[-1] if lines else reason
