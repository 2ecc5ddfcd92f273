"""Shared machinery of the TrAdaBoost estimators: input checks, seeding and the R2 boosting loop.

The classifier and the two regressors read ``X, y, sample_weight, sample_domain`` the same
way (:func:`validate_boosting_input`), clone and seed their base estimator the same way
(:func:`check_base_estimator`, :func:`fit_seeded`), and the regressors share the AdaBoost.R2
loop (:func:`boost_r2`) in its TrAdaBoost.R2 and its frozen-source (AdaBoost.R2') forms.
"""

import math
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from skxfer._domain import domain_masks, warn_no_transfer
from skxfer.utils._docstrings import fill_doc

# Docstring text the TrAdaBoost estimators share, written once and filled into each.
boosting_docstring = fill_doc(
    {
        "n_estimators": """\
n_estimators : int, default=50
    Number of boosting rounds ``N`` (fewer when boosting stops early). It also sets the
    source factor ``beta``.""",
        "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds the ``random_state`` of the base estimator in every round.""",
        "fit_X": """\
X : {array-like, sparse matrix} of shape (n_samples, n_features)
    Source and target rows, stacked (see :func:`skxfer.pack`).""",
        "fit_y_regression": """\
y : array-like of shape (n_samples,)
    Targets; unlabelled target rows hold NaN and are not used.""",
        "fit_sample_weight": """\
sample_weight : array-like of shape (n_samples,), default=None
    Multiplies the initial (uniform) boosting weights. A row with weight 0 is the
    same as a row left out.""",
    }
)

# Boosting weights are kept above this floor so that a base learner never sees a row whose
# weight underflowed to zero by accident (scikit-learn's AdaBoost does the same, #20320).
WEIGHT_EPS = np.finfo(np.float64).eps


@dataclass
class BoostingData:
    """The rows a boosting estimator trains on, after validation.

    Attributes
    ----------
    X, y : the labelled rows with positive ``sample_weight`` (y encoded 0..K-1 for classifiers).
    weights : their ``sample_weight``, the initial boosting weights.
    total_weight : the sum of ``weights``. The boosting weights are kept at this total, so
        the base estimators' regularisation sees the scale the user gave.
    source : bool mask of source rows among them.
    keep : bool mask over the rows given to ``fit`` that selects them.
    classes : the class labels (classifiers), else None.
    transfer : whether ``sample_domain`` was given.
    """

    X: object
    y: np.ndarray
    weights: np.ndarray
    total_weight: float
    source: np.ndarray
    keep: np.ndarray
    classes: np.ndarray | None
    transfer: bool

    @property
    def target(self):
        return ~self.source


def validate_boosting_input(estimator, X, y, sample_weight, sample_domain, *, classifier):
    """Validate the input of a boosting ``fit`` and keep the rows it trains on.

    Source rows (``sample_domain >= 1``) and labelled target rows (``<= -1``) are kept;
    unlabelled target rows and rows with ``sample_weight == 0`` are dropped, so that a zero
    weight is the same as leaving the row out. Without ``sample_domain`` every row is target
    data and a :class:`~skxfer.utils.NoTransferWarning` says that nothing is transferred.
    """
    name = type(estimator).__name__
    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None. Pass the labels of "
            "the source rows and of the labelled target rows."
        )
    _reject_strings(X)
    X = validate_data(
        estimator, X, reset=True, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32]
    )
    y = column_or_1d(y, warn=True)
    check_consistent_length(X, y)
    n_samples = X.shape[0]
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    transfer = sample_domain is not None
    masks = domain_masks(y, sample_domain, n_samples)
    if transfer:
        source_rows = masks.source
        if not masks.labelled_target.any():
            raise ValueError(
                f"{name} needs labelled target rows, but sample_domain marks "
                f"{int(masks.target.sum())} target row(s) and none has a label (all are the "
                "mask value -1 or NaN). Label a few target rows: TrAdaBoost weighs the source "
                "by how its models predict them. For an unlabelled target, use a density-ratio "
                "weighter such as skxfer.reweight.KMMWeighter instead."
            )
    else:
        warn_no_transfer(estimator, "every row is target data and it fits plain AdaBoost")
        source_rows = np.zeros(n_samples, dtype=bool)
    keep = masks.labelled & (sample_weight > 0)
    if not keep.any():
        raise ValueError(
            f"sample_weight is 0 on every labelled row, so {name} has nothing to fit; give "
            "some rows a positive weight."
        )
    if transfer and not (keep & ~source_rows).any():
        raise ValueError(
            f"sample_weight is 0 on every labelled target row, so {name} cannot measure its "
            "error on the target; give the labelled target rows a positive weight."
        )
    rows = np.flatnonzero(keep)
    X_kept, y_kept = X[rows], y[rows]
    classes = None
    if classifier:
        y_kept = check_array(y_kept, ensure_2d=False, dtype=None, input_name="y")
        check_classification_targets(y_kept)
        classes, y_kept = np.unique(y_kept, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y has only one class ({classes[0]}) among the labelled rows with positive "
                f"sample_weight; {name} needs at least two classes to fit a classifier."
            )
    else:
        y_kept = check_array(y_kept, ensure_2d=False, dtype=np.float64, input_name="y")
    weights = sample_weight[rows]
    total = float(weights.sum())
    return BoostingData(X_kept, y_kept, weights, total, source_rows[rows], keep, classes, transfer)


