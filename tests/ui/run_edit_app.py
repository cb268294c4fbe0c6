"""Run the fixture dashboard over a scripted API and open the ConfigMap editor at once (pty tests)."""

from argparse import Namespace
from types import SimpleNamespace

from kdash.app import make_app
from kdash.config import Settings
from kdash.kube.api import ApiClient, Configuration
from tests.ui.fixture_app import FixtureApp
from tests.ui.test_edit_apply_pilot import CM_KEY, CM_PATH, live_configmap
from tests.unit.test_actions_safety import FakeRest


class EditingApp(FixtureApp):
    """Selects the fixture's ConfigMap and presses `e` as soon as it is on screen."""

    def on_ready(self) -> None:
        rest = FakeRest()
        rest.on("GET", CM_PATH, body=live_configmap())
        client = ApiClient(Configuration(host="https://k8s.test"))
        client.rest_client = rest
        self.connection = SimpleNamespace(api_client=client, namespace="default", context_name="fixture",
                                          close=lambda: None)
        self.screen.action_view_configmaps()
        self._edit_timer = self.set_interval(0.2, self._edit_when_shown)

    def _edit_when_shown(self) -> None:
        if self.screen.tree.select_key(CM_KEY):
            self._edit_timer.stop()
            self.screen.action_edit()


if __name__ == "__main__":
    args = Namespace(kubeconfig=None, context=None, namespace="default", all_namespaces=False,
                     readonly=False, theme=None)
    make_app(args, app_class=EditingApp, settings=Settings()).run()
