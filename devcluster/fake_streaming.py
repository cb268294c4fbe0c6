"""Exec and port-forward for the fake kubelet: a kubelet's WebSocket streaming endpoints, as a test double on loopback.

The apiserver proxies `pods/exec` and `pods/portforward` WebSocket upgrades to the node's kubelet
(`/exec/NS/POD/CONTAINER?command=…&input=1&output=1&error=1&tty=1`, `/portForward/NS/POD?port=P`).
This module answers them the way the kubelet's streaming server does (k8s.io/apiserver wsstream
channel protocol):

- exec: subprotocols `v4.channel.k8s.io` / `v4.base64.channel.k8s.io` (and the older
  `channel.k8s.io` / `base64.channel.k8s.io`; also `v5.channel.k8s.io`, which 1.20 kubelets lack:
  v4 plus a stdin close signal on channel 255, the only WebSocket protocol kubectl >= 1.30 offers,
  so a current kubectl can cross-check exec through the 1.20 apiserver); every frame starts with a channel (0 stdin,
  1 stdout, 2 stderr, 3 status, 4 resize); the first frame is an empty one on the lowest output
  channel; the end is a v4 Status on channel 3 (Success, or Failure with reason NonZeroExitCode and
  the exit code as cause ExitCode). Resize frames are `{"Width": w, "Height": h}`.
- port-forward: per requested port an even data channel and the next odd error channel, each
  starting with the port as 2 bytes little-endian; an error is text on the error channel.

THIS IS A TEST DOUBLE ON LOOPBACK. Exec runs a REAL process on the host, as the fake kubelet's
user, in a scratch directory per pod (no container, no isolation) with the environment the
container would get from its pod spec (env values and $(VAR) references, valueFrom
configMapKeyRef/secretKeyRef/fieldRef, envFrom configMapRef/secretRef; ConfigMaps and Secrets
are read through the apiserver with the kubelet's credentials). Port-forward reaches a tiny HTTP
server per pod and port, started on demand on 127.0.0.1, that answers "pod NAME port P" (and
N bytes for GET /bytes/N).
Only the WebSocket flavour is served: SPDY (what kubectl 1.20 speaks, a POST) is answered with 400.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

log = logging.getLogger("fake-kubelet.streams")

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# subprotocol -> binary frames? (the kubelet's wsstream configurations; "" = none offered)
EXEC_PROTOCOLS = {"v5.channel.k8s.io": True, "v4.channel.k8s.io": True, "v4.base64.channel.k8s.io": False,
                  "channel.k8s.io": True, "base64.channel.k8s.io": False, "": True}
PORT_FORWARD_PROTOCOLS = {"v4.channel.k8s.io": True, "v4.base64.channel.k8s.io": False, "": True}
STDIN, STDOUT, STDERR, STATUS, RESIZE = range(5)
V5_SETUP_DELAY = 0.1  # seconds before a v5 exec's first frame (see serve_exec)
CLOSE = 255  # v5: the client's "no more data on channel N" signal (payload: N)
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EXIT_NOT_FOUND, EXIT_NOT_EXECUTABLE = 127, 126
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
_VAR_REF = re.compile(r"\$\$|\$\(([-._a-zA-Z0-9]+)\)")
_running: dict[subprocess.Popen, str] = {}  # exec'd process -> pod uid; they end with the pod or the kubelet
_running_lock = threading.Lock()


class Closed(Exception):
    """The peer closed the WebSocket (or the connection broke)."""


class ServerWebSocket:
    """The server end of an upgraded connection: unmasked frames out, masked frames in, channel bytes."""

    def __init__(self, rfile, sock, binary: bool) -> None:
        self.rfile, self.sock, self.binary = rfile, sock, binary
        self.protocol = ""
        self.lock = threading.Lock()
        self.closed = False

    def _frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + struct.pack("!H", n)
        else:
            head += bytes([127]) + struct.pack("!Q", n)
        with self.lock:
            if self.closed and opcode != OP_CLOSE:
                raise Closed()
            self.sock.sendall(head + payload)

    def send(self, channel: int, data: bytes) -> None:
        if self.binary:
            self._frame(OP_BINARY, bytes([channel]) + data)
        else:
            self._frame(OP_TEXT, str(channel).encode() + base64.b64encode(data))

    def close(self, code: int = 1000) -> None:
        """Send a close frame once, then shut the socket so the reading thread ends."""
        with self.lock:
            if self.closed:
                return
        try:
            self._frame(OP_CLOSE, struct.pack("!H", code))
        except OSError:
            pass
        with self.lock:
            self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) < n:
            raise Closed()
        return data

    def recv(self) -> tuple[int, bytes]:
        """The next data message as (channel, bytes); answers pings; Closed at the end."""
        message, first_op = b"", None
        while True:
            try:
                b0, b1 = self._read(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._read(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._read(8))[0]
                mask = self._read(4) if b1 & 0x80 else b"\0\0\0\0"
                payload = _unmask(self._read(n), mask)
            except (OSError, ValueError) as exc:
                raise Closed() from exc
            opcode = b0 & 0x0F
            if opcode == OP_CLOSE:
                self.close()
                raise Closed()
            if opcode == OP_PING:
                self._frame(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            if opcode != OP_CONT:
                first_op = opcode
            message += payload
            if not b0 & 0x80:
                continue
            if not message:
                message, first_op = b"", None
                continue  # wsstream ignores empty frames
            if first_op == OP_TEXT:
                return int(message[:1]), base64.b64decode(message[1:])
            return message[0], message[1:]


def _unmask(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def upgrade(handler: BaseHTTPRequestHandler, protocols: dict[str, bool]) -> ServerWebSocket | None:
    """Answer the WebSocket handshake like wsstream (first offered protocol it supports); None after a 400."""
    headers = handler.headers
    upgrade_to = (headers.get("Upgrade") or "").lower()
    if upgrade_to != "websocket":
        what = headers.get("Upgrade") or "no upgrade"
        handler.reply(400, f"the fake kubelet only serves WebSocket streams, not {what} (it has no SPDY)")
        return None
    offered = [p.strip() for p in (headers.get("Sec-WebSocket-Protocol") or "").split(",") if p.strip()]
    chosen = next((p for p in offered or [""] if p in protocols), None)
    if chosen is None:
        supported = sorted(p for p in protocols if p)
        handler.reply(400, f"requested protocol(s) are not supported: {offered}; supports {supported}")
        return None
    key = headers.get("Sec-WebSocket-Key") or ""
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    if chosen:
        handler.send_header("Sec-WebSocket-Protocol", chosen)
    handler.end_headers()
    handler.wfile.flush()
    handler.close_connection = True
    ws = ServerWebSocket(handler.rfile, handler.connection, protocols[chosen])
    ws.protocol = chosen
    return ws


# ---- the container's environment, as the kubelet builds it --------------------------------


def _field(pod: dict, path: str) -> str:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
              "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
              "spec.serviceAccountName": spec.get("serviceAccountName"),
              "status.podIP": status.get("podIP"), "status.hostIP": status.get("hostIP")}
    return str(simple.get(path) or "")


def expand(value: str, env: dict[str, str]) -> str:
    """$(VAR) expands to an earlier variable, $$ is a literal $, unknown references stay as written."""
    return _VAR_REF.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), value)


def container_env(get, pod: dict, container: dict, tty: bool, home: str) -> dict[str, str]:
    """The environment of `container`; `get(kind, name)` returns a ConfigMap/Secret's data or None."""
    namespace = pod["metadata"]["namespace"]
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": pod["metadata"]["name"], "HOME": home}
    if tty:
        env["TERM"] = "xterm"  # what container runtimes set for a tty exec

    def data(kind: str, name: str) -> dict[str, str]:
        found = get(kind, namespace, name)
        if found is None:
            return {}
        if kind == "secrets":
            return {k: base64.b64decode(v).decode(errors="replace") for k, v in found.items()}
        return found

    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef") or source.get("secretRef") or {}
        kind = "configmaps" if source.get("configMapRef") else "secrets"
        for key, value in data(kind, ref.get("name", "")).items():
            env[(source.get("prefix") or "") + key] = value
    for var in container.get("env") or []:
        name, source = var.get("name", ""), var.get("valueFrom")
        if source is None:
            env[name] = expand(var.get("value") or "", env)
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            ref = source.get("configMapKeyRef") or source.get("secretKeyRef")
            kind = "configmaps" if "configMapKeyRef" in source else "secrets"
            value = data(kind, ref.get("name", "")).get(ref.get("key", ""))
            if value is not None:
                env[name] = value
        elif "fieldRef" in source:
            env[name] = _field(pod, source["fieldRef"].get("fieldPath", ""))
    return env


