"""The rollout cockpit driven through the UI against the real control plane and the fake kubelet's
failure modes: a watched change ends healthy or failed with its evidence, undo by key or by policy,
one audit record per transaction, pause/resume like kubectl's."""

from __future__ import annotations

import asyncio
import json

import pytest
from textual.geometry import Region

from devcluster.testing import deployment_manifest
from kdash.actions.audit import verify_file
from kdash.config import Settings
from kdash.screens.confirm import ConfirmScreen
from kdash.screens.dashboard import DashboardScreen
from kdash.screens.rollout_watch import RolloutWatchScreen
from tests.ui.pilot_helpers import live_app, until

pytestmark = pytest.mark.cluster


async def _kubectl(kubectl, *args, **kwargs):
    return await asyncio.to_thread(kubectl, *args, **kwargs)


async def _json(kubectl, namespace: str, *what: str) -> dict:
    return json.loads(await _kubectl(kubectl, "get", *what, "-n", namespace, "-o", "json"))


def _settings(**criteria) -> Settings:
    return Settings(rollout_watch={"*": {"stable_for": 1, **criteria}})


def _shown(screen: RolloutWatchScreen, widget_id: str) -> str:
    """What the widget paints (its strips), not what was handed to it."""
    widget = screen.query_one(f"#{widget_id}")
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size))).rstrip()


async def _start(pilot, app, kubectl, namespace: str, name: str = "web", replicas: int = 2) -> None:
    await _kubectl(kubectl, "apply", "-n", namespace, "-f", "-", input=deployment_manifest(name, "nginx:1.14.2",
                                                                                            replicas))
    await _kubectl(kubectl, "rollout", "status", f"deployment/{name}", "-n", namespace, "--timeout=60s")
    key = f"Deployment/{namespace}/{name}"
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.tree.node(key),
                message=f"{key} in the tree")
    assert app.screen.tree.select_key(key)


async def _set_image(pilot, app, image: str) -> RolloutWatchScreen:
    await pilot.press("i")
    app.screen.query_one("Input").value = ""
    await pilot.press(*image, "enter")
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
    await pilot.press("y")
    return await until(pilot, lambda: app.screen if isinstance(app.screen, RolloutWatchScreen) else None,
                       message="the rollout watch")


async def _verdict(pilot, screen: RolloutWatchScreen, timeout: float = 90):
    return await until(pilot, lambda: screen.session.verdict if screen.session.verdict.done else None,
                       timeout=timeout, message="a verdict")


def _transaction(app) -> dict:
    records = [line for line in app.audit.lines() if line["verb"] == "rollout-watch"]
    assert len(records) == 1, records
    return records[0]


