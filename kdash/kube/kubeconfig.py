"""Kubeconfig files merged like kubectl; a context's server, TLS and credentials set on a Configuration."""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from kdash.errors import ConfigError, KdashError
from kdash.kube.api import Configuration

DEFAULT_KUBECONFIG = "~/.kube/config"
SERVICE_HOST_ENV_NAME = "KUBERNETES_SERVICE_HOST"
SERVICE_PORT_ENV_NAME = "KUBERNETES_SERVICE_PORT"
SERVICE_TOKEN_FILENAME = "/var/run/secrets/kubernetes.io/serviceaccount/token"
SERVICE_CERT_FILENAME = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
# An expiring credential is renewed this long before it expires (the Python client's margin).
EXPIRY_SKEW = dt.timedelta(minutes=5)
IN_CLUSTER_TOKEN_REFRESH = dt.timedelta(minutes=1)  # projected tokens rotate: re-read them
EXEC_TIMEOUT = 120.0  # an exec plugin may wait for a browser login; never forever


@dataclass(frozen=True)
class Entry:
    """A named cluster, context or user, and the file it came from (relative paths resolve there)."""

    value: Mapping[str, Any]
    path: str

    @property
    def base(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))


@dataclass
class Merged:
    """The kubeconfig files merged: per section, name → the first file's entry."""

    clusters: dict[str, Entry] = field(default_factory=dict)
    contexts: dict[str, Entry] = field(default_factory=dict)
    users: dict[str, Entry] = field(default_factory=dict)
    current_context: str = ""

    def context_names(self) -> list[str]:
        return list(self.contexts)

    def context(self, name: str) -> Mapping[str, Any]:
        """The context's fields ({} if it has none; ConfigError if they are not a mapping)."""
        entry = self.contexts.get(name)
        return _mapping(entry.value.get("context") if entry is not None else None, f"context {name!r}")


def kubeconfig_paths(kubeconfig: str | None = None) -> list[str]:
    """Files kubectl would read: --kubeconfig, else $KUBECONFIG (a list), else ~/.kube/config."""
    if kubeconfig:
        return [os.path.expanduser(kubeconfig)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
    return [os.path.expanduser(DEFAULT_KUBECONFIG)]


def load_merged_kubeconfig(kubeconfig: str | None = None) -> Merged | None:
    """Merge the kubeconfig files like kubectl; None when no file exists (in-cluster case).

    kubectl's rules: the first file to define a cluster/context/user name wins, and the first
    non-empty current-context wins. Each entry keeps its file so relative certificate paths
    resolve against the file they came from.
    """
    paths = kubeconfig_paths(kubeconfig)
    if kubeconfig and not os.path.exists(paths[0]):
        raise KdashError("Kubeconfig not found", f"{paths[0]} does not exist")
    merged: Merged | None = None
    for path in paths:
        data = _read_kubeconfig_file(path)
        if data is None:
            continue
        merged = merged or Merged()
        for section in ("clusters", "contexts", "users"):
            entries = data.get(section) or []
            if not isinstance(entries, list):
                raise KdashError("Invalid kubeconfig", f"{path}: {section} is not a list")
            known: dict[str, Entry] = getattr(merged, section)
            for entry in entries:
                if not isinstance(entry, dict) or "name" not in entry:
                    raise KdashError("Invalid kubeconfig", f"{path}: an entry in {section} has no name")
                known.setdefault(str(entry["name"]), Entry(entry, path))
        if not merged.current_context and data.get("current-context"):
            merged.current_context = str(data["current-context"])
    return merged


def list_contexts(kubeconfig: str | None = None) -> list[str]:
    """Context names from the merged kubeconfig, in file order ([] if there is none)."""
    merged = load_merged_kubeconfig(kubeconfig)
    return merged.context_names() if merged is not None else []


def current_context(kubeconfig: str | None = None) -> str:
    """The merged kubeconfig's current-context ("" when unset)."""
    merged = load_merged_kubeconfig(kubeconfig)
    return merged.current_context if merged is not None else ""


def _read_kubeconfig_file(path: str) -> dict[str, Any] | None:
    if not os.path.exists(path):
        return None  # kubectl silently skips missing entries of $KUBECONFIG
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}" if mark else ""
        raise KdashError("Invalid kubeconfig", f"{path}{where}: {exc.problem or exc.context}") from exc
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise KdashError("Invalid kubeconfig", f"{path}: {' '.join(str(exc).split())}") from exc
    if data is None:
        return None  # an empty file contributes nothing (kubectl tolerates it)
    if not isinstance(data, dict):
        raise KdashError("Invalid kubeconfig", f"{path}: expected a YAML mapping")
    return data