def check_base_estimator(estimator, default):
    """Clone ``estimator`` (or ``default`` when it is None) and check it takes sample_weight."""
    base = clone(default if estimator is None else estimator)
    if not has_fit_parameter(base, "sample_weight"):
        raise TypeError(
            f"estimator={type(base).__name__}() cannot be boosted: its fit does not accept "
            "sample_weight, which is how the boosting weights reach it. Pass an estimator "
            "whose fit takes sample_weight (e.g. a decision tree or a linear model)."
        )
    return base


def fit_seeded(template, X, y, weights, random_state):
    """Fit a clone of ``template`` with ``weights``, seeding every ``random_state`` it has.

    The seeds are drawn as scikit-learn's ensembles draw them, so a round is reproducible
    from the meta-estimator's ``random_state`` alone. ``weights`` should be on the scale of
    the user's ``sample_weight`` (1 per row by default), not normalised to sum 1: many
    estimators (e.g. LogisticRegression) balance their penalty against the summed weights.
    On the first round they are the user's weights exactly, so a weight of 2 and a repeated
    row fit the same model.
    """
    est = clone(template)
    seeds = {
        key: random_state.randint(np.iinfo(np.int32).max)
        for key in sorted(est.get_params(deep=True))
        if key == "random_state" or key.endswith("__random_state")
    }
    if seeds:
        est.set_params(**seeds)
    return est.fit(X, y, sample_weight=weights)


def vote_start(n_rounds):
    """First round (0-based) of TrAdaBoost's final vote: rounds ceil(N/2)..N of the paper."""
    return max(math.ceil(n_rounds / 2) - 1, 0)


def source_beta(n_source, n_estimators):
    """Dai et al.'s fixed source factor ``1 / (1 + sqrt(2 ln n / N))``."""
    if n_source <= 1:
        return 1.0
    return 1.0 / (1.0 + math.sqrt(2.0 * math.log(n_source) / n_estimators))


def adjusted_errors(y_pred, y, loss):
    """Pardoe and Stone's adjusted error: ``|y - h(x)|`` over its maximum, then the loss.

    Errors at rounding level (an exact fit) are zero: dividing them by their maximum would
    turn floating-point noise into errors of order 1.
    """
    err = np.abs(np.asarray(y_pred, dtype=np.float64).reshape(-1) - y)
    largest = err.max()
    if largest <= 1e-12 * max(float(np.abs(y).max()), 1.0):
        return np.zeros_like(err)
    err = err / largest
    if loss == "square":
        return err**2
    if loss == "exponential":
        return 1.0 - np.exp(-err)
    return err


@dataclass
class R2Result:
    """What :func:`boost_r2` fitted: estimators, their vote weights and errors, final weights."""

    estimators: list
    vote_weights: np.ndarray
    errors: np.ndarray
    weights: np.ndarray


