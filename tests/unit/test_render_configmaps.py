"""The ConfigMap tree: sizes in bytes as kubectl counts them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from kdash.render.configmaps import build_configmap_tree

NOW = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)
# Chinese text is 3 UTF-8 bytes per character; binaryData arrives base64-encoded.
GREETING = "你好，世界"
BLOB = bytes(range(10))
CONFIGMAP = {
    "metadata": {"name": "greetings", "namespace": "default", "creationTimestamp": "2021-03-01T11:00:00Z"},
    "data": {"greeting": GREETING, "plain": "abc"},
    "binaryData": {"blob": base64.b64encode(BLOB).decode()},
}


def test_size_counts_utf8_bytes_and_decoded_binary_data() -> None:
    assert len(GREETING.encode()) + len("abc") + len(BLOB) == 28
    (node,) = build_configmap_tree([CONFIGMAP], [], NOW)
    assert "3 keys  28 Bytes" in node.label


def test_size_of_an_empty_configmap_is_zero() -> None:
    (node,) = build_configmap_tree([{"metadata": {"name": "empty", "namespace": "default"}}], [], NOW)
    assert "0 keys  0 Bytes" in node.label