# ---- exec --------------------------------------------------------------------------------


def v4_status(exit_code: int | None, command: list[str], error: str = "") -> dict:
    """The Status a kubelet writes on the status channel when the command ends."""
    if exit_code == 0 and not error:
        return {"metadata": {}, "status": "Success"}
    if error:
        return {"metadata": {}, "status": "Failure", "message": error, "reason": "InternalError",
                "details": {"causes": [{"message": error}]}, "code": 500}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"{command}, exit code {exit_code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(exit_code)}]}}


def _set_size(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def _default_signals() -> None:
    # A runtime starts a process with default signal actions; the kubelet's own may be ignored
    # (started under nohup, or as a background job), and an ignored action survives exec — then the
    # hangup that ends a dropped tty session would not end it.
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def _take_terminal() -> None:
    # In the child after setsid(): make the pty on fd 0 its controlling terminal, as a runtime does.
    _default_signals()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _spawn(argv: list[str], env: dict[str, str], cwd: str, tty: bool, stdin: bool, stderr: bool):
    """(process, pty master or None); OSError when the command cannot start."""
    if tty:
        master, slave = os.openpty()
        try:
            proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                    start_new_session=True, preexec_fn=_take_terminal)
        except OSError:
            os.close(master)
            raise
        finally:
            os.close(slave)
        return proc, master
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE if stderr else subprocess.DEVNULL,
                            env=env, cwd=cwd, start_new_session=True, preexec_fn=_default_signals)
    return proc, None


