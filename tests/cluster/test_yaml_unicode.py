"""The YAML view writes Chinese and emoji as `kubectl get -o yaml` does, and escapes control characters."""

from __future__ import annotations

import json
import re

from kdash.core.kinds import KINDS_BY_NAME
from kdash.kube.objects import slim
from kdash.screens.yaml_view import to_yaml

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # newlines end lines; nothing else may be raw


def _line(text: str, key: str) -> str:
    return next(line.strip() for line in text.splitlines() if line.strip().startswith(key + ":"))


def test_yaml_view_matches_kubectl_for_unicode_and_escapes_controls(cluster, kubectl, namespace):
    manifest = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "unicode", "annotations": {"note": "中文说明"}},
        "data": {"greeting": "你好，世界", "rocket": "发射 🚀"},
    }
    # kubectl refuses to print control characters at all, so the hostile value lives in its own object.
    hostile = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hostile"},
               "data": {"evil": "x\x1b]2;PWNED\x07y\x9b"}}
    for obj in (manifest, hostile):
        kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(obj, ensure_ascii=False))
    theirs = kubectl("get", "configmap", "unicode", "-n", namespace, "-o", "yaml")

    def ours(name: str) -> str:
        live = cluster.get_json(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        return to_yaml(slim(live, KINDS_BY_NAME["ConfigMap"]))

    for key in ("greeting", "note"):
        assert _line(ours("unicode"), key) == _line(theirs, key)
    # kubectl 1.20 (go-yaml v2) writes characters outside the BMP as \U escapes; we show them.
    assert "rocket: 发射 🚀" in ours("unicode") and "\\U0001F680" in _line(theirs, "rocket")
    evil = ours("hostile")
    assert not CONTROL.search(evil)
    assert "\\e]2;PWNED\\ay" in _line(evil, "evil")
