"""Command line: kubectl-style flags, the TUI by default and `kdash tree` for headless output."""

from __future__ import annotations

import argparse
import os
import sys

OUTPUTS = ("json", "yaml", "wide")


class _VersionAction(argparse.Action):
    """--version: the commit lookup runs only when asked, not on every start."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from kdash.version import version_text

        print(version_text())
        parser.exit()


def build_parser(prog: str = "kdash") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Keyboard-driven terminal dashboard for Kubernetes rollouts: a live "
                    "Deployment -> ReplicaSet -> Pod tree with safe rollout control.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and git commit, and exit")
    _add_cluster_flags(parser)
    parser.add_argument("--readonly", action="store_true", help="block every write to the cluster")
    parser.add_argument("--theme", default=None, help="theme name (see themes/); default from settings")
    sub = parser.add_subparsers(dest="command")
    tree = sub.add_parser("tree", help="print the trees (workloads, services, StatefulSets, DaemonSets, jobs, "
                                       "ingresses) as text and exit")
    _add_cluster_flags(tree, suppress=True)
    tree.add_argument("kinds", nargs="*", metavar="KIND[,KIND]",
                      help="only these trees, by kubectl's resource names (space or comma separated): deploy "
                           "(with its hpa), svc, sts, ds, cj or jobs, ing; default: every tree")
    tree.add_argument("--once", action="store_true",
                      help="print once and exit (the default; kept for scripts that pass it)")
    tree.add_argument("-o", "--output", choices=OUTPUTS, default=None,
                      help="json or yaml: the trees' fields for scripts; wide: a table with node and IP")
    completion = sub.add_parser("completion", help="print the shell completion script (bash or zsh)")
    completion.add_argument("shell", choices=("bash", "zsh"))
    sub.add_parser("keys", help="print the effective keymap: binding ids and their keys")
    audit = sub.add_parser("audit", help="check the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the audit log's hash chain: the first tampered, "
                                                 "inserted or missing line, exit 1; intact, exit 0")
    verify.add_argument("--file", default=None, help="the audit log to check (default: kdash's own)")
    return parser


def _add_cluster_flags(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    # Subcommands accept the same flags; SUPPRESS keeps the top-level value when not repeated.
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--kubeconfig", default=default,
                        help="path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    from kdash.completion import complete_contexts, complete_namespaces

    context = parser.add_argument("--context", default=default, help="the kubeconfig context to use")
    context.completer = complete_contexts  # type: ignore[attr-defined]
    namespace = parser.add_argument("-n", "--namespace", default=default,
                                    help="namespace, or several: a,b,c (one watch each); default: the context's")
    namespace.completer = complete_namespaces  # type: ignore[attr-defined]
    parser.add_argument("-A", "--all-namespaces", action="store_true",
                        default=False if not suppress else argparse.SUPPRESS, help="all namespaces")


def _log_to_file() -> None:
    """Library log records (urllib3, an auth-provider plugin) go to a file: on a TUI, stderr would garble it."""
    import logging

    from kdash.config import open_private, state_dir

    try:
        path = state_dir() / "kdash.log"
        open_private(path).close()  # created (or tightened) 0600 in a 0700 directory first
        handler: logging.Handler = logging.FileHandler(path)
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    # Python warnings (urllib3's InsecureRequestWarning for insecure-skip-tls-verify clusters)
    # would otherwise print over the TUI or next to the one-line error.
    logging.captureWarnings(True)


def main(argv: list[str] | None = None, prog: str = "kdash") -> int:
    parser = build_parser(prog)
    from kdash.completion import autocomplete

    autocomplete(parser)  # answers a shell's TAB and exits; a no-op otherwise
    args = parser.parse_args(argv)
    if args.command in ("completion", "keys", "audit"):
        from kdash.commands import run

        return run(args)
    _log_to_file()
    from kdash.errors import KdashError

    try:
        if args.command == "tree":
            from kdash.headless import print_tree

            return print_tree(args)
        if os.environ.get("TERM") == "dumb":
            # No cursor addressing or colours: the dashboard would be a stream of escape codes.
            print("kdash: this terminal (TERM=dumb) cannot show the dashboard; "
                  "for text output use `kdash tree --once`", file=sys.stderr)
            return 2
        from kdash.boot import start_watching

        # Connect and start the lists before Textual and the screens are imported: the lists
        # then run while they load. A kubeconfig, context or server that is unusable fails here,
        # with a message on the terminal.
        early = start_watching(args)
        from kdash.app import run_app

        return run_app(args, early)
    except KdashError as exc:
        print(f"kdash: {exc.title}: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def kubectl_main() -> int:
    """`kubectl kdash ...`: kubectl runs the kubectl-kdash executable on PATH with the same flags."""
    return main(prog="kubectl kdash")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
