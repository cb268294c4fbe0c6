"""The HTTP client under every request: configuration, a pooled REST layer over urllib3, API errors."""

# kdash sends raw JSON requests and parses the answers itself, so the kubernetes package's
# generated client (its models, pydantic, oauthlib, requests: a large share of the imports before
# the first frame, docs/performance.md) is not needed. This keeps the names and call shapes kdash
# used from it (Configuration, ApiClient.param_serialize/call_api, RESTClientObject.request,
# RESTResponse, ApiException), over urllib3 alone.

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import urllib3

from kdash import __version__
from kdash.errors import ApiException

JSON_PATCH = "application/json-patch+json"
METHODS = frozenset({"GET", "HEAD", "DELETE", "POST", "PUT", "PATCH", "OPTIONS"})


class Configuration:
    """Where the API server is and how to authenticate to it (what a kubeconfig context says)."""

    def __init__(self, host: str = "http://localhost") -> None:
        self.host = host
        # "BearerToken" -> the whole Authorization value ("Bearer …" or "Basic …").
        self.api_key: dict[str, str] = {}
        # Called before each use of the credential: renews an expiring one (exec plugins, token files).
        self.refresh_api_key_hook: Callable[[Configuration], None] | None = None
        self.verify_ssl = True
        self.ssl_ca_cert: str | None = None
        self.cert_file: str | None = None
        self.key_file: str | None = None
        self.assert_hostname: bool | str | None = None
        self.tls_server_name: str | None = None
        self.proxy: str | None = None
        self.proxy_headers: dict[str, str] | None = None
        self.retries: urllib3.Retry | int | bool | None = None
        self.socket_options: list[tuple[int, int, int]] | None = None
        self.connection_pool_maxsize = (os.cpu_count() or 1) * 5

    def get_api_key_with_prefix(self, identifier: str) -> str | None:
        if self.refresh_api_key_hook is not None:
            self.refresh_api_key_hook(self)
        return self.api_key.get(identifier)

    def auth_settings(self) -> dict[str, dict[str, Any]]:
        """{"BearerToken": {... "value": "Bearer …"}} when there is a credential, else {}."""
        value = self.get_api_key_with_prefix("BearerToken")
        if not value:
            return {}
        return {"BearerToken": {"type": "api_key", "in": "header", "key": "authorization", "value": value}}


