"""Raw JSON requests of any method over the ApiClient, and API errors worded for write actions."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import urllib3

from kdash.errors import ApiException, KdashError, describe_api_error, parse_status
from kdash.kube.api import ApiClient
from kdash.kube.client import CONNECT_TIMEOUT, Timeout, open_request, read_json

JSON = "application/json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# A write waits this long for its answer: a silent path must not leave it pending for minutes
# (kdash.kube.path cuts it sooner once the path is declared down).
WRITE_TIMEOUT: Timeout = (CONNECT_TIMEOUT, 15.0)
# Optimistic-concurrency attempts when only the status moved: a starting rollout updates the
# Deployment's status several times a second, so a read-then-write can lose a few races in a row.
CONFLICT_RETRIES = 5


def request_json(
    api_client: ApiClient,
    method: str,
    path: str,
    body: Any = None,
    query: Sequence[tuple[str, Any]] | None = None,
    content_type: str = JSON,
    timeout: Timeout = WRITE_TIMEOUT,
) -> dict[str, Any]:
    """Send one request (kube.client.open_request) and return the parsed JSON answer; an answer
    that never came is a KdashError saying whether the change may have been applied."""
    try:
        return read_json(open_request(api_client, method, path, query, timeout, body, content_type))
    except urllib3.exceptions.HTTPError as exc:
        unanswered = unanswered_error(exc, method)
        if unanswered is None:
            raise
        raise unanswered from exc


def unanswered_error(exc: urllib3.exceptions.HTTPError, method: str) -> KdashError | None:
    """A request that was sent but got no answer (timed out, or its connection was cut) as a
    KdashError saying so, and for a write that its outcome is unknown; None for failures before
    anything was sent (those are described by kdash.errors)."""
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    if not isinstance(reason, urllib3.exceptions.ReadTimeoutError | urllib3.exceptions.ProtocolError):
        return None
    if method == "GET":
        return KdashError("No answer", "the API server did not answer (the path to it may be down)")
    return KdashError("No answer", "the API server did not answer (the path to it may be down); the "
                      "change may or may not have been applied — check before retrying")


def backoff(attempt: int) -> None:
    """Wait a little longer after each lost optimistic-concurrency race (100, 200, then 400 ms)."""
    time.sleep(min(0.05 * 2 ** attempt, 0.4))


def status_of(exc: ApiException) -> dict[str, Any]:
    """The Status object in an ApiException's body ({} if none)."""
    return parse_status(exc.body)


def api_error(exc: BaseException, what: str, *, conflict: str | None = None) -> KdashError:
    """A KdashError for a failed request about `what` ("Deployment ns/web").

    `conflict` replaces the server's wording for 409 Conflict, which in these actions always
    means an optimistic-concurrency precondition failed.
    """
    if isinstance(exc, urllib3.exceptions.HTTPError):
        # The actions' reads (a GET before a write) come here; writes went through request_json.
        unanswered = unanswered_error(exc, "GET")
        if unanswered is not None:
            return unanswered
    if isinstance(exc, ApiException):
        if exc.status == 409 and conflict:
            return KdashError("Changed meanwhile", conflict)
        if exc.status == 404:
            message = status_of(exc).get("message") or f"{what} not found"
            return KdashError("Not found", str(message))
    return describe_api_error(exc)


def changed_meanwhile(what: str) -> str:
    """The one wording for an optimistic-concurrency failure."""
    return f"{what} changed meanwhile; nothing was changed — reload and retry"
