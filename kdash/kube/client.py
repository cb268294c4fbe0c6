"""The API connection of a kubeconfig context (or a pod's service account), and raw JSON requests over it."""

from __future__ import annotations

import json
import socket
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import urllib3

from kdash.errors import ApiException, ConfigError, KdashError, describe_api_error
from kdash.kube import kubeconfig as kubeconfig_module
from kdash.kube.api import ApiClient, Configuration, RESTClientObject, RESTResponse
from kdash.kube.kubeconfig import Merged, kubeconfig_paths, load_merged_kubeconfig

CONNECT_TIMEOUT = 5.0
# connect()'s probe as a whole: one attempt, no urllib3 retries, given up after this many seconds.
CONNECT_DEADLINE = 6.0
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3
IN_CLUSTER_CONTEXT = "in-cluster"
IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

# A number is a total, a pair is (connect, read); a urllib3.Timeout also means one attempt only.
Timeout = float | tuple[float | None, float | None] | urllib3.Timeout


@dataclass
class Connection:
    """An API client for one kubeconfig context, plus what the UI shows about it."""

    api_client: ApiClient
    context_name: str
    namespace: str
    server: str
    contexts: list[str] = field(default_factory=list)
    kubeconfig: str | None = None
    version: str = ""  # the server's gitVersion, as connect()'s probe found it
    _reload: Callable[[Configuration], None] | None = field(default=None, repr=False)
    _reload_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _reloaded_at: float = field(default=float("-inf"), repr=False)

    def __post_init__(self) -> None:
        rest_client = self.api_client.rest_client
        if isinstance(rest_client, _DefaultTimeoutREST) and self._reload is not None:
            rest_client.after_401 = self._after_401

    def server_version(self, deadline: float | None = None) -> str:
        """GET /version → gitVersion (e.g. "v1.20.2") in one attempt of at most `deadline` seconds
        (default CONNECT_DEADLINE).

        Raises KdashError on failure. No retries: a server that accepts connections but never
        answers must fail once, not once per urllib3 retry.
        """
        deadline = CONNECT_DEADLINE if deadline is None else deadline
        timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, deadline), total=deadline)
        try:
            info = get_json(self.api_client, "/version", timeout=timeout)
        except Exception as exc:
            raise describe_api_error(exc) from exc
        return str(info.get("gitVersion", "unknown"))

    def reload_credentials(self, sent_at: float) -> bool:
        """Re-read the kubeconfig's credentials (re-runs an exec plugin); True if it worked.

        Called once after a 401 so an expired exec/token credential is replaced without a
        restart. The REST pool is rebuilt because client certificates are bound to it.
        `sent_at` (time.monotonic()) is when the refused request went out: a reload that ended
        after it is the one to retry with — every reflector sees the same 401 at once, and the
        exec plugin runs once for all —, an older one is not (its credential is what was refused).
        """
        if self._reload is None:
            return False
        with self._reload_lock:
            if self._reloaded_at >= sent_at:
                return True
            configuration = self.api_client.configuration
            try:
                self._reload(configuration)
            except Exception:  # noqa: BLE001 - the caller reports the original 401
                return False
            old_rest = self.api_client.rest_client
            self.api_client.rest_client = _DefaultTimeoutREST(configuration, self._after_401)
            old_rest.close()
            self._reloaded_at = time.monotonic()
            return True

    def _after_401(self, sent_at: float) -> _DefaultTimeoutREST | None:
        """For the REST layer: reload the credentials and hand back the client to retry with."""
        if not self.reload_credentials(sent_at):
            return None
        rest_client = self.api_client.rest_client
        return rest_client if isinstance(rest_client, _DefaultTimeoutREST) else None

    def abandon_connections(self) -> int:
        """Shut down every socket this connection's REST pool opened (in use or idle); returns
        how many. A silent path leaves reads blocked for their whole timeout and idle pooled
        sockets dead: this fails the reads now, and the pool opens fresh sockets next time."""
        rest_client = self.api_client.rest_client
        live = getattr(rest_client, "live_connections", None)
        return abandon(live) if live is not None else 0

    def close(self) -> None:
        self.api_client.close()


