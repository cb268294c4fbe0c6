"""Property test: after any sequence of store changes (start-ups with lists in any order, relists,
adoptions, orphanings, namespace and view switches, filters), every line the dashboard's tree
widget shows equals a fresh build of the same store, checked after every step."""

from __future__ import annotations

import asyncio
import contextvars

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kdash.core.kinds import KINDS_BY_NAME
from kdash.kube.objects import slim
from kdash.kube.store import DELETED, MODIFIED
from kdash.screens.dashboard import VIEWS
from tests.ui.tree_world import (
    TREE_KINDS,
    configmap,
    cronjob,
    deployment,
    endpoints,
    fed_app,
    hpa,
    ingress,
    job,
    job_pod,
    pod,
    refreshed,
    replicaset,
    service,
    shown_vs_fresh,
)

NAMESPACES = ("demo", "other")
DEPLOYMENTS = ("web", "api")
RS_NAMES = ("web-5d4f", "api-5d4f", "lone-5d4f")  # lone-5d4f has no Deployment of that name
POD_NAMES = ("web-5d4f-0", "web-5d4f-1", "api-5d4f-0", "solo-0", "solo-1")
OWNERS = (None, *RS_NAMES)
# Objects left out of a namespace at start-up, by number (25 in all): mostly a full namespace.
ABSENT = st.sets(st.integers(0, 24), max_size=5)


def universe(ns: str) -> dict[str, dict[str, dict]]:
    """Every object the namespace can hold, by kind and name (each pod under its first owner)."""
    pods = {name: pod(name, ns, name.rsplit("-", 1)[0] if not name.startswith("solo") else None,
                      app=name.split("-")[0]) for name in POD_NAMES}
    pods |= {"report-1-0": job_pod("report-1-0", ns, "report-1"), "once-0": job_pod("once-0", ns, "once")}
    return {
        "Deployment": {name: deployment(ns, name) for name in DEPLOYMENTS},
        "ReplicaSet": {f"{name}-5d4f": replicaset(ns, name) for name in (*DEPLOYMENTS, "lone")},
        "Pod": pods,
        "Service": {name: service(ns, name) for name in ("web", "solo")},
        "Endpoints": {"web": endpoints([pods["web-5d4f-0"]], ns, "web")},
        "ConfigMap": {name: configmap(ns, name) for name in ("web-conf", "api-conf", "spare")},
        "CronJob": {"report": cronjob(ns, "report")},
        "Job": {"report-1": job(ns, "report-1"), "once": job(ns, "once", None, done=False)},
        "HorizontalPodAutoscaler": {"web-hpa": hpa(ns, "web")},
        "Ingress": {"web": ingress(ns, "web"), "web-canary": ingress(ns, "web-canary", "solo", canary_weight=30)},
    }


