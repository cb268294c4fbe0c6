"""Subcommands that need no cluster: `kdash completion bash|zsh`, `kdash keys` and `kdash audit verify`."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    if args.command == "completion":
        from kdash.completion import script

        sys.stdout.write(script(args.shell))
        return 0
    if args.command == "audit":
        return audit_verify(args.file)
    text, warnings = keys_text()
    for warning in warnings:
        print(f"kdash: {warning}", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def keys_text() -> tuple[str, list[str]]:
    """One line per binding id: its keys after settings.yaml's keymap (validated as the app does
    it) and what it does; plus the warnings for the refused keymap entries."""
    from kdash.actions.registry import ACTIONS
    from kdash.config import load_settings
    from kdash.keymap import check_keymap, scope_of

    settings = load_settings()
    keymap, refused = check_keymap(settings.keymap) if settings.keymap else ({}, [])
    rows = [("BINDING ID", "KEYS", "SCREEN", "ACTION")]
    rows += [(a.id, keymap.get(a.id, a.keys), scope_of(a), a.help) for a in ACTIONS]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3] for row in rows]
    return "\n".join(lines) + "\n", [*settings.warnings, *refused]


def audit_verify(file: str | None) -> int:
    """One line: intact (0), or the first bad line and why (1); 2 when the file cannot be read."""
    from kdash.actions.audit import AuditLog, verify_file

    path = file or AuditLog.default().path
    try:
        verdict = verify_file(path)
    except OSError as exc:
        print(f"kdash: audit log {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(verdict.summary(path))
    return 0 if verdict.intact else 1
