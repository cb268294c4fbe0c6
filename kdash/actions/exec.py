"""Exec in a container as an audited write: refused under read-only, one audit line with exit code and duration."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence

from kdash.actions.access import may_use
from kdash.actions.safety import WriteContext, target_of
from kdash.errors import KdashError
from kdash.kube import exec as kexec
from kdash.kube.api import ApiClient
from kdash.kube.exec import ExecResult, container_names, default_container

__all__ = ["ExecResult", "container_names", "default_container", "parse_command", "run_command", "run_shell"]

VERB = "exec"
# A WebSocket exec is a GET: servers before 1.30 authorize it as `get pods/exec`, newer ones also
# require `create` (what kubectl's POST always needed). The pre-check asks for both.
RBAC_VERBS = ("create", "get")
SHELLS = ("bash", "sh")


def allowed(api_client: ApiClient, namespace: str) -> bool:
    """Whether RBAC lets this user exec into pods of `namespace` (a failing review allows: the server decides)."""
    return may_use(api_client, "pods/exec", namespace, RBAC_VERBS)


def parse_command(text: str) -> list[str]:
    """A typed command as shell words (`printenv HOME`, quotes allowed); KdashError if empty or unbalanced."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise KdashError("Bad command", f"{text!r}: {exc}") from None
    if not words:
        raise KdashError("No command", "type a command to run in the container")
    return words


def _detail(container: str | None, command: Sequence[str], tty: bool, exit_code: int | None,
            seconds: float) -> str:
    parts = [f"container {container or '(default)'}", f"command {shlex.join(command)}"]
    if tty:
        parts.append("tty")
    parts.append(f"exit code {exit_code}" if exit_code is not None else "no exit code")
    parts.append(f"{seconds:.1f} s")
    return ", ".join(parts)


def run_command(ctx: WriteContext, namespace: str, pod: str, container: str | None,
                command: Sequence[str], timeout: float | None = 60.0) -> kexec.ExecResult:
    """`kubectl exec POD -c CONTAINER -- COMMAND`: output and exit code, audited."""
    started = time.monotonic()
    with ctx.attempt(VERB, target_of("Pod", namespace, pod)) as attempt:
        attempt.detail = _detail(container, command, False, None, 0.0)
        result = kexec.run(ctx.api_client, namespace, pod, command, container=container, timeout=timeout)
        attempt.detail = _detail(container, command, False, result.exit_code, time.monotonic() - started)
    return result


def run_interactive(ctx: WriteContext, namespace: str, pod: str, container: str | None,
                    command: Sequence[str], drive: Callable[[kexec.ExecSession], object]) -> int | None:
    """Open a tty session and hand it to `drive` (which owns the terminal) until it returns; audited.

    Returns the exit code (None if `drive` hung up first). The session is always closed.
    """
    started = time.monotonic()
    with ctx.attempt(VERB, target_of("Pod", namespace, pod)) as attempt:
        attempt.detail = _detail(container, command, True, None, 0.0)
        with kexec.ExecSession.open(ctx.api_client, namespace, pod, command, container=container,
                                    tty=True, stdin=True) as session:
            drive(session)
            exit_code = session.wait(timeout=2.0)
        attempt.detail = _detail(container, command, True, exit_code, time.monotonic() - started)
    return exit_code


def run_shell(ctx: WriteContext, namespace: str, pod: str, container: str | None,
              drive: Callable[[kexec.ExecSession], object], configured: str | None = None,
              probe: float = 2.0) -> tuple[list[str], int | None]:
    """An interactive shell: bash, else sh, else the configured command; audited as one exec.

    A candidate that ends at once with 126/127 (or that the runtime cannot start) is skipped, so
    distroless images reach the configured command. Returns (the command that ran, its exit code).
    """
    started = time.monotonic()
    target = target_of("Pod", namespace, pod)
    candidates = shell_candidates(configured)
    with ctx.attempt(VERB, target) as attempt:
        attempt.detail = _detail(container, candidates[0], True, None, 0.0)
        for i, command in enumerate(candidates):
            last = i == len(candidates) - 1
            session = kexec.ExecSession.open(ctx.api_client, namespace, pod, command, container=container,
                                             tty=True, stdin=True)
            with session:
                session.wait_started(probe)
                if not last and session.done and _did_not_start(session):
                    continue
                drive(session)
                # The runtime's "not found" text can arrive before the status that says so: judge
                # again once the session ended, and move on if it ended at once without starting.
                if not last and session.done and session.duration < probe and _did_not_start(session):
                    continue
                exit_code = session.wait(timeout=2.0)
            attempt.detail = _detail(container, command, True, exit_code, time.monotonic() - started)
            return command, exit_code
    raise AssertionError("unreachable")


def _did_not_start(session: kexec.ExecSession) -> bool:
    try:
        return session.wait(0) in kexec.NOT_STARTED
    except kexec.ExecError:
        return True


def shell_candidates(configured: str | None = None) -> list[list[str]]:
    """Shells to try in order: bash, sh, then the user's configured command (shell words)."""
    candidates = [[shell] for shell in SHELLS]
    if configured:
        candidates.append(shlex.split(configured))
    return candidates
