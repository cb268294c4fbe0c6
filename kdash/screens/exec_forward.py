"""Exec and port-forward keys of the dashboard: pick pod and container or port, confirm, run through the write gate."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from kdash import exec_terminal
from kdash.actions import exec as exec_action
from kdash.actions import port_forward as forward_action
from kdash.actions.safety import WriteContext
from kdash.core.objects import Obj, is_terminating, meta, name, uid
from kdash.core.pods import is_pod_ready
from kdash.errors import KdashError
from kdash.screens.edit_apply import EditApply
from kdash.screens.modals import PickScreen, PromptScreen
from kdash.screens.toasts import notify_error

if TYPE_CHECKING:
    from kdash.kube.client import Connection  # a type only: screens reach the cluster through the app

PodThen = Callable[[str, Obj, str | None], None]  # namespace, pod, container


class ExecForward(EditApply):
    """Mixed into DashboardScreen: `x` shell, `X` one command, `F` port-forward, `p` the forwards."""

    # -- exec --------------------------------------------------------------------------------

    def action_exec(self) -> None:
        self._pick_container("exec", self._confirm_shell)

    def action_exec_command(self) -> None:
        self._pick_container("exec_command", self._prompt_command)

    def _pick_container(self, action_id: str, then: PodThen) -> None:
        """The pod (a ready one of a Deployment or ReplicaSet) and its container, then `then`."""
        target = self._target(action_id)
        if target is None:
            return
        node, obj = target
        pod = obj if node.kind == "Pod" else self._ready_pod(node.kind, obj)
        if pod is None:
            self.app.notify(f"{node.kind} {node.namespace}/{node.name} has no ready pod to exec into",
                            title="No ready pod", severity="warning")
            return
        names = exec_action.container_names(pod)
        chosen = exec_action.default_container(pod)
        if chosen is not None or len(names) <= 1:
            then(node.namespace, pod, chosen)
            return

        def picked(container: str | None) -> None:
            if container is not None:
                then(node.namespace, pod, container)

        self.app.push_screen(PickScreen(f"Container of pod {name(pod)}", [(n, n) for n in names]), picked)

    def _ready_pod(self, kind: str, owner: Obj) -> Obj | None:
        """A ready, not terminating pod of the Deployment or ReplicaSet (newest ReplicaSet first)."""
        store = self.app.store
        replicasets = [owner] if kind == "ReplicaSet" else sorted(
            store.owned_by("ReplicaSet", uid(owner)),
            key=lambda rs: meta(rs).get("creationTimestamp") or "", reverse=True)
        for rs in replicasets:
            ready = sorted((p for p in store.owned_by("Pod", uid(rs)) if is_pod_ready(p) and not is_terminating(p)),
                           key=name)
            if ready:
                return ready[0]
        return None

    def _confirm_shell(self, namespace: str, pod: Obj, container: str | None) -> None:
        configured = self.app.settings.exec_shell or None
        shells = " → ".join(shlex.join(c) for c in exec_action.shell_candidates(configured))
        self.confirm_write(
            f"Open a shell in pod {namespace}/{name(pod)}, container {container or '(default)'}?",
            f"command: {shells} (the first that starts)\nThe terminal is handed over until the shell exits.",
            _no_worker, verb="Shell", run=lambda confirmed: self._run_shell(namespace, name(pod), container,
                                                                            configured, confirmed))

    def _run_shell(self, namespace: str, pod: str, container: str | None, configured: str | None,
                   confirmed: Connection | None) -> None:
        """On the UI thread: the shell owns the terminal inside suspend(); the dashboard comes back as it was."""
        app = self.app
        outcome: list[tuple[list[str], int | None]] = []
        failure: list[KdashError] = []
        try:
            ctx = app.write_context(confirmed)
            with app.suspend():
                # Nothing may escape this block: Textual resumes the screen only when it ends normally.
                try:
                    outcome.append(exec_action.run_shell(ctx, namespace, pod, container, drive=exec_terminal.attach,
                                                         configured=configured))
                except KdashError as exc:
                    failure.append(exc)
                except Exception as exc:  # noqa: BLE001 - said on screen, never left on a suspended one
                    failure.append(KdashError("Exec", f"{type(exc).__name__}: {exc}"))
        except KdashError as exc:
            failure.append(exc)
        except Exception as exc:  # noqa: BLE001 - suspend() itself refused: no terminal to hand over
            failure.append(KdashError("Exec", f"cannot hand the terminal over: {exc}"))
        if failure:
            notify_error(app, failure[0])
            return
        command, exit_code = outcome[0]
        app.notify(f"{shlex.join(command)} in {namespace}/{pod} exited"
                   + (f" with code {exit_code}" if exit_code is not None else ""), title="Shell", timeout=6)

    def _prompt_command(self, namespace: str, pod: Obj, container: str | None) -> None:
        where = f"pod {namespace}/{name(pod)}" + (f", container {container}" if container else "")

        def confirm(command: list[str]) -> None:
            self.confirm_write(
                f"Run {shlex.join(command)} in {where}?", "Like `kubectl exec POD -- COMMAND`: the output and "
                "exit code are shown when it ends (60 s at most).",
                lambda ctx: self._exec_once(ctx, namespace, name(pod), container, command), verb="Run")

        # Names can be long: where it runs goes on lines of its own rather than in the one-line title.
        hint = f"in pod {namespace}/{name(pod)}" + (f"\ncontainer {container}" if container else "")
        self.ask(PromptScreen("Command to run", placeholder="printenv",
                               hint=f"{hint}\nshell words, e.g. sh -c 'ls /etc | head'"),
                  exec_action.parse_command, confirm)

    def _exec_once(self, ctx: WriteContext, namespace: str, pod: str, container: str | None,
                   command: list[str]) -> str:
        """Worker: run it, then show the output (UI thread); the one-line result is the toast."""
        result = exec_action.run_command(ctx, namespace, pod, container, command)
        title = f"{shlex.join(command)} in {namespace}/{pod}" + (f" ({container})" if container else "")
        from kdash.screens.exec_output import ExecOutputScreen

        self.app.call_from_thread(self.app.push_screen, ExecOutputScreen(title, result))
        return f"{shlex.join(command)}: exit code {result.exit_code}"

    # -- port-forward --------------------------------------------------------------------------

    def action_port_forward(self) -> None:
        target = self._target("port_forward")
        if target is None:
            return
        node, obj = target
        ports = forward_action.remote_ports(obj)
        if len(ports) == 1:
            self._prompt_local_port(node.kind, node.namespace, node.name, ports[0][0])
            return
        if not ports:
            self.ask(PromptScreen("Remote port", hint=f"{node.kind} {node.namespace}/{node.name} declares no TCP "
                                                       "port: which one to forward to?"),
                      lambda text: forward_action.parse_port(text, "remote port"),
                      lambda port: self._prompt_local_port(node.kind, node.namespace, node.name, port))
            return

        def picked(value: str | None) -> None:
            if value is not None:
                self._prompt_local_port(node.kind, node.namespace, node.name, int(value))

        self.app.push_screen(PickScreen(f"Port of {node.kind} {node.name}", [(str(p), label) for p, label in ports]),
                             picked)

    def _prompt_local_port(self, kind: str, namespace: str, obj_name: str, remote: int) -> None:
        address = self.app.settings.port_forward_address
        suggested = forward_action.suggest_local_port(remote, address)
        self.ask(PromptScreen("Local port", str(suggested or ""),
                               hint=f"listens on {address}, forwards to\n{kind} {namespace}/{obj_name}:{remote}\n"
                                    "1–65535; offered: the remote port if free here, else the next free one"),
                  forward_action.parse_port,
                  lambda local: self._confirm_forward(kind, namespace, obj_name, remote, address, local))

    def _confirm_forward(self, kind: str, namespace: str, obj_name: str, remote: int, address: str,
                         local: int) -> None:
        detail = ("Listens until stopped (p: the forwards) or kdash quits; a Service forward moves to "
                  "another ready pod when its pod goes away.")
        if address not in ("127.0.0.1", "::1", "localhost"):
            detail += f"\nwarning: {address} is reachable from other machines"
        forwards = self.app.forwards

        def write(ctx: WriteContext) -> str:
            forward = forwards.start(namespace, kind, obj_name, remote, local, address, ctx=ctx)
            status = forward.status()
            return f"forwarding {status.local} → {status.target} ({status.state})"

        self.confirm_write(f"Forward {address}:{local} → {kind} {namespace}/{obj_name}:{remote}?", detail,
                           write, verb="Forward")

    def action_forwards(self) -> None:
        from kdash.screens.forwards import ForwardsScreen  # DataTable: not needed for the first frame

        self.app.push_screen(ForwardsScreen(self.app.forwards))


def _no_worker(ctx: WriteContext) -> str:
    raise AssertionError("the shell runs on the UI thread (confirm_write's run)")
