"""WebSocket channel streams to the API server (exec, port-forward) with the connection's own auth and TLS."""

from __future__ import annotations

import base64
import ssl
import threading
import time
from collections.abc import Sequence
from typing import Any

import websocket

from kdash.errors import KdashError, describe_api_error, describe_status, parse_status
from kdash.kube.api import ApiClient
from kdash.kube.client import CONNECT_TIMEOUT

V4_BINARY = "v4.channel.k8s.io"
V4_BASE64 = "v4.base64.channel.k8s.io"


class ChannelSocket:
    """One upgraded WebSocket speaking the channel protocol: a channel byte (or digit) before each payload.

    Reads happen on one thread; sends may come from any thread (the library locks them).
    """

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.binary = ws.subprotocol != V4_BASE64
        self._closed = threading.Event()

    def send(self, channel: int, data: bytes) -> None:
        if self.binary:
            self.ws.send_bytes(bytes([channel]) + data)
        else:
            self.ws.send_text(str(channel) + base64.b64encode(data).decode())

    def recv(self) -> tuple[int, bytes] | None:
        """The next (channel, payload), skipping empty frames; None once the stream has ended."""
        while True:
            try:
                opcode, data = self.ws.recv_data()
            except (websocket.WebSocketException, OSError, ValueError):
                return None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return None
            if not data:
                continue
            if opcode == websocket.ABNF.OPCODE_TEXT:
                return int(data[:1]), base64.b64decode(data[1:])
            return data[0], bytes(data[1:])

    def close(self) -> None:
        """Close once, from any thread; a blocked recv() returns None."""
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self.ws.close(timeout=1)
        except (websocket.WebSocketException, OSError):
            pass
        try:
            self.ws.shutdown()
        except (websocket.WebSocketException, OSError):
            pass


def _ssl_options(configuration: Any) -> dict[str, Any]:
    """The REST client's TLS settings, for the WebSocket library."""
    if not configuration.verify_ssl:
        options: dict[str, Any] = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False}
    else:
        options = {"cert_reqs": ssl.CERT_REQUIRED}
        if configuration.ssl_ca_cert:
            options["ca_certs"] = configuration.ssl_ca_cert
        if configuration.assert_hostname is not None:
            options["check_hostname"] = bool(configuration.assert_hostname)
    if configuration.cert_file:
        options["certfile"] = configuration.cert_file
    if configuration.key_file:
        options["keyfile"] = configuration.key_file
    if getattr(configuration, "tls_server_name", None):
        options["server_hostname"] = configuration.tls_server_name
    return options


def _handshake(api_client: ApiClient, path: str, query: Sequence[tuple[str, Any]],
               protocols: Sequence[str], timeout: float) -> websocket.WebSocket:
    # param_serialize applies the kubeconfig's auth exactly as for every other request.
    _, url, headers, _, _ = api_client.param_serialize(
        "GET", path, query_params=list(query), header_params={}, auth_settings=["BearerToken"])
    url = "wss" + url[len("https"):] if url.startswith("https") else "ws" + url[len("http"):]
    ws = websocket.WebSocket(sslopt=_ssl_options(api_client.configuration), enable_multithread=True)
    ws.connect(url, header=[f"{k}: {v}" for k, v in headers.items()], subprotocols=list(protocols),
               timeout=timeout)
    ws.settimeout(None)
    return ws


def open_channels(api_client: ApiClient, path: str, query: Sequence[tuple[str, Any]],
                  protocols: Sequence[str] = (V4_BINARY, V4_BASE64),
                  timeout: float = CONNECT_TIMEOUT) -> ChannelSocket:
    """Upgrade GET `path` to a channel WebSocket; a 401 reloads the credentials once and retries.

    Failures come out as KdashError with the server's own words (the Status body of a refused
    upgrade: 403 for RBAC, 400 for an unknown container, 404 for a missing pod).
    """
    for attempt in (0, 1):
        sent_at = time.monotonic()
        try:
            ws = _handshake(api_client, path, query, protocols, timeout)
        except websocket.WebSocketBadStatusException as exc:
            renew = getattr(api_client.rest_client, "after_401", None)
            if exc.status_code == 401 and attempt == 0 and renew is not None and renew(sent_at) is not None:
                continue
            raise _refused(exc) from exc
        except (websocket.WebSocketException, OSError) as exc:
            raise describe_api_error(exc) from exc
        if ws.subprotocol not in protocols:
            ws.close()
            raise KdashError("Stream refused", f"the server chose no supported subprotocol ({ws.subprotocol!r})")
        return ChannelSocket(ws)
    raise AssertionError("unreachable")


def _refused(exc: websocket.WebSocketBadStatusException) -> KdashError:
    body = exc.resp_body or b""
    status = parse_status(body)
    if status:
        return describe_status(status, exc.status_code)
    text = body.decode("utf-8", errors="replace").strip() if isinstance(body, bytes) else str(body)
    return describe_status({"code": exc.status_code, "message": text or f"HTTP {exc.status_code}"})
