"""RBAC pre-checks (SelfSubjectAccessReview) grey out exactly the write actions a user may not do."""

from __future__ import annotations

from argparse import Namespace

from devcluster.testing import limited_kubeconfig
from kdash.actions.access import can_i, denied_actions
from kdash.actions.registry import ACTIONS
from kdash.app import make_app
from kdash.config import Settings
from kdash.kube.client import connect
from tests.ui.pilot_helpers import until

# May read everything and patch Deployments; may not scale, delete pods or update ConfigMaps.
ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: patcher}
rules:
- apiGroups: ["", apps]
  resources: ["*"]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: patcher}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: patcher}
subjects:
- {kind: ServiceAccount, name: viewer, namespace: NAMESPACE}
"""


def _limited(cluster, kubectl, namespace, tmp_path) -> str:
    return limited_kubeconfig(cluster, kubectl, namespace, tmp_path / "viewer", ROLE)


def test_denied_actions_match_the_role(cluster, kubectl, namespace, tmp_path):
    viewer = connect(_limited(cluster, kubectl, namespace, tmp_path), None)
    admin = connect(cluster.kubeconfig, None)
    try:
        assert can_i(viewer.api_client, "patch", "apps", "deployments", namespace)
        assert not can_i(viewer.api_client, "update", "apps", "deployments/scale", namespace)
        denied = denied_actions(viewer.api_client, ACTIONS, namespace)
        # `get` on every resource covers pods/exec and pods/portforward, but not `create`, which newer
        # servers require for them (and the pre-check asks for both, as actions.exec.allowed does).
        # Patching Deployments does not cover StatefulSets and DaemonSets: their rows deny by kind.
        by_kind = {f"{action}@{kind}" for action in ("set_image", "undo", "restart")
                   for kind in ("StatefulSet", "DaemonSet")}
        # No rights on batch: the CronJob rows, and deleting a Job, are denied too.
        assert denied == {"scale", "delete_pod", "edit", "exec", "exec_command", "port_forward", "partition",
                          "scale@StatefulSet", *by_kind, "trigger_cronjob", "suspend_cronjob", "delete_pod@Job"}
        assert denied_actions(admin.api_client, ACTIONS, namespace) == set()
    finally:
        viewer.close()
        admin.close()


async def test_dashboard_dims_denied_keys(cluster, kubectl, namespace, tmp_path):
    path = _limited(cluster, kubectl, namespace, tmp_path)
    kubectl("create", "deployment", "web", "--image=nginx:1.14.2", "-n", namespace)
    args = Namespace(kubeconfig=path, context=None, namespace=namespace, all_namespaces=False,
                     readonly=False, theme=None)
    app = make_app(args, settings=Settings())
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.denied, message="access check")
        screen = app.screen
        assert screen.check_action("scale", ()) is None  # shown greyed out in the footer
        assert screen.check_action("restart", ()) is True
        await until(pilot, lambda: screen.tree.node(f"Deployment/{namespace}/web"), message="deployment")
        screen.tree.select_key(f"Deployment/{namespace}/web")
        await pilot.press("s")
        await pilot.pause()
        assert app.screen is screen  # a disabled binding opens nothing
