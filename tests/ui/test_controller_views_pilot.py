"""Pilot tests of the StatefulSet (4) and DaemonSet (5) views: what the tree widget paints."""

from __future__ import annotations

from textual.geometry import Region

from tests.ui.controller_fixture import controller_app


def painted(tree) -> list[str]:
    return [strip.text.rstrip() for strip in tree.render_lines(Region(0, 0, *tree.size))]


async def test_key_4_shows_statefulsets_by_ordinal_with_claims():
    app = controller_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("4")
        await pilot.pause()
        screen = app.screen
        assert screen.view == "statefulsets"
        screen.tree.root.expand_all()
        await pilot.pause()
        lines = painted(screen.tree)
        text = "\n".join(lines)
        assert "sts web  3/3 ready  updated 1/3  partition 2  rev 1→2  staged" in text
        web = [line for line in lines if "pod web-" in line]
        assert [line.split("pod ")[1].split()[0] for line in web] == ["web-0", "web-1", "web-2"]
        assert "rev 1 (held by partition 2)" in web[0]
        assert any("unbound claim data-db-0 (Pending)" in line for line in lines)
        assert any("pvc www-web-0  Bound  kdash-pv-web-0  1Gi" in line for line in lines)
        assert any("pod db-1  no pod: waits for db-0 to be Ready" in line for line in lines)
        status = str(screen.query_one("#status").render())
        assert "2 sts" in status and "pvc" in status


async def test_key_5_shows_a_line_per_node_and_tab_cycles_every_view():
    app = controller_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        screen = app.screen
        assert screen.view == "daemonsets"
        screen.tree.root.expand_all()
        await pilot.pause()
        lines = painted(screen.tree)
        assert any("ds node-agent  desired 2 current 2 ready 2 up-to-date 2 available 2  rev 2" in line
                   for line in lines)
        assert [line.rsplit("on ", 1)[1] for line in lines if "pod node-agent-" in line] == \
            ["kdash-node-1", "kdash-node-2"]
        from kdash.screens.dashboard import VIEWS

        seen = []
        for _ in range(len(VIEWS)):
            await pilot.press("tab")
            await pilot.pause()
            seen.append(screen.view)
        after = VIEWS.index("daemonsets") + 1
        assert seen == [*VIEWS[after:], *VIEWS[:after]]


async def test_selected_pod_of_a_statefulset_is_the_store_object():
    app = controller_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("4")
        await pilot.pause()
        screen = app.screen
        assert screen.tree.select_key("StatefulSet/default/web/Pod/default/web-2")
        await pilot.pause()
        node = screen.tree.selected
        assert node.kind == "Pod" and app.object_for(node)["metadata"]["name"] == "web-2"
