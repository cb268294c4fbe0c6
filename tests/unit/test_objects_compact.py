"""slim(compact=True): the same data, with interned keys and short strings, input untouched."""

from __future__ import annotations

import copy
import json

from kdash.core.kinds import KINDS_BY_NAME
from kdash.kube import objects

POD = KINDS_BY_NAME["Pod"]
RAW = json.dumps({
    "metadata": {"name": "web-1", "namespace": "default", "uid": "u1",
                 "managedFields": [{"manager": "kubectl"}],
                 "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "a"}},
    "spec": {"containers": [{"name": "main", "image": "nginx:1.21", "args": ["x" * 100]}]},
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "restarts": 3},
})


def test_compact_equals_plain_slim_and_shares_keys_and_short_values():
    a, b = json.loads(RAW), json.loads(RAW)  # two watch events: separate parses, separate strings
    before = copy.deepcopy(a)
    plain = objects.slim(a, POD)
    ca, cb = objects.slim(a, POD, compact=True), objects.slim(b, POD, compact=True)
    assert ca == plain == cb
    assert a == before  # the input is left alone
    assert "managedFields" not in ca["metadata"] and ca["metadata"]["annotations"] == {"team": "a"}
    key_a = next(k for k in ca["status"] if k == "phase")
    key_b = next(k for k in cb["status"] if k == "phase")
    assert key_a is key_b  # one "phase" string for every pod
    assert ca["status"]["phase"] is cb["status"]["phase"]
    assert ca["spec"]["containers"][0]["args"][0] is not cb["spec"]["containers"][0]["args"][0]  # long: as is
    assert ca["spec"]["containers"] is not a["spec"]["containers"]  # deep copy: nothing shared with the parse


def test_intern_values_shares_short_values_of_list_items_in_place():
    page = json.loads(json.dumps({"items": [json.loads(RAW), json.loads(RAW)]}))["items"]
    plain = objects.slim(json.loads(RAW), POD)
    a, b = (objects.slim(item, POD, intern_values=True) for item in page)
    assert a == plain == b
    assert a["status"]["phase"] is b["status"]["phase"]
    assert a["status"]["conditions"][0]["status"] is b["status"]["conditions"][0]["status"]  # in lists too
    assert a["spec"]["containers"][0]["image"] is b["spec"]["containers"][0]["image"]
    assert a["spec"]["containers"][0]["args"][0] is not b["spec"]["containers"][0]["args"][0]  # long: as is
    assert a["spec"] is page[0]["spec"]  # no copy below the top level and metadata
