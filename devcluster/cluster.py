"""Start and stop a real local control plane (etcd, apiserver, controller-manager, scheduler, fake kubelet)."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = REPO / "devcluster" / "build.sh"
SAMPLES = REPO / "devcluster" / "samples"
CACHE = Path(os.environ.get("KDASH_CACHE", Path.home() / ".cache" / "kdash"))
# The shell's `up`/`down` share one cluster per user; pytest starts its own in a temp dir.
CURRENT = CACHE / "cluster.json"
ADMIN_TOKEN = "kdash-admin-token"
SERVICE_CIDR = "10.96.0.0/16"


class ClusterError(RuntimeError):
    """The control plane failed to build, start or become ready."""


@dataclasses.dataclass
class ClusterInfo:
    state_dir: str
    kubeconfig: str
    server: str
    bin_dir: str
    pids: dict[str, int]
    token: str = ADMIN_TOKEN
    # How each process was launched, so one can be restarted (resilience tests).
    argv: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    env: dict[str, dict[str, str] | None] = dataclasses.field(default_factory=dict)

    @property
    def kubectl_path(self) -> str:
        return kubectl_binary(self.bin_dir)

    @property
    def ca_file(self) -> str:
        return str(Path(self.state_dir) / "pki" / "ca.pem")

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60,
                input: str | None = None) -> str:
        """Run kubectl against this cluster and return stdout."""
        proc = subprocess.run(
            [self.kubectl_path, "--kubeconfig", self.kubeconfig, *args],
            capture_output=True, text=True, timeout=timeout, input=input,
        )
        if check and proc.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def get_json(self, path: str, timeout: float = 10) -> dict:
        """GET an API path as JSON with the admin token (no kubectl, no client library)."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        req = urllib.request.Request(self.server + path,
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
            return json.loads(resp.read())


def kubectl_binary(bin_dir: str) -> str:
    """The kubectl built with the control plane, so client and server versions match."""
    built = Path(bin_dir) / "kubectl"
    return str(built) if built.exists() else (shutil.which("kubectl") or "kubectl")


def build() -> str:
    """Build or reuse the cached binaries; return their directory."""
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise ClusterError(f"devcluster/build.sh failed with exit code {proc.returncode}")
    return proc.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(pki: Path) -> None:
    """CA, apiserver serving cert, service-account key pair and the fake kubelet's cert."""
    pki.mkdir(parents=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem",
             "-out", "ca.pem", "-days", "3650", "-subj", "/CN=kdash-dev-ca", cwd=pki)
    (pki / "san.ext").write_text(
        "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
        "extendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "apiserver-key.pem",
             "-out", "apiserver.csr", "-subj", "/CN=kube-apiserver", cwd=pki)
    _openssl("x509", "-req", "-in", "apiserver.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
             "-CAcreateserial", "-out", "apiserver.pem", "-days", "3650",
             "-extfile", "san.ext", cwd=pki)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    # The apiserver skips verifying the kubelet when no kubelet CA is configured, so self-signed is enough.
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "kubelet-key.pem",
             "-out", "kubelet.pem", "-days", "3650", "-subj", "/CN=kdash-fake-kubelet",
             "-addext", "subjectAltName=IP:127.0.0.1", cwd=pki)


def write_kubeconfig(path: Path, server: str, ca_file: Path, token: str, name: str = "kdash-dev") -> None:
    ca = base64.b64encode(ca_file.read_bytes()).decode()
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": f"{name}-admin", "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin",
                                                 "namespace": "default"}}],
    }, indent=2))
    path.chmod(0o600)


def _spawn(name: str, argv: list[str], state: Path, env: dict | None = None) -> subprocess.Popen:
    log = open(state / "logs" / f"{name}.log", "wb")  # noqa: SIM115 (the child keeps it)
    # A new session so `down` can signal the process without touching the caller's group.
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env, cwd=state)


def _wait(what: str, check, timeout: float, procs: dict[str, subprocess.Popen], state: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                tail = (state / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]
                raise ClusterError(f"{name} exited with {proc.returncode} while waiting for {what}:\n{tail}")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError, KeyError, ssl.SSLError):
            pass
        time.sleep(0.2)
    raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what} (logs in {state}/logs)")


