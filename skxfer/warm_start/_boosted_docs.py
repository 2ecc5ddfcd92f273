"""Documentation every boosted-tree transfer estimator shares: the same parameters mean the
same thing in every library, so they are written once and filled into each docstring."""

from skxfer.utils._docstrings import fill_doc

_STRATEGIES = """\
- ``"continue"`` appends trees fitted on them to the source model (the library's own
  continuation), as many as ``n_estimators``, or chosen by cross-validation on the target
  rows when ``"auto"`` (possibly none);
- ``"refresh"`` keeps every source tree's splits and re-estimates its leaf values on the
  target rows, tree by tree, each leaf shrunk toward its source value with strength ``tau``
  (see Notes);
- ``"refresh_continue"``: refresh, then continue."""

_PARAMETERS = """\
strategy : {"continue", "refresh", "refresh_continue"}, default="continue"
    What the labelled target rows change (see above).
recalibrate : {"bias", "affine"} or None, default=None
    First correct the source's margin on the labelled target rows: ``"bias"`` adds one
    fitted offset per output (a change of base rate, i.e. prior shift), ``"affine"`` also
    multiplies the margin by one fitted scale (over- or under-confidence). Both are pulled
    toward no change by ``tau``: the fit minimises the target loss plus
    ``tau / 2 * ((scale - 1)**2 + ||bias||**2)``. The chosen strategy then starts from the
    corrected model. Two or three numbers are learnt where refresh learns hundreds, so it
    is the change that a dozen labelled target rows can support.
source_scale : float, default=1.0
    Multiply the source's margin by this before anything else: ``1`` keeps the source
    model, values below 1 soften its confidence, and ``0`` discards it, so that
    ``source_scale=0, recalibrate="bias", strategy="continue"`` is plain boosting on the
    target rows from their base rate (their mean, for a regressor). With it in a grid, a
    grid search can refuse the source when it hurts (negative transfer) instead of only
    choosing how to change it.
n_estimators : int or "auto", default="auto"
    Boosting rounds added by ``"continue"``. ``"auto"`` picks the count (0 to
    ``max_estimators``) with the lowest mean ``cv``-fold loss on the target rows, in the
    source's loss (log-loss for a classifier, root mean squared error for a squared-error
    regressor). Within each fold, recalibration and refresh are fitted on the fold's
    training rows only, as the added trees are.
max_estimators : int, default=500
    Largest number of rounds ``"auto"`` considers.
early_stopping_rounds : int, default=20
    ``"auto"`` stops after this many added rounds without a lower mean held-out loss.
cv : int, cross-validation generator or iterable, default=3
    Folds of the cross-validation of ``"auto"``, over the labelled target rows: a number
    of shuffled folds (stratified when every class has that many rows), a splitter, or
    ``(train, test)`` index pairs into the labelled target rows.
learning_rate : float, default=0.1
    Shrinkage of the added trees.
max_depth : int, default=3
    Depth of the added trees.
reg_lambda : float, default=1.0
    L2 penalty on the leaf values of the added trees and of refreshed leaves.
tau : float, default=1.0
    Pull of each refreshed leaf toward its source value, and of ``recalibrate`` toward the
    uncorrected margin, in hessian units (roughly how many target rows of evidence the
    source counts as). ``0`` refits the leaves by a plain Newton step; large values keep
    the source.
source_learning_rate : float, default=None
    Learning rate the source's leaf values were stored with; refresh scales its Newton
    step by it. ``None`` reads it from the source model."""

_ATTRIBUTES = """\
n_estimators_ : int
    Rounds added by ``"continue"`` (chosen by cross-validation when
    ``n_estimators="auto"``).
n_source_estimators_ : int
    Rounds of the source model.
margin_scale_ : float
    Scale fitted by ``recalibrate="affine"``, times ``source_scale`` (1.0 otherwise).
margin_bias_ : ndarray of shape (n_outputs,)
    Offsets fitted by ``recalibrate`` (zeros without it): one for a binary or regression
    model, one per class otherwise.
n_features_in_ : int
    Number of features seen in ``fit``.
feature_names_in_ : ndarray of shape (n_features_in_,)
    Column names, when ``fit`` got a DataFrame with string column names; DataFrames are
    aligned to the source model's feature names by name."""

_REFRESH_NOTES = """\
Refresh processes the source rounds in order. For each leaf reached by target rows with
gradient sum ``G`` and hessian sum ``H`` (at the margin of the rounds before it) the new
stored value is ``(tau * w_src - lr * G) / (H + reg_lambda + tau)``, the minimiser of the
boosting objective plus ``tau / 2 * (v - v_src)**2``, with the source's learning rate ``lr``.
``tau = 0`` is a plain Newton refit of the leaves; a leaf that few target rows reach keeps
most of its source value instead of dropping to zero. The source's starting score (its base
score or bias) is kept."""


# Class decorator: fills the ``%(field)s`` fields of a boosted-tree transfer estimator's
# docstring with the documentation they all share.
boosted_docstring = fill_doc(
    {
        "strategies": _STRATEGIES,
        "parameters": _PARAMETERS,
        "attributes": _ATTRIBUTES,
        "refresh_notes": _REFRESH_NOTES,
    }
)
