"""Scorers that judge a domain-adapted model without any target label.

Each scorer is called as ``scorer(estimator, X, y=None, sample_domain=None)`` on stacked
source and target rows; the target rows are those with ``sample_domain <= -1`` or, without
``sample_domain``, those whose label is masked (-1 or NaN). None of them reads a target label,
so each rests on an assumption about the target, stated in its docstring.
"""

from numbers import Integral, Real

import numpy as np
from sklearn import config_context
from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._metadata_requests import _MetadataRequester
from sklearn.utils.validation import has_fit_parameter

from skxfer._domain import is_masked
from skxfer.model_selection._scorer import ImportanceWeightedScorer, _source_target


class _TargetRowsScorer(_MetadataRequester):
    """Requests ``sample_domain`` under metadata routing and finds the target rows."""

    __metadata_request__score = {"sample_domain": True}

    set_score_request = ImportanceWeightedScorer.set_score_request
    _get_metadata_request = ImportanceWeightedScorer._get_metadata_request

    def _routing_repr(self):
        return repr(self)

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"

    def _split(self, X, y, sample_domain):
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        if y is None:
            if sample_domain is None:
                raise ValueError(
                    f"{type(self).__name__} needs sample_domain, or y with the target rows "
                    "masked (-1 or NaN), to know which rows are target rows."
                )
            y = np.zeros(n_samples)
        source, target = _source_target(np.asarray(y), sample_domain, n_samples)
        if not target.any():
            raise ValueError(
                f"{type(self).__name__} found no target row in these rows; pass "
                "sample_domain (with metadata routing on, it is routed to the scorer) or "
                "mask the target labels, and validate on folds that hold target rows."
            )
        return source, target


class PredictionEntropyScorer(_TargetRowsScorer):
    """Score a classifier by how confident it is on the target rows: minus the mean entropy.

    Assumes the classes form well-separated clusters in the target (the cluster
    assumption): a model whose decision boundaries cross dense target regions is unsure
    there. It ranks models of the same kind; it can be fooled by a model that is confident
    and wrong (a collapsed model that predicts one class everywhere scores best), so use it
    to choose among reasonable settings, not to compare unrelated models. It takes no
    parameters.

    See Also
    --------
    MixValScorer : Probes the boundaries with mixed target rows instead.
    CircularValidationScorer : Transfers back to the source and scores there.

    References
    ----------
    .. [1] Morerio, P., Cavazza, J., & Murino, V. (2018). Minimal-entropy correlation
       alignment for unsupervised deep domain adaptation. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.model_selection import PredictionEntropyScorer
    >>> data = make_covariate_shift(300, 300, n_features=2, random_state=0)
    >>> source = data.sample_domain > 0
    >>> model = LogisticRegression().fit(data.X[source], data.y[source])
    >>> score = PredictionEntropyScorer()(model, data.X, sample_domain=data.sample_domain)
    >>> bool(-np.log(2) <= score <= 0)
    True
    """

    def __call__(self, estimator, X, y=None, sample_domain=None):
        """Minus the mean entropy (in nats) of the predicted class probabilities.

        Parameters
        ----------
        estimator : fitted classifier
            The model to score; it needs ``predict_proba``.
        X : array-like of shape (n_samples, n_features)
            Rows, source and target stacked (only the target rows are used).
        y : array-like of shape (n_samples,), default=None
            Labels; unused except to find the target rows (masked) without
            ``sample_domain``.
        sample_domain : array-like of shape (n_samples,), default=None
            ``<= -1`` marks the target rows.

        Returns
        -------
        score : float
            ``<= 0``; greater is more confident.
        """
        _, target = self._split(X, y, sample_domain)
        proba = estimator.predict_proba(_safe_indexing(X, np.flatnonzero(target)))
        proba = np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0)
        return float(np.mean(np.sum(proba * np.log(proba), axis=1)))