async def test_crash_loop_fails_on_restarts_and_undo_brings_the_old_replicaset_back(cluster, kubectl, namespace,
                                                                                     tmp_path):
    app = live_app(cluster, namespace, tmp_path, settings=_settings(max_restarts=1))
    async with app.run_test(size=(100, 32)) as pilot:
        await _start(pilot, app, kubectl, namespace)
        old_rs = {rs["metadata"]["name"] for rs in (await _json(kubectl, namespace, "rs"))["items"]}
        screen = await _set_image(pilot, app, "nginx:crash")
        verdict = await _verdict(pilot, screen)
        assert (verdict.state, verdict.criterion) == ("failed", "restarts")
        new_rs = screen.session.phase.new_rs
        assert new_rs not in old_rs and verdict.evidence[0].startswith(f"pod {new_rs}-")
        assert "restarts (> 1), status CrashLoopBackOff; last exit 1 Error" in verdict.evidence[0]
        # The kubelet's warning about that pod is evidence too, and the events line lists it first.
        assert any(line.startswith("event BackOff on ") for line in verdict.evidence[1:])
        shown = await until(pilot, lambda: (lambda t: t if "u: undo" in t else None)(_shown(screen, "watch-verdict")),
                            timeout=5, message="the painted verdict")
        assert shown.startswith(" failed: restarts: pod ") and "u: undo to revision 1 (preview first)" in shown
        assert _shown(screen, "watch-events").lstrip().startswith("Warning BackOff pod/")
        # Only the new ReplicaSet's pods are followed.
        assert {t.pod.rsplit("-", 1)[0] for t in screen.session.follower.targets} == {new_rs}

        await pilot.press("u")
        confirm = await until(pilot, lambda: app.screen if isinstance(app.screen, ConfirmScreen) else None,
                              message="the undo preview")
        painted = "\n".join(strip.text for strip in confirm._compositor.render_strips())
        assert "revision 1: nginx:1.14.2" in painted and "now on revision 2: nginx:crash" in painted
        await pilot.press("y")
        await until(pilot, lambda: len(screen.session.phases) == 2, message="the undo phase")
        verdict = await _verdict(pilot, screen)
        assert verdict.state == "healthy"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), message="back on the dashboard")

    history = await _kubectl(kubectl, "rollout", "history", "deployment/web", "-n", namespace)
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    current = [rs for rs in (await _json(kubectl, namespace, "rs"))["items"]
               if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"]
    assert [rs["metadata"]["name"] for rs in current] == sorted(old_rs)  # the old ReplicaSet itself
    assert current[0]["status"].get("readyReplicas") == 2
    record = _transaction(app)
    phases = record["transaction"]["phases"]
    assert [(p["change"].split(":")[0], p["verdict"]) for p in phases] == [("set image", "failed"), ("undo", "healthy")]
    assert phases[0]["criterion"] == "restarts" and phases[0]["evidence"][0] == verdict_line(phases[0])
    assert phases[0]["seconds_from_signal"] >= 0
    assert record["result"] == "error" and record["transaction"]["end"] == "ended healthy"
    assert [line["verb"] for line in app.audit.lines()] == ["set-image", "undo", "rollout-watch"]
    assert verify_file(tmp_path / "audit.log").intact


def verdict_line(phase: dict) -> str:
    return next(line for line in phase["evidence"] if line.startswith("pod "))


async def test_never_ready_fails_on_the_ready_criterion(cluster, kubectl, namespace, tmp_path):
    app = live_app(cluster, namespace, tmp_path, settings=_settings(ready_within=8))
    async with app.run_test(size=(100, 32)) as pilot:
        await _start(pilot, app, kubectl, namespace)
        screen = await _set_image(pilot, app, "nginx:never-ready")
        verdict = await _verdict(pilot, screen)
        assert (verdict.state, verdict.criterion) == ("failed", "ready")
        assert verdict.evidence[0].startswith(f"not healthy after 8s: pod {screen.session.phase.new_rs}-")
        assert verdict.evidence[0].endswith("not ready (Running)")
        assert 8 <= (screen.session.phase.verdict_at - screen.session.phase.started) < 10


async def test_a_log_line_matching_the_pattern_fails_with_that_line(cluster, kubectl, namespace, tmp_path):
    app = live_app(cluster, namespace, tmp_path, settings=_settings())
    async with app.run_test(size=(100, 32)) as pilot:
        await _start(pilot, app, kubectl, namespace)
        screen = await _set_image(pilot, app, "nginx:logerror")
        verdict = await _verdict(pilot, screen)
        assert (verdict.state, verdict.criterion) == ("failed", "log")
        pod = verdict.evidence[0].split()[1].split("/")[0]
        logged = await _kubectl(kubectl, "logs", pod, "-n", namespace)
        assert verdict.evidence == (f"pod {pod}/main logged: {logged.splitlines()[0]}",)
        assert logged.splitlines()[0] == f"{pod} main ERROR line 0: upstream connection refused"


async def test_a_good_bump_ends_healthy_with_its_evidence(cluster, kubectl, namespace, tmp_path):
    app = live_app(cluster, namespace, tmp_path, settings=_settings())
    async with app.run_test(size=(100, 32)) as pilot:
        await _start(pilot, app, kubectl, namespace)
        screen = await _set_image(pilot, app, "nginx:1.16")
        verdict = await _verdict(pilot, screen)
        assert verdict.state == "healthy"
        deployment = await _json(kubectl, namespace, "deployment", "web")
        assert verdict.evidence[:4] == ("2/2 new pods ready", f"observedGeneration {deployment['status']['observedGeneration']} "
                                        "current", "updated = total = available = 2", "old ReplicaSets scaled down (1)")
        await until(pilot, lambda: _shown(screen, "watch-verdict").startswith(" healthy: 2/2 new pods ready"),
                    timeout=5, message="the painted verdict")
        await pilot.press("escape")
    assert _transaction(app)["result"] == "ok"


async def test_auto_undo_where_enabled(cluster, kubectl, namespace, tmp_path):
    app = live_app(cluster, namespace, tmp_path, settings=_settings(max_restarts=0, auto_undo=True))
    async with app.run_test(size=(100, 32)) as pilot:
        await _start(pilot, app, kubectl, namespace)
        screen = await _set_image(pilot, app, "nginx:crash")
        await until(pilot, lambda: len(screen.session.phases) == 2, timeout=90, message="the automatic undo")
        assert (await _verdict(pilot, screen)).state == "healthy"
    deployment = await _json(kubectl, namespace, "deployment", "web")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.14.2"
    assert [(line["verb"], line["result"]) for line in app.audit.lines()] == [
        ("set-image", "ok"), ("undo", "ok"), ("rollout-watch", "error")]


async def test_no_auto_undo_unless_enabled_and_never_under_read_only(cluster, kubectl, namespace, tmp_path):
    # Read-only: a rollout made elsewhere is watched (W), fails, and the policy's undo is refused.
    settings = Settings(readonly_contexts=["kdash-dev"],
                        rollout_watch={"*": {"max_restarts": 0, "auto_undo": True}})
    app = live_app(cluster, namespace, tmp_path, settings=settings)
    async with app.run_test(size=(100, 32)) as pilot:
        await _start(pilot, app, kubectl, namespace)
        await _kubectl(kubectl, "set", "image", "deployment/web", "main=nginx:crash", "-n", namespace)
        await until(pilot, lambda: (app.object_for(app.screen.tree.selected) or {}).get("metadata", {})
                    .get("generation") == 2, message="the bump in the store")
        await pilot.press("W")
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, RolloutWatchScreen) else None,
                             message="the rollout watch")
        assert (await _verdict(pilot, screen)).criterion == "restarts"
        await until(pilot, lambda: "read-only" in screen.undo_note, message="the refusal")
        await pilot.pause(1)
        assert len(screen.session.phases) == 1
    assert [(line["verb"], line["result"]) for line in app.audit.lines()] == [("undo", "refused")]
    image = (await _json(kubectl, namespace, "deployment", "web"))["spec"]["template"]["spec"]["containers"][0]
    assert image["image"] == "nginx:crash"

    # Not enabled (the default): nothing is undone, nothing is written.
    app = live_app(cluster, namespace, tmp_path / "second", settings=_settings(max_restarts=0))
    async with app.run_test(size=(100, 32)) as pilot:
        key = f"Deployment/{namespace}/web"
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.tree.node(key),
                    message="web")
        app.screen.tree.select_key(key)
        await pilot.press("W")
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, RolloutWatchScreen) else None,
                             message="the rollout watch")
        assert (await _verdict(pilot, screen)).state == "failed"
        await pilot.pause(1)
        assert len(screen.session.phases) == 1 and screen.undo_note == ""
    assert app.audit.lines() == []


