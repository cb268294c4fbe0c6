"""The incremental workload tree (RenderCache) equals a fresh build after any sequence of changes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from kdash.core.rollout import RolloutIndex, rollout_status
from kdash.kube.store import Store
from kdash.render.tree import flatten, label_at
from kdash.render.workloads import RenderCache, build_workload_tree, build_workload_tree_from

NOW = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)


class World:
    """A little cluster of raw objects; every change replaces dicts, like the Store does."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.n = 0
        self.deployments: dict[str, dict] = {}
        self.replicasets: dict[str, dict] = {}
        self.pods: dict[str, dict] = {}

    def _meta(self, kind: str, ns: str, owner: dict | None, owner_kind: str | None = None) -> dict:
        self.n += 1
        meta = {"name": f"{kind}-{self.n:04d}", "namespace": ns, "uid": f"uid-{kind}-{self.n}",
                "resourceVersion": str(self.n),
                "creationTimestamp": (NOW - timedelta(seconds=self.rnd.randint(1, 5000))).isoformat()}
        if owner is not None:
            meta["ownerReferences"] = [{"kind": owner_kind or owner["kind"], "name": owner["metadata"]["name"],
                                        "uid": owner["metadata"]["uid"], "controller": True}]
        return meta

    def add_deployment(self, ns: str = "a") -> dict:
        d = {"kind": "Deployment", "metadata": self._meta("dep", ns, None),
             "spec": {"replicas": self.rnd.randint(0, 3), "template": {"spec": {"containers": [{"image": "x:1"}]}}},
             "status": {"replicas": 1, "readyReplicas": 1, "observedGeneration": 1}}
        d["metadata"]["generation"] = 1
        self.deployments[d["metadata"]["uid"]] = d
        return d

    def add_rs(self, owner: dict | None, ns: str | None = None, uid: str | None = None) -> dict:
        ns = ns or (owner["metadata"]["namespace"] if owner else "a")
        rs = {"kind": "ReplicaSet", "metadata": self._meta("rs", ns, owner),
              "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "x:1"}]}}},
              "status": {"replicas": 1, "readyReplicas": 1}}
        rs["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": str(self.rnd.randint(1, 4))}
        if uid:
            rs["metadata"]["uid"] = uid
        self.replicasets[rs["metadata"]["uid"]] = rs
        return rs

    def add_pod(self, owner: dict | None, owner_kind: str | None = None, ns: str | None = None) -> dict:
        ns = ns or (owner["metadata"]["namespace"] if owner else "a")
        pod = {"kind": "Pod", "metadata": self._meta("pod", ns, owner, owner_kind),
               "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x:1"}]},
               "status": {"phase": "Running", "podIP": "10.0.0.1",
                          "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                                 "state": {"running": {}}}]}}
        self.pods[pod["metadata"]["uid"]] = pod
        return pod

    def modify(self, table: dict[str, dict]) -> None:
        if not table:
            return
        uid = self.rnd.choice(sorted(table))
        old = table[uid]
        new = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self.n + 1)},
               "status": {**old.get("status", {}), "replicas": self.rnd.randint(0, 3),
                          "podIP": f"10.0.0.{self.rnd.randint(2, 250)}"}}
        self.n += 1
        table[uid] = new

    def remove(self, table: dict[str, dict]) -> dict | None:
        if not table:
            return None
        return table.pop(self.rnd.choice(sorted(table)))

    def step(self) -> None:
        r = self.rnd
        op = r.randrange(12)
        deps, rss = list(self.deployments.values()), list(self.replicasets.values())
        if op == 0:
            self.add_deployment(r.choice("ab"))
        elif op == 1 and deps:
            self.add_rs(r.choice(deps))
        elif op == 2:
            self.add_rs(None)  # a ReplicaSet without a Deployment
        elif op == 3 and rss:
            self.add_pod(r.choice(rss))
        elif op == 4:
            self.add_pod(None, ns=r.choice("abc"))  # a bare pod, maybe in a new namespace
        elif op == 5:
            owner = {"kind": "StatefulSet", "metadata": {"name": "db", "uid": "uid-sts"}}
            self.add_pod(owner, ns="a")  # controlled by something we do not render
        elif op == 6:
            self.modify(self.pods)
        elif op == 7:
            self.modify(self.replicasets)
        elif op == 8:
            self.modify(self.deployments)
        elif op == 9:
            self.remove(self.pods)
        elif op == 10:
            self.remove(self.replicasets if r.random() < 0.7 else self.deployments)  # orphans children
        elif op == 11 and self.replicasets:
            # An owner comes back (same uid, new object): its orphans are adopted again.
            gone = r.choice(sorted(self.replicasets))
            rs = self.replicasets.pop(gone)
            build = self.rnd.random() < 0.5
            if build:
                self.replicasets[gone] = {**rs, "metadata": {**rs["metadata"], "resourceVersion": str(self.n + 7)}}

    def lists(self) -> tuple[list, list, list]:
        return list(self.deployments.values()), list(self.replicasets.values()), list(self.pods.values())


def test_incremental_build_equals_a_fresh_build_after_random_changes():
    for seed in range(6):
        world = World(seed)
        for _ in range(3):
            d = world.add_deployment()
            for _ in range(2):
                rs = world.add_rs(d)
                for _ in range(2):
                    world.add_pod(rs)
        cache = RenderCache()
        for step in range(300):
            # Several changes per build, like a coalesced flush; sometimes none at all.
            for _ in range(world.rnd.randint(0, 4)):
                world.step()
            fresh = build_workload_tree(*world.lists(), NOW)
            incremental = build_workload_tree(*world.lists(), NOW, cache=cache)
            assert incremental == fresh, f"seed {seed}, step {step}"
            held = len(world.deployments) + len(world.replicasets) + len(world.pods)
            assert len(cache) <= 2 * held  # entries of gone objects are dropped


