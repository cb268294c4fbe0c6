"""describe_api_error: ApiException bodies and transport errors become titled messages."""

from __future__ import annotations

import json

import urllib3

from kdash.errors import ApiException, ConfigError, KdashError, describe_api_error, describe_status


def status_body(code: int, reason: str, message: str) -> str:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": reason, "code": code})


def test_forbidden_status_body_gives_the_server_message():
    message = ('deployments.apps "web" is forbidden: User "dev" cannot patch resource '
               '"deployments" in API group "apps" in the namespace "prod"')
    exc = ApiException(status=403, reason="Forbidden", body=status_body(403, "Forbidden", message))
    error = describe_api_error(exc)
    assert isinstance(error, KdashError)
    assert error.title == "Forbidden"
    assert error.message == message


def test_not_found_conflict_and_invalid():
    cases = {
        404: ("NotFound", 'deployments.apps "nope" not found', "Not found"),
        409: ("Conflict", "Operation cannot be fulfilled: the object has been modified",
              "Conflict"),
        422: ("Invalid", 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1',
              "Invalid"),
    }
    for code, (reason, message, title) in cases.items():
        error = describe_api_error(ApiException(status=code, reason=reason,
                                                body=status_body(code, reason, message)))
        assert (error.title, error.message) == (title, message)


def test_already_exists_keeps_the_message():
    body = status_body(409, "AlreadyExists", 'configmaps "x" already exists')
    error = describe_api_error(ApiException(status=409, reason="Conflict", body=body))
    assert error.title == "Conflict"
    assert error.message == 'configmaps "x" already exists'


def test_body_that_is_not_json_falls_back_to_the_reason():
    error = describe_api_error(ApiException(status=502, reason="Bad Gateway", body="<html>"))
    assert error.title == "Bad Gateway"
    assert error.message == "Bad Gateway"


def test_tls_failure_reported_by_the_rest_layer():
    exc = ApiException(status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
                                        "verify failed: self-signed certificate")
    error = describe_api_error(exc)
    assert error.title == "TLS error"
    assert "CERTIFICATE_VERIFY_FAILED" in error.message


def test_connection_refused_is_unreachable():
    pool = urllib3.HTTPSConnectionPool("127.0.0.1", 6443)
    conn = urllib3.connection.HTTPSConnection("127.0.0.1", 6443)
    inner = urllib3.exceptions.NewConnectionError(
        conn, "Failed to establish a new connection: [Errno 111] Connection refused")
    exc = urllib3.exceptions.MaxRetryError(pool, "/version", inner)
    error = describe_api_error(exc)
    assert error.title == "Cannot reach the API server"
    assert "connection refused" in error.message
    assert "https://127.0.0.1:6443" in error.message


def test_timeouts_and_dropped_connections():
    pool = urllib3.HTTPSConnectionPool("10.255.255.1", 443)
    connect = urllib3.exceptions.ConnectTimeoutError(None, "timed out")
    assert describe_api_error(urllib3.exceptions.MaxRetryError(pool, "/", connect)).title == \
        "Cannot reach the API server"
    read = urllib3.exceptions.ReadTimeoutError(pool, "/", "read timed out")
    assert describe_api_error(read).title == "Timeout"
    dropped = urllib3.exceptions.ProtocolError("Response ended prematurely")
    assert describe_api_error(dropped).title == "Connection lost"


def test_config_errors_and_passthrough():
    assert describe_api_error(ConfigError("bad")).title == "Invalid kubeconfig"
    original = KdashError("Title", "message")
    assert describe_api_error(original) is original
    assert describe_api_error(RuntimeError("boom")).message == "RuntimeError: boom"


def test_describe_status_from_a_watch_error_event():
    error = describe_status({"kind": "Status", "code": 500, "reason": "InternalError",
                             "message": "etcd is sad"})
    assert (error.title, error.message) == ("Server error", "etcd is sad")
    unknown = describe_status({"code": 499, "reason": "ClientClosedRequest"})
    assert unknown.title == "Client closed request"
