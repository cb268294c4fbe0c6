"""Run the fixture-fed dashboard in a real terminal (for tests that need a pty and signals)."""

from tests.ui.fixture_app import fixture_app

if __name__ == "__main__":
    fixture_app().run()
