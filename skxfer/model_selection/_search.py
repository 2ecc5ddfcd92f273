"""What the domain-aware searches share: folds, fits and scores on the labelled target rows.

:class:`~skxfer.model_selection.AveragedSearchCV`, :class:`~skxfer.model_selection.TransferOrTarget`
and :func:`~skxfer.model_selection.transfer_curve` all fit candidates on source and target rows
and judge them on labelled target rows. These helpers hold the rules they share: which folds
``cv=None`` means, how ``sample_domain`` reaches a splitter, how a candidate that does or does
not consume ``sample_domain`` is fitted, and how a log-loss is scored on folds that may hold one
class only.
"""

import inspect
from numbers import Integral

import numpy as np
from sklearn import config_context, get_config
from sklearn.base import is_classifier
from sklearn.dummy import DummyClassifier
from sklearn.metrics import log_loss, make_scorer
from sklearn.utils import _safe_indexing
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import has_fit_parameter

from skxfer.model_selection._split import TargetKFold


def domain_cv(cv, sample_domain, *, default=5, shuffle=False, random_state=None):
    """The splitter a search uses: ``cv`` as given, except that with ``sample_domain``
    ``None`` and an integer k mean :class:`TargetKFold` (``default`` folds for ``None``), so
    every fold keeps the source rows and is scored on labelled target rows."""
    if sample_domain is not None and (cv is None or isinstance(cv, Integral)):
        n_splits = default if cv is None else cv
        if not shuffle:
            return TargetKFold(n_splits)
        return TargetKFold(n_splits, shuffle=True, random_state=random_state)
    return default if cv is None else cv


def reads_sample_domain(cv):
    """Whether the splitter ``cv`` takes ``sample_domain`` in its ``split``."""
    split = getattr(cv, "split", None)
    if split is None:
        return False
    return "sample_domain" in inspect.signature(split).parameters


def split_groups(cv, groups, sample_domain):
    """``groups`` for ``cv.split``: ``sample_domain`` itself when routing is off and the
    splitter reads it (scikit-learn then hands a splitter ``groups`` only)."""
    if groups is None and reads_sample_domain(cv):
        return None if get_config()["enable_metadata_routing"] else sample_domain
    return groups


def check_fit_params(estimator, owner, *, sample_weight=None, sample_domain=None):
    """The fit parameters every candidate of ``owner``'s search gets; refuses a
    ``sample_domain`` that ``estimator`` would ignore."""
    params = {}
    if sample_weight is not None:
        params["sample_weight"] = sample_weight
    if sample_domain is not None:
        if not consumes_sample_domain(estimator):
            raise TypeError(
                f"sample_domain was given, but {type(estimator).__name__}.fit does not take "
                f"it, so {owner} would fit it on the source and target rows alike. Use a "
                "transfer estimator (skxfer.warm_start, skxfer.reweight, PooledTransfer), "
                "or fit on the target rows without sample_domain."
            )
        params["sample_domain"] = sample_domain
    return params


def consumes_sample_domain(estimator):
    """Whether ``estimator.fit`` uses ``sample_domain``: it takes the argument, or (a
    Pipeline, a search) routes it to a step that requests it."""
    if has_fit_parameter(estimator, "sample_domain"):
        return True
    try:
        return get_routing_for_object(estimator).consumes("fit", ["sample_domain"])
    except Exception:  # objects without routing information consume nothing
        return False


def fit_with_domains(estimator, X, y, sample_domain, **params):
    """Fit a transfer ``estimator`` on every row, ``sample_domain`` routed to the steps and
    splitters that request it (routing is on for this call only: a Pipeline or a search
    cannot route it with routing off)."""
    if has_fit_parameter(estimator, "sample_domain"):
        return estimator.fit(X, y, sample_domain=sample_domain, **params)
    with config_context(enable_metadata_routing=True):
        return estimator.fit(X, y, sample_domain=sample_domain, **params)


def fit_on_rows(estimator, X, y, rows, *, sample_weight=None):
    """Fit ``estimator`` on ``rows`` of ``(X, y)``. A classifier whose rows hold one class
    gets a prior-probability model of that class instead (most classifiers refuse to fit
    one class, and a fold of a few target labels often holds one)."""
    X_rows = _safe_indexing(X, rows)
    y_rows = np.asarray(y)[rows]
    params = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)[rows]}
    if is_classifier(estimator) and len(np.unique(y_rows)) < 2:
        return DummyClassifier(strategy="prior").fit(X_rows, y_rows, **params)
    return estimator.fit(X_rows, y_rows, **params)


def log_loss_scorer(labels):
    """``neg_log_loss`` told every class, so a fold holding one class is scored, not failed."""
    return make_scorer(
        log_loss, greater_is_better=False, response_method="predict_proba", labels=labels
    )
