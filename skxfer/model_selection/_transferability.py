"""Transferability scores: how well features (or a source classifier) suit a target task.

A transferability score reads the features a frozen encoder gives the target rows, with the
target labels, and estimates how well a model trained on top would do, without training one.
Ranking candidate encoders or layers by such a score replaces a grid of probe fits.

- :func:`logme_score`: the log maximum evidence of a Bayesian linear model on the features
  (You et al., ICML 2021), per target column, averaged and divided by the number of rows.
- :func:`h_score`: ``tr(cov(f)^+ cov(E[f | y]))`` (Bao et al., ICIP 2019); with
  ``shrinkage=True`` the Ledoit-Wolf regularised form (Ibrahim et al., ICLR 2023).
- :func:`leep_score` (Nguyen et al., ICML 2020) and :func:`nce_score` (Tran et al., ICCV
  2019): for a source *classifier*, from its predicted probabilities or labels on the target.
- :func:`make_transferability_scorer`: any of them as ``scoring=`` of a grid search over a
  featurizer pipeline.
- :func:`rank_layers` and :func:`rank_encoders`: a DataFrame ranking layers and encoders.
"""

import time
import warnings
from numbers import Integral

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.base import clone
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import StrOptions, validate_params
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_consistent_length, column_or_1d

from skxfer.utils import import_optional

#: Scores computed from features and labels, by name.
FEATURE_SCORES = ("logme", "h_score", "h_score_shrinkage")
#: Scores computed from a source classifier's output, by name, with the method they call.
HEAD_SCORES = {"leep": "predict_proba", "nce": "predict"}

_EPS = np.finfo(np.float64).eps
# Points of the coarse grid over t = log(alpha / beta) before the bounded Brent search.
_GRID_POINTS = 96
# How far (in t) above the largest eigenvalue the search goes: beyond it the evidence has
# reached its limit for a prior that silences the features, to about exp(-40).
_T_ABOVE = 40.0


@validate_params(
    {
        "features": ["array-like"],
        "y": ["array-like"],
        "target_type": [StrOptions({"auto", "classification", "regression"})],
    },
    prefer_skip_nested_validation=True,
)
def logme_score(features, y, *, target_type="auto"):
    """LogME: the log maximum evidence of a Bayesian linear model on the features, per row.

    For each target column (the one-hot indicator of each class for classification, each
    column of ``y`` for regression) the features explain the column with a linear model
    ``y = features @ w + noise``, prior ``w ~ N(0, I / alpha)`` and noise precision
    ``beta``. LogME is the log marginal likelihood (evidence) of the column, maximised over
    ``alpha`` and ``beta``, averaged over columns and divided by the number of rows (You
    et al., 2021). Higher is better; values are comparable across encoders and layers on
    the same rows and labels, not across data sets.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target rows (e.g. a frozen encoder's output), float32 or float64.
        They are used as given, without centring or scaling, as in the paper: the linear
        model has no intercept, so centred features (e.g. after a StandardScaler) cannot
        fit the class frequencies; append a constant column to them.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Class labels, or continuous targets.
    target_type : {"auto", "classification", "regression"}, default="auto"
        How to read ``y``. ``"auto"`` follows
        :func:`sklearn.utils.multiclass.type_of_target`: binary and multiclass labels are
        classification, continuous values regression (a multilabel indicator matrix is
        scored column by column).

    Returns
    -------
    score : float
        The mean over target columns of the maximum log evidence, divided by
        ``n_samples``.

    See Also
    --------
    h_score : A faster, cruder score for classification.
    rank_layers : Rank the layers of a featurizer by a score.

    Notes
    -----
    The paper maximises each column's evidence by a fixed-point iteration over ``alpha``
    and ``beta`` that inverts a ``d x d`` matrix per step and per class. Here one
    eigendecomposition of the smaller Gram matrix (``F^T F`` when ``n >= d``, ``F F^T``
    otherwise), computed in float64, serves every column. Given ``t = log(alpha / beta)``
    the best ``beta`` has a closed form, so each column's evidence is a smooth function of
    ``t`` alone, which is maximised on a coarse grid refined by a bounded Brent search
    (:func:`scipy.optimize.minimize_scalar`). The maximum equals the fixed point's where
    that converges, and is found where it does not (``n < d``, collinear features).
    Eigenvalues below ``max(n, d) * eps`` times the largest are treated as zero.

    References
    ----------
    You, Liu, Wang, Long. "LogME: Practical Assessment of Pre-trained Models for Transfer
    Learning", ICML 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer.model_selection import logme_score
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(0, 2, size=200)
    >>> informative = np.c_[y + 0.3 * rng.normal(size=200), rng.normal(size=(200, 4))]
    >>> noise = rng.normal(size=(200, 5))
    >>> bool(logme_score(informative, y) > logme_score(noise, y))
    True
    """
    F = _check_features(features, "features")
    Y = _targets(y, target_type, len(F))
    spectrum = _Spectrum(F, Y)
    evidences = [spectrum.max_evidence(c)[0] for c in range(Y.shape[1])]
    return float(np.mean(evidences) / len(F))