def test_unchanged_subtrees_come_back_as_the_same_objects():
    world = World(1)
    deps = [world.add_deployment() for _ in range(3)]
    for d in deps:
        world.add_pod(world.add_rs(d))
    cache = RenderCache()
    first = build_workload_tree(*world.lists(), NOW, cache=cache)
    world.modify(world.pods)
    second = build_workload_tree(*world.lists(), NOW, cache=cache)
    same = [a is b for a, b in zip(first, second)]
    assert same.count(False) == 1 and len(first) == len(second) == 3


def test_ages_move_at_paint_time_without_re_rendering():
    world = World(2)
    for _ in range(4):
        rs = world.add_rs(world.add_deployment())
        world.add_pod(rs)
        world.add_pod(rs)
    cache = RenderCache()
    before = build_workload_tree(*world.lists(), NOW, cache=cache)
    for later in (NOW + timedelta(seconds=1), NOW + timedelta(minutes=30), NOW + timedelta(days=3)):
        held = build_workload_tree(*world.lists(), later, cache=cache)
        assert all(a is b for a, b in zip(held, before))  # time alone re-renders nothing
        fresh = build_workload_tree(*world.lists(), later)
        # ... and yet what is painted equals a fresh build at that time, line by line.
        assert [label_at(n, later) for _, n in flatten(held)] == [n.label for _, n in flatten(fresh)]
    pods = [n for _, n in flatten(before) if n.kind == "Pod"]
    assert pods and all(len(n.timed) == 1 for n in pods)


def test_rollout_index_equals_fresh_statuses_after_random_changes():
    for seed in range(4):
        world = World(100 + seed)
        for _ in range(3):
            world.add_rs(world.add_deployment())
        index = RolloutIndex()
        seen = set()
        for step in range(300):
            for _ in range(world.rnd.randint(0, 4)):
                world.step()
            if world.deployments and world.rnd.random() < 0.3:
                # A rollout completes (the controller reports every replica updated and available).
                uid = world.rnd.choice(sorted(world.deployments))
                d = world.deployments[uid]
                n = d["spec"]["replicas"]
                world.deployments[uid] = {**d, "status": {"replicas": n, "updatedReplicas": n, "readyReplicas": n,
                                                          "availableReplicas": n, "observedGeneration": 1}}
            deployments, replicasets, _ = world.lists()
            index.update(deployments, replicasets)
            fresh = {d["metadata"]["uid"]: rollout_status(d, replicasets) for d in deployments}
            assert index.statuses == fresh, f"seed {seed}, step {step}"
            assert index.active == {u: s for u, s in fresh.items() if s.state in ("progressing", "failed")}
            seen |= {s.state for s in fresh.values()}
        assert {"progressing", "complete"} <= seen  # both kinds went through the index


def test_a_build_from_a_store_feed_equals_a_fresh_build():
    """build_workload_tree_from replays only what changed (Store.feed/drain); the result must
    be a fresh build's, through relists, deletions, clears and a feed that falls behind."""
    for seed, limit in ((0, 5000), (1, 5000), (2, 3)):
        world = World(200 + seed)
        store = Store()
        feed = store.feed(("Deployment", "ReplicaSet", "Pod"), limit=limit)
        cache = RenderCache()
        for step in range(250):
            for _ in range(world.rnd.randint(0, 4)):
                world.step()
            deployments, replicasets, pods = world.lists()
            if world.rnd.random() < 0.03:
                store.clear()  # e.g. a reconnect that found nothing yet
            for kind, objs in (("Deployment", deployments), ("ReplicaSet", replicasets), ("Pod", pods)):
                store.replace(kind, None, objs)
            if world.rnd.random() < 0.2:
                continue  # several changes pile up between two builds
            incremental = build_workload_tree_from(store.drain(feed), NOW, cache)
            fresh = build_workload_tree(store.list("Deployment"), store.list("ReplicaSet"), store.list("Pod"), NOW)
            assert incremental == fresh, f"seed {seed}, step {step}"
        store.close_feed(feed)
        assert store._feeds == []


def test_a_feed_hands_out_changes_then_falls_back_to_a_full_list():
    store = Store()
    pod = {"metadata": {"name": "a", "namespace": "n", "uid": "u1", "resourceVersion": "1"}}
    store.upsert("Pod", pod)
    feed = store.feed(["Pod"], limit=2)
    first = store.drain(feed)["Pod"]
    assert first.full == [pod] and first.changes is None  # the first drain: everything
    newer = {"metadata": {**pod["metadata"], "resourceVersion": "2"}}
    store.upsert("Pod", newer)
    store.delete("Pod", newer)
    assert store.drain(feed)["Pod"].changes == [(pod, newer), (newer, None)]
    assert store.drain(feed)["Pod"].changes == []
    for rv in range(3, 6):  # more than the limit between two drains: the entries are let go
        store.upsert("Pod", {"metadata": {**pod["metadata"], "resourceVersion": str(rv)}})
    behind = store.drain(feed)["Pod"]
    assert behind.changes is None and [p["metadata"]["resourceVersion"] for p in behind.full] == ["5"]