class MixValScorer(_TargetRowsScorer):
    """Score a classifier by its consistency on mixed pairs of target rows (Mix-Val).

    Each target row is labelled by the model itself; pairs of target rows that it puts in
    different classes are mixed, ``lam * x_i + (1 - lam) * x_j`` with ``lam > 1/2``, and
    the score is the share of mixtures the model assigns to the class of ``x_i``. Assumes
    the target classes are separated by low-density gaps that the model's boundaries
    should follow, so that moving part of the way toward another class should not yet
    change the prediction; and that rows may be averaged (numeric features, in the
    space the estimator receives). A model that predicts a single class on the target has
    no pair to probe and scores 0.

    Parameters
    ----------
    lam : float in (0.5, 1), default=0.55
        Weight of the first row of each pair.
    n_pairs : int, default=2000
        Pairs drawn (at most).
    random_state : int, RandomState instance or None, default=0
        Seeds the pairs; fixed by default so that every candidate of a search is probed
        with the same pairs.

    See Also
    --------
    PredictionEntropyScorer : The confidence of the predictions instead.

    References
    ----------
    .. [1] Hu, D., Liang, J., Liew, J. H., Xue, C., Bai, S., & Wang, X. (2023). Mixed
       samples as probes for unsupervised model selection in domain adaptation. NeurIPS.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.model_selection import MixValScorer
    >>> data = make_covariate_shift(300, 300, n_features=2, random_state=0)
    >>> source = data.sample_domain > 0
    >>> model = LogisticRegression().fit(data.X[source], data.y[source])
    >>> score = MixValScorer()(model, data.X, sample_domain=data.sample_domain)
    >>> bool(0.5 < score <= 1.0)
    True
    """

    def __init__(self, lam=0.55, n_pairs=2000, random_state=0):
        self.lam = lam
        self.n_pairs = n_pairs
        self.random_state = random_state

    def __call__(self, estimator, X, y=None, sample_domain=None):
        """Share of mixed target pairs predicted as the class of their heavier row.

        Parameters
        ----------
        estimator : fitted classifier
            The model to score.
        X : array-like of shape (n_samples, n_features)
            Rows, source and target stacked (only the target rows are used); numeric.
        y : array-like of shape (n_samples,), default=None
            Labels; unused except to find the target rows (masked) without
            ``sample_domain``.
        sample_domain : array-like of shape (n_samples,), default=None
            ``<= -1`` marks the target rows.

        Returns
        -------
        score : float
            In ``[0, 1]``; greater is better.
        """
        if not (isinstance(self.lam, Real) and 0.5 < self.lam < 1):
            raise ValueError(f"lam must be in (0.5, 1), got {self.lam!r}.")
        if not (isinstance(self.n_pairs, Integral) and self.n_pairs >= 1):
            raise ValueError(f"n_pairs must be a positive integer, got {self.n_pairs!r}.")
        _, target = self._split(X, y, sample_domain)
        X_target = np.asarray(_safe_indexing(X, np.flatnonzero(target)), dtype=float)
        pseudo = np.asarray(estimator.predict(X_target))
        rng = check_random_state(self.random_state)
        first = rng.randint(len(X_target), size=self.n_pairs)
        second = rng.randint(len(X_target), size=self.n_pairs)
        keep = pseudo[first] != pseudo[second]
        if not keep.any():
            return 0.0
        first, second = first[keep], second[keep]
        mixed = self.lam * X_target[first] + (1.0 - self.lam) * X_target[second]
        return float(np.mean(np.asarray(estimator.predict(mixed)) == pseudo[first]))