class RESTResponse:
    """An answer: status and reason at once, the body on read(), the urllib3 response as `response`."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.response = response
        self.status = response.status
        self.reason = response.reason
        self.data: bytes | None = None

    def read(self) -> bytes:
        if self.data is None:
            self.data = self.response.data
        return self.data

    @property
    def headers(self) -> Any:
        return self.response.headers

    def getheaders(self) -> Any:
        return self.response.headers

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.response.headers.get(name, default)


class RESTClientObject:
    """A urllib3 pool set up from a Configuration (TLS, client certificate, proxy, retries)."""

    def __init__(self, configuration: Configuration) -> None:
        self.configuration = configuration
        pool_args: dict[str, Any] = {
            "cert_reqs": ssl.CERT_REQUIRED if configuration.verify_ssl else ssl.CERT_NONE,
            "ca_certs": configuration.ssl_ca_cert,
            "cert_file": configuration.cert_file,
            "key_file": configuration.key_file,
            "maxsize": configuration.connection_pool_maxsize,
        }
        if configuration.assert_hostname is not None:
            pool_args["assert_hostname"] = configuration.assert_hostname
        if configuration.retries is not None:
            pool_args["retries"] = configuration.retries
        if configuration.tls_server_name:
            pool_args["server_hostname"] = configuration.tls_server_name
        if configuration.socket_options is not None:
            pool_args["socket_options"] = configuration.socket_options
        self.pool_manager: urllib3.PoolManager
        proxy = configuration.proxy
        if proxy and proxy.split("://", 1)[0].lower() in ("socks5", "socks5h", "socks4", "socks4a"):
            from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks, as kubectl's users know

            self.pool_manager = SOCKSProxyManager(proxy, headers=configuration.proxy_headers, **pool_args)
        elif proxy:
            self.pool_manager = urllib3.ProxyManager(proxy, proxy_headers=configuration.proxy_headers,
                                                     **pool_args)
        else:
            self.pool_manager = urllib3.PoolManager(**pool_args)

    def close(self) -> None:
        self.pool_manager.clear()

    def request(self, method: str, url: str, headers: dict[str, str] | None = None, body: Any = None,
                post_params: Any = None, _request_timeout: Any = None) -> RESTResponse:
        """Send one request and return its answer unread (streams are read as they come).

        `_request_timeout`: a number is the total, a pair (connect, read). Dict and list bodies
        are sent as JSON, for YAML content types too (JSON is YAML); str and bytes as they are.
        """
        method = method.upper()
        if method not in METHODS:
            raise ValueError(f"unsupported HTTP method {method}")
        headers = dict(headers or {})
        timeout = None
        if isinstance(_request_timeout, int | float) and _request_timeout:
            timeout = urllib3.Timeout(total=_request_timeout)
        elif isinstance(_request_timeout, tuple) and len(_request_timeout) == 2:
            timeout = urllib3.Timeout(connect=_request_timeout[0], read=_request_timeout[1])
        elif isinstance(_request_timeout, urllib3.Timeout):
            timeout = _request_timeout
        data: str | bytes | None = None
        if method in ("POST", "PUT", "PATCH", "OPTIONS", "DELETE") and body is not None:
            if headers.get("Content-Type") == JSON_PATCH and not isinstance(body, list):
                # An object is not a JSON patch (a list of operations): send it as a merge, as
                # the generated client did.
                headers["Content-Type"] = "application/strategic-merge-patch+json"
            data = body if isinstance(body, str | bytes) else json.dumps(body, default=_jsonable)
        try:
            response = self.pool_manager.request(method, url, body=data, headers=headers, timeout=timeout,
                                                 preload_content=False)
        except urllib3.exceptions.SSLError as exc:
            raise ApiException(status=0, reason=f"{type(exc).__name__}\n{exc}") from exc
        return RESTResponse(response)


def _jsonable(value: Any) -> Any:
    # Frozen store objects read like mappings and arrays like tuples (kdash/core/frozen.py).
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class ApiClient:
    """A Configuration with its REST pool: builds URLs and headers, authenticated."""

    user_agent = f"kdash/{__version__}"

    def __init__(self, configuration: Configuration | None = None) -> None:
        self.configuration = configuration or Configuration()
        self.rest_client: Any = RESTClientObject(self.configuration)

    def close(self) -> None:
        self.rest_client.close()

    def param_serialize(self, method: str, resource_path: str,
                        query_params: Sequence[tuple[str, Any]] | Mapping[str, Any] | None = None,
                        header_params: Mapping[str, str] | None = None, body: Any = None,
                        auth_settings: Sequence[str] = ("BearerToken",),
                        ) -> tuple[str, str, dict[str, str], Any, list]:
        """(method, url, headers, body, post_params) for `call_api`, with the credential applied."""
        headers = {"User-Agent": self.user_agent, **(header_params or {})}
        if auth_settings:
            setting = self.configuration.auth_settings().get("BearerToken")
            if setting is not None:
                headers["authorization"] = setting["value"]
        url = self.configuration.host + resource_path
        query = encode_query(query_params)
        if query:
            url += "?" + query
        return method, url, headers, body, []

    def call_api(self, method: str, url: str, header_params: dict[str, str] | None = None, body: Any = None,
                 post_params: Any = None, _request_timeout: Any = None) -> Any:
        return self.rest_client.request(method, url, headers=header_params, body=body, post_params=post_params,
                                        _request_timeout=_request_timeout)


def encode_query(params: Sequence[tuple[str, Any]] | Mapping[str, Any] | None) -> str:
    """`a=1&b=x%20y`: booleans as true/false, values quoted, keys as they are."""
    pairs = params.items() if isinstance(params, Mapping) else params or ()
    out = []
    for key, value in pairs:
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, dict):
            value = json.dumps(value)
        out.append(f"{key}={quote(str(value))}")
    return "&".join(out)
