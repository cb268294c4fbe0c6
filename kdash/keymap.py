"""The user's keymap checked against the action registry and the keys Textual's widgets already use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.app import App
from textual.binding import Binding
from textual.keys import KEY_ALIASES, REPLACED_KEYS, Keys, _character_to_key, key_to_character

from kdash.actions.registry import ACTIONS, Action

MODIFIERS = frozenset({"ctrl", "shift", "alt", "super", "meta", "hyper"})
NAMED_KEYS = frozenset(key.value.rpartition("+")[2] for key in Keys) | {"space", "enter", "backspace", "tab"}
# Where a key means something: app actions everywhere, the others on their own screen.
SCOPES = {"app": ("app", "dashboard", "logs", "watch"), "dashboard": ("app", "dashboard"), "logs": ("app", "logs"),
          "watch": ("app", "watch")}


def scope_of(action: Action) -> str:
    return action.group if action.group in ("app", "logs", "watch") else "dashboard"


def normalize(key: str) -> str:
    """As Textual's set_keymap reads a key: "?" is question_mark, "/" slash."""
    key = key.strip()
    return _character_to_key(key) if len(key) == 1 else key


def malformed(key: str) -> str | None:
    """Why `key` cannot be pressed, or None when it names a key (with modifiers) Textual knows."""
    *modifiers, base = key.split("+")
    if not base:
        return "no key after the modifier" if modifiers else "empty key"
    unknown = [m for m in modifiers if m not in MODIFIERS]
    if unknown:
        return f"unknown modifier {unknown[0]!r}"
    if len(base) == 1 or base in NAMED_KEYS:
        return None
    # A printable character by its name ("question_mark", "slash"); "esc" names a control character,
    # which no key event carries (escape's is "escape").
    character = key_to_character(REPLACED_KEYS.get(base, base))
    return None if character is not None and character.isprintable() else f"unknown key {base!r}"


def widget_keys(*classes: type) -> dict[str, str]:
    """Key -> what it does, for the bindings `classes` (and their bases) declare."""
    keys: dict[str, str] = {}
    for cls in classes:
        for klass in cls.__mro__:
            for binding in Binding.make_bindings(klass.__dict__.get("BINDINGS", ())):
                keys.setdefault(binding.key, f"{klass.__name__}'s {binding.action}")
    return keys


def reserved_keys() -> dict[str, dict[str, str]]:
    """Keys taken in each scope by Textual itself: the focused tree or log view, the app's own."""
    from kdash.widgets.log_view import LogView
    from kdash.widgets.resource_tree import ResourceTree

    app = widget_keys(App) | {App.COMMAND_PALETTE_BINDING: "the command palette"}
    return {"app": app, "dashboard": app | widget_keys(ResourceTree), "logs": app | widget_keys(LogView),
            "watch": app | widget_keys(LogView)}


def _aliases(key: str) -> set[str]:
    found = {key, *KEY_ALIASES.get(key, ())}
    found.update(name for name, aliases in KEY_ALIASES.items() if key in aliases)
    return found


def check_keymap(keymap: Mapping[str, str], actions: Iterable[Action] = ACTIONS,
                 reserved: Mapping[str, Mapping[str, str]] | None = None) -> tuple[dict[str, str], list[str]]:
    """The entries safe to apply, and one warning per refused one (its action keeps its default key):
    an unknown action id, a key that cannot be pressed, or a key another action (or Textual) already
    uses where this action is active."""
    by_id = {a.id: a for a in actions}
    reserved = reserved_keys() if reserved is None else reserved
    accepted: dict[str, str] = {}
    warnings: list[str] = []
    for action_id, keys in keymap.items():
        action = by_id.get(action_id)
        if action is None:
            warnings.append(f"keymap: unknown action {action_id!r} ignored")
            continue
        wanted = [normalize(k) for k in str(keys).split(",")]
        problem = next(((k, why) for k in wanted if (why := malformed(k))), None)
        if problem:
            warnings.append(f"keymap: {action_id}: {problem[0]!r} is not a key ({problem[1]}); "
                            f"keeping {action.keys}")
            continue
        accepted[action_id] = ",".join(wanted)
    while True:  # refusing one entry gives its action back its default key: check again
        clash = _first_clash(accepted, by_id, reserved)
        if clash is None:
            return accepted, warnings
        action_id, message = clash
        del accepted[action_id]
        warnings.append(f"keymap: {action_id}: {message}; keeping {by_id[action_id].keys}")


def _first_clash(accepted: Mapping[str, str], by_id: Mapping[str, Action],
                 reserved: Mapping[str, Mapping[str, str]]) -> tuple[str, str] | None:
    keys_of = {a: accepted.get(a, action.keys).split(",") for a, action in by_id.items()}
    for action_id, keys in reversed(list(accepted.items())):  # of two clashing entries the first stays
        scopes = SCOPES[scope_of(by_id[action_id])]
        defaults = by_id[action_id].keys.split(",")
        # Only keys the keymap adds: the registry's own (q quits, and goes back on the logs
        # screen) are deliberate.
        for key in (k for k in keys.split(",") if k not in defaults):
            for other, other_keys in keys_of.items():
                if other != action_id and scope_of(by_id[other]) in scopes and \
                        _aliases(key) & set(other_keys):
                    return action_id, f"{key!r} is already the key of {other}"
            for scope in scopes:
                taken = next((reserved.get(scope, {}).get(k) for k in _aliases(key)
                              if k in reserved.get(scope, {})), None)
                if taken:
                    return action_id, f"{key!r} is already taken by {taken}"
    return None