def start(state_dir: str | None = None, nodes: int = 2, max_pods: int = 6000,
          log=lambda msg: print(msg, file=sys.stderr)) -> ClusterInfo:
    """Start the whole control plane on loopback with free ports; return once it can run pods."""
    bin_dir = build()
    t0 = time.monotonic()
    state = Path(state_dir or tempfile.mkdtemp(prefix="kdash-cluster-"))
    (state / "logs").mkdir(parents=True, exist_ok=True)
    pki = state / "pki"
    make_pki(pki)
    (state / "tokens.csv").write_text(f'{ADMIN_TOKEN},kdash-admin,kdash-admin-uid,"system:masters"\n')
    ports = {k: free_port() for k in ("etcd", "etcd_peer", "apiserver", "cm", "sched", "kubelet")}
    server = f"https://127.0.0.1:{ports['apiserver']}"
    kubeconfig = state / "kubeconfig"
    write_kubeconfig(kubeconfig, server, pki / "ca.pem", ADMIN_TOKEN)
    procs: dict[str, subprocess.Popen] = {}
    info = ClusterInfo(str(state), str(kubeconfig), server, bin_dir, {})

    def launch(name: str, argv: list[str], env: dict | None = None) -> None:
        procs[name] = _spawn(name, argv, state, env)
        info.pids[name] = procs[name].pid
        info.argv[name], info.env[name] = argv, env
        (state / "pids.json").write_text(json.dumps(info.pids))

    try:
        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd_peer']}"
        launch("etcd", ["etcd", "--name", "kdash", "--data-dir", str(state / "etcd"),
                        "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                        "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                        "--initial-cluster", f"kdash={peer_url}", "--log-level", "warn",
                        "--quota-backend-bytes", str(4 * 1024 ** 3)])
        b = Path(bin_dir)
        launch("kube-apiserver", [
            str(b / "kube-apiserver"), "--etcd-servers", etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(ports["apiserver"]),
            "--tls-cert-file", str(pki / "apiserver.pem"),
            "--tls-private-key-file", str(pki / "apiserver-key.pem"),
            "--client-ca-file", str(pki / "ca.pem"),
            "--token-auth-file", str(state / "tokens.csv"),
            "--authorization-mode", "RBAC",
            "--service-account-key-file", str(pki / "sa.pub"),
            "--service-account-signing-key-file", str(pki / "sa.key"),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range", SERVICE_CIDR,
            # Log requests must dial the fake kubelet's 127.0.0.1, not the node's name.
            "--kubelet-preferred-address-types", "InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP",
            # Without this the apiserver fights over the `kubernetes` Endpoints and takes ~60 s to stop.
            "--endpoint-reconciler-type", "none",
            "--allow-privileged=true", "--profiling=false",
            "--max-requests-inflight", "800", "--max-mutating-requests-inflight", "400",
            "--etcd-compaction-interval", os.environ.get("KDASH_ETCD_COMPACTION", "5m"),
            "-v", "1",
        ])
        _wait("kube-apiserver /readyz", lambda: _readyz(info), 60, procs, state)
        common = ["--kubeconfig", str(kubeconfig), "--leader-elect=false",
                  "--bind-address", "127.0.0.1", "--port", "0",
                  # The defaults (20 qps) create only ~16 pods/s; load tests need far more.
                  "--kube-api-qps", "300", "--kube-api-burst", "600"]
        launch("kube-controller-manager", [
            str(b / "kube-controller-manager"), *common, "--secure-port", str(ports["cm"]),
            "--authentication-kubeconfig", str(kubeconfig), "--authorization-kubeconfig", str(kubeconfig),
            # Without the token controller, pods are refused for lack of a service-account token.
            "--service-account-private-key-file", str(pki / "sa.key"),
            "--root-ca-file", str(pki / "ca.pem"),
            "--concurrent-deployment-syncs", "10", "--concurrent-replicaset-syncs", "10",
            "--concurrent-endpoint-syncs", "10",
        ])
        launch("kube-scheduler", [
            str(b / "kube-scheduler"), *common, "--secure-port", str(ports["sched"]),
            "--authentication-kubeconfig", str(kubeconfig), "--authorization-kubeconfig", str(kubeconfig),
        ])
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        launch("fake-kubelet", [
            sys.executable, "-m", "devcluster.fake_kubelet", "--kubeconfig", str(kubeconfig),
            "--nodes", str(nodes), "--node-prefix", "kdash-node", "--address", "127.0.0.1",
            "--port", str(ports["kubelet"]), "--cert", str(pki / "kubelet.pem"),
            "--key", str(pki / "kubelet-key.pem"), "--max-pods", str(max_pods),
        ], env=env)
        _wait("nodes Ready", lambda: _nodes_ready(info, nodes), 60, procs, state)
        _wait("the default service account token", lambda: _sa_ready(info), 60, procs, state)
    except BaseException:
        stop(info)
        raise
    log(f"[devcluster] control plane up in {time.monotonic() - t0:.1f} s at {server}")
    return info


