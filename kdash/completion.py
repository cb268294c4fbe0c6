"""Shell completion by argcomplete: flags, kubeconfig contexts and namespaces, for kdash and kubectl-kdash."""

from __future__ import annotations

import argparse
from typing import Any

PROGRAMS = ("kdash", "kubectl-kdash")
# A TAB must not hang on an unreachable server: connect and read within these seconds.
NAMESPACE_TIMEOUT = (2.0, 3.0)


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request (when _ARGCOMPLETE is set) and exit; else return."""
    import argcomplete

    argcomplete.autocomplete(parser)


def script(shell: str) -> str:
    """The completion script to source (bash) or put on $fpath (zsh), for both executables."""
    import argcomplete

    return argcomplete.shellcode(list(PROGRAMS), shell=shell)


def complete_contexts(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    from kdash.kube.kubeconfig import list_contexts

    try:
        return list_contexts(getattr(parsed_args, "kubeconfig", None))
    except Exception:  # a broken kubeconfig offers nothing rather than a traceback in the shell
        return []


def complete_namespaces(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """The cluster's namespaces; after a comma (a subset a,b) the next one, not yet listed."""
    from kdash.core.kinds import NAMESPACE
    from kdash.kube.client import connect, get_json

    try:
        connection = connect(getattr(parsed_args, "kubeconfig", None), getattr(parsed_args, "context", None),
                             probe=False)
        try:
            items = get_json(connection.api_client, NAMESPACE.list_path(), timeout=NAMESPACE_TIMEOUT)["items"]
        finally:
            connection.close()
    except Exception:  # no cluster, no permission: no candidates
        return []
    head, comma, _last = prefix.rpartition(",")
    taken = set(head.split(",")) if comma else set()
    names = [item["metadata"]["name"] for item in items]
    return [f"{head}{comma}{name}" for name in names if name not in taken]


class _Answered(Exception):
    """argcomplete is done: it wrote its candidates and would exit the process."""


def kubectl_candidates(words: list[str]) -> list[str]:
    """Candidates for the last of `words` (the arguments after `kubectl kdash`; "" to complete a new one)."""
    import io
    import os

    import argcomplete

    from kdash.cli import build_parser

    line = " ".join(["kubectl-kdash", *words])
    os.environ.update({"_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line))})
    out = io.StringIO()

    def answered(_code: int = 0) -> None:
        raise _Answered

    try:
        argcomplete.autocomplete(build_parser("kubectl kdash"), exit_method=answered, output_stream=out)
    except _Answered:
        pass
    return [word.strip() for word in out.getvalue().split("\013") if word.strip()]


def kubectl_complete_main() -> int:
    """`kubectl_complete-kdash`: kubectl (1.26+) completes a plugin's arguments by running this with
    the words so far and reading one candidate a line, then ":4" (cobra's "no file completion")."""
    import sys

    for candidate in kubectl_candidates(sys.argv[1:] or [""]):
        print(candidate)
    print(":4")
    return 0