class TreeTruth(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        # Every step runs in this one context: Textual sets context variables on entering
        # run_test and resets them on leaving, which must happen in the same context.
        self.context = contextvars.copy_context()
        self.app = fed_app()
        self.running = self.app.run_test(size=(100, 30))
        self.pilot = self.run(self.running.__aenter__())
        self.namespace = "demo"
        # The cluster as it is: kind → name → object, in the current namespace.
        self.cluster: dict[str, dict[str, dict]] = {kind: {} for kind in TREE_KINDS}
        self.steps: list[str] = []

    def teardown(self) -> None:
        self.run(self.running.__aexit__(None, None, None))
        self.loop.close()

    def run(self, coroutine):
        return self.loop.run_until_complete(self.loop.create_task(coroutine, context=self.context))

    def call(self, function, *args):
        """`function(*args)` on the app's loop (widgets start timers), in the app's context."""
        async def call():
            return function(*args)
        return self.run(call())

    # -- helpers -----------------------------------------------------------------------------

    def flush(self, kinds: set[str]) -> None:
        self.call(self.app.dashboard.refresh_data, kinds)

    def list_kinds(self, order: list[str], together: int) -> None:
        """List the kinds in `order`; the first `together` of them reach the screen in one flush."""
        pending: set[str] = set()
        for index, kind in enumerate(order):
            objs = [slim(o, KINDS_BY_NAME[kind]) for o in self.cluster[kind].values()]
            self.app.store.replace(kind, None, objs)
            pending.add(kind)
            if index + 1 >= together:
                self.flush(pending)
                pending = set()
        if pending:
            self.flush(pending)

    def fill(self, ns: str, absent: set[int]) -> None:
        """The namespace's objects but those numbered in `absent` (counting across kinds)."""
        every = universe(ns)
        numbers = iter(range(1000))
        self.cluster = {kind: {name: obj for name, obj in every[kind].items() if next(numbers) not in absent}
                        for kind in TREE_KINDS}

    # -- rules -----------------------------------------------------------------------------

    @initialize(view=st.sampled_from(VIEWS), order=st.permutations(TREE_KINDS),
                together=st.integers(1, 3), absent=ABSENT)
    def start(self, view, order, together, absent):
        self.steps.append(f"start view={view} order={order} together={together}")
        self.call(self.app.dashboard._set_view, view)
        self.fill(self.namespace, absent)
        self.list_kinds(list(order), together)

    @rule(kind=st.sampled_from(TREE_KINDS), index=st.integers(0, 4), present=st.booleans())
    def add_or_delete(self, kind, index, present):
        every = universe(self.namespace)[kind]
        name = sorted(every)[index % len(every)]
        self.steps.append(f"{'add' if present else 'delete'} {kind} {name}")
        if present:
            obj = refreshed(self.cluster[kind].get(name) or every[name])
            self.cluster[kind][name] = obj
            self.app.store.apply(kind, [(MODIFIED, slim(obj, KINDS_BY_NAME[kind]))])
        else:
            obj = self.cluster[kind].pop(name, None) or every[name]
            self.app.store.apply(kind, [(DELETED, slim(obj, KINDS_BY_NAME[kind]))])
        self.flush({kind})

    @rule(name=st.sampled_from(POD_NAMES), owner=st.sampled_from(OWNERS))
    def set_pod_owner(self, name, owner):
        """Adoption (a controller ownerReference appears or changes) and release (it goes)."""
        self.steps.append(f"pod {name} owner {owner}")
        obj = pod(name, self.namespace, owner, app=name.split("-")[0])
        self.cluster["Pod"][name] = obj
        self.app.store.apply("Pod", [(MODIFIED, slim(obj, KINDS_BY_NAME["Pod"]))])
        self.flush({"Pod"})

    @rule(suspend=st.booleans(), weight=st.integers(0, 100), job_done=st.booleans())
    def change_jobs_and_canary(self, suspend, weight, job_done):
        """Content changes the Jobs and Ingress views show: suspend, a Job finishing, the canary's weight."""
        self.steps.append(f"cronjob suspend={suspend} job done={job_done} canary weight={weight}")
        changed = {"CronJob": ("report", cronjob(self.namespace, "report", suspend)),
                   "Job": ("once", job(self.namespace, "once", None, done=job_done)),
                   "Ingress": ("web-canary", ingress(self.namespace, "web-canary", "solo", canary_weight=weight))}
        for kind, (name, obj) in changed.items():
            self.cluster[kind][name] = obj
            self.app.store.apply(kind, [(MODIFIED, slim(obj, KINDS_BY_NAME[kind]))])
        self.flush(set(changed))

    @rule(kinds=st.lists(st.sampled_from(TREE_KINDS), min_size=1, max_size=3, unique=True),
          touch=st.booleans())
    def relist(self, kinds, touch):
        """A relist after a watch gap (new resourceVersions if `touch`), kinds in one flush."""
        self.steps.append(f"relist {kinds} touch={touch}")
        for kind in kinds:
            if touch:
                self.cluster[kind] = {name: refreshed(o) for name, o in self.cluster[kind].items()}
            self.app.store.replace(kind, None, [slim(o, KINDS_BY_NAME[kind]) for o in self.cluster[kind].values()])
        self.flush(set(kinds))

    @rule(order=st.permutations(TREE_KINDS), together=st.integers(1, 3))
    def restart_lists(self, order, together):
        """What a new start (or a context reconnect) does: an empty store, then lists in any order."""
        self.steps.append(f"restart order={order} together={together}")
        self.app.store.clear()
        self.flush(set(TREE_KINDS))
        self.list_kinds(list(order), together)

    @rule(order=st.permutations(TREE_KINDS), together=st.integers(1, 6), absent=ABSENT)
    def switch_namespace(self, order, together, absent):
        """The other namespace's lists replace this one's, kind by kind, in any order."""
        self.namespace = NAMESPACES[1 - NAMESPACES.index(self.namespace)]
        self.steps.append(f"namespace {self.namespace} order={order} together={together}")
        self.fill(self.namespace, absent)
        self.list_kinds(list(order), together)

    @rule(view=st.sampled_from(VIEWS))
    def switch_view(self, view):
        self.steps.append(f"view {view}")
        self.call(self.app.dashboard._set_view, view)

    @rule(text=st.sampled_from(["", "web", "solo", "5d4f-0", "-l app=web", "nothing"]))
    def filter(self, text):
        self.steps.append(f"filter {text!r}")
        self.call(self.app.dashboard._apply_filter, text)

    # -- the invariant -----------------------------------------------------------------------

    @invariant()
    def widget_shows_a_fresh_build(self):
        self.run(self.pilot.pause())
        shown, fresh = self.call(shown_vs_fresh, self.app)
        assert shown == fresh, ("\n".join(self.steps) + "\nshown:\n" + "\n".join(shown)
                                + "\nfresh:\n" + "\n".join(fresh))


TreeTruth.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
test_tree_truth_machine = TreeTruth.TestCase