# -- one context -> Configuration ----------------------------------------------------------------


def load_context(merged: Merged, context_name: str, configuration: Configuration) -> None:
    """Set the context's server, TLS settings and credential on `configuration` (ConfigError if
    the kubeconfig cannot give them). Credentials, in the Python client's order: auth-provider,
    token or tokenFile, exec plugin, username and password.

    Everything is read first, then set: a reload (after a 401) runs while other threads send
    requests with this configuration, and none may go out without a credential meanwhile, nor
    lose the old one if the reload fails."""
    fresh = Configuration()
    _load_context(merged, context_name, fresh)
    configuration.host, configuration.verify_ssl = fresh.host, fresh.verify_ssl
    configuration.tls_server_name, configuration.proxy = fresh.tls_server_name, fresh.proxy
    configuration.ssl_ca_cert, configuration.cert_file, configuration.key_file = \
        fresh.ssl_ca_cert, fresh.cert_file, fresh.key_file
    if "BearerToken" in fresh.api_key:
        configuration.api_key["BearerToken"] = fresh.api_key["BearerToken"]
    else:
        configuration.api_key.pop("BearerToken", None)
    configuration.refresh_api_key_hook = fresh.refresh_api_key_hook


def _load_context(merged: Merged, context_name: str, configuration: Configuration) -> None:
    context = merged.context(context_name)
    cluster_name, user_name = context.get("cluster"), context.get("user")
    if not cluster_name:
        raise ConfigError(f"context {context_name!r} names no cluster")
    cluster_entry = merged.clusters.get(str(cluster_name))
    if cluster_entry is None:
        raise ConfigError(f"cluster {cluster_name!r} of context {context_name!r} is not in the kubeconfig")
    user_entry = merged.users.get(str(user_name)) if user_name else None
    if user_name and user_entry is None:
        raise ConfigError(f"user {user_name!r} of context {context_name!r} is not in the kubeconfig")
    cluster = _mapping(cluster_entry.value.get("cluster"), f"cluster {cluster_name!r}")
    user = _mapping(user_entry.value.get("user") if user_entry else None, f"user {user_name!r}")
    server = (_text(cluster, "server") or "").rstrip("/")
    if not server:
        raise ConfigError(f"cluster {cluster_name!r} has no server")
    if not server.startswith(("http://", "https://")):
        raise ConfigError(f"cluster {cluster_name!r}: server {server!r} is not an http(s) URL")
    configuration.host = server
    skip = cluster.get("insecure-skip-tls-verify", False)
    if not isinstance(skip, bool):
        raise ConfigError(f"cluster {cluster_name!r}: insecure-skip-tls-verify must be true or false")
    configuration.verify_ssl = not skip
    configuration.tls_server_name = _text(cluster, "tls-server-name")
    configuration.proxy = _text(cluster, "proxy-url")
    user_base = user_entry.base if user_entry else cluster_entry.base
    if server.startswith("https"):
        configuration.ssl_ca_cert = _file_or_data(cluster, "certificate-authority", cluster_entry.base)
        configuration.cert_file = _file_or_data(user, "client-certificate", user_base)
        configuration.key_file = _file_or_data(user, "client-key", user_base)
    if "auth-provider" in user:
        _auth_provider(merged, context_name, configuration, user_base)
    elif user.get("token") or user.get("tokenFile"):
        token = _text(user, "token") or _read_text(_resolve(_text(user, "tokenFile") or "", user_base)).strip()
        configuration.api_key["BearerToken"] = f"Bearer {token}"
    elif "exec" in user:
        plugin = ExecPlugin(_mapping(user["exec"], "exec"), user_base, cluster)
        plugin.apply(configuration)
        configuration.refresh_api_key_hook = plugin.refresh
    elif "username" in user and "password" in user:
        basic = base64.b64encode(f"{_text(user, 'username')}:{_text(user, 'password')}".encode()).decode()
        configuration.api_key["BearerToken"] = f"Basic {basic}"


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} is not a mapping")
    return value


