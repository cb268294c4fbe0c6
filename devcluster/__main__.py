"""Command line: python -m devcluster up|down|status|samples."""

from __future__ import annotations

import argparse
import os
import sys

from devcluster import cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devcluster", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start (or reuse) the local control plane; prints `export KUBECONFIG=...` last")
    up.add_argument("--samples", action="store_true", help="also apply the sample workloads and wait for them")
    up.add_argument("--nodes", type=int, default=int(os.environ.get("KDASH_NODES") or 2),
                    help="fake Nodes to run when starting (default 2, or $KDASH_NODES); more can join later: "
                         "any Node created with the label kdash.io/fake-node=true is run too")
    sub.add_parser("down", help="stop what `up` started and remove its state")
    sub.add_parser("status", help="print the running cluster's kubeconfig, or exit 1")
    sub.add_parser("build", help="build (or reuse) the control-plane binaries")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            info = cluster.up(samples=args.samples, nodes=args.nodes)
            print(f"export KUBECONFIG={info.kubeconfig}")
        elif args.command == "down":
            print("[devcluster] stopped" if cluster.down() else "[devcluster] nothing running", file=sys.stderr)
        elif args.command == "status":
            info = cluster.load_current()
            if not info or not cluster.healthy(info):
                print("[devcluster] not running", file=sys.stderr)
                return 1
            print(f"export KUBECONFIG={info.kubeconfig}")
        elif args.command == "build":
            print(cluster.build())
    except cluster.ClusterError as exc:
        print(f"[devcluster] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
