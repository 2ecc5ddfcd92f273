"""Look at importance weights: their spread, and where the heavy source rows sit."""

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_array, check_is_fitted

from skxfer._domain import domain_masks
from skxfer.utils import import_optional


def plot_weights(weighter_or_weights, X, sample_domain, *, ax=None):
    """Plot a weight histogram and a 2-D map of source rows sized and coloured by weight.

    The left panel is the histogram of the source weights, titled with their effective
    sample size (ESS): a long right tail and a small ESS mean a few rows carry the fit. The
    right panel projects the standardised rows on their first two principal components:
    target rows in grey, source rows coloured and sized by weight. Good weights put the
    large source points under the target cloud.

    Parameters
    ----------
    weighter_or_weights : weighter or array-like
        A weighter (e.g. :class:`KMMWeighter`): an unfitted one is cloned and fitted on
        ``X, sample_domain``; a fitted one weighs the source rows with ``compute_weights``.
        Or the weights themselves: one per source row, or one per row of ``X`` (the
        source rows' entries are used).
    X : array-like of shape (n_samples, n_features)
        Source and target rows, stacked; numeric.
    sample_domain : array-like of shape (n_samples,)
        ``>= 1`` for source rows, ``<= -1`` for target rows.
    ax : sequence of two matplotlib Axes, default=None
        Where to draw the histogram and the map. ``None`` makes a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding the two panels (and the colour bar).

    See Also
    --------
    domain_shift_report : Numbers, not pictures: shift tests and ESS of every weighter.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.reweight import plot_weights
    >>> data = make_covariate_shift(200, 100, n_features=3, random_state=0)
    >>> weights = data.true_ratio[data.sample_domain > 0]
    >>> fig = plot_weights(weights, data.X, data.sample_domain)
    >>> len(fig.axes)  # histogram, map, colour bar
    3
    """
    plt = import_optional("matplotlib.pyplot", purpose="plot_weights")
    X = check_array(X, dtype=np.float64)
    masks = domain_masks(None, sample_domain, X.shape[0])
    weights = _source_weights(weighter_or_weights, X, sample_domain, masks.source)

    if ax is None:
        fig, (ax_hist, ax_map) = plt.subplots(1, 2, figsize=(11, 4.5))
    else:
        try:
            ax_hist, ax_map = ax
        except (TypeError, ValueError):
            raise TypeError(
                "ax must be a pair of matplotlib Axes (histogram, map), e.g. from "
                f"plt.subplots(1, 2); got {type(ax).__name__}."
            ) from None
        fig = ax_hist.figure

    ess = weights.sum() ** 2 / np.sum(weights**2) if weights.sum() > 0 else 0.0
    ax_hist.hist(weights, bins=min(50, max(10, len(weights) // 10)), color="tab:blue")
    ax_hist.set_xlabel("weight of a source row")
    ax_hist.set_ylabel("source rows")
    ax_hist.set_title(
        f"ESS {ess:.0f} of {len(weights)} source rows ({100 * ess / len(weights):.0f}%)"
    )

    coords = _project(X)
    target = coords[masks.target]
    ax_map.scatter(target[:, 0], target[:, 1], s=6, c="0.6", alpha=0.5, label="target")
    # Largest on top, so the rows that matter are not hidden under the light ones.
    order = np.argsort(weights, kind="stable")
    source = coords[masks.source][order]
    w = weights[order]
    sizes = 4 + 60 * w / w.max() if w.max() > 0 else np.full(len(w), 4.0)
    points = ax_map.scatter(
        source[:, 0], source[:, 1], s=sizes, c=w, cmap="viridis", label="source (by weight)"
    )
    fig.colorbar(points, ax=ax_map, label="weight")
    ax_map.set_xlabel("first principal component")
    ax_map.set_ylabel("second principal component")
    ax_map.legend(loc="best", markerscale=1.5)
    return fig


def _source_weights(weighter_or_weights, X, sample_domain, source):
    n_source = int(source.sum())
    if hasattr(weighter_or_weights, "fit"):
        weighter = weighter_or_weights
        try:
            check_is_fitted(weighter)
        except NotFittedError:
            weighter = clone(weighter).fit(X, sample_domain=sample_domain)
            weights = weighter.weights_
        else:
            weights = weighter.compute_weights(X[source])
    else:
        weights = weighter_or_weights
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(weights) == len(source):
        weights = weights[source]
    elif len(weights) != n_source:
        raise ValueError(
            f"weighter_or_weights has {len(weights)} weights, but there are {n_source} source "
            f"rows and {len(source)} rows in X; pass one weight per source row or per row."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("weights must be finite and non-negative.")
    return weights


def _project(X):
    """The standardised rows on their first two principal components (or padded with 0)."""
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    Z = (X - X.mean(axis=0)) / scale
    n_components = min(2, Z.shape[1], Z.shape[0])
    coords = PCA(n_components=n_components, svd_solver="full").fit_transform(Z)
    if n_components < 2:
        coords = np.column_stack([coords, np.zeros(len(coords))])
    return coords