class CircularValidationScorer(_TargetRowsScorer):
    """Score a model by transferring back: target pseudo-labels must recover the source.

    The fitted model labels the target rows; a clone of it is then fitted the other way
    round (the target rows, with those labels, as source; the source rows as unlabelled
    target) and scored on the true source labels. Assumes that an adaptation that is right
    on the target is also reversible: a model whose target labels are wrong teaches the
    reverse model a wrong rule, which then fails on the source. It costs one extra fit per
    call, and a model that ignores the target altogether can score well; use it to choose
    settings of an adaptation, not to decide whether to adapt.

    Parameters
    ----------
    scoring : callable, default=None
        ``metric(y_true, y_pred)`` on the source rows; ``None`` is accuracy.

    See Also
    --------
    MixValScorer : A probe of the model alone, without refitting.

    References
    ----------
    .. [1] Zhong, E., Fan, W., Yang, Q., Verscheure, O., & Ren, J. (2010). Cross
       validation framework to choose amongst models and datasets for transfer learning.
       ECML PKDD.
    .. [2] Bruzzone, L., & Marconcini, M. (2010). Domain adaptation problems: a DASVM
       classification technique and a circular validation strategy. IEEE TPAMI.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer.align import AlignedClassifier
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.model_selection import CircularValidationScorer
    >>> data = make_covariate_shift(300, 300, n_features=2, random_state=0)
    >>> model = AlignedClassifier(LogisticRegression())
    >>> model = model.fit(data.X, data.y, sample_domain=data.sample_domain)
    >>> score = CircularValidationScorer()(model, data.X, data.y, data.sample_domain)
    >>> bool(0.5 < score <= 1.0)
    True
    """

    def __init__(self, scoring=None):
        self.scoring = scoring

    def __call__(self, estimator, X, y, sample_domain=None):
        """Score on the source rows of a clone fitted on the target's pseudo-labels.

        Parameters
        ----------
        estimator : fitted estimator
            The model to score. Its clone is fitted with ``sample_domain`` when its fit
            (or its Pipeline's final step's) takes it.
        X : array-like of shape (n_samples, n_features)
            Rows, source and target stacked.
        y : array-like of shape (n_samples,)
            Labels; the labelled source rows are scored, target labels are not read.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` source, ``<= -1`` target. Without it, masked rows are the target.

        Returns
        -------
        score : float
            The metric on the source rows; greater is better.
        """
        if y is None:
            raise ValueError("CircularValidationScorer needs y: it scores the source rows.")
        source, target = self._split(X, y, sample_domain)
        if not source.any():
            raise ValueError("CircularValidationScorer found no labelled source row to score.")
        y = np.asarray(y)
        rows = np.flatnonzero(source | target)
        X_rows = _safe_indexing(X, rows)
        pseudo = np.asarray(estimator.predict(_safe_indexing(X, np.flatnonzero(target))))
        y_reverse = np.empty(len(rows), dtype=np.result_type(pseudo.dtype, float))
        is_target = target[rows]
        y_reverse[is_target] = pseudo
        y_reverse[~is_target] = np.nan  # the source rows become the unlabelled target
        if len(np.unique(pseudo)) < 2 and len(np.unique(y[source])) >= 2:
            return 0.0  # a single pseudo-class cannot be learnt back
        reverse_domain = np.where(is_target, 1, -1)
        reverse = _fit_with_domain(clone(estimator), X_rows, y_reverse, reverse_domain)
        y_pred = reverse.predict(_safe_indexing(X, np.flatnonzero(source)))
        metric = accuracy_score if self.scoring is None else self.scoring
        y_true = y[source]
        if y_true.dtype.kind in "iu" and np.asarray(y_pred).dtype.kind == "f":
            y_pred = np.asarray(y_pred).astype(y_true.dtype)
        return float(metric(y_true, y_pred))


def _fit_with_domain(estimator, X, y, sample_domain):
    """Fit with ``sample_domain`` where the estimator (or a Pipeline's last step) takes it;
    otherwise on the labelled rows alone."""
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    labelled = ~is_masked(y)
    if not has_fit_parameter(final, "sample_domain"):
        return estimator.fit(_safe_indexing(X, np.flatnonzero(labelled)), y[labelled])
    with config_context(enable_metadata_routing=False):
        if isinstance(estimator, Pipeline):
            return estimator.fit(
                X, y, **{f"{estimator.steps[-1][0]}__sample_domain": sample_domain}
            )
        return estimator.fit(X, y, sample_domain=sample_domain)
