"""`-n a,b,c` parsing: the namespaces a subset names, and the one writes default to."""

from __future__ import annotations

from kdash.kube.namespaces import primary, split


def test_split_names_each_namespace_once_in_order():
    assert split("a,b,c") == ["a", "b", "c"]
    assert split(" b , a,b,,") == ["b", "a"]
    assert split("shop") == ["shop"]


def test_all_namespaces_is_one_cluster_wide_scope():
    assert split(None) == [None]
    assert split("") == [None]


def test_primary_is_the_first_named():
    assert primary("b,a") == "b"
    assert primary("shop") == "shop"
    assert primary(None) is None