async def test_pause_and_resume_equal_kubectls_and_a_paused_set_image_is_staged(cluster, kubectl, namespace,
                                                                                 tmp_path):
    app = live_app(cluster, namespace, tmp_path, settings=_settings())
    async with app.run_test(size=(100, 32)) as pilot:
        await _start(pilot, app, kubectl, namespace, "twin")
        await _kubectl(kubectl, "rollout", "pause", "deployment/twin", "-n", namespace)
        await _start(pilot, app, kubectl, namespace)
        await pilot.press("z")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        await pilot.press("y")

        for _ in range(100):
            ours = await _json(kubectl, namespace, "deployment", "web")
            if ours["spec"].get("paused"):
                break
            await pilot.pause(0.1)
        twin = await _json(kubectl, namespace, "deployment", "twin")
        assert ours["spec"]["paused"] is True and twin["spec"]["paused"] is True
        assert _conditions(ours) == _conditions(twin)  # Progressing=Unknown DeploymentPaused, the same
        await until(pilot, lambda: (app.object_for(app.screen.tree.selected) or {}).get("spec", {}).get("paused"),
                    message="paused in the store")
        rs_before = len((await _json(kubectl, namespace, "rs"))["items"])
        await pilot.press("i")
        app.screen.query_one("Input").value = ""
        await pilot.press(*"nginx:1.16", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        await pilot.press("y")
        await until(pilot, lambda: any("staged" in n.message for n in app._notifications), message="staged")
        assert isinstance(app.screen, DashboardScreen)  # no watch: nothing rolls
        assert len((await _json(kubectl, namespace, "rs"))["items"]) == rs_before
        await pilot.press("Z")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), message="confirmation")
        await pilot.press("y")
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, RolloutWatchScreen) else None,
                             message="the watch of the resumed rollout")
        assert (await _verdict(pilot, screen)).state == "healthy"
    await _kubectl(kubectl, "rollout", "resume", "deployment/twin", "-n", namespace)
    ours, twin = (await _json(kubectl, namespace, "deployment", "web")), \
        (await _json(kubectl, namespace, "deployment", "twin"))
    assert "paused" not in ours["spec"] and "paused" not in twin["spec"]
    assert [(line["verb"], line["detail"]) for line in app.audit.lines() if line["verb"] in ("pause", "resume")] == \
        [("pause", "spec.paused=true"), ("resume", "spec.paused=false")]


