"""Run the fixture-fed dashboard in a real terminal (for tests that need a pty and signals).

--stuck-worker starts a thread worker that never returns (like a request to a silent server);
--suspend CMD suspends the app once drawn and runs CMD in the terminal (like the editor).
"""

import argparse
import subprocess
import threading

from tests.ui.fixture_app import FixtureApp, fixture_app

OPTIONS = argparse.Namespace(stuck_worker=False, suspend=None)


class ScriptedApp(FixtureApp):
    def on_ready(self) -> None:
        if OPTIONS.stuck_worker:
            self.run_worker(threading.Event().wait, thread=True, name="stuck")
        if OPTIONS.suspend:
            self.set_timer(0.5, self._suspend)

    def _suspend(self) -> None:
        with self.suspend():
            subprocess.run(OPTIONS.suspend, shell=True, check=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--stuck-worker", action="store_true")
    parser.add_argument("--suspend", default=None)
    OPTIONS = parser.parse_args()
    fixture_app(ScriptedApp).run()
