"""The comparison engine behind ``skxfer demo`` and ``skxfer compare``.

One protocol for both commands. A source table (labelled) and one or more target tables
(partly labelled) go in; for every target, seed and number ``n`` of target labels, every
method is fitted and scored on held-out labelled target rows:

- the labelled target rows are shuffled once per seed (in an order whose every prefix keeps
  the class proportions, for classification); the first ``n`` are the training labels and
  every row after the first ``max(sizes)`` is the test set, so the test set is the same for
  every ``n`` of a seed and the training sets are nested (a smooth learning curve);
- the other target rows (the test rows and any unlabelled ones) are passed as *unlabelled*
  target rows: their features, never their labels, are what a weighter learns from;
- the preprocessing (imputation, scaling, one-hot) is fitted on the source rows alone, so
  the source models are fitted once per command and no target row leaks into it; a text
  column with nearly one value per row (an ID) is dropped, and any other text column keeps
  its ``MAX_CATEGORIES - 1`` commonest values (the rest share one column), so the width of
  the encoded table never grows with the number of rows;
- every setting a method chooses is chosen by cross-validation on the ``n`` training labels
  only (3-fold; :class:`~skxfer.model_selection.TargetKFold` for the methods that also see
  source rows).
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, log_loss, make_scorer, r2_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from skxfer.model_selection import TargetKFold
from skxfer.reweight import (
    DiscriminativeWeighter,
    ImportanceWeightedClassifier,
    ImportanceWeightedRegressor,
)
from skxfer.warm_start import (
    PooledTransfer,
    TransferLogisticRegression,
    TransferRidge,
)

#: Rows of the table that use no transfer: the verdict compares transfer against them.
BASELINES = ("target only", "source only", "source only (xgb)")
#: Most one-hot columns of one text column: its commonest values, and one for all the others.
MAX_CATEGORIES = 30
#: A text column with more distinct values than this share of its source rows is an ID.
ID_SHARE = 0.9


@dataclass
class Comparison:
    """Scores of every method on every target: ``scores[target][method]`` has shape
    ``(len(sizes), len(seeds))``."""

    task: str
    metric: str
    sizes: list
    seeds: list
    methods: list
    scores: dict
    targets: dict = field(default_factory=dict)  # name -> (n_labelled, n_unlabelled, n_test)
    majority: dict = field(default_factory=dict)  # name -> share of the commonest test class
    n_source: int = 0
    notes: list = field(default_factory=list)

    def mean(self, target, method):
        return np.asarray(self.scores[target][method]).mean(axis=1)


def compare(
    X_source, y_source, targets, *, task, sizes, seeds, fast=False, progress=True, desc="fits"
):
    """Fit and score every method on every target; return a :class:`Comparison`.

    Parameters
    ----------
    X_source : DataFrame
        Source rows; numeric columns are imputed (median) and scaled, the others imputed
        ("missing") and one-hot encoded.
    y_source : ndarray
        Source labels, all present (class codes ``0..k-1`` or floats).
    targets : dict
        ``name -> (X_target, y_target)``; ``y_target`` holds -1 (classification) or NaN
        (regression) on unlabelled rows.
    task : {"classification", "regression"}
    sizes : list of int
        Numbers of target labels to train on, ascending.
    seeds : list of int
        One shuffle of the target rows per seed.
    fast : bool
        Smaller grids and fewer trees.
    """
    classification = task == "classification"
    ids = id_like_columns(X_source)
    preprocess = make_preprocessor(X_source.drop(columns=list(ids)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Xs = preprocess.fit_transform(X_source).astype(float)
    ys = np.asarray(y_source)
    methods = _methods(classification)
    sources = _fit_sources(Xs, ys, classification, fast)
    result = Comparison(
        task=task,
        metric="accuracy" if classification else "R^2",
        sizes=list(sizes),
        seeds=list(seeds),
        methods=[m for m in methods if "source only (xgb)" in sources or m not in _NEEDS_XGB],
        scores={},
        n_source=len(ys),
    )
    result.notes += [
        f"column {column!r} dropped: {distinct} distinct values in {rows} source rows, nearly "
        "one per row (an ID?); one-hot encoded, it would teach nothing that carries to the target."
        for column, (distinct, rows) in ids.items()
    ]
    result.notes += _capped_notes(preprocess)
    if "source only (xgb)" not in sources:
        result.notes.append(
            "XGBoost rows skipped: xgboost is not installed (pip install 'skxfer[demo]')."
        )
    encoded = {}
    for name, (X_target, y_target) in targets.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoded[name] = (preprocess.transform(X_target).astype(float), np.asarray(y_target))
        labelled = _labelled(encoded[name][1], classification)
        n_lab = int(labelled.sum())
        result.targets[name] = (n_lab, int(len(labelled) - n_lab), n_lab - max(sizes))
        result.scores[name] = {m: np.full((len(sizes), len(seeds)), np.nan) for m in result.methods}
        if classification:
            result.majority[name] = []
    cells = [(name, j, seed) for name in targets for j, seed in enumerate(seeds)]
    bar = _progress(len(cells) * len(sizes), progress, desc)
    # These fits are small: BLAS threads only add spin-waits (20x slower on a busy machine).
    with threadpool_limits(limits=1):
        for name, j, seed in cells:
            Xt, yt = encoded[name]
            if classification:
                result.majority[name].append(_majority_share(Xt, yt, sizes, seed))
            for method, i, score in _run_cell(
                Xs, ys, Xt, yt, sizes, seed, sources, result.methods, classification, fast, bar
            ):
                result.scores[name][method][i, j] = score
    if bar is not None:
        bar.close()
    return result


def id_like_columns(X):
    """``{column: (distinct values, rows)}`` of the text columns of ``X`` that hold nearly one
    distinct value per row: more than ``ID_SHARE`` of their non-missing rows and more than
    ``MAX_CATEGORIES``. One-hot encoded, such a column (an ID, a free-text comment) is as wide
    as the table and every column of it is one row, seen in no other domain."""
    found = {}
    for column in X.columns:
        if _is_numeric(X[column]):
            continue
        values = X[column].dropna()
        distinct = int(values.astype(str).nunique())
        if distinct > MAX_CATEGORIES and distinct > ID_SHARE * len(values):
            found[column] = (distinct, len(values))
    return found


def make_preprocessor(X):
    """Median-impute and scale the numeric columns of ``X``, with a 0/1 missing indicator
    per numeric column; impute "missing" and one-hot encode the other columns, at most
    ``MAX_CATEGORIES`` columns each (the commonest values, and one column for the rest).

    Only the columns of ``X`` are encoded: any other column of a table it transforms is
    left out."""
    numeric = [c for c in X.columns if _is_numeric(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    steps = []
    if numeric:
        scaled = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        steps.append(("numeric", scaled, numeric))
        # Unscaled and for every column: a source column that is almost never missing would
        # otherwise scale its indicator to +-10 on a target where it is often missing.
        steps.append(("missing", MissingIndicator(features="all"), numeric))
    if categorical:
        encoded = make_pipeline(
            FunctionTransformer(_as_text, feature_names_out="one-to-one"),
            SimpleImputer(strategy="constant", fill_value="missing"),
            # sparse until the cap is applied: dense, a column of 1M distinct values would
            # take terabytes before any value was dropped
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=MAX_CATEGORIES,
                sparse_output=True,
            ),
        )
        steps.append(("categorical", encoded, categorical))
    # every method gets a dense array: the cap bounds its width by the number of columns
    return ColumnTransformer(steps, sparse_threshold=0)


def _capped_notes(preprocess):
    """One note per text column whose rarer values share one column."""
    if "categorical" not in preprocess.named_transformers_:
        return []
    _, _, columns = next(s for s in preprocess.transformers_ if s[0] == "categorical")
    encoder = preprocess.named_transformers_["categorical"][-1]
    notes = []
    for column, values, rare in zip(columns, encoder.categories_, encoder.infrequent_categories_):
        if rare is None:
            continue
        kept = len(values) - len(rare)
        notes.append(
            f"column {column!r}: {len(values)} distinct values in the source; the {kept} "
            f"commonest are one-hot encoded and the other {len(rare)} share one column."
        )
    return notes


def _as_text(X):
    """Categories as text, missing values kept: a column of booleans and blanks, or of
    numbers and words, would otherwise mix types that the encoder cannot sort."""
    import pandas as pd

    values = np.asarray(X, dtype=object)
    missing = pd.isna(values)
    out = values.astype(str).astype(object)
    out[missing] = np.nan
    return out


def _is_numeric(column):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _labelled(y, classification):
    if classification:
        return y != -1
    return ~np.isnan(y.astype(float))


# ----------------------------------------------------------------------------------------------
# methods

_NEEDS_XGB = ("source only (xgb)", "xgb warm start")


def _methods(classification):
    linear = "transfer logistic" if classification else "transfer ridge"
    return [
        "target only",
        "source only",
        "source only (xgb)",
        "pooled",
        "reweighted",
        linear,
        "xgb warm start",
    ]


def _fit_sources(Xs, ys, classification, fast):
    """The models fitted on the source rows alone: once per command."""
    sources = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear = LogisticRegression(max_iter=2000) if classification else Ridge()
        sources["source only"] = linear.fit(Xs, ys)
        try:
            import xgboost as xgb
        except ImportError:
            return sources
        cls = xgb.XGBClassifier if classification else xgb.XGBRegressor
        trees = cls(
            n_estimators=50 if fast else 100,
            max_depth=3,
            learning_rate=0.1,
            n_jobs=1,
            random_state=0,
        )
        sources["source only (xgb)"] = trees.fit(Xs, ys)
    return sources


def _run_cell(Xs, ys, Xt, yt, sizes, seed, sources, methods, classification, fast, bar):
    """Yield ``(method, size index, score)`` for one target and one seed."""
    labelled = np.flatnonzero(_labelled(yt, classification))
    order = labelled[_label_order(yt[labelled], seed, classification)]
    test = order[max(sizes) :]
    X_test, y_test = Xt[test], yt[test]
    score = accuracy_score if classification else r2_score
    mask = -1 if classification else np.nan
    for method in ("source only", "source only (xgb)"):
        if method in methods:
            value = score(y_test, sources[method].predict(X_test))
            for i in range(len(sizes)):
                yield method, i, value
    for i, n in enumerate(sizes):
        train = order[:n]
        y_target = np.full(len(yt), mask, dtype=int if classification else float)
        y_target[train] = yt[train]
        X = np.vstack([Xs, Xt])
        y = np.concatenate([ys, y_target])
        domain = np.concatenate([np.ones(len(ys), int), -np.ones(len(yt), int)])
        fitters = _fitters(classification, fast, sources, seed)
        for method in methods:
            if method not in fitters:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = fitters[method](X, y, domain, Xt[train], yt[train])
                yield method, i, score(y_test, model.predict(X_test))
        if bar is not None:
            bar.update()


def _fitters(classification, fast, sources, seed):
    """``method -> fit(X, y, domain, X_train, y_train)`` returning a fitted model."""
    folds = 3
    scoring = _scoring(classification, sources["source only"].classes_ if classification else None)

    def target_cv():
        return TargetKFold(folds, shuffle=True, random_state=seed)

    def search_packed(estimator, grid, X, y, domain):
        search = GridSearchCV(estimator, grid, cv=target_cv(), scoring=scoring)
        try:
            return search.fit(X, y, groups=domain, sample_domain=domain)
        except ValueError:
            # every candidate failed on some fold (a fold with one class): the first setting
            first = grid[0] if isinstance(grid, list) else grid
            return (
                clone(estimator)
                .set_params(**{k: v[0] for k, v in first.items()})
                .fit(X, y, sample_domain=domain)
            )

    def target_only(X, y, domain, X_train, y_train):
        if classification:
            if len(np.unique(y_train)) < 2:
                return DummyClassifier(strategy="most_frequent").fit(X_train, y_train)
            grid = {"C": [0.01, 0.1, 1.0, 10.0]}
            model = LogisticRegression(max_iter=2000)
            _, counts = np.unique(y_train, return_counts=True)
            splitter = StratifiedKFold if counts.min() >= folds else KFold
        else:
            if len(y_train) < folds:
                return DummyRegressor().fit(X_train, y_train)
            grid = {"alpha": [0.1, 1.0, 10.0, 100.0]}
            model = Ridge()
            splitter = KFold
        cv = splitter(folds, shuffle=True, random_state=seed)
        search = GridSearchCV(model, grid, cv=cv, scoring=scoring)
        try:
            return search.fit(X_train, y_train)
        except ValueError:
            return model.fit(X_train, y_train)

    def pooled(X, y, domain, X_train, y_train):
        base = LogisticRegression(max_iter=2000) if classification else Ridge()
        grid = {"target_weight": [1.0, 10.0, "balanced"]}
        return search_packed(PooledTransfer(base), grid, X, y, domain)

    def reweighted(X, y, domain, X_train, y_train):
        meta = ImportanceWeightedClassifier if classification else ImportanceWeightedRegressor
        base = LogisticRegression(max_iter=2000) if classification else Ridge()
        model = meta(base, DiscriminativeWeighter(random_state=seed))
        return search_packed(model, {"target_weight": [1.0, 10.0]}, X, y, domain)

    def transfer_linear(X, y, domain, X_train, y_train):
        source = FrozenEstimator(sources["source only"])
        if not classification:
            return TransferRidge(source, alpha="auto").fit(X, y, sample_domain=domain)
        # With and without a first fitted offset ("bias": a shifted base rate is the
        # commonest change between domains); each picks alpha by its own 3-fold CV on the
        # target labels (the same folds), and the lower CV log-loss wins.
        fits = [
            TransferLogisticRegression(
                source,
                alpha="auto",
                alphas=np.logspace(-2, 3, 6 if fast else 11),
                cv=folds,
                recalibrate=recalibrate,
                tol=1e-6,
            ).fit(X, y, sample_domain=domain)
            for recalibrate in (None, "bias")
        ]
        return min(fits, key=lambda model: np.min(model.cv_loss_))

    def xgb_warm_start(X, y, domain, X_train, y_train):
        from skxfer.warm_start import XGBTransferClassifier, XGBTransferRegressor

        cls = XGBTransferClassifier if classification else XGBTransferRegressor
        model = cls(
            FrozenEstimator(sources["source only (xgb)"]),
            strategy="refresh",
            random_state=seed,
            n_jobs=1,
        )
        # the source's leaves re-estimated (pulled toward their source values by tau), or
        # only its margin shifted by one fitted offset
        grid = [
            {"strategy": ["refresh"], "tau": [100.0, 10.0] if fast else [100.0, 10.0, 1.0]},
            {"strategy": ["continue"], "recalibrate": ["bias"], "n_estimators": [0]},
        ]
        return search_packed(model, grid, X, y, domain)

    fitters = {
        "target only": target_only,
        "pooled": pooled,
        "reweighted": reweighted,
        "transfer logistic" if classification else "transfer ridge": transfer_linear,
    }
    if "source only (xgb)" in sources:
        fitters["xgb warm start"] = xgb_warm_start
    return fitters


def _scoring(classification, classes):
    if not classification:
        return "neg_mean_squared_error"
    # log-loss rather than accuracy: on a handful of labels accuracy ties most settings; the
    # labels are given because a fold of a few rows often holds one class only
    return make_scorer(
        log_loss, greater_is_better=False, response_method="predict_proba", labels=classes
    )


def _majority_share(Xt, yt, sizes, seed):
    labelled = np.flatnonzero(_labelled(yt, True))
    test = labelled[_label_order(yt[labelled], seed, True)][max(sizes) :]
    return float(np.bincount(yt[test]).max() / len(test))


def _label_order(y, seed, classification):
    """A random order of the labelled target rows whose every prefix keeps the class
    proportions (for classification), so that a few labels still show every common class."""
    rng = np.random.RandomState(seed)
    perm = rng.permutation(len(y))
    if not classification:
        return perm
    key = np.empty(len(y))
    for cls in np.unique(y):
        members = perm[y[perm] == cls]
        # the k-th row of a class of size m sits at (k + u) / m along the order
        key[members] = (np.arange(len(members)) + rng.uniform(size=len(members))) / len(members)
    return perm[np.argsort(key[perm], kind="stable")]


def _progress(total, enabled, desc):
    """A tqdm bar on stderr, or None (disabled, or tqdm not installed)."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False, unit="run")
