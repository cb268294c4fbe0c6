"""Exec in a container through the API server's `exec` subresource over WebSocket (v4.channel.k8s.io)."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kdash.core import objects
from kdash.core.kinds import POD
from kdash.errors import KdashError
from kdash.kube.api import ApiClient
from kdash.kube.stream import ChannelSocket, open_channels

STDIN, STDOUT, STDERR, STATUS, RESIZE = range(5)
NOT_STARTED = (126, 127)  # what runtimes and shells exit with when the command cannot start
# A one-shot command's output is kept up to this many bytes per stream (the rest is counted, not kept).
MAX_OUTPUT = 4 * 1024 * 1024


class ExecError(KdashError):
    """The command could not run (the runtime said why), as opposed to running and failing."""


@dataclass(frozen=True)
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_code: int
    truncated: bool = False


DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


def container_names(pod: Mapping[str, Any]) -> list[str]:
    """The pod's (non-init) containers, in spec order: what a container picker offers."""
    return [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]


def default_container(pod: Mapping[str, Any]) -> str | None:
    """The container kubectl would pick without -c (its annotation, or the only one); None = ask."""
    names = container_names(pod)
    wanted = objects.annotations(pod).get(DEFAULT_CONTAINER)
    if wanted in names:
        return wanted
    return names[0] if len(names) == 1 else None


def exec_path(namespace: str, pod: str) -> str:
    return POD.object_path(namespace, pod) + "/exec"


def exec_query(command: Sequence[str], container: str | None, *, stdin: bool, tty: bool) -> list[tuple[str, Any]]:
    if not command:
        raise KdashError("No command", "type a command to run in the container")
    query: list[tuple[str, Any]] = [("command", part) for part in command]
    if container:
        query.append(("container", container))
    query += [("stdin", str(stdin).lower()), ("stdout", "true"), ("stderr", str(not tty).lower()),
              ("tty", str(tty).lower())]
    return query


def exit_code_of(status: dict[str, Any]) -> int:
    """The exit code in a v4 status message: 0 on Success, the ExitCode cause on NonZeroExitCode.

    Any other failure (the runtime could not start the command) raises ExecError with its message.
    """
    if status.get("status") == "Success":
        return 0
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message"))
                except (TypeError, ValueError):
                    break
    raise ExecError("Exec failed", str(status.get("message") or status.get("reason") or "unknown error"))


class ExecSession:
    """A running exec: write stdin, resize the terminal, read output; the exit code when it ends.

    A reader thread moves frames into a queue, so `read()` never blocks past its timeout and the
    socket keeps draining while the caller is busy (e.g. writing to its own terminal).
    """

    def __init__(self, channels: ChannelSocket, tty: bool) -> None:
        self.channels = channels
        self.tty = tty
        self.exit_code: int | None = None
        self.error: KdashError | None = None
        self.started = time.monotonic()
        self.ended: float | None = None
        self._output: queue.Queue[tuple[int, bytes] | None] = queue.Queue()
        self._done = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name="kdash-exec", daemon=True)
        self._reader.start()

    @classmethod
    def open(cls, api_client: ApiClient, namespace: str, pod: str, command: Sequence[str], *,
             container: str | None = None, tty: bool = True, stdin: bool = True) -> ExecSession:
        channels = open_channels(api_client, exec_path(namespace, pod),
                                 exec_query(command, container, stdin=stdin, tty=tty))
        return cls(channels, tty)

    def _read_loop(self) -> None:
        try:
            while True:
                frame = self.channels.recv()
                if frame is None:
                    break
                channel, data = frame
                if channel == STATUS:
                    self._status(data)
                elif channel in (STDOUT, STDERR):
                    self._output.put((channel, data))
        finally:
            if self.exit_code is None and self.error is None:
                self.error = KdashError("Exec ended", "the connection closed before the command's exit status came")
            self.ended = time.monotonic()
            self._done.set()
            self._output.put(None)
            self.channels.close()

    def _status(self, data: bytes) -> None:
        try:
            self.exit_code = exit_code_of(json.loads(data))
        except ExecError as exc:
            self.error = exc
        except ValueError:
            self.error = ExecError("Exec failed", data.decode("utf-8", errors="replace"))

    def write(self, data: bytes) -> None:
        """Send to the command's stdin (a closed session drops it)."""
        if data and not self._done.is_set():
            try:
                self.channels.send(STDIN, data)
            except Exception:  # noqa: BLE001 - the reader reports the end of the stream
                pass

    def resize(self, columns: int, rows: int) -> None:
        """Tell the command's terminal its new size (a TIOCSWINSZ on the remote pty)."""
        if self.tty and not self._done.is_set():
            try:
                self.channels.send(RESIZE, json.dumps({"Width": columns, "Height": rows}).encode())
            except Exception:  # noqa: BLE001
                pass

    def read(self, timeout: float | None = None) -> tuple[int, bytes] | None:
        """Next (channel, data) of output; None at the end of the stream; TimeoutError after `timeout`."""
        try:
            item = self._output.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if item is None:
            self._output.put(None)  # stay at the end for every later reader
        return item

    def wait_started(self, timeout: float) -> bool:
        """Wait until the command printed something or ended; False if neither happened in time."""
        deadline = time.monotonic() + timeout
        while self._output.empty() and not self._done.is_set():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code once the command ended (raises the failure if it could not run)."""
        if not self._done.wait(timeout):
            return None
        if self.error is not None:
            raise self.error
        return self.exit_code

    @property
    def duration(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def close(self) -> None:
        """Hang up (the kubelet ends the command) and wait for the reader thread."""
        self.channels.close()
        self._reader.join(timeout=5)

    def __enter__(self) -> ExecSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run(api_client: ApiClient, namespace: str, pod: str, command: Sequence[str], *,
        container: str | None = None, timeout: float | None = 60.0) -> ExecResult:
    """Run a command to its end like `kubectl exec POD -- CMD` and return its output and exit code."""
    out: dict[int, bytearray] = {STDOUT: bytearray(), STDERR: bytearray()}
    truncated = False
    deadline = None if timeout is None else time.monotonic() + timeout
    with ExecSession.open(api_client, namespace, pod, command, container=container, tty=False,
                          stdin=False) as session:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise KdashError("Exec timed out", f"{' '.join(command)} still running after {timeout:g} s")
            try:
                item = session.read(timeout=left)
            except TimeoutError:
                continue
            if item is None:
                break
            channel, data = item
            room = MAX_OUTPUT - len(out[channel])
            truncated |= len(data) > room
            out[channel] += data[:max(room, 0)]
        exit_code = session.wait()
    return ExecResult(bytes(out[STDOUT]), bytes(out[STDERR]), int(exit_code or 0), truncated)