def _not_startable(argv: list[str], exc: OSError) -> tuple[int, str]:
    """What a runtime prints and exits with when the command cannot start (126 / 127, like a shell)."""
    if isinstance(exc, FileNotFoundError):
        return EXIT_NOT_FOUND, (f'OCI runtime exec failed: exec failed: unable to start container process: '
                                f'exec: "{argv[0]}": executable file not found in $PATH: unknown\r\n')
    return EXIT_NOT_EXECUTABLE, (f'OCI runtime exec failed: exec failed: unable to start container process: '
                                 f'exec: "{argv[0]}": permission denied: unknown\r\n')


def _pump(read, ws: ServerWebSocket, channel: int) -> None:
    """Copy a process output to a channel until it ends (EOF, or EIO on a pty whose child is gone)."""
    while True:
        try:
            data = read()
        except OSError:
            return
        if not data:
            return
        try:
            ws.send(channel, data)
        except (Closed, OSError):
            return


def serve_exec(handler, kubelet, rec, container_name: str, query: str) -> None:
    """GET /exec/NS/POD/CONTAINER: run the command with the container's environment, stream it."""
    q = parse_qs(query)
    argv = q.get("command") or []
    flag = lambda *names: any(n in q and q[n][-1] not in ("", "0", "false") for n in names)  # noqa: E731
    stdin, stdout = flag("input", "stdin"), flag("output", "stdout")
    stderr, tty = flag("error", "stderr"), flag("tty")
    code, pod = kubelet.request("GET", f"/api/v1/namespaces/{rec.namespace}/pods/{rec.name}")
    if code != 200 or pod["metadata"]["uid"] != rec.uid:
        return handler.reply(404, "pod does not exist")
    spec = pod.get("spec") or {}
    container = next((c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                      if c.get("name") == container_name), None)
    if container is None:
        return handler.reply(500, f'container not found ("{container_name}")')
    if not argv:
        return handler.reply(400, "you must specify at least one command for the container")
    if not (stdin or stdout or stderr):
        return handler.reply(400, "you must specify at least one of stdin, stdout, stderr")
    ws = upgrade(handler, EXEC_PROTOCOLS)
    if ws is None:
        return
    home = scratch_dir(rec)
    env = container_env(kubelet.read_data, pod, container, tty, home)
    first = STDOUT if stdout else STDERR if stderr else STATUS
    if ws.protocol == "v5.channel.k8s.io":
        # client-go's WebSocket executor starts reading before it has created its streams and
        # drops frames that come first ("Unknown stream id"); a real exec reaches the client only
        # after the runtime's exec setup, so this double waits as long as a quick one takes.
        time.sleep(V5_SETUP_DELAY)
    ws.send(first, b"")
    try:
        proc, master = _spawn(argv, env, home, tty, stdin, stderr and not tty)
    except OSError as exc:
        exit_code, message = _not_startable(argv, exc)
        ws.send(STDOUT if tty or not stderr else STDERR, message.encode())
        ws.send(STATUS, json.dumps(v4_status(exit_code, argv)).encode())
        ws.close()
        return
    log.info("exec %s/%s/%s %s (pid %d, tty %s)", rec.namespace, rec.name, container_name, argv, proc.pid, tty)
    with _running_lock:
        _running[proc] = rec.uid
    if master is not None:
        readers = [threading.Thread(target=_pump, args=(lambda: os.read(master, 65536), ws, STDOUT), daemon=True)]
    else:
        readers = [threading.Thread(target=_pump, args=(lambda s=s: s.read1(65536), ws, ch), daemon=True)
                   for s, ch in ((proc.stdout, STDOUT), (proc.stderr, STDERR)) if s is not None]
    for t in readers:
        t.start()

    def finish() -> None:
        exit_code = proc.wait()
        with _running_lock:
            _running.pop(proc, None)
        for t in readers:
            t.join()
        if master is not None:
            os.close(master)
        log.info("exec %s/%s pid %d exited %d", rec.namespace, rec.name, proc.pid, exit_code)
        try:
            # A signal death reads as 128+N, like a shell reports it.
            ws.send(STATUS, json.dumps(v4_status(exit_code if exit_code >= 0 else 128 - exit_code,
                                                 argv)).encode())
        except (Closed, OSError):
            pass
        ws.close()

    waiter = threading.Thread(target=finish, daemon=True)
    waiter.start()
    try:
        while True:
            channel, data = ws.recv()
            if channel == STDIN and data:
                if master is not None:
                    os.write(master, data)
                elif proc.stdin is not None:
                    proc.stdin.write(data)
                    proc.stdin.flush()
            elif channel == CLOSE and data[:1] == bytes([STDIN]):
                if master is not None:
                    os.write(master, b"\x04")  # end of input on a terminal
                elif proc.stdin is not None:
                    proc.stdin.close()
            elif channel == RESIZE and master is not None:
                size = {k.lower(): v for k, v in json.loads(data).items()}
                _set_size(master, int(size.get("width", 0)), int(size.get("height", 0)))
    except (Closed, OSError, ValueError):
        pass
    if proc.poll() is None:  # the client went away first: end the session like a dropped exec
        try:
            os.killpg(proc.pid, signal.SIGHUP if tty else signal.SIGKILL)
        except ProcessLookupError:
            pass
    waiter.join(timeout=10)


