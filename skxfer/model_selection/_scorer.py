"""Importance-weighted validation: score on source rows weighted to look like the target."""

from collections import OrderedDict

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.metrics._scorer import _BaseScorer
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils._metadata_requests import (
    MetadataRequest,
    MethodMetadataRequest,
    _MetadataRequester,
    _routing_enabled,
)
from sklearn.utils.metadata_routing import get_routing_for_object

from skxfer._domain import domain_masks, is_masked

# Validation folds whose importance weights are remembered (weights are one float per row).
_CACHE_SIZE = 32


class ImportanceWeightedScorer(_MetadataRequester):
    """Score a model on source validation rows weighted by ``p_target(x) / p_source(x)``.

    Importance-weighted cross-validation (Sugiyama et al., 2007) estimates the target risk
    when no target row is labelled: the labelled *source* rows of a validation fold are
    scored with weights ``w(x) = p_target(x) / p_source(x)``, so rows that look like the
    target count more. Under covariate shift (only ``p(x)`` changes) the weighted score is an
    unbiased estimate of the target score, where the plain source score is not.

    The weights come from, in order of preference:

    1. the fitted weighter of the model being scored, when ``weighter`` is None and the
       model (or the last step of a Pipeline) is a fitted
       :class:`~skxfer.reweight.ImportanceWeightedClassifier` or
       :class:`~skxfer.reweight.ImportanceWeightedRegressor` whose weighter saw target rows:
       ``model.weighter_.compute_weights`` on the validation source rows (after the
       Pipeline's earlier steps);
    2. otherwise a clone of ``weighter`` (default
       :class:`~skxfer.reweight.DiscriminativeWeighter`) fitted on the validation fold's
       source rows against its target rows, on the raw ``X``. These weights depend only on
       the data, so every candidate of a grid search is judged with the same weights.

    Use it as ``scoring=`` of ``GridSearchCV`` / ``cross_validate`` with a plain ``KFold``
    over the stacked rows, so that every validation fold holds source and target rows.

    Parameters
    ----------
    scoring : str or callable, default="accuracy"
        The score to weight. A name accepted by :func:`sklearn.metrics.get_scorer` (its
        metric is called with ``sample_weight``; ``neg_*`` names keep their sign), a scorer
        from :func:`sklearn.metrics.make_scorer`, or a metric
        ``metric(y_true, y_pred, sample_weight=None)`` applied to ``estimator.predict``.
    weighter : weighter instance, default=None
        Estimates the density ratio when the model carries no fitted weighter. ``None``
        means the model's own weighter when it has one, else
        ``DiscriminativeWeighter()``. When given, it is always used (cloned and fitted on
        each validation fold).

    See Also
    --------
    TargetKFold : Validation on labelled target rows, when some exist.
    skxfer.reweight.domain_shift_report : Whether reweighting can help at all.

    Notes
    -----
    Called as ``scorer(estimator, X, y, sample_domain=None, sample_weight=None)``. Rows
    with ``sample_domain >= 1`` are source rows, ``<= -1`` target rows; only labelled
    source rows are scored (labelled target rows are better used with
    :class:`TargetKFold`). Without ``sample_domain`` the rows whose ``y`` is masked (-1 or
    NaN) are the target rows and every labelled row is a source row.

    With metadata routing on, the scorer requests ``sample_domain`` by default, so
    ``GridSearchCV(..., scoring=ImportanceWeightedScorer()).fit(X, y,
    sample_domain=sample_domain)`` hands each validation fold's ``sample_domain`` to it.
    With routing off scikit-learn passes no metadata to scorers, and the masked labels
    mark the target rows.

    With few labelled source rows per fold, or weights concentrated on a few rows (check
    :func:`~skxfer.reweight.domain_shift_report`), the weighted score has a high variance.

    References
    ----------
    .. [1] M. Sugiyama, M. Krauledat and K.-R. Müller, "Covariate shift adaptation by
       importance weighted cross validation", JMLR 8, 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.model_selection import ImportanceWeightedScorer
    >>> from skxfer.reweight import DiscriminativeWeighter
    >>> data = make_covariate_shift(300, 300, n_features=2, random_state=0)
    >>> source = data.sample_domain > 0
    >>> model = LogisticRegression().fit(data.X[source], data.y[source])
    >>> scorer = ImportanceWeightedScorer("accuracy", weighter=DiscriminativeWeighter())
    >>> score = scorer(model, data.X, data.y, sample_domain=data.sample_domain)
    >>> bool(0.0 <= score <= 1.0)
    True
    """

    __metadata_request__score = {"sample_domain": True}

    def __init__(self, scoring="accuracy", weighter=None):
        self.scoring = scoring
        self.weighter = weighter

    def __call__(self, estimator, X, y, sample_domain=None, sample_weight=None):
        """Importance-weighted score of ``estimator`` on the labelled source rows of ``X``.

        Parameters
        ----------
        estimator : fitted estimator
            The model to score.
        X : array-like of shape (n_samples, n_features)
            Validation rows, source and target stacked.
        y : array-like of shape (n_samples,)
            Labels, with unlabelled target rows masked (-1 or NaN).
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` source, ``<= -1`` target. Without it, masked rows are the target.
        sample_weight : array-like of shape (n_samples,), default=None
            Extra weights, multiplied with the importance weights.

        Returns
        -------
        score : float
            The score (greater is better) on the source rows, weighted by ``w(x)``.
        """
        score_fn = self._score_fn()
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        if y is None:
            raise ValueError(
                "ImportanceWeightedScorer needs y: it scores the labelled source rows."
            )
        y = np.asarray(y)
        source, target = _source_target(y, sample_domain, n_samples)
        if not source.any():
            raise ValueError(
                "ImportanceWeightedScorer found no labelled source row in this validation "
                "fold; use a KFold over the stacked rows so each fold holds source rows."
            )
        weights = self._weights(estimator, X, source, target)
        if sample_weight is not None:
            weights = weights * np.asarray(sample_weight, dtype=float)[source]
        if not np.sum(weights) > 0:
            raise ValueError(
                "Every validation source row got importance weight 0, so the weighted score "
                "is undefined: source and target barely overlap. Check with "
                "skxfer.reweight.domain_shift_report."
            )
        idx = np.flatnonzero(source)
        return score_fn(estimator, _safe_indexing(X, idx), y[idx], weights)

    def __repr__(self):
        return f"ImportanceWeightedScorer(scoring={self.scoring!r}, weighter={self.weighter!r})"

    def set_score_request(self, **kwargs):
        """Choose which metadata the scorer requests when metadata routing is on.

        Parameters
        ----------
        **kwargs : dict
            ``param=alias`` with alias ``True``, ``False``, ``None`` or a string, e.g.
            ``sample_domain=False`` to stop requesting ``sample_domain``.

        Returns
        -------
        self : ImportanceWeightedScorer
        """
        if not _routing_enabled():
            raise RuntimeError(
                "set_score_request is only available when metadata routing is enabled: "
                "sklearn.set_config(enable_metadata_routing=True)."
            )
        request = self._get_metadata_request()
        for param, alias in kwargs.items():
            request.score.add_request(param=param, alias=alias)
        self._metadata_request = request
        return self

    def _get_metadata_request(self):
        # Scorers are called, not asked for ``score``: read the defaults off ``__call__``.
        if hasattr(self, "_metadata_request"):
            return get_routing_for_object(self._metadata_request)
        request = MetadataRequest(owner=self)
        request.score = MethodMetadataRequest(
            owner=self,
            method="score",
            requests=self._get_class_level_metadata_request_values(
                "score", method=type(self).__call__, ignore_params={"estimator"}
            ),
        )
        return request

    def _accept_sample_weight(self):
        # GridSearchCV asks this (routing off) before forwarding fit's sample_weight.
        return True

    def _routing_repr(self):
        return repr(self)

    def _score_fn(self):
        """``fn(estimator, X, y, sample_weight) -> score`` for ``self.scoring``."""
        scoring = self.scoring
        if isinstance(scoring, str):
            scoring = get_scorer(scoring)
        if isinstance(scoring, _BaseScorer):
            if not scoring._accept_sample_weight():
                raise ValueError(
                    f"scoring={self.scoring!r} does not accept sample_weight, so it cannot be "
                    "importance-weighted; choose a metric that takes sample_weight."
                )
            return lambda est, X, y, w: scoring(est, X, y, sample_weight=w)
        if callable(scoring):
            return lambda est, X, y, w: scoring(y, est.predict(X), sample_weight=w)
        raise TypeError(
            "scoring must be a metric name (see sklearn.metrics.get_scorer_names()), a scorer "
            "from make_scorer, or a metric(y_true, y_pred, sample_weight=None); got "
            f"{type(self.scoring).__name__}."
        )

    def _weights(self, estimator, X, source, target):
        source_idx = np.flatnonzero(source)
        if self.weighter is None:
            head, final = _split_final_step(estimator)
            fitted = getattr(final, "weighter_", None)
            # A weighter fitted without target rows (no sample_domain) gives uniform weights.
            usable = hasattr(fitted, "compute_weights") and getattr(fitted, "n_target_", 1) > 0
            if usable:
                X_source = _safe_indexing(X, source_idx)
                if head is not None:
                    X_source = head.transform(X_source)
                return np.asarray(fitted.compute_weights(X_source), dtype=float)
        if not target.any():
            raise ValueError(
                "ImportanceWeightedScorer found no target row in this validation fold, so it "
                "cannot estimate importance weights. Use a KFold over the stacked source and "
                "target rows (each fold then holds target rows), pass sample_domain (metadata "
                "routing) or mask the target labels (-1 or NaN)."
            )
        rows = np.flatnonzero(source | target)
        X_rows = _safe_indexing(X, rows)
        fold_domain = np.where(source[rows], 1, -1)
        # A grid search scores every candidate on the same folds: fit the weighter once per
        # fold, which also judges every candidate with the same weights.
        key = joblib.hash((self.weighter, X_rows, fold_domain))
        cache = self.__dict__.setdefault("_weight_cache", OrderedDict())
        if key not in cache:
            weighter = self._make_weighter().fit(X_rows, sample_domain=fold_domain)
            cache[key] = np.asarray(weighter.sample_weight_, dtype=float)[source[rows]]
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
        return cache[key].copy()

    def _make_weighter(self):
        if self.weighter is not None:
            return clone(self.weighter)
        # model_selection may use the families; imported here to keep imports light.
        from skxfer.reweight import DiscriminativeWeighter

        return DiscriminativeWeighter()


def _split_final_step(estimator):
    """``(preprocessing, final_estimator)`` of a Pipeline, ``(None, estimator)`` otherwise."""
    if isinstance(estimator, Pipeline):
        if len(estimator.steps) == 1:
            return None, estimator.steps[-1][1]
        return estimator[:-1], estimator.steps[-1][1]
    return None, estimator


def _source_target(y, sample_domain, n_samples):
    """Masks of the labelled source rows and of the target rows of a validation fold."""
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} rows but X has {n_samples}; pass one label per row.")
    if sample_domain is None:
        target = is_masked(y)
        return ~target, target
    masks = domain_masks(y, sample_domain, n_samples, require_source=False, require_target=False)
    return masks.source & masks.labelled, masks.target