@validate_params(
    {"features": ["array-like"], "y": ["array-like"], "shrinkage": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def h_score(features, y, *, shrinkage=False):
    """H-score: how much of the features' variance the class means explain.

    ``H = tr(cov(f)^+ cov(E[f | y]))`` (Bao et al., 2019): the between-class covariance of
    the features, whitened by their total covariance (pseudo-inverse). It lies between 0
    and ``n_classes - 1``; higher is better. With ``shrinkage=True`` the covariance is
    shrunk toward a multiple of the identity by the Ledoit-Wolf rule (Ibrahim et al., 2022),
    which the plain score needs when features are many for the rows: with ``n_features >=
    n_samples - 1`` the plain H-score is ``n_classes - 1`` for any features.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target rows, float32 or float64.
    y : array-like of shape (n_samples,)
        Class labels.
    shrinkage : bool, default=False
        Shrink the covariance with the Ledoit-Wolf coefficient ``a`` of
        :func:`sklearn.covariance.ledoit_wolf_shrinkage`:
        ``H = tr(((1 - a) cov(f) + a mu I)^-1 (1 - a) cov(E[f | y]))`` with ``mu`` the
        mean variance.

    Returns
    -------
    score : float
        The H-score.

    See Also
    --------
    logme_score : Evidence-based score, for classification and regression.

    Notes
    -----
    The score is computed from one eigendecomposition of the smaller Gram matrix of the
    centred features (float64): it is the sum, over the principal directions ``u`` of the
    features, of the share of ``u`` that the class indicators explain, weighted (with
    shrinkage) by how much the shrunk covariance keeps of that direction. It is invariant to
    any invertible linear map of the features without shrinkage, and to rescaling with it.

    References
    ----------
    Bao, Li, Huang, Wang, Zhao, Zhang. "An Information-Theoretic Approach to
    Transferability in Task Transfer Learning", ICIP 2019.
    Ibrahim, Ponomareva, Mazumder. "Newer is not always better: Rethinking transferability
    metrics, their peculiarities, stability and performance", ICLR 2023 (arXiv 2110.06893).

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer.model_selection import h_score
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(0, 3, size=300)
    >>> features = np.c_[np.eye(3)[y] + 0.5 * rng.normal(size=(300, 3)), rng.normal(size=(300, 2))]
    >>> round(h_score(features, y), 2), round(h_score(features, y, shrinkage=True), 2)
    (1.12, 0.99)
    """
    F = _check_features(features, "features")
    labels = _class_labels(y, len(F), "h_score")
    Y = _one_hot(labels)
    counts = Y.sum(axis=0)
    Fc = F - F.mean(axis=0)
    n, d = Fc.shape
    if n >= d:
        eig, V = np.linalg.eigh(Fc.T @ Fc)
        keep = eig > _threshold(eig, n, d)
        eig, V = eig[keep], V[:, keep]
        # the left singular vectors u = Fc v / sqrt(eig), projected on the class indicators
        M = (V.T @ (Fc.T @ Y)) / np.sqrt(eig)[:, None]
    else:
        eig, U = np.linalg.eigh(Fc @ Fc.T)
        keep = eig > _threshold(eig, n, d)
        eig, U = eig[keep], U[:, keep]
        M = U.T @ Y
    explained = (M**2 / counts).sum(axis=1)  # u^T P u, P the projection on class means
    if not shrinkage:
        return float(explained.sum())
    a = float(ledoit_wolf_shrinkage(F, assume_centered=False))
    variances = eig / n  # eigenvalues of the empirical covariance (divided by n, as sklearn)
    mu = variances.sum() / d
    if a == 0.0:
        return float(explained.sum())
    kept = (1.0 - a) * variances / ((1.0 - a) * variances + a * mu)
    return float((kept * explained).sum())


@validate_params(
    {"source_proba": ["array-like"], "y": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def leep_score(source_proba, y):
    """LEEP: the log expected empirical prediction of a source classifier on the target.

    The source classifier's probabilities over its own classes ``z`` on the target rows
    give an empirical joint ``P(y, z)``; each row's target label is then predicted by
    ``sum_z P(y | z) p(z | x)``, and LEEP is the mean log-likelihood of those predictions
    (Nguyen et al., 2020). It is at most 0; higher is better.

    Parameters
    ----------
    source_proba : array-like of shape (n_samples, n_source_classes)
        The source classifier's probabilities on the target rows (rows sum to 1): a fitted
        classifier's ``predict_proba``, or the softmax of a network's logits
        (:func:`scipy.special.softmax` with ``axis=1``).
    y : array-like of shape (n_samples,)
        Target class labels.

    Returns
    -------
    score : float
        The LEEP score.

    See Also
    --------
    nce_score : The same question from the source classifier's hard labels.

    References
    ----------
    Nguyen, Hassner, Seeger, Archambeau. "LEEP: A New Measure to Evaluate Transferability
    of Learned Representations", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer.model_selection import leep_score
    >>> y = np.array([0, 0, 1, 1])
    >>> aligned = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8]])
    >>> bool(leep_score(aligned, y) > leep_score(np.full((4, 2), 0.5), y))
    True
    """
    P = _check_features(source_proba, "source_proba")
    if (P < 0).any():
        raise ValueError(
            "source_proba has negative values; pass probabilities (predict_proba, or "
            "scipy.special.softmax(logits, axis=1)), not logits or decision values."
        )
    sums = P.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-3):
        worst = float(sums[np.argmax(np.abs(sums - 1))])
        raise ValueError(
            f"The rows of source_proba must sum to 1 (one sums to {worst:.4g}); pass "
            "probabilities (predict_proba, or scipy.special.softmax(logits, axis=1))."
        )
    P = P / sums[:, None]
    labels = _class_labels(y, len(P), "leep_score")
    Y = _one_hot(labels)
    joint = Y.T @ P / len(P)  # P(y, z), shape (n_classes, n_source_classes)
    pz = joint.sum(axis=0)
    conditional = np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)  # P(y | z)
    expected = np.einsum("iz,iz->i", P, conditional[labels])
    return float(np.mean(np.log(expected)))


@validate_params(
    {"source_labels": ["array-like"], "y": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def nce_score(source_labels, y):
    """NCE: the negative conditional entropy of target labels given source labels.

    The source classifier's hard predictions ``z`` on the target rows and the target labels
    ``y`` give an empirical joint distribution; NCE is ``-H(Y | Z) = sum P(y, z) log P(y |
    z)`` (Tran et al., 2019). It is at most 0 (each source class names one target class);
    higher is better.

    Parameters
    ----------
    source_labels : array-like of shape (n_samples,)
        The source classifier's predicted labels on the target rows (its ``predict``, or the
        argmax of its probabilities).
    y : array-like of shape (n_samples,)
        Target class labels.

    Returns
    -------
    score : float
        The NCE score.

    See Also
    --------
    leep_score : The same question from the source classifier's probabilities.

    References
    ----------
    Tran, Nguyen, Hassner. "Transferability and Hardness of Supervised Classification
    Tasks", ICCV 2019.

    Examples
    --------
    >>> from skxfer.model_selection import nce_score
    >>> nce_score(["cat", "cat", "dog", "dog"], [0, 0, 1, 1])
    0.0
    >>> round(nce_score(["cat", "cat", "cat", "cat"], [0, 0, 1, 1]), 4)
    -0.6931
    """
    z = np.asarray(source_labels)
    if z.ndim != 1:
        raise ValueError(
            f"source_labels must be 1-D labels, got shape {z.shape}; for probabilities pass "
            "proba.argmax(axis=1), or use leep_score."
        )
    labels = _class_labels(y, len(z), "nce_score")
    _, source = np.unique(z, return_inverse=True)
    joint = np.zeros((source.max() + 1, labels.max() + 1))
    np.add.at(joint, (source, labels), 1.0)
    joint /= len(z)
    pz = joint.sum(axis=1, keepdims=True)
    nonzero = joint > 0
    ratio = np.where(nonzero, joint, 1.0) / np.broadcast_to(pz, joint.shape)
    return float(np.sum(joint[nonzero] * np.log(ratio[nonzero])) + 0.0)


def make_transferability_scorer(score="logme", **kwargs):
    """A scorer that rates a fitted featurizer (or source classifier) by a transferability score.

    Use it as ``scoring=`` of :class:`~sklearn.model_selection.GridSearchCV` (or
    ``cross_validate``) whose estimator ends in a transformer, e.g. a
    :class:`~skxfer.featurize.PretrainedFeaturizer` or a Pipeline of one and a scaler: on
    each validation fold the scorer computes ``estimator.transform(X_val)`` and returns the
    score of those features with ``y_val``. For ``"leep"`` the estimator is a classifier
    whose ``predict_proba`` gives the source probabilities; for ``"nce"``, its ``predict``.

    Parameters
    ----------
    score : {"logme", "h_score", "h_score_shrinkage", "leep", "nce"} or callable, \
            default="logme"
        The score. A callable is called as ``score(features, y, **kwargs)`` on the
        estimator's ``transform`` output and must return a float, higher being better.
    **kwargs : dict
        Passed to the score function (e.g. ``target_type="regression"`` for LogME).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)`` returns the score of the fitted ``estimator`` on ``X``
        and ``y``.

    See Also
    --------
    rank_layers : Rank a featurizer's layers on all rows at once, without folds.

    Notes
    -----
    Inside cross-validation, the training fold serves only to fit the featurizer, which is
    label-free for a frozen one (``freeze_depth=None``): each fold's score is then the score
    of the validation rows alone, and the search's mean is an average over ``k`` disjoint
    subsets, each with fewer rows than the whole. LogME per row grows slightly with the
    number of rows, so compare candidates on the same folds only, as a search does. For
    frozen features the folds add cost but no information: :func:`rank_layers` and
    :func:`rank_encoders` score all the rows at once, for every layer after one forward
    pass. Where the featurizer does learn from labels (``freeze_depth=k`` fine-tunes its
    top blocks on the training fold), scoring the held-out fold is what keeps the score
    honest: features fine-tuned on the very rows being scored fit those labels and inflate
    any transferability score.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skxfer.model_selection import make_transferability_scorer
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(0, 2, size=120)
    >>> X = np.c_[rng.normal(size=(120, 6)), y + 0.5 * rng.normal(size=120)]
    >>> search = GridSearchCV(
    ...     PCA(), {"n_components": [1, 7]}, scoring=make_transferability_scorer("logme")
    ... ).fit(X, y)
    >>> search.best_params_
    {'n_components': 7}
    """
    if callable(score):
        name = getattr(score, "__name__", type(score).__name__)
        return _TransferabilityScorer(name, score, "transform", kwargs)
    if not isinstance(score, str) or score not in (*FEATURE_SCORES, *HEAD_SCORES):
        raise ValueError(
            f"score={score!r} is not a transferability score; use one of "
            f"{[*FEATURE_SCORES, *HEAD_SCORES]} or a callable score(features, y)."
        )
    if score in HEAD_SCORES:
        return _TransferabilityScorer(score, _FUNCTIONS[score], HEAD_SCORES[score], kwargs)
    return _TransferabilityScorer(score, _feature_function(score), "transform", kwargs)


def rank_layers(featurizer, X, y, *, score="logme", layers=None):
    """Rank the layers of a pretrained featurizer by a transferability score.

    The featurizer runs once over ``X`` (its activation cache keeps the pooled output of
    every layer); each layer's features are then read from the cache and scored with ``y``.
    So ranking all layers costs about one forward pass plus one score per layer.

    Parameters
    ----------
    featurizer : PretrainedFeaturizer or Pipeline
        A :class:`~skxfer.featurize.PretrainedFeaturizer`, or a Pipeline whose first step
        is one (later steps, such as a scaler, are fitted on ``X`` without labels). It is
        cloned, never changed. Keep ``cache=True`` (the default): without the cache every
        layer is a forward pass.
    X : list, array or pandas Series
        Inputs the featurizer takes (texts, images, arrays).
    y : array-like of shape (n_samples,)
        Target labels (or continuous targets, for LogME).
    score : {"logme", "h_score", "h_score_shrinkage"} or callable, default="logme"
        The score; a callable is called as ``score(features, y)``.
    layers : list of int, default=None
        Layers to score (``0`` the stem, negative from the end); ``None`` scores every
        layer ``0 .. n_blocks_``.

    Returns
    -------
    ranking : pandas.DataFrame
        One row per layer, best first, with columns ``encoder`` (the model's name),
        ``layer``, ``score``, ``rank`` (1 is best) and ``seconds`` (reading the features
        and scoring them). ``ranking.attrs["forward_seconds"]`` holds the time of the
        forward pass, by encoder.

    See Also
    --------
    rank_encoders : Rank several encoders (and their layers) at once.

    Notes
    -----
    Scores rate frozen features, so ``freeze_depth`` does not apply: fine-tuning on ``y``
    and then scoring features of the same rows would reward features fitted to those
    labels, not transferable ones (the score of a fine-tuned network on its own training
    rows grows with the capacity tuned, whatever the test accuracy). A featurizer with
    ``freeze_depth`` set is scored frozen, with a warning. To compare freeze depths, search
    them with :func:`make_transferability_scorer` in ``GridSearchCV``, which fine-tunes on
    training folds and scores held-out folds, or with a probe's accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skxfer.featurize import PretrainedFeaturizer
    >>> from skxfer.model_selection import rank_layers
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    >>> X = np.random.RandomState(0).normal(size=(100, 4)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> ranking = rank_layers(PretrainedFeaturizer(net), X, y)
    >>> list(ranking.columns)
    ['encoder', 'layer', 'score', 'rank', 'seconds']
    >>> sorted(ranking["layer"].tolist())
    [0, 1, 2, 3]
    """
    function = _ranking_function(score)
    layers = "all" if layers is None else _check_layers(layers)
    return _rank_featurizer(_encoder_name(featurizer), featurizer, X, y, function, layers)


def rank_encoders(candidates, X, y, *, score="logme", layers="all"):
    """Rank candidate encoders (and their layers) by a transferability score on ``X, y``.

    Each candidate's features are computed once (every layer of one forward pass, kept in
    the featurizer's activation cache) and scored without fitting a model, so ranking every
    encoder and layer costs about one forward pass per encoder.

    Parameters
    ----------
    candidates : dict or list
        The candidates, by name (a dict) or as a list (named by their model). Each is
        one of:

        - a :class:`~skxfer.featurize.PretrainedFeaturizer`, or a Pipeline whose first step
          is one: its layers are scored as ``layers`` says, after one forward pass;
        - any other transformer (e.g. a TF-IDF and SVD pipeline): cloned and fitted on ``X``
          without labels, its ``fit_transform`` output scored;
        - an array of shape ``(n_samples, n_features)``: features computed elsewhere (raw
          pixels, another library's embeddings), scored as given.
    X : list, array or pandas Series
        Inputs the featurizers and transformers take.
    y : array-like of shape (n_samples,)
        Target labels (or continuous targets, for LogME).
    score : {"logme", "h_score", "h_score_shrinkage"} or callable, default="logme"
        The score; a callable is called as ``score(features, y)``.
    layers : "all", None or list of int, default="all"
        Layers of each featurizer to score: ``"all"`` every layer, ``None`` only the one
        its ``layer`` parameter names, or a list of layer indices.

    Returns
    -------
    ranking : pandas.DataFrame
        One row per candidate (and layer), best first, with columns ``encoder``, ``layer``
        (missing for candidates without layers), ``score``, ``rank`` (1 is best) and
        ``seconds`` (computing or reading the features, and scoring them).
        ``ranking.attrs["forward_seconds"]`` holds each featurizer's forward pass time.

    See Also
    --------
    rank_layers : Rank the layers of one featurizer.

    Notes
    -----
    ``freeze_depth`` does not apply, as in :func:`rank_layers`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from skxfer.model_selection import rank_encoders
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(0, 2, size=200)
    >>> X = np.c_[3 * y + rng.normal(size=200), rng.normal(size=(200, 9))]
    >>> candidates = {"pca": PCA(1), "noise": rng.normal(size=(200, 10)), "raw": X}
    >>> rank_encoders(candidates, X, y)["encoder"].tolist()
    ['raw', 'pca', 'noise']
    """
    function = _ranking_function(score)
    if isinstance(layers, str):
        if layers != "all":
            raise ValueError(f"layers={layers!r}; use 'all', None or a list of layer indices.")
        layer_choice = "all"
    elif layers is None:
        layer_choice = "own"
    else:
        layer_choice = _check_layers(layers)
    named = _named_candidates(candidates)
    pd = import_optional("pandas", purpose="rank_encoders")
    frames, forward = [], {}
    for name, candidate in named:
        if _featurizer_prefix(candidate) is not None:
            frame = _rank_featurizer(name, candidate, X, y, function, layer_choice)
            forward.update(frame.attrs["forward_seconds"])
            frames.append(frame[["encoder", "layer", "score", "seconds"]])
            continue
        start = time.perf_counter()
        if hasattr(candidate, "fit_transform") or hasattr(candidate, "transform"):
            features = _transform(clone(candidate), X)
        else:
            features = candidate
        value = _call_score(function, features, y, name)
        seconds = time.perf_counter() - start
        frames.append(
            pd.DataFrame(
                {"encoder": [name], "layer": [pd.NA], "score": [value], "seconds": [seconds]}
            ).astype({"layer": "Int64"})
        )
    ranking = pd.concat([f.astype({"layer": "Int64"}) for f in frames], ignore_index=True)
    return _finish_ranking(ranking, forward, pd)


# --- LogME ------------------------------------------------------------------------------


class _Spectrum:
    """The eigen-decomposition shared by every target column, and each column's evidence.

    With ``F = U S V^T`` (``eig = S**2``, the ``k`` eigenvalues above the threshold),
    ``z = U^T y`` and ``r = ||y||^2 - ||z||^2`` (the part of y outside the span of F), the
    log evidence at ``lam = alpha / beta`` and the best ``beta = n / Q(lam)`` is

        L(lam) = n/2 log(n / Q) - n/2 - n/2 log(2 pi) - 1/2 sum_i log(1 + eig_i / lam),
        Q(lam) = sum_i z_i^2 lam / (lam + eig_i) + r.
    """

    def __init__(self, F, Y):
        n, d = F.shape
        self.n = n
        if n >= d:
            eig, V = np.linalg.eigh(F.T @ F)
            keep = eig > _threshold(eig, n, d)
            eig, V = eig[keep], V[:, keep]
            z2 = (V.T @ (F.T @ Y)) ** 2 / eig[:, None]
            outside = np.maximum((Y**2).sum(axis=0) - z2.sum(axis=0), 0.0)
        else:
            eig, U = np.linalg.eigh(F @ F.T)
            keep = eig > _threshold(eig, n, d)
            Z = U.T @ Y
            z2 = Z[keep] ** 2
            outside = (Z[~keep] ** 2).sum(axis=0)  # exact: no difference of large sums
            eig = eig[keep]
        total = z2.sum(axis=0) + outside
        if (total <= 0).any():
            column = int(np.flatnonzero(total <= 0)[0])
            raise ValueError(
                f"Target column {column} of y is all zeros: its evidence is unbounded (the "
                "noise variance goes to 0). Drop that column or centre y."
            )
        self.eig, self.z2, self.outside = eig, z2, outside
        self.log_eig = np.log(eig)
        self.constant = 0.5 * n * (np.log(n) - 1.0 - np.log(2.0 * np.pi))
        if len(eig):
            top = self.log_eig[-1]
            self.bounds = (top + np.log(max(n, d) * _EPS), top + _T_ABOVE)
        else:
            self.bounds = (0.0, 0.0)

    def evidence(self, t, column):
        """Log evidence of ``column`` at ``t = log(alpha / beta)`` (scalar or array)."""
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        shrink = expit(t[:, None] - self.log_eig[None, :])  # lam / (lam + eig)
        Q = shrink @ self.z2[:, column] + self.outside[column]
        penalty = np.logaddexp(0.0, self.log_eig[None, :] - t[:, None]).sum(axis=1)
        return self.constant - 0.5 * self.n * np.log(Q) - 0.5 * penalty

    def max_evidence(self, column):
        """The maximum log evidence of ``column`` and the ``t`` reaching it."""
        if not len(self.eig):  # features all zero: the evidence does not depend on alpha
            return float(self.evidence(0.0, column)[0]), np.inf
        lo, hi = self.bounds
        grid = np.linspace(lo, hi, _GRID_POINTS)
        values = self.evidence(grid, column)
        best = int(np.argmax(values))
        left, right = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
        found = minimize_scalar(
            lambda t: -self.evidence(t, column)[0],
            bounds=(left, right),
            method="bounded",
            options={"xatol": 1e-7},
        )
        if -found.fun >= values[best]:
            return float(-found.fun), float(found.x)
        return float(values[best]), float(grid[best])


def _threshold(eig, n, d):
    """Eigenvalues of a Gram matrix at or below this are zero up to rounding."""
    return max(float(eig.max(initial=0.0)), 0.0) * max(n, d) * _EPS


def _targets(y, target_type, n):
    """The target columns of ``y``: one-hot classes, or the continuous columns."""
    y = np.asarray(y)
    if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] == 0):
        raise ValueError(f"y must be 1-D or 2-D with at least one column; got shape {y.shape}.")
    check_consistent_length(np.empty((n, 0)), y)
    kind = type_of_target(y, input_name="y") if target_type == "auto" else target_type
    if kind in ("binary", "multiclass", "classification"):
        if y.ndim == 2:
            if y.shape[1] != 1:
                raise ValueError(
                    f"target_type='classification' takes 1-D labels; y has shape {y.shape}."
                )
            y = y[:, 0]
        return _one_hot(np.unique(y, return_inverse=True)[1])
    if kind in ("multiclass-multioutput", "unknown"):
        raise ValueError(
            f"y is {kind!r}: pass 1-D class labels, or numeric targets with "
            "target_type='regression'."
        )
    Y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
    return Y.reshape(n, -1)


# --- shared helpers -----------------------------------------------------------------------


def _check_features(features, name):
    F = check_array(features, dtype=[np.float64, np.float32], ensure_min_samples=2, input_name=name)
    return np.asarray(F, dtype=np.float64)


def _class_labels(y, n, function):
    y = column_or_1d(y, warn=False)
    if len(y) != n:
        raise ValueError(f"y has {len(y)} rows but the features have {n}; pass one per row.")
    kind = type_of_target(y, input_name="y")
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"{function} needs class labels; y is {kind!r}. For continuous targets use logme_score."
        )
    return np.unique(y, return_inverse=True)[1]


def _one_hot(labels):
    Y = np.zeros((len(labels), labels.max() + 1))
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


def _h_score_shrinkage(features, y):
    return h_score(features, y, shrinkage=True)


_FUNCTIONS = {
    "logme": logme_score,
    "h_score": h_score,
    "h_score_shrinkage": _h_score_shrinkage,
    "leep": leep_score,
    "nce": nce_score,
}


def _feature_function(name):
    return _FUNCTIONS[name]


class _TransferabilityScorer:
    """``scorer(estimator, X, y)``: a transferability score of the fitted estimator's output."""

    def __init__(self, name, function, method, kwargs):
        self.name = name
        self.function = function
        self.method = method
        self.kwargs = kwargs

    def __call__(self, estimator, X, y, **unused):
        if y is None:
            raise ValueError(f"The {self.name} scorer needs the labels y of the rows it scores.")
        method = getattr(estimator, self.method, None)
        if method is None:
            need = {
                "transform": "a transformer (e.g. a PretrainedFeaturizer, or a Pipeline ending "
                "in one or in a scaler)",
                "predict_proba": "a classifier with predict_proba (the source classifier)",
                "predict": "a classifier (the source classifier)",
            }[self.method]
            raise TypeError(
                f"The {self.name} scorer calls {self.method} on the estimator, which "
                f"{type(estimator).__name__} does not have; search over {need}."
            )
        return float(self.function(method(X), y, **self.kwargs))

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return f"make_transferability_scorer({self.name!r}{extra})"


def _ranking_function(score):
    if callable(score):
        return score
    if isinstance(score, str) and score in FEATURE_SCORES:
        return _FUNCTIONS[score]
    if isinstance(score, str) and score in HEAD_SCORES:
        raise ValueError(
            f"score={score!r} rates a source classifier's predictions, not features; rank "
            f"features with one of {list(FEATURE_SCORES)}, and call {score}_score on the "
            "classifier's output."
        )
    raise ValueError(
        f"score={score!r} is not a feature score; use one of {list(FEATURE_SCORES)} or a "
        "callable score(features, y)."
    )


def _call_score(function, features, y, name):
    value = function(features, y)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"The score of {name!r} is {value!r}; a score function must return a float."
        ) from None


