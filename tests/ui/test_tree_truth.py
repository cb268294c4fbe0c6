"""What the tree widget shows equals a fresh build of the same store: start-up orderings, relists,
adoption and orphaning (issue 20, item 1: phantom pods under "Pods without ReplicaSet")."""

from __future__ import annotations

import itertools

import pytest

from kdash.kube.store import DELETED, MODIFIED
from kdash.screens.dashboard import CONFIGMAPS, SERVICES, WORKLOADS
from tests.ui.tree_world import fed_app, item1_namespace, pod, refreshed, shown_vs_fresh

ORDERS = list(itertools.permutations(("Deployment", "ReplicaSet", "Pod")))


async def check(app, pilot, step: str) -> None:
    await pilot.pause()
    shown, fresh = shown_vs_fresh(app)
    assert shown == fresh, f"after {step}:\nshown:\n" + "\n".join(shown) + "\nfresh:\n" + "\n".join(fresh)


def count_lines(lines: list[str], text: str) -> int:
    return sum(1 for line in lines if text in line)


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(k[:3] for k in o) for o in ORDERS])
async def test_initial_lists_in_any_order_show_each_pod_once(order):
    world = item1_namespace()
    app = fed_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        for kind in order:
            app.put(kind, world[kind])
            await check(app, pilot, f"listing {kind} (order {order})")
        shown = app.dashboard.tree.displayed_lines()
        for p in world["Pod"]:
            assert count_lines(shown, f"pod {p['metadata']['name']} ") == 1, shown
        assert any("Pods without ReplicaSet (3)" in line for line in shown)


async def test_relists_adoption_and_orphaning_keep_the_widget_equal_to_a_fresh_build():
    world = item1_namespace()
    app = fed_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        for kind in ("Deployment", "Pod", "ReplicaSet"):
            app.put(kind, world[kind])
        await check(app, pilot, "start-up")
        # Relist of every kind with new resourceVersions (after a 410 Gone).
        for kind in ("Pod", "ReplicaSet", "Deployment"):
            app.put(kind, [refreshed(o) for o in world[kind]])
            await check(app, pilot, f"relist of {kind}")
        # Adoption: a bare pod gains a controller ownerReference to the ReplicaSet.
        adopted = pod("solo-0", owner_rs="web-5d4f", app="solo")
        app.event("Pod", MODIFIED, adopted)
        await check(app, pilot, "adoption of solo-0")
        # Orphaning: the ReplicaSet goes, its pods stay (kubectl delete rs --cascade=orphan).
        app.event("ReplicaSet", DELETED, world["ReplicaSet"][0])
        await check(app, pilot, "orphaning by deleting the ReplicaSet")
        # And back: the ReplicaSet returns and adopts them again.
        app.put("ReplicaSet", [refreshed(world["ReplicaSet"][0])])
        await check(app, pilot, "re-adoption")
        # A pod released by its controller (ownerReference removed).
        app.event("Pod", MODIFIED, pod("web-5d4f-1", app="web"))
        await check(app, pilot, "release of web-5d4f-1")
        # Deployment gone: its ReplicaSet moves to the bare group.
        app.event("Deployment", DELETED, world["Deployment"][0])
        await check(app, pilot, "orphaning of the ReplicaSet")
        app.put("Deployment", world["Deployment"])
        await check(app, pilot, "adoption of the ReplicaSet")


@pytest.mark.parametrize("view", [WORKLOADS, SERVICES, CONFIGMAPS])
async def test_every_view_equals_a_fresh_build_through_start_up_in_any_order(view):
    world = item1_namespace()
    app = fed_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.dashboard._set_view(view)
        kinds = list(world)
        for order in (kinds, kinds[::-1]):
            for kind in order:
                app.put(kind, [refreshed(o) for o in world[kind]])
                await check(app, pilot, f"{view}: listing {kind}")
            for kind in order:
                app.put(kind, [])
                await check(app, pilot, f"{view}: emptying {kind}")