def kill_process(info: ClusterInfo, name: str) -> None:
    """Stop one process of the control plane (e.g. the apiserver, to test reconnects)."""
    _kill(info.pids[name], timeout=10)


def start_process(info: ClusterInfo, name: str, timeout: float = 60) -> None:
    """Start a process `kill_process` stopped, with its original flags, and wait until it serves."""
    state = Path(info.state_dir)
    proc = _spawn(name, info.argv[name], state, info.env.get(name))
    info.pids[name] = proc.pid
    (state / "pids.json").write_text(json.dumps(info.pids))
    if name == "kube-apiserver":
        _wait("kube-apiserver /readyz", lambda: _readyz(info), timeout, {name: proc}, state)


def _readyz(info: ClusterInfo) -> bool:
    ctx = ssl.create_default_context(cafile=info.ca_file)
    req = urllib.request.Request(info.server + "/readyz", headers={"Authorization": f"Bearer {info.token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=2) as resp:
        return resp.status == 200


def _nodes_ready(info: ClusterInfo, count: int) -> bool:
    items = info.get_json("/api/v1/nodes")["items"]
    ready = [n for n in items for c in n.get("status", {}).get("conditions", [])
             if c["type"] == "Ready" and c["status"] == "True"]
    return len(ready) >= count


def _sa_ready(info: ClusterInfo) -> bool:
    sa = info.get_json("/api/v1/namespaces/default/serviceaccounts/default")
    return bool(sa.get("secrets"))


def stop(info: ClusterInfo, timeout: float = 10) -> None:
    """Stop exactly the processes `start` launched (by pid, newest first) and remove the state dir."""
    for pid in reversed(list(info.pids.values())):
        _kill(pid, timeout)
    shutil.rmtree(info.state_dir, ignore_errors=True)


def _kill(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while _alive(pid):
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        # Reap our own children so they don't linger as zombies that still answer kill(0).
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return False


def apply_samples(info: ClusterInfo, wait: bool = True, timeout: int = 120) -> None:
    """Create the sample workloads and wait until their Deployments are available."""
    info.kubectl("apply", "-f", str(SAMPLES))
    if wait:
        info.kubectl("wait", "--for=condition=Available", "deployment", "--all", "-n", "default",
                     f"--timeout={timeout}s", timeout=timeout + 10)


# ---- shell-level `up` / `down`: one shared cluster described by ~/.cache/kdash/cluster.json


def load_current() -> ClusterInfo | None:
    try:
        data = json.loads(CURRENT.read_text())
        return ClusterInfo(**data)
    except (OSError, ValueError, TypeError):
        return None


def healthy(info: ClusterInfo) -> bool:
    try:
        return all(_alive(pid) for pid in info.pids.values()) and _readyz(info)
    except (OSError, urllib.error.URLError, ssl.SSLError):
        return False


def up(samples: bool = False, nodes: int = 2) -> ClusterInfo:
    """Idempotent: reuse the running shared cluster if healthy, else start a new one with `nodes` Nodes."""
    info = load_current()
    if info and healthy(info):
        print(f"[devcluster] reusing the running control plane at {info.server}", file=sys.stderr)
    else:
        if info:
            stop(info)
        info = start(nodes=nodes)
        CURRENT.parent.mkdir(parents=True, exist_ok=True)
        CURRENT.write_text(json.dumps(dataclasses.asdict(info), indent=2))
    if samples:
        apply_samples(info)
    return info


def down() -> bool:
    info = load_current()
    if not info:
        return False
    stop(info)
    CURRENT.unlink(missing_ok=True)
    return True
