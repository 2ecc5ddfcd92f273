"""Which rows a warm-start estimator fits its source model and its target model on."""

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_array, column_or_1d

from skxfer._domain import domain_masks, warn_no_transfer


@dataclass
class TransferRows:
    """Validated ``y`` and ``sample_weight`` with the rows each stage fits on.

    Attributes
    ----------
    y : ndarray of shape (n_samples,)
        Labels as given (masked target rows keep their mask value).
    sample_weight : ndarray of shape (n_samples,)
        The user's weights, ones when none were given.
    source : ndarray of bool
        Labelled source rows with a positive weight; empty without ``sample_domain``.
    target : ndarray of bool
        Labelled target rows with a positive weight; every such row without ``sample_domain``.
    has_domains : bool
        Whether ``sample_domain`` was given.
    """

    y: np.ndarray
    sample_weight: np.ndarray
    source: np.ndarray
    target: np.ndarray
    has_domains: bool


def transfer_rows(estimator, X, y, sample_weight, sample_domain, *, classifier, has_source):
    """Split validated rows into the source rows and the labelled target rows.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted (named in error messages).
    X : ndarray or DataFrame
        Already validated rows (only its length is read).
    y, sample_weight, sample_domain : array-like or None
        As passed to ``fit``.
    classifier : bool
        Whether ``y`` holds class labels.
    has_source : bool
        Whether ``estimator`` was given a ``source_model``. Without one, the source model is
        fitted on the source rows, so ``sample_domain`` must mark some.

    Returns
    -------
    TransferRows
    """
    name = type(estimator).__name__
    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None. Pass the labels of "
            "the labelled target rows (and of the source rows when there is no source_model)."
        )
    y = column_or_1d(y, warn=True)
    n_samples = X.shape[0]
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} rows but X has {n_samples}; pass one label per row.")
    sample_weight = _check_sample_weight(
        sample_weight, np.empty((n_samples, 0)), dtype=np.float64, ensure_non_negative=True
    )
    has_domains = sample_domain is not None
    masks = domain_masks(
        y, sample_domain, n_samples, require_source=not has_source, require_target=True
    )
    positive = sample_weight > 0
    if has_domains:
        source = masks.source & positive
        target = masks.labelled_target & positive
        if not target.any():
            raise ValueError(
                f"{name} fits on labelled target rows, but sample_domain marks "
                f"{int(masks.target.sum())} target row(s) and none has a label with a positive "
                "sample_weight. Label a few target rows; for an unlabelled target use "
                "skxfer.reweight instead."
            )
        if not has_source and not source.any():
            raise ValueError(
                f"sample_weight is 0 on every source row, so {name} has nothing to fit its "
                "source model on; give the source rows a positive weight or pass source_model."
            )
    else:
        if not has_source:
            warn_no_transfer(
                estimator, "every row is target data (and there is no source_model to start from)"
            )
        source = np.zeros(n_samples, dtype=bool)
        target = positive.copy()
        if not target.any():
            raise ValueError(
                f"sample_weight is 0 on every row, so {name} has nothing to fit; give some "
                "rows a positive weight."
            )
    if classifier:
        labelled = check_array(y[source | target], ensure_2d=False, dtype=None, input_name="y")
        check_classification_targets(labelled)
    else:
        bad = ~np.isfinite(np.asarray(y[source | target], dtype=np.float64))
        if bad.any():
            raise ValueError(
                f"y holds NaN or infinity on {int(bad.sum())} labelled row(s); {name} needs a "
                "finite target on every source row and every labelled target row."
            )
    return TransferRows(y, sample_weight, source, target, has_domains)


def check_target_classes(name, target_labels, classes):
    """Raise when the target holds a class the source model does not know.

    A target missing some source classes is fine (the model keeps predicting all of them);
    a new class cannot be learnt by a model whose output has one column per source class,
    and switching a binary model to multiclass silently would change what it predicts.
    """
    unknown = np.setdiff1d(np.unique(target_labels), classes)
    if len(unknown):
        raise ValueError(
            f"The labelled target rows hold class(es) {unknown.tolist()} that the source model "
            f"does not predict (its classes are {np.asarray(classes).tolist()}). {name} keeps "
            "the source model's classes; drop those rows, or fit the source on data that has "
            "these classes."
        )


def source_classes(name, y, fitted_on, target):
    """Classes of a source model fitted here: those of the rows it is fitted on, at least two;
    a labelled target class outside them raises (see :func:`check_target_classes`)."""
    classes = np.unique(y[fitted_on])
    if len(classes) < 2:
        raise ValueError(
            f"y has only one class ({classes[0]!r}) among the rows the source model is fitted "
            f"on; {name} needs at least two classes to fit it."
        )
    check_target_classes(name, y[target], classes)
    return classes


def label_codes(classes, labels):
    """Position of each label in ``classes``, which need not be sorted (a CatBoost model keeps
    the order of its ``class_names``)."""
    order = np.argsort(classes)
    return order[np.searchsorted(classes, labels, sorter=order)]


def target_folds(cv, labels, *, classifier, seed):
    """``(train, test)`` index pairs over the labelled target rows, or None when fewer than
    two rows leave nothing to cross-validate.

    An integer (None: 5) gives that many shuffled folds seeded with ``seed``, stratified when
    every class has a row in each fold (a rare class would otherwise make StratifiedKFold warn
    or fail on a few hundred rows). A splitter or an iterable of pairs is used as given.
    """
    n_rows = len(labels)
    if cv is None or isinstance(cv, Integral):
        n_splits = min(5 if cv is None else int(cv), n_rows)
        if n_splits < 2:
            return None
        _, counts = np.unique(labels, return_counts=True)
        if classifier and len(counts) > 1 and counts.min() >= n_splits:
            splitter = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
        else:
            splitter = KFold(n_splits, shuffle=True, random_state=seed)
    else:
        splitter = check_cv(cv, labels, classifier=classifier)
    pairs = splitter.split(np.zeros((n_rows, 1)), labels)
    return [(np.asarray(train), np.asarray(test)) for train, test in pairs]