def boost_r2(
    template,
    X,
    y,
    weights,
    source,
    *,
    total_weight,
    n_estimators,
    learning_rate,
    loss,
    random_state,
    mode,
):
    """Boost regressors with the TrAdaBoost.R2 or the AdaBoost.R2' (frozen source) rule.

    ``mode="transfer"`` (TrAdaBoost.R2) measures the round's error ``eps`` on the target
    rows, lowers source rows by Dai's factor ``beta ** e`` and raises target rows by
    ``beta_t ** -e``; the last half of the rounds vote. ``mode="frozen_source"``
    (AdaBoost.R2', the second stage of the two-stage algorithm) measures ``eps`` on all the
    rows as AdaBoost.R2 does, keeps every source weight and the target's total weight, and
    redistributes the target weight as AdaBoost.R2 would; every round votes. Without source
    rows both are plain AdaBoost.R2. As in the papers, boosting stops at the first round
    with ``eps >= 0.5`` (dropped, unless it is the first). A round with ``eps == 0`` ends the
    boosting and predicts alone: its vote weight ``log(1 / beta_t)`` is infinite.

    Rows whose weight is 0 (e.g. the source at the last two-stage step) are left out. The
    weights are kept at the sum ``total_weight``; the returned ones sum to 1.
    """
    active = np.flatnonzero(weights > 0)
    X, y, source = X[active], y[active], source[active]
    target = ~source
    w = weights[active]
    if w.sum() != total_weight:
        w = w * (total_weight / w.sum())
    floor = WEIGHT_EPS * total_weight
    beta_source = source_beta(int(source.sum()), n_estimators)
    estimators, alphas, errors = [], [], []
    perfect = False
    for iboost in range(n_estimators):
        w = np.maximum(w, floor)
        est = fit_seeded(template, X, y, w, random_state)
        e = adjusted_errors(est.predict(X), y, loss)
        if mode == "transfer":
            error = float(np.average(e[target], weights=w[target]))
        else:
            error = float(np.average(e, weights=w))
        if error >= 0.5 and estimators:
            break  # the paper stops and drops this round; the first one is kept alone
        estimators.append(est)
        errors.append(error)
        if error <= 0 or error >= 0.5:
            perfect = error <= 0
            alphas.append(1.0)
            break
        beta = error / (1.0 - error)
        alphas.append(learning_rate * math.log(1.0 / beta))
        if iboost == n_estimators - 1:
            break
        target_total = w[target].sum()
        w[target] *= np.power(beta, -learning_rate * e[target])
        if mode == "transfer":
            w[source] *= np.power(beta_source, learning_rate * e[source])
        else:
            w[target] *= target_total / w[target].sum()
        w *= total_weight / w.sum()
    alphas = np.asarray(alphas)
    votes = vote_weights(alphas, perfect, last_half=mode == "transfer" and source.any())
    full = np.zeros(len(weights))
    full[active] = w / w.sum()
    return R2Result(estimators, votes, np.asarray(errors), full)


def vote_weights(alphas, perfect, *, last_half):
    """Vote weight of every round: ``alphas`` on the voting rounds, 0 elsewhere.

    A perfect last round votes alone. When no voting round has a positive weight (they were
    all at chance), every earlier round votes with its ``alphas``, and failing that the last
    round votes alone.
    """
    votes = np.zeros_like(alphas)
    if perfect or len(alphas) == 1:
        votes[-1] = 1.0
        return votes
    start = vote_start(len(alphas)) if last_half else 0
    votes[start:] = alphas[start:]
    if votes.sum() <= 0:
        votes[:] = alphas
    if votes.sum() <= 0:
        votes[-1] = 1.0
    return votes


def weighted_median_predict(estimators, vote_weights, X):
    """Weighted median of the predictions of the estimators with a positive vote weight."""
    used = np.flatnonzero(vote_weights > 0)
    predictions = np.column_stack([estimators[i].predict(X) for i in used])
    weights = vote_weights[used]
    order = np.argsort(predictions, axis=1, kind="stable")
    cdf = np.cumsum(weights[order], axis=1)
    median_col = (cdf >= 0.5 * cdf[:, -1:]).argmax(axis=1)
    rows = np.arange(predictions.shape[0])
    return predictions[rows, order[rows, median_col]]


def default_regressor():
    """The base estimator of both TrAdaBoost regressors when ``estimator=None``."""
    return DecisionTreeRegressor(max_depth=3)


def _reject_strings(X):
    # The float conversion in validate_data would silently parse numeric strings as numbers.
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        odd = [col for col, dtype in X.dtypes.items() if getattr(dtype, "kind", "O") not in "biuf"]
        values = X[odd].to_numpy(dtype=object) if odd else np.empty(0, dtype=object)
    elif isinstance(X, np.ndarray):
        values = X
    elif isinstance(X, list | tuple):
        try:
            values = np.asarray(X, dtype=object)
        except ValueError:  # ragged rows: validate_data explains those
            return
    else:
        return
    if values.dtype.kind in "USV" or (
        values.dtype == object and any(isinstance(v, str | bytes) for v in values.ravel())
    ):
        raise TypeError(
            "X contains strings; TrAdaBoost's base estimators need numbers. Encode the text "
            "or categorical columns first (e.g. with OneHotEncoder)."
        )
