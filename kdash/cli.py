"""Command line: kubectl-style flags, the TUI by default and `kdash tree` for headless output."""

from __future__ import annotations

import argparse
import os
import sys

from kdash import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kdash",
        description="Keyboard-driven terminal dashboard for Kubernetes rollouts: a live "
                    "Deployment -> ReplicaSet -> Pod tree with safe rollout control.",
    )
    parser.add_argument("--version", action="version", version=f"kdash {__version__}")
    _add_cluster_flags(parser)
    parser.add_argument("--readonly", action="store_true", help="block every write to the cluster")
    parser.add_argument("--theme", default=None, help="theme name (see themes/); default from settings")
    sub = parser.add_subparsers(dest="command")
    tree = sub.add_parser("tree", help="print the Deployment and Service trees as text and exit")
    _add_cluster_flags(tree, suppress=True)
    tree.add_argument("--once", action="store_true",
                      help="print once and exit (the default; kept for scripts that pass it)")
    return parser


def _add_cluster_flags(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    # Subcommands accept the same flags; SUPPRESS keeps the top-level value when not repeated.
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--kubeconfig", default=default,
                        help="path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    parser.add_argument("--context", default=default, help="the kubeconfig context to use")
    parser.add_argument("-n", "--namespace", default=default, help="namespace (default: the context's)")
    parser.add_argument("-A", "--all-namespaces", action="store_true",
                        default=False if not suppress else argparse.SUPPRESS, help="all namespaces")


def _log_to_file() -> None:
    """The kubernetes client logs exec-plugin failures; on a TUI, stderr output would garble it."""
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
        from kdash.app import run_app

        return run_app(args)
    except KdashError as exc:
        print(f"kdash: {exc.title}: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
