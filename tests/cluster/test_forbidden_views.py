"""A user RBAC forbids some kinds: each view says which, and `kdash tree --once` prints what the
user may read and names the rest on stderr (issue 20, item 5)."""

from __future__ import annotations

import subprocess
import sys
from argparse import Namespace

from devcluster.testing import limited_kubeconfig, service_account_kubeconfig
from kdash.app import make_app
from kdash.config import Settings
from kdash.screens.dashboard import CONFIGMAPS, SERVICES
from tests.ui.pilot_helpers import until

# Workloads only: no Services, Endpoints or ConfigMaps.
ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: workloads-only}
rules:
- apiGroups: [""]
  resources: [pods, events, namespaces]
  verbs: [get, list, watch]
- apiGroups: [apps]
  resources: [deployments, replicasets]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: workloads-only}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: workloads-only}
subjects:
- {kind: ServiceAccount, name: viewer, namespace: NAMESPACE}
"""


def _limited(cluster, kubectl, namespace, tmp_path) -> str:
    return limited_kubeconfig(cluster, kubectl, namespace, tmp_path / "viewer", ROLE)


def test_tree_once_prints_the_readable_kinds_and_names_the_forbidden(cluster, kubectl, namespace, tmp_path):
    path = _limited(cluster, kubectl, namespace, tmp_path)
    kubectl("create", "deployment", "web", "--image=nginx:1.14.2", "-n", namespace)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)
    result = subprocess.run([sys.executable, "-m", "kdash", "--kubeconfig", path, "tree", "--once", "-n", namespace],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "web  1/1 ready" in result.stdout
    assert f"cannot list services in ns {namespace} (Forbidden" in result.stderr
    assert f"cannot list endpoints in ns {namespace}" in result.stderr
    assert "Traceback" not in result.stderr


def test_nothing_readable_fails(cluster, kubectl, namespace, tmp_path):
    path = service_account_kubeconfig(cluster, kubectl, namespace, tmp_path / "nobody", account="nobody")
    result = subprocess.run([sys.executable, "-m", "kdash", "--kubeconfig", path, "tree", "--once", "-n", namespace],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Forbidden" in result.stderr and "Traceback" not in result.stderr


async def test_each_view_says_what_is_forbidden(cluster, kubectl, namespace, tmp_path):
    path = _limited(cluster, kubectl, namespace, tmp_path)
    kubectl("create", "deployment", "web", "--image=nginx:1.14.2", "-n", namespace)
    args = Namespace(kubeconfig=path, context=None, namespace=namespace, all_namespaces=False,
                     readonly=False, theme=None)
    app = make_app(args, settings=Settings())
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.dashboard
        await until(pilot, lambda: screen.tree.node(f"Deployment/{namespace}/web"), message="deployment")
        screen._set_view(SERVICES)
        await until(pilot, lambda: f"forbidden: cannot list services in ns {namespace}" in screen.tree.displayed_lines(),
                    message="services forbidden line")
        screen._set_view(CONFIGMAPS)
        await until(pilot, lambda: screen.tree.displayed_lines() == [f"forbidden: cannot list configmaps in ns {namespace}"],
                    message="configmaps forbidden line")