def _check_layers(layers):
    if layers is None:
        return None
    if isinstance(layers, Integral):
        layers = [layers]
    layers = list(layers)
    if not layers or not all(isinstance(v, Integral) for v in layers):
        raise ValueError(f"layers={layers!r}; pass a non-empty list of layer indices, or None.")
    return [int(v) for v in layers]


def _featurizer_prefix(candidate):
    """``""`` for a PretrainedFeaturizer, ``"step__"`` for a Pipeline starting with one."""
    from skxfer.featurize import PretrainedFeaturizer

    if isinstance(candidate, PretrainedFeaturizer):
        return ""
    if isinstance(candidate, Pipeline) and candidate.steps:
        name, first = candidate.steps[0]
        if isinstance(first, PretrainedFeaturizer):
            return f"{name}__"
    return None


def _encoder_name(candidate):
    prefix = _featurizer_prefix(candidate)
    if prefix is None:
        return type(candidate).__name__
    featurizer = candidate if not prefix else candidate.steps[0][1]
    model = featurizer.model
    if isinstance(model, str) or hasattr(model, "__fspath__"):
        text = str(model).rstrip("/\\")
        return text.replace("\\", "/").rsplit("/", 1)[-1] or text
    inner = getattr(model, "estimator", model)
    return type(inner).__name__