class _DefaultTimeoutREST(RESTClientObject):
    """REST client with a default connect timeout that re-authenticates once on a 401.

    Without the timeout, a typed API call to a black-holed server waits for the OS connect
    timeout (minutes); the read side stays unbounded so `follow` log streams are not cut.
    The 401 retry is here, under every list, watch, log stream, write and access review, because
    the Python client never renews an exec-plugin or token-file credential by itself: an expired
    token would otherwise fail each of them until kdash is restarted.
    """

    def __init__(self, configuration: Configuration,
                 after_401: Callable[[float], _DefaultTimeoutREST | None] | None = None) -> None:
        super().__init__(configuration)
        self.after_401 = after_401
        self.live_connections = track_connections(self.pool_manager)

    def request(self, method, url, headers=None, body=None, post_params=None,
                _request_timeout=None):  # noqa: D102 - same contract as the parent
        if not _request_timeout:
            _request_timeout = (CONNECT_TIMEOUT, None)
        sent_at = time.monotonic()
        response = self._send(self, method, url, headers, body, post_params, _request_timeout)
        auth_header = next((k for k in headers or {} if k.lower() == "authorization"), None)
        if response.status != 401 or self.after_401 is None or auth_header is None:
            return response
        fresh = self.after_401(sent_at)
        token = fresh.configuration.auth_settings().get("BearerToken", {}).get("value") if fresh else None
        if fresh is None or not token:
            return response  # the caller reports this 401
        response.response.drain_conn()
        response.response.release_conn()
        headers = {**headers, auth_header: token}
        # The parent's request, not ours: one retry only, even if the new token is refused too.
        return self._send(fresh, method, url, headers, body, post_params, _request_timeout)

    @staticmethod
    def _send(client: RESTClientObject, method, url, headers, body, post_params,
              timeout: Timeout) -> RESTResponse:
        if isinstance(timeout, urllib3.Timeout) and method == "GET":
            # The parent ignores a Timeout object; a probe also wants no retries, so that its
            # total is the whole wait (the pool's retries would repeat a silent server's timeout).
            return RESTResponse(client.pool_manager.request(
                method, url, fields={}, headers=headers, timeout=timeout, retries=False,
                preload_content=False))
        return RESTClientObject.request(client, method, url, headers=headers, body=body,
                                             post_params=post_params, _request_timeout=timeout)


def track_connections(pool_manager: urllib3.PoolManager) -> weakref.WeakSet:
    """Make `pool_manager` remember every connection it opens, in the returned set (weakly), so
    that abandon() can reach sockets the pool does not hold (those in use by a reader)."""
    live: weakref.WeakSet = weakref.WeakSet()

    def tracked(connection_class: Any) -> type:
        class Tracked(connection_class):
            def connect(self) -> None:
                super().connect()
                live.add(self)
        return Tracked

    pool_manager.pool_classes_by_scheme = {
        scheme: type(pool_class.__name__, (pool_class,),
                     {"ConnectionCls": tracked(cast(Any, pool_class).ConnectionCls)})
        for scheme, pool_class in pool_manager.pool_classes_by_scheme.items()
    }
    return live


def abandon(live: weakref.WeakSet) -> int:
    """Shut down the sockets of `live` connections; a thread blocked reading one returns at once."""
    count = 0
    for connection in list(live):
        sock = getattr(connection, "sock", None)
        if sock is None:
            continue
        try:
            # The plain socket's shutdown, not SSLSocket's: that one also drops the TLS state
            # under a reader that may be inside it on another thread.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
            count += 1
        except OSError:
            pass  # already closed
    return count


# -- connecting ------------------------------------------------------------------------------


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    probe: bool = True,
) -> Connection:
    """Connect like kubectl would; with `probe`, GET /version so a dead server fails now.

    Raises KdashError for a missing/invalid kubeconfig, an unknown context or an unreachable
    server (within CONNECT_DEADLINE seconds of probing, never a minute-long hang).
    """
    merged = load_merged_kubeconfig(kubeconfig)
    if merged is None:
        connection = _connect_in_cluster(kubeconfig)
    else:
        connection = _connect_kubeconfig(merged, kubeconfig, context)
    if probe:
        try:
            connection.version = connection.server_version()
        except KdashError as exc:
            connection.close()
            if connection.server in exc.message:
                raise
            raise KdashError(exc.title, f"{exc.message} ({connection.server})") from exc
    return connection


def _connect_kubeconfig(merged: Merged, kubeconfig: str | None,
                        context: str | None) -> Connection:
    contexts = merged.context_names()
    context_name = context or merged.current_context
    if not context_name:
        raise KdashError(
            "No current context",
            "the kubeconfig sets no current-context; choose one with --context"
            + _available(contexts),
        )
    if context_name not in contexts:
        raise KdashError("Unknown context", f"context {context_name!r} is not in the kubeconfig"
                         + _available(contexts))

    def load(configuration: Configuration) -> None:
        # Re-merged on every (re)load so a rewritten kubeconfig or exec plugin is picked up.
        fresh = load_merged_kubeconfig(kubeconfig) or merged
        kubeconfig_module.load_context(fresh, context_name, configuration)

    configuration = _new_configuration()
    try:
        load(configuration)
    except ConfigError as exc:
        raise KdashError("Invalid kubeconfig", f"context {context_name!r}: {exc}") from exc
    namespace = merged.context(context_name).get("namespace") or "default"
    return Connection(
        api_client=_new_api_client(configuration),
        context_name=context_name,
        namespace=namespace,
        server=configuration.host,
        contexts=contexts,
        kubeconfig=kubeconfig,
        _reload=load,
    )


