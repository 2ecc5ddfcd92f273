"""Pick the candidate that changes the source least among those the CV cannot tell apart."""

import numpy as np


def least_change_refit(order_by, *, n_se=1.0):
    """Make a ``GridSearchCV(refit=...)`` rule that prefers the setting closest to the source.

    With a few dozen labelled target rows, cross-validation scores are noisy and the best
    mean score often belongs to a setting that fits the noise (a small ``tau``, a small
    ``alpha``, many added trees). The one-standard-error rule (Breiman et al. 1984) guards
    against that: among the candidates whose mean score is within ``n_se`` standard errors
    of the best, it takes the one that moves least from the source model. As more target
    labels arrive the standard errors shrink and the choice moves toward the best score.

    Parameters
    ----------
    order_by : str or callable
        How close a candidate stays to the source (smaller first). A parameter name sorts
        by that parameter ascending, ``"-name"`` descending (e.g. ``"-alpha"`` or ``"-tau"``:
        the strongest pull first); a callable receives a candidate's parameter dict and
        returns a sort key.
    n_se : float, default=1.0
        Width of the tie band, in standard errors of the best candidate's mean score
        (``std_test_score / sqrt(n_splits)``). ``0`` is the plain best score.

    Returns
    -------
    refit : callable
        ``refit(cv_results) -> best_index``, for ``GridSearchCV(..., refit=refit)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skxfer.model_selection import least_change_refit
    >>> from skxfer.warm_start import TransferRidge
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(12, 3))
    >>> y = X @ [1.0, 2.0, 0.0] + rng.normal(size=12)
    >>> search = GridSearchCV(
    ...     TransferRidge(source_model=np.array([1.0, 2.0, 0.0])),
    ...     {"alpha": [0.01, 1.0, 100.0]},
    ...     refit=least_change_refit("-alpha"),
    ...     cv=3,
    ... ).fit(X, y)
    >>> search.best_params_
    {'alpha': 100.0}
    """
    if isinstance(order_by, str):
        name, sign = (order_by[1:], -1.0) if order_by.startswith("-") else (order_by, 1.0)

        def key(params):
            return sign * params[name]

    elif callable(order_by):
        key = order_by
    else:
        raise TypeError(
            f"order_by must be a parameter name (e.g. '-alpha') or a callable taking a "
            f"candidate's parameters; got {type(order_by).__name__}."
        )
    if not np.isfinite(n_se) or n_se < 0:
        raise ValueError(f"n_se must be a finite number >= 0; got {n_se!r}.")

    def refit(cv_results):
        mean = np.asarray(cv_results["mean_test_score"], dtype=float)
        if not np.isfinite(mean).any():
            raise ValueError(
                "Every candidate's mean test score is NaN (each fit failed, or the scorer "
                "is undefined on these folds), so no candidate can be chosen."
            )
        splits = [k for k in cv_results if k.startswith("split") and k.endswith("_test_score")]
        best = int(np.nanargmax(mean))
        se = float(cv_results["std_test_score"][best]) / np.sqrt(max(len(splits), 1))
        close = np.flatnonzero(mean >= mean[best] - n_se * se)
        params = cv_results["params"]
        return int(min(close, key=lambda i: (key(params[i]), -mean[i])))

    return refit
