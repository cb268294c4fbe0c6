"""The one action registry: keys, palette entries and help rows all come from here."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Action:
    """A user-invocable action. `id` is both the Textual binding id and the `action_<id>` name."""

    id: str
    keys: str  # Textual key names, comma separated; users remap by id in settings.yaml
    description: str  # short, for the footer
    help: str  # one sentence, for the help screen and the command palette
    group: str = "view"  # help screen section
    kinds: tuple[str, ...] = ()  # object kinds it needs selected; () = anywhere
    writes: bool = False  # changes the cluster: confirmation, --readonly, audit
    footer: bool = True
    # (verb, api group, resource) for the SelfSubjectAccessReview that greys the key out; "create,get"
    # asks for each verb (a WebSocket exec or forward is a GET: older servers authorize `get`, newer `create`).
    rbac: tuple[str, str, str] | None = None
    # The module in kdash/screens/flows that runs it once the selection (of `kinds`) and, for a
    # write, the write gate let it through: adding a write action is that module and this row.
    flow: str = ""


ACTIONS: tuple[Action, ...] = (
    Action("help", "question_mark", "Help", "Show every key and action", group="app"),
    Action("quit", "q,ctrl+c", "Quit", "Quit kdash", group="app", footer=False),
    Action("view_workloads", "1", "Workloads", "Show the Deployment → ReplicaSet → Pod tree", footer=False),
    Action("view_services", "2", "Services", "Show the Service → Pod tree with endpoint readiness", footer=False),
    Action("view_configmaps", "3", "ConfigMaps", "Show ConfigMaps and the Deployments that use them",
           footer=False),
    Action("toggle_view", "tab", "Views", "Cycle the workload, service and ConfigMap trees"),
    Action("namespace", "n", "Ns", "Pick the namespace to watch (or all namespaces)"),
    Action("all_namespaces", "0", "All ns", "Watch all namespaces", footer=False),
    Action("context", "c", "Context", "Switch to another kubeconfig context", footer=False),
    Action("filter", "slash", "Filter", "Filter by name, or by label selector with -l (e.g. -l app=web)"),
    Action("clear_filter", "escape", "Clear filter", "Clear the name / label filter", footer=False),
    Action("yaml", "y", "YAML", "Show the selected object as YAML", footer=False),
    Action("toggle_details", "d", "Details", "Show or hide the details pane (describe, events)", footer=False),
    Action("expand_all", "plus", "Expand all", "Expand every node of the tree", footer=False),
    Action("collapse_all", "minus", "Collapse all", "Collapse the tree to its top level", footer=False),
    Action("cycle_theme", "T", "Theme", "Switch to the next theme", group="app", footer=False),
    Action("scale", "s", "Scale", "Scale the selected Deployment (scale subresource)", group="rollout",
           kinds=("Deployment",), writes=True, rbac=("update", "apps", "deployments/scale"), flow="scale"),
    Action("set_image", "i", "Image", "Set a container image of the selected Deployment", group="rollout",
           kinds=("Deployment",), writes=True, rbac=("patch", "apps", "deployments"), flow="set_image"),
    # History is a view (also under --readonly); undoing from it goes through the undo action's gate.
    Action("history", "u", "History", "Rollout history of the selected Deployment; enter there undoes to a "
           "revision", group="rollout", kinds=("Deployment",), flow="history"),
    Action("undo", "U", "Undo", "Roll the selected Deployment back to its previous revision (kubectl rollout "
           "undo; also mid-rollout)", group="rollout", kinds=("Deployment",), writes=True,
           rbac=("patch", "apps", "deployments"), footer=False, flow="undo"),
    Action("restart", "r", "Restart", "Rollout restart of the selected Deployment", group="rollout",
           kinds=("Deployment",), writes=True, rbac=("patch", "apps", "deployments"), flow="restart"),
    Action("delete_pod", "ctrl+d", "Delete pod", "Delete the selected Pod (its ReplicaSet replaces it)",
           group="rollout", kinds=("Pod",), writes=True, rbac=("delete", "", "pods"), flow="delete_pod"),
    Action("apply", "a", "Apply", "Apply a YAML file: server-side dry-run preview, then apply", group="rollout",
           writes=True),
    Action("restart_consumers", "R", "Restart users",
           "Restart the Deployments that use the selected ConfigMap (skips those already on its data)",
           group="rollout", kinds=("ConfigMap",), writes=True, rbac=("patch", "apps", "deployments"),
           flow="restart_consumers"),
    Action("edit", "e", "Edit", "Edit the selected ConfigMap in $EDITOR; dry-run diff, then send only your "
           "changes",
           group="rollout", kinds=("ConfigMap",), writes=True, rbac=("patch", "", "configmaps"), footer=False),
    # Exec and port-forward: RBAC verbs as actions/exec.py and actions/port_forward.py check them.
    Action("exec", "x", "Shell", "Open a shell in a container of the selected pod (of a ready pod of the "
           "selected Deployment or ReplicaSet): bash, else sh, else the exec_shell setting", group="pods",
           kinds=("Pod", "Deployment", "ReplicaSet"), writes=True, rbac=("create,get", "", "pods/exec"),
           footer=False),
    Action("exec_command", "X", "Exec", "Run one command in a container and show its output and exit code "
           "(kubectl exec POD -- CMD)", group="pods", kinds=("Pod", "Deployment", "ReplicaSet"), writes=True,
           rbac=("create,get", "", "pods/exec"), footer=False),
    Action("port_forward", "F", "Forward", "Forward a local port to a port of the selected Pod or Service "
           "(a Service forward follows its ready pods)", group="pods", kinds=("Pod", "Service"), writes=True,
           rbac=("create,get", "", "pods/portforward"), footer=False),
    Action("forwards", "p", "Forwards", "List the port-forwards (state, connections, bytes); d stops one, "
           "D stops all", group="pods", footer=False),
    Action("logs", "l", "Logs", "Follow the logs of the selected pod, or of all pods of the selected "
           "ReplicaSet, Deployment or Service (new pods attach as a rollout goes)",
           kinds=("Pod", "ReplicaSet", "Deployment", "Service")),
    # Keys of the logs screen (they may reuse dashboard keys: only one screen is active).
    Action("logs_back", "escape,q", "Back", "Leave the logs", group="logs"),
    Action("logs_pause", "p", "Pause", "Pause or resume following new lines", group="logs"),
    Action("logs_bottom", "G", "Follow", "Jump to the newest line and follow again", group="logs",
           footer=False),
    Action("logs_search", "slash", "Search", "Search the lines (smart case); n / N: next / previous",
           group="logs"),
    Action("logs_next", "n", "Next", "Next search match", group="logs", footer=False),
    Action("logs_previous_match", "N", "Prev", "Previous search match", group="logs", footer=False),
    Action("logs_filter", "f", "Filter", "Show only lines with a text; !text hides them; empty clears",
           group="logs"),
    Action("logs_clear_filter", "F", "Clear filter", "Show every line again", group="logs", footer=False),
    Action("logs_timestamps", "t", "Timestamps", "Show or hide each line's timestamp", group="logs"),
    Action("logs_wrap", "w", "Wrap", "Wrap long lines or scroll sideways", group="logs"),
    Action("logs_since", "s", "Since", "Read back all, 1m, 5m, 15m or 1h (restarts the streams)",
           group="logs"),
    Action("logs_tail", "L", "Tail", "Lines to read back per container (restarts the streams)",
           group="logs", footer=False),
    Action("logs_previous", "P", "Previous", "Previous (terminated) containers' logs instead "
           "(restarts the streams)", group="logs", footer=False),
    Action("logs_container", "c", "Container", "Follow one container, or all of them with a prefix",
           group="logs"),
    Action("logs_save", "S", "Save", "Save the shown lines to a file", group="logs"),
    Action("logs_copy", "y", "Copy", "Copy the current line to the clipboard (OSC 52)", group="logs",
           footer=False),
)

BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}


def get(action_id: str) -> Action:
    return BY_ID[action_id]


def write_actions() -> tuple[Action, ...]:
    """Every action that changes the cluster: all of them must be blocked by --readonly."""
    return tuple(a for a in ACTIONS if a.writes)