def _text(section: Mapping[str, Any], key: str) -> str | None:
    """A string field (None when absent or empty); ConfigError when it is something else."""
    value = section.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string")
    return value


def _resolve(path: str, base: str) -> str:
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _file_or_data(section: Mapping[str, Any], key: str, base: str) -> str | None:
    """A path to the PEM: `key-data` (base64) written to a private file, else the `key` file."""
    data = _text(section, f"{key}-data")
    if data:
        try:
            return _private_file(base64.b64decode(data, validate=False))
        except ValueError as exc:
            raise ConfigError(f"{key}-data is not base64: {exc}") from exc
    if _text(section, key):
        path = _resolve(str(section[key]), base)
        if not os.path.isfile(path):
            raise ConfigError(f"File does not exist: {path}")
        return path
    return None


_files_lock = threading.Lock()
_files: dict[str, str] = {}  # content digest -> private file holding it


def _private_file(content: bytes) -> str:
    """A 0600 file holding `content`, one per distinct content, removed when kdash exits."""
    digest = hashlib.sha256(content).hexdigest()
    with _files_lock:
        path = _files.get(digest)
        if path is not None and os.path.isfile(path):
            return path
        fd, path = tempfile.mkstemp(prefix="kdash-kubeconfig-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        if not _files:
            atexit.register(_remove_files)
        _files[digest] = path
        return path


def _remove_files() -> None:
    for path in _files.values():
        try:
            os.unlink(path)
        except OSError:
            pass


def _expired(expiry: dt.datetime | None) -> bool:
    return expiry is not None and expiry - EXPIRY_SKEW <= dt.datetime.now(dt.UTC)


def _parse_time(text: Any) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class ExecPlugin:
    """A client-go credential plugin: runs the command, reads its ExecCredential; re-runs it
    when the credential it gave is about to expire."""

    def __init__(self, spec: Mapping[str, Any], base: str, cluster: Mapping[str, Any]) -> None:
        for key in ("command", "apiVersion"):
            if key not in spec:
                raise ConfigError(f"exec: malformed request. missing key '{key}'")
        args, env = spec.get("args") or [], spec.get("env") or []
        if not isinstance(args, list) or not isinstance(env, list):
            raise ConfigError("exec: args and env must be lists")
        self.api_version = str(spec["apiVersion"])
        self.argv = [str(spec["command"]), *[str(a) for a in args]]
        self.env = {str(item["name"]): str(item["value"]) for item in env
                    if isinstance(item, Mapping) and "name" in item and "value" in item}
        self.cluster = cluster if spec.get("provideClusterInfo") else None
        self.cwd = base or None
        self.expiry: dt.datetime | None = None
        self._lock = threading.Lock()

    def run(self) -> Mapping[str, Any]:
        """The plugin's ExecCredential status (ConfigError when it fails or answers nonsense)."""
        interactive = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
        spec: dict[str, Any] = {"interactive": interactive}
        if self.cluster is not None:
            spec["cluster"] = dict(self.cluster)
            for extension in self.cluster.get("extensions") or []:
                if isinstance(extension, Mapping) and extension.get("name") == "client.authentication.k8s.io/exec":
                    spec["cluster"]["config"] = extension.get("extension")
                    break
        env = {**os.environ, **self.env, "KUBERNETES_EXEC_INFO": json.dumps(
            {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": spec})}
        try:
            done = subprocess.run(self.argv, stdout=subprocess.PIPE,
                                  stderr=None if interactive else subprocess.PIPE,
                                  stdin=None if interactive else subprocess.DEVNULL,
                                  cwd=self.cwd, env=env, text=True, timeout=EXEC_TIMEOUT, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConfigError(f"exec: cannot run {self.argv[0]}: {exc}") from exc
        if done.returncode != 0:
            stderr = (done.stderr or "").strip()
            raise ConfigError(f"exec: process returned {done.returncode}" + (f". {stderr}" if stderr else ""))
        try:
            data = json.loads(done.stdout)
        except ValueError as exc:
            raise ConfigError(f"exec: failed to decode process output: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError("exec: the plugin's output is not an ExecCredential")
        for key in ("apiVersion", "kind", "status"):
            if key not in data:
                raise ConfigError(f"exec: malformed response. missing key '{key}'")
        if data["apiVersion"] != self.api_version:
            raise ConfigError(f"exec: plugin api version {data['apiVersion']} does not match {self.api_version}")
        return _mapping(data["status"], "exec: status")

    def apply(self, configuration: Configuration) -> None:
        status = self.run()
        if status.get("token"):
            configuration.api_key["BearerToken"] = f"Bearer {status['token']}"
        elif status.get("clientCertificateData"):
            if not status.get("clientKeyData"):
                raise ConfigError("exec: missing clientKeyData field in plugin output")
            configuration.cert_file = _private_file(str(status["clientCertificateData"]).encode())
            configuration.key_file = _private_file(str(status["clientKeyData"]).encode())
        else:
            raise ConfigError("exec: missing token or clientCertificateData field in plugin output")
        self.expiry = _parse_time(status["expirationTimestamp"]) if status.get("expirationTimestamp") else None

    def refresh(self, configuration: Configuration) -> None:
        """The refresh hook: run the plugin again once its credential is about to expire."""
        if not _expired(self.expiry):
            return
        with self._lock:
            if _expired(self.expiry):
                self.apply(configuration)


def _auth_provider(merged: Merged, context_name: str, configuration: Configuration, base: str) -> None:
    """Legacy auth-provider plugins (oidc, gcp, azure) through the kubernetes package's loader,
    imported only here: kdash's own loader covers what current clusters use."""
    try:
        from kubernetes.client import Configuration as ClientConfiguration
        from kubernetes.config.config_exception import ConfigException
        from kubernetes.config.kube_config import KubeConfigLoader
    except ImportError as exc:
        raise ConfigError("auth-provider credentials need the kubernetes package (pip install kubernetes)") from exc
    config = {"clusters": [dict(e.value) for e in merged.clusters.values()],
              "contexts": [dict(e.value) for e in merged.contexts.values()],
              "users": [dict(e.value) for e in merged.users.values()],
              "current-context": context_name}
    theirs = ClientConfiguration()
    try:
        loader = KubeConfigLoader(config_dict=config, active_context=context_name, config_base_path=base)
        loader.load_and_set(theirs)
    except ConfigException as exc:
        raise ConfigError(str(exc)) from exc

    def refresh(ours: Configuration) -> None:
        value = theirs.get_api_key_with_prefix("BearerToken")
        if value:
            ours.api_key["BearerToken"] = value

    refresh(configuration)
    configuration.refresh_api_key_hook = refresh


# -- in a pod ------------------------------------------------------------------------------------


def in_cluster_available() -> bool:
    return bool(os.environ.get(SERVICE_HOST_ENV_NAME))


def load_in_cluster(configuration: Configuration, environ: Mapping[str, str] = os.environ,
                    token_file: str = SERVICE_TOKEN_FILENAME, cert_file: str = SERVICE_CERT_FILENAME) -> None:
    """The pod's service account: API server from the environment, its token (re-read every
    minute: projected tokens rotate) and CA."""
    host, port = environ.get(SERVICE_HOST_ENV_NAME), environ.get(SERVICE_PORT_ENV_NAME)
    if not host or not port:
        raise ConfigError("Service host/port is not set.")
    configuration.host = f"https://[{host}]:{port}" if ":" in host or "%" in host else f"https://{host}:{port}"
    if not os.path.isfile(token_file):
        raise ConfigError("Service token file does not exist.")
    if not os.path.isfile(cert_file) or not _read_text(cert_file):
        raise ConfigError("Service certification file does not exist or is empty.")
    configuration.ssl_ca_cert = cert_file
    read_at: list[dt.datetime] = []

    def refresh(conf: Configuration) -> None:
        now = dt.datetime.now(dt.UTC)
        if read_at and now - read_at[0] < IN_CLUSTER_TOKEN_REFRESH:
            return
        token = _read_text(token_file).strip()
        if not token:
            raise ConfigError("Token file exists but empty.")
        conf.api_key["BearerToken"] = f"Bearer {token}"
        read_at[:] = [now]

    refresh(configuration)
    configuration.refresh_api_key_hook = refresh

