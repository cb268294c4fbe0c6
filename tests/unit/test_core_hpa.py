"""HPA status as kubectl's TARGETS/MINPODS/MAXPODS/REPLICAS, for autoscaling/v2 and v1 shapes."""

from __future__ import annotations

import pytest
from render_fixtures import load

from kdash.core import hpa

CASES = load("hpa.json")["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_status(case: dict) -> None:
    expected = case["expected"]
    status = hpa.hpa_status(case["hpa"])
    assert hpa.target_key(case["hpa"]) == tuple(expected["target"])
    assert (status.range_text, status.current, status.desired) == (expected["range"], expected["current"],
                                                                    expected["desired"]), case["why"]
    assert status.targets == expected["targets"]
    assert (status.metrics_available, status.message) == (expected["available"], expected["message"])
    assert hpa.hpa_line(status) == expected["line"]
    assert hpa.hpa_line(status, status.name) == expected["line"].replace(f"hpa {status.name} ", "hpa ")


def test_index_by_target() -> None:
    index = hpa.by_target(c["hpa"] for c in CASES)
    assert hpa.name(index[("Deployment", "shop", "web")]) == "web"
    assert ("StatefulSet", "shop", "api") in index and ("Deployment", "other", "web") not in index
