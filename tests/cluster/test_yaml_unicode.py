"""The YAML view writes Chinese and emoji as `kubectl get -o yaml` does, and escapes control characters."""

from __future__ import annotations

import json
import re

from kdash.kube.kinds import KINDS_BY_NAME
from kdash.kube.objects import slim
from kdash.screens.yaml_view import to_yaml

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # newlines end lines; nothing else may be raw


def _line(text: str, key: str) -> str:
    return next(line.strip() for line in text.splitlines() if line.strip().startswith(key + ":"))


def test_yaml_view_matches_kubectl_for_unicode_and_escapes_controls(cluster, kubectl, namespace):
    manifest = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "unicode", "annotations": {"note": "中文说明 🚀"}},
        "data": {"greeting": "你好，世界 🚀", "evil": "x\x1b]2;PWNED\x07y\x9b"},
    }
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest, ensure_ascii=False))
    theirs = kubectl("get", "configmap", "unicode", "-n", namespace, "-o", "yaml")
    live = cluster.get_json(f"/api/v1/namespaces/{namespace}/configmaps/unicode")
    ours = to_yaml(slim(live, KINDS_BY_NAME["ConfigMap"]))
    for key in ("greeting", "note"):
        assert _line(ours, key) == _line(theirs, key)
    assert "greeting: 你好，世界 🚀" in ours and "note: 中文说明 🚀" in ours
    assert not CONTROL.search(ours)
    assert "\\e]2;PWNED\\ay" in _line(ours, "evil")
