"""settings.yaml keymap entries checked against the registry and the keys Textual already uses."""

from __future__ import annotations

from kdash.actions.registry import ACTIONS
from kdash.keymap import check_keymap, malformed


def test_the_registry_defaults_pass_as_they_are() -> None:
    accepted, warnings = check_keymap({a.id: a.keys for a in ACTIONS})
    assert warnings == [] and accepted == {a.id: a.keys for a in ACTIONS}


def test_one_warning_per_bad_entry_and_the_good_ones_kept() -> None:
    accepted, warnings = check_keymap({
        "scale": "n",            # the namespace key
        "logs": "ctrl+",         # no key after the modifier
        "nope": "x",             # no such action
        "yaml": "ctrl+esc",      # escape is "escape"
        "filter": "enter",       # the tree's select key on the dashboard
        "history": "ctrl+p",     # Textual's command palette
        "toggle_view": "v",
        "expand_all": "+",
        "logs_search": "ctrl+f,/",
    })
    assert accepted == {"toggle_view": "v", "expand_all": "plus", "logs_search": "ctrl+f,slash"}
    assert len(warnings) == 6
    text = "\n".join(warnings)
    for expected in ("scale: 'n' is already the key of namespace; keeping s",
                     "logs: 'ctrl+' is not a key (no key after the modifier); keeping l",
                     "unknown action 'nope'", "yaml: 'ctrl+esc' is not a key (unknown key 'esc')",
                     "filter: 'enter' is already taken by Tree's select_cursor",
                     "history: 'ctrl+p' is already taken by the command palette"):
        assert expected in text


def test_scopes_swaps_and_aliases() -> None:
    # The logs screen's keys only clash with the logs screen's (and the app's).
    assert check_keymap({"logs_pause": "r"}) == ({"logs_pause": "r"}, [])
    assert check_keymap({"logs_pause": "s"})[1] == ["keymap: logs_pause: 's' is already the key of logs_since; "
                                                    "keeping p"]
    # App keys are live on every screen.
    assert check_keymap({"cycle_theme": "p"})[0] == {}
    # A swap is fine; of two entries taking one key the first stays.
    assert check_keymap({"scale": "n", "namespace": "s"}) == ({"scale": "n", "namespace": "s"}, [])
    accepted, warnings = check_keymap({"restart": "o", "set_image": "o"})
    assert accepted == {"restart": "o"} and warnings == ["keymap: set_image: 'o' is already the key of restart; "
                                                         "keeping i"]
    # ctrl+i is what a terminal sends for tab.
    assert check_keymap({"quit": "ctrl+i"})[0] == {}


def test_malformed_keys() -> None:
    assert malformed("ctrl+shift+f5") is None and malformed("question_mark") is None and malformed("T") is None
    assert malformed("") == "empty key" and malformed("esc") == "unknown key 'esc'"
    assert malformed("ctrl+shift") == "unknown key 'shift'"
    assert malformed("hyperr+x") == "unknown modifier 'hyperr'"
