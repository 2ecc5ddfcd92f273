"""The adapter between the boosted-tree transfer engine and one boosting library.

A :class:`TreeBackend` owns only what differs between libraries: loading and fitting a source
model, its margins and leaf indices, reading and writing leaf values, scaling its margin,
adding trees, and the per-stage loss of losses this package does not compute. The engine
(:class:`~skxfer.warm_start._boosted.BoostedTransfer`) owns the sequence.
"""

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import expit, softmax

from skxfer.utils import import_optional
from skxfer.warm_start._leaf_refresh import stage_losses
from skxfer.warm_start._tree_input import SourceFeatures, take_rows


@dataclass
class Source:
    """A source model and what the engine needs to know about it.

    Attributes
    ----------
    model : object
        The native model (None once fitted: the estimator's ``source_model_`` holds it).
    objective : {"logistic", "softmax", "squared"} or None
        The gradients of its loss (see ``_leaf_refresh.gradients``); None for a loss whose
        gradients are not computed here (it can be continued, not refreshed or recalibrated).
    loss : str
        The library's name of its loss.
    n_outputs : int
        Columns of its margin: one per class for a multiclass model, else one.
    classes : ndarray or None
        Its classes, for a classifier.
    learning_rate : float or None
        The learning rate its leaf values were stored with, when the model records it.
    n_rounds : int
        Its boosting rounds.
    features : SourceFeatures
        The features the rows given to it must have.
    """

    model: object
    objective: str | None
    loss: str
    n_outputs: int
    classes: np.ndarray | None
    learning_rate: float | None
    n_rounds: int
    features: SourceFeatures


@dataclass
class TargetRows:
    """Labelled target rows in the library's input form, with label codes and weights."""

    X: object
    y: np.ndarray
    weight: np.ndarray

    def take(self, rows):
        return TargetRows(take_rows(self.X, rows), self.y[rows], self.weight[rows])


class TreeBackend:
    """What one boosting library does for
    :class:`~skxfer.warm_start._boosted.BoostedTransfer`.

    A subclass sets the class attributes and implements the methods that raise
    NotImplementedError; ``scaled``, ``stage_losses``, ``proba`` and ``predict`` have defaults
    written with the others. Margins are 2-D, ``(n_rows, n_outputs)``; ``X`` is what
    :meth:`prepare` returned, or rows of it.
    """

    #: The library's name in messages, and the module to import.
    library = ""
    module = ""
    #: The estimator's attribute that holds the transferred model.
    fitted_attribute = "booster_"
    #: What ``source_model`` may be, and how a model file is written (for messages).
    accepted = ""
    saved_with = ""
    #: Whether columns of strings are categorical features (else they are refused).
    text_categories = False
    #: The losses whose source models can be refreshed and recalibrated (for messages).
    objectives = "log-loss or squared error"
    #: Whether it continues and refreshes a model on rows held as a dask collection
    #: (``lib_distributed``, ``dask_rows``, ``block_reader``, ``dask_add_trees`` and
    #: ``dask_margin``; see ``_distributed``).
    distributed = False

    def __init__(self, estimator):
        self.estimator = estimator
        self.name = type(estimator).__name__
        self.lib = import_optional(self.module, purpose=self.name)

    # --- the source model --------------------------------------------------------------

    def check_params(self):
        """Refuse ``params`` that the constructor or the source model control."""

    def is_native(self, model):
        """Whether ``model`` is a native model, taken as it is."""
        raise NotImplementedError

    def load(self, model):
        """The :class:`Source` of a native model, a fitted estimator or a model file path."""
        raise NotImplementedError

    def fit_source(self, X, y, sample_weight, classes, seed):
        """The :class:`Source` fitted on rows ``X`` (as checked, before :meth:`prepare`):
        ``y`` holds class codes (positions in ``classes``) or real targets."""
        raise NotImplementedError

    def checked_classes(self, is_classification, loss, classes, n_outputs):
        """The classes of a classifier's source (``0..n_outputs - 1``, or 0 and 1, when the
        model names none), None for a regressor's; a source of the other task is refused."""
        classifier = self.estimator._is_classifier
        if is_classification != classifier:
            kind, twin = ("classifier", "Regressor") if classifier else ("regressor", "Classifier")
            twin = self.name.replace("Classifier", twin).replace("Regressor", twin)
            raise ValueError(
                f"{self.name} is a {kind}, but the source model's loss is {loss!r}; use "
                f"{twin} for this source model."
            )
        if not classifier:
            return None
        return np.arange(max(n_outputs, 2)) if classes is None else classes

    def working_copy(self, model):
        """The model the transfer starts from: ``model`` itself when nothing writes to it."""
        return model

    def prepare(self, X, source):
        """Rows aligned to the source's features, in the library's input form."""
        return X

    # --- a model -----------------------------------------------------------------------

    def margin(self, model, X):
        raise NotImplementedError

    def leaves(self, model, X):
        """Leaf index of each row in each tree, shape (n_rows, n_trees)."""
        raise NotImplementedError

    def n_trees(self, model):
        raise NotImplementedError

    def n_rounds(self, model):
        raise NotImplementedError

    def trees(self, model, first=0):
        """The :class:`~skxfer.warm_start._leaf_refresh.Trees` of ``model`` from tree
        ``first`` on (the first tree of a round)."""
        raise NotImplementedError

    def with_leaves(self, model, trees, shift):
        """A copy of ``model`` with the leaf values of ``trees`` (all its trees) and
        ``shift`` (one per output) added to its margin."""
        raise NotImplementedError

    def scaled(self, model, scale, shift, X):
        """A copy of ``model`` whose margin is ``scale * margin + shift`` (``X``: rows to
        read its base score on)."""
        trees = self.trees(model)
        first_row = take_rows(X, slice(0, 1))
        margin = self.margin(model, first_row)
        n_outputs = margin.shape[1]
        if {int(k) for outputs in trees.outputs for k in outputs} != set(range(n_outputs)):
            raise ValueError(
                "recalibrate and source_scale need at least one source tree per output; the "
                "source model has none for some output. Use recalibrate=None and "
                "source_scale=1."
            )
        # The margin is a base score plus the trees: scaling every leaf scales the trees'
        # part, and the base takes the rest of the change.
        base = (margin - trees.total(self.leaves(model, first_row), n_outputs))[0]
        scaled = replace(trees, values=[scale * v for v in trees.values])
        return self.with_leaves(model, scaled, (scale - 1.0) * base + shift)

    def add_trees(self, model, source, rows, n_rounds, seed, held_out=None):
        """``model`` continued by ``n_rounds`` rounds on ``rows`` (:class:`TargetRows`); with
        ``held_out``, stopped once its loss has not improved for the estimator's
        ``early_stopping_rounds``."""
        raise NotImplementedError

    def stage_losses(self, source, y, margins, weight):
        """The loss after each stage, ``margins`` of shape (n_stages, n_rows, n_outputs)."""
        return stage_losses(source.objective, y, margins, weight)

    # --- predictions -------------------------------------------------------------------

    def proba(self, model, X):
        margin = self.margin(model, X)
        if margin.shape[1] == 1:
            p = expit(margin[:, 0])
            return np.column_stack([1 - p, p])
        return softmax(margin, axis=1)

    def predict(self, model, X):
        return self.margin(model, X)[:, 0]