def _named_candidates(candidates):
    if isinstance(candidates, dict):
        named = [(str(k), v) for k, v in candidates.items()]
    elif isinstance(candidates, list | tuple):
        named, seen = [], {}
        for candidate in candidates:
            base = _encoder_name(candidate) if not _is_array(candidate) else "features"
            seen[base] = seen.get(base, 0) + 1
            named.append((base if seen[base] == 1 else f"{base} ({seen[base]})", candidate))
    else:
        raise TypeError(
            f"candidates must be a dict of name -> candidate or a list; got "
            f"{type(candidates).__name__}."
        )
    if not named:
        raise ValueError("candidates is empty; pass at least one encoder or feature array.")
    for name, candidate in named:
        ok = (
            _featurizer_prefix(candidate) is not None
            or hasattr(candidate, "transform")
            or _is_array(candidate)
        )
        if not ok:
            raise TypeError(
                f"Candidate {name!r} is a {type(candidate).__name__}; pass a "
                "PretrainedFeaturizer (or a Pipeline starting with one), a transformer, or a "
                "feature array."
            )
    return named


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "__array__")


def _transform(transformer, X):
    if hasattr(transformer, "fit_transform"):
        return transformer.fit_transform(X)
    return transformer.fit(X).transform(X)


def _rank_featurizer(name, candidate, X, y, function, layers):
    """Score the layers of one featurizer (or Pipeline starting with one) on ``X``."""
    pd = import_optional("pandas", purpose="rank_layers")
    prefix = _featurizer_prefix(candidate)
    if prefix is None:
        raise TypeError(
            f"featurizer must be a PretrainedFeaturizer or a Pipeline whose first step is one; "
            f"got {type(candidate).__name__}. Use rank_encoders for other transformers."
        )
    base = clone(candidate)
    params = base.get_params()
    if params[f"{prefix}freeze_depth"] is not None:
        warnings.warn(
            f"{name}: freeze_depth={params[f'{prefix}freeze_depth']} is ignored; "
            "transferability scores rate frozen features (scoring features fine-tuned on the "
            "scored rows would reward fitting those labels). Search freeze_depth with "
            "make_transferability_scorer in GridSearchCV to score held-out folds instead.",
            UserWarning,
            stacklevel=3,
        )
        base.set_params(**{f"{prefix}freeze_depth": None})
    own_layer = params[f"{prefix}layer"]
    # The forward pass: fitting at the last layer stores every layer's pooled output.
    start = time.perf_counter()
    first = clone(base).set_params(**{f"{prefix}layer": -1})
    first_features = _transform(first, X)
    forward_seconds = time.perf_counter() - start
    featurizer = first if not prefix else first.steps[0][1]
    n_blocks = featurizer.n_blocks_
    if layers == "all":
        wanted = list(range(n_blocks + 1))
    elif layers == "own":
        wanted = [own_layer]
    else:
        wanted = layers
    resolved = []
    for layer in wanted:
        if not -(n_blocks + 1) <= layer <= n_blocks:
            raise ValueError(
                f"layer {layer} of {name!r} is out of range: the model has n_blocks_={n_blocks}; "
                f"use 0 .. {n_blocks} (0 is the stem) or a negative index."
            )
        if layer % (n_blocks + 1) not in resolved:
            resolved.append(layer % (n_blocks + 1))
    rows = []
    for layer in resolved:
        start = time.perf_counter()
        if layer == n_blocks:
            features = first_features
        else:
            features = _layer_features(featurizer, layer, X)
            if prefix:  # the later steps of the Pipeline, fitted on this layer's features
                features = _transform(clone(Pipeline(first.steps[1:])), features)
        value = _call_score(function, features, y, name)
        rows.append(
            {
                "encoder": name,
                "layer": layer,
                "score": value,
                "seconds": time.perf_counter() - start,
            }
        )
    ranking = pd.DataFrame(rows).astype({"layer": "Int64"})
    return _finish_ranking(ranking, {name: forward_seconds}, pd)


def _layer_features(featurizer, layer, X):
    """Features of ``layer`` from the fitted, frozen ``featurizer``, read from its cache.

    A copy of the fitted featurizer pointed at another layer shares its loaded network, so
    that no layer loads or fingerprints the network again (a fit would, for a torch module).
    """
    # not copy.copy: the featurizer's __getstate__ leaves the loaded network out (for pickles)
    view = object.__new__(type(featurizer))
    view.__dict__.update(featurizer.__dict__)
    view.layer = view.layer_ = layer
    return view.transform(X)


def _finish_ranking(ranking, forward, pd):
    ranking["rank"] = ranking["score"].rank(ascending=False, method="min").astype(int)
    ranking = ranking.sort_values(["rank", "encoder"], kind="stable").reset_index(drop=True)
    ranking = ranking[["encoder", "layer", "score", "rank", "seconds"]]
    ranking.attrs["forward_seconds"] = dict(forward)
    return ranking