def kill_all(uid: str | None = None) -> None:
    """End the exec'd process groups of pod `uid` (its containers died), or all when the kubelet stops."""
    with _running_lock:
        procs = [p for p, owner in _running.items() if uid is None or owner == uid]
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def scratch_dir(rec) -> str:
    """The pod's working directory for exec (and $HOME), one per pod uid under the temp dir."""
    path = os.path.join(tempfile.gettempdir(), "kdash-fake-kubelet", f"{rec.namespace}_{rec.name}_{rec.uid[:8]}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


# ---- port-forward ------------------------------------------------------------------------


class PodPorts:
    """The per-pod, per-port HTTP answerers and the forwarded connections into them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.servers: dict[tuple[str, int], ThreadingHTTPServer] = {}
        self.conns: dict[str, set[socket.socket]] = {}

    def dial(self, rec, port: int) -> socket.socket:
        with self.lock:
            server = self.servers.get((rec.uid, port))
            if server is None:
                server = _answerer(rec.name, port)
                self.servers[(rec.uid, port)] = server
                threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.25},
                                 name=f"pod-{rec.name}-{port}", daemon=True).start()
            sock = socket.create_connection(server.server_address[:2], timeout=5)
            sock.settimeout(None)
            self.conns.setdefault(rec.uid, set()).add(sock)
        return sock

    def release(self, uid: str, sock: socket.socket) -> None:
        with self.lock:
            self.conns.get(uid, set()).discard(sock)
        sock.close()

    def pod_gone(self, uid: str) -> None:
        """Stop the pod's servers and cut its forwarded connections, as a container's death does."""
        with self.lock:
            servers = [self.servers.pop(k) for k in [k for k in self.servers if k[0] == uid]]
            conns = self.conns.pop(uid, set())
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for server in servers:
            server.shutdown()
            server.server_close()


def _answerer(pod_name: str, port: int) -> ThreadingHTTPServer:
    body = f"pod {pod_name} port {port}\n".encode()

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            # GET /bytes/N answers N bytes (throughput through a forward); anything else names the pod.
            size = self.path[len("/bytes/"):] if self.path.startswith("/bytes/") else ""
            length = min(int(size), 1 << 30) if size.isdigit() else len(body)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if not size.isdigit():
                self.wfile.write(body)
                return
            chunk = b"x" * 65536
            while length > 0:
                self.wfile.write(chunk[:length])
                length -= 65536

        def log_message(self, fmt, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    server.daemon_threads = True
    return server


def parse_ports(query: str) -> list[int]:
    """The kubelet's reading of ?port=80,8080 (ValueError with its wording)."""
    values = parse_qs(query, keep_blank_values=True).get("port") or []
    if not values:
        raise ValueError('query parameter "port" is required')
    ports = []
    for text in values:
        if not text:
            raise ValueError('query parameter "port" cannot be empty')
        for part in text.split(","):
            if not part.isdigit() or int(part) > 65535:
                raise ValueError(f'unable to parse "{text}" as a port')
            if int(part) < 1:
                raise ValueError(f'port "{text}" must be > 0')
            ports.append(int(part))
    return ports


def serve_port_forward(handler, pod_ports: PodPorts, rec, query: str) -> None:
    """GET /portForward/NS/POD: one data + error channel pair per port, bytes both ways."""
    try:
        ports = parse_ports(query)
    except ValueError as exc:
        return handler.reply(400, str(exc))
    ws = upgrade(handler, PORT_FORWARD_PROTOCOLS)
    if ws is None:
        return
    socks: dict[int, socket.socket] = {}
    readers = []
    for i, port in enumerate(ports):
        head = struct.pack("<H", port)
        ws.send(2 * i, head)
        ws.send(2 * i + 1, head)
        try:
            socks[2 * i] = sock = pod_ports.dial(rec, port)
        except OSError as exc:
            ws.send(2 * i + 1, f"error forwarding port {port} to pod {rec.name}, uid {rec.uid}: {exc}".encode())
            continue
        t = threading.Thread(target=_pump, args=(lambda s=sock: s.recv(65536), ws, 2 * i), daemon=True)
        t.start()
        readers.append(t)

    def closer() -> None:
        for t in readers:
            t.join()
        ws.close()  # every pod side ended (the answerer closed, or the pod is gone)

    threading.Thread(target=closer, daemon=True).start()
    try:
        while True:
            channel, data = ws.recv()
            sock = socks.get(channel)
            if sock is not None and data:
                sock.sendall(data)
    except (Closed, OSError, ValueError):
        pass
    for sock in socks.values():
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        pod_ports.release(rec.uid, sock)
