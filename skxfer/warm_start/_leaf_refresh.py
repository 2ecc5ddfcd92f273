"""Re-estimate the leaf values of fitted trees on target rows, shrunk toward the source values.

For one leaf with target gradient sum ``G`` and hessian sum ``H`` (at the margin of the model
so far), the second-order objective of gradient boosting plus a pull toward the source value
``v_src`` is::

    G v + (H + reg_lambda) v**2 / 2 + tau (v - v_src)**2 / 2

whose minimiser is ``v = (tau * v_src - G) / (H + reg_lambda + tau)``. Boosting libraries store
``learning_rate * v``; in stored units the update is
``w = (tau * w_src - learning_rate * G) / (H + reg_lambda + tau)``. ``tau = 0`` is the native
refresh (a Newton step from zero); ``tau -> inf`` keeps the source leaves. Unlike native XGBoost
refresh, a leaf that few target rows reach keeps most of its source value instead of dropping
to zero.
"""

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import expit, logsumexp, softmax

#: Objectives whose gradients this module computes, by the shape of the margin.
OBJECTIVES = ("logistic", "softmax", "squared")


@dataclass
class Trees:
    """Leaf values of consecutive trees of a boosted model, in margin units.

    Attributes
    ----------
    values : list of ndarray of shape (n_nodes, n_columns)
        For each tree, the value of each node (only the leaves are read and written; a
        library's leaf index is a row of it) for each output the tree adds to.
    outputs : list of ndarray of int
        For each tree, the output (class) each column of its ``values`` adds to.
    rounds : ndarray of int
        Boosting round ``r`` is trees ``rounds[r]`` to ``rounds[r + 1]`` (one tree per
        class and round for XGBoost and LightGBM, one multi-output tree for CatBoost).
    native : object, default=None
        What the library's backend read the values from (e.g. the parsed model), for it to
        write them back.
    """

    values: list
    outputs: list
    rounds: np.ndarray
    native: object = None

    def step(self, tree, leaves, n_outputs):
        """What ``tree`` adds to the margin of rows in ``leaves`` (their leaf in every tree)."""
        out = np.zeros((len(leaves), n_outputs))
        out[:, self.outputs[tree]] = self.values[tree][leaves[:, tree]]
        return out

    def total(self, leaves, n_outputs):
        """What all the trees add to the margin of rows in ``leaves``."""
        out = np.zeros((len(leaves), n_outputs))
        for tree in range(len(self.values)):
            out[:, self.outputs[tree]] += self.values[tree][leaves[:, tree]]
        return out

    def staged(self, leaves, margin):
        """Margins of the rows from ``margin`` (before the trees) and after each round:
        shape (n_rounds + 1, n_rows, n_outputs)."""
        stages = [margin]
        for start, stop in zip(self.rounds[:-1], self.rounds[1:]):
            steps = [self.step(t, leaves, margin.shape[1]) for t in range(start, stop)]
            stages.append(stages[-1] + np.sum(steps, axis=0))
        return np.stack(stages)


def refresh_trees(trees, leaves, margin, objective, y, sample_weight, **shrinkage):
    """The leaf values of ``trees`` re-estimated on rows, round by round.

    Parameters
    ----------
    trees : Trees
        The source trees.
    leaves : ndarray of int of shape (n_rows, n_trees)
        Leaf of each row in each tree.
    margin : ndarray of shape (n_rows, n_outputs)
        The model's margin before the trees (its base score).
    objective, y, sample_weight
        As for :func:`gradients`.
    **shrinkage
        ``learning_rate``, ``reg_lambda`` and ``tau`` of :func:`refreshed_values`.

    Returns
    -------
    Trees
        The same trees with refreshed values.
    """
    margin = np.array(margin, dtype=np.float64)
    values = [np.array(v, dtype=np.float64) for v in trees.values]
    for start, stop in zip(trees.rounds[:-1], trees.rounds[1:]):
        grad, hess = gradients(objective, _squeeze(margin), y, sample_weight)
        grad, hess = grad.reshape(margin.shape), hess.reshape(margin.shape)
        for t in range(start, stop):
            leaf = leaves[:, t]
            for j, k in enumerate(trees.outputs[t]):
                values[t][:, j] = refreshed_values(
                    leaf, grad[:, k], hess[:, k], values[t][:, j], **shrinkage
                )
            margin[:, trees.outputs[t]] += values[t][leaf]
    return replace(trees, values=values)