def _connect_in_cluster(kubeconfig: str | None) -> Connection:
    if not kubeconfig_module.in_cluster_available():
        looked = ", ".join(kubeconfig_paths(kubeconfig))
        raise KdashError(
            "No kubeconfig",
            f"no kubeconfig found (looked at {looked}) and not running in a cluster; "
            "set KUBECONFIG or pass --kubeconfig",
        )

    load = kubeconfig_module.load_in_cluster
    configuration = _new_configuration()
    try:
        load(configuration)
    except ConfigError as exc:
        raise KdashError("In-cluster config", str(exc)) from exc
    return Connection(
        api_client=_new_api_client(configuration),
        context_name=IN_CLUSTER_CONTEXT,
        namespace=_in_cluster_namespace(),
        server=configuration.host,
        contexts=[IN_CLUSTER_CONTEXT],
        _reload=load,
    )


def _in_cluster_namespace() -> str:
    try:
        with open(IN_CLUSTER_NAMESPACE_FILE, encoding="utf-8") as handle:
            return handle.read().strip() or "default"
    except OSError:
        return "default"


def _new_configuration() -> Configuration:
    configuration = Configuration()
    # No urllib3 connect retries: a dead server must fail after one connect timeout, not four.
    # No read retries either: a request that got no answer is not sent again (a write may have
    # landed), and a silent server fails after one read timeout.
    configuration.retries = urllib3.Retry(total=3, connect=0, read=0, redirect=5)
    # TCP keepalive backs up kdash.kube.path's probe under a silent path: the kernel gives up on
    # an idle watch socket after 5 + 3×2 s unanswered instead of client-go's 30 + 9×15 s.
    configuration.socket_options = [
        *urllib3.connection.HTTPConnection.default_socket_options,
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
        (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE),
        (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL),
        (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT),
    ]
    return configuration


def _new_api_client(configuration: Configuration) -> ApiClient:
    api_client = ApiClient(configuration)
    api_client.rest_client.close()
    api_client.rest_client = _DefaultTimeoutREST(configuration)
    return api_client


def _available(contexts: Sequence[str]) -> str:
    return f" (available: {', '.join(contexts)})" if contexts else ""


# -- raw JSON requests -----------------------------------------------------------------------


def open_request(
    api_client: ApiClient,
    method: str,
    path: str,
    query: Sequence[tuple[str, Any]] | None = None,
    timeout: Timeout = (CONNECT_TIMEOUT, 60.0),
    body: Any = None,
    content_type: str | None = None,
) -> urllib3.HTTPResponse:
    """The one raw request: send it, return the unread urllib3 response (read it, or stream it).

    Non-2xx answers raise ApiException with the status and the body.
    The connection's credential is applied (renewed first if it expires); dict and list
    bodies are JSON-encoded by the REST layer (also for apply-patch+yaml: JSON is YAML).
    """
    headers = {"Accept": "application/json"} | ({"Content-Type": content_type} if content_type else {})
    method, url, headers, body, post_params = api_client.param_serialize(
        method,
        path,
        query_params=list(query or []),
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    response = api_client.call_api(method, url, header_params=headers, body=body,
                                   post_params=post_params, _request_timeout=timeout)
    if not 200 <= response.status <= 299:
        try:
            response.read()
        finally:
            response.response.release_conn()
        body_text = (response.data or b"").decode("utf-8", errors="replace")
        raise ApiException(http_resp=response, body=body_text)
    return response.response


def open_get(
    api_client: ApiClient,
    path: str,
    query: Sequence[tuple[str, Any]] | None = None,
    timeout: Timeout = (CONNECT_TIMEOUT, 60.0),
) -> urllib3.HTTPResponse:
    """GET `path`, unread (a watch, a log stream)."""
    return open_request(api_client, "GET", path, query, timeout)


def get_json(
    api_client: ApiClient,
    path: str,
    query: Sequence[tuple[str, Any]] | None = None,
    timeout: Timeout = (CONNECT_TIMEOUT, 60.0),
) -> dict[str, Any]:
    """GET `path` and parse the body with json.loads (no model classes)."""
    return read_json(open_get(api_client, path, query, timeout))


def read_json(response: urllib3.HTTPResponse) -> dict[str, Any]:
    """The whole body parsed ({} for an empty one); the connection goes back to the pool."""
    try:
        data = response.data
    finally:
        response.release_conn()
    return json.loads(data) if data else {}