def _conditions(deployment: dict) -> list[tuple[str, str, str]]:
    return sorted((c["type"], c["status"], c["reason"]) for c in deployment["status"].get("conditions") or ())


async def test_history_diff_names_exactly_the_changed_fields(cluster, kubectl, namespace, tmp_path):
    from kdash.screens.history import HistoryScreen
    from kdash.screens.revision_diff import RevisionDiffScreen

    app = live_app(cluster, namespace, tmp_path, settings=_settings())
    async with app.run_test(size=(100, 32)) as pilot:
        await _start(pilot, app, kubectl, namespace)
        await _kubectl(kubectl, "set", "env", "deployment/web", "LOG_LEVEL=debug", "DB_PASSWORD=hunter2",
                       "-n", namespace)
        await _kubectl(kubectl, "set", "image", "deployment/web", "main=nginx:1.16", "-n", namespace)
        await _kubectl(kubectl, "rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
        await pilot.press("u")
        history = await until(pilot, lambda: app.screen if isinstance(app.screen, HistoryScreen) else None,
                              message="history")
        await until(pilot, lambda: len(history.revisions) == 3, message="three revisions")
        await pilot.press("down", "down", "down")  # revision 1: the oldest
        assert history.highlighted.revision == 1
        await pilot.press("d")
        screen = await until(pilot, lambda: app.screen if isinstance(app.screen, RevisionDiffScreen) else None,
                             message="the diff")
        assert screen.diff.fields == ("spec.containers[main].env", "spec.containers[main].image")
        shown = _shown(screen, "diff")
        assert shown.startswith("changed: spec.containers[main].env, spec.containers[main].image")
        assert "-  - image: nginx:1.14.2" in shown and "+    image: nginx:1.16" in shown, shown
        assert "hunter2" not in shown and "value: <hidden>" in shown and "pod-template-hash" not in shown
        assert "--- revision 1" in shown and "+++ revision 3" in shown