def stage_losses(objective, y, margins, sample_weight):
    """Weighted mean loss of each stage's margin, as the libraries' evaluation metrics define
    it (log-loss, multi-class log-loss, root mean squared error).

    Parameters
    ----------
    objective : {"logistic", "softmax", "squared"}
    y : ndarray of shape (n_rows,)
        0/1 labels, class codes, or real targets.
    margins : ndarray of shape (n_stages, n_rows, n_outputs)
    sample_weight : ndarray of shape (n_rows,)

    Returns
    -------
    losses : ndarray of shape (n_stages,)
    """
    w = sample_weight / sample_weight.sum()
    if objective == "softmax":
        picked = np.take_along_axis(margins, y.astype(np.intp)[None, :, None], axis=2)[..., 0]
        return (logsumexp(margins, axis=2) - picked) @ w
    m = margins[..., 0]
    if objective == "logistic":
        return (np.logaddexp(0.0, m) - y * m) @ w
    if objective == "squared":
        return np.sqrt(((m - y) ** 2) @ w)
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


def _squeeze(margin):
    return margin[:, 0] if margin.shape[1] == 1 else margin


def gradients(objective, margin, y, sample_weight):
    """Gradient and hessian of the loss at ``margin``, one entry per row (and class).

    Parameters
    ----------
    objective : {"logistic", "softmax", "squared"}
        Binary log-loss on a 1-D margin, multinomial log-loss on a 2-D margin, or squared
        error (halved, as XGBoost and CatBoost define it).
    margin : ndarray of shape (n_rows,) or (n_rows, n_classes)
        Raw model output before the link.
    y : ndarray of shape (n_rows,)
        0/1 labels, class codes ``0..n_classes-1``, or real targets.
    sample_weight : ndarray of shape (n_rows,)
        Row weights.

    Returns
    -------
    grad, hess : ndarray, each the shape of ``margin``
    """
    if objective == "logistic":
        p = expit(margin)
        grad, hess = p - y, np.maximum(p * (1 - p), 1e-16)
    elif objective == "softmax":
        p = softmax(margin, axis=1)
        onehot = np.zeros_like(p)
        onehot[np.arange(len(y)), y.astype(np.intp)] = 1.0
        # XGBoost's multi:softprob hessian carries the factor 2 (an upper bound of the
        # diagonal); using the same keeps tau = 0 equal to its native refresh.
        grad, hess = p - onehot, np.maximum(2 * p * (1 - p), 1e-16)
    elif objective == "squared":
        grad, hess = margin - y, np.ones_like(margin)
    else:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    weight = sample_weight if margin.ndim == 1 else sample_weight[:, None]
    return grad * weight, hess * weight


def refreshed_values(leaf, grad, hess, source_values, *, learning_rate, reg_lambda, tau):
    """New stored leaf values of one tree (or one output of a multi-output tree).

    Parameters
    ----------
    leaf : ndarray of int of shape (n_rows,)
        Index of the leaf each target row falls in, ``0 <= leaf < len(source_values)``.
    grad, hess : ndarray of shape (n_rows,)
        Per-row gradient and hessian at the margin before this tree.
    source_values : ndarray of shape (n_leaves,)
        The tree's stored (learning-rate scaled) source leaf values.
    learning_rate, reg_lambda, tau : float
        Shrinkage the values were stored with, L2 penalty toward 0, and pull toward the
        source value (in hessian units: about how many rows of evidence the source counts as).

    Returns
    -------
    values : ndarray of shape (n_leaves,)
    """
    n_leaves = len(source_values)
    G = np.bincount(leaf, weights=grad, minlength=n_leaves)
    H = np.bincount(leaf, weights=hess, minlength=n_leaves)
    return refreshed_from_sums(
        G, H, source_values, learning_rate=learning_rate, reg_lambda=reg_lambda, tau=tau
    )


def refreshed_from_sums(G, H, source_values, *, learning_rate, reg_lambda, tau):
    """New stored leaf values from the gradient and hessian sums ``G`` and ``H`` of each
    leaf (shape (n_leaves,)), as :func:`refreshed_values` computes them: sums over blocks of
    rows add up, so rows held apart give the same values.

    Returns
    -------
    values : ndarray of shape (n_leaves,)
    """
    denominator = H + reg_lambda + tau
    values = np.asarray(source_values, dtype=np.float64).copy()
    # A leaf with no target rows and no penalty has an undefined optimum: keep its value.
    defined = denominator > 0
    values[defined] = (tau * values[defined] - learning_rate * G[defined]) / denominator[defined]
    return values
