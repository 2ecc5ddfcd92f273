import numpy as np
from sklearn.utils import Bunch, check_random_state

from skxfer._domain import pack


def make_covariate_shift(
    n_source=1000, n_target=1000, n_features=10, *, shift=0.7, target_scale=0.8, random_state=None
):
    """Gaussian covariate shift with a known density ratio and a curved decision boundary.

    Source rows are drawn from N(0, I), target rows from N(mu, target_scale^2 I) where ``mu``
    moves the first two coordinates by ``shift``. The label is ``1[x1 > 0.5 * x0^2 - 0.5]``
    (flipped with 5% noise) in both domains, so only the input distribution shifts, and a
    linear model fitted on the source is wrong where the target lives.

    Parameters
    ----------
    n_source, n_target : int, default=1000
        Rows of each domain.
    n_features : int, default=10
        Dimension; must be at least 2.
    shift : float, default=0.7
        Displacement of the target mean along the first two coordinates.
    target_scale : float, default=0.8
        Standard deviation of the target in every coordinate.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    data : Bunch
        ``X``, ``y`` (target rows masked with -1), ``y_true`` (all labels),
        ``sample_domain``, and ``true_ratio``: p_target(x) / p_source(x) at every row.

    Examples
    --------
    >>> from skxfer.datasets import make_covariate_shift
    >>> data = make_covariate_shift(100, 50, random_state=0)
    >>> data.X.shape, int((data.sample_domain < 0).sum())
    ((150, 10), 50)
    """
    if n_features < 2:
        raise ValueError(f"n_features must be at least 2, got {n_features}.")
    rng = check_random_state(random_state)
    mu = np.zeros(n_features)
    mu[:2] = shift
    X_source = rng.standard_normal((n_source, n_features))
    X_target = mu + target_scale * rng.standard_normal((n_target, n_features))
    X = np.vstack([X_source, X_target])
    y_true = (X[:, 1] > 0.5 * X[:, 0] ** 2 - 0.5).astype(int)
    flip = rng.random_sample(len(y_true)) < 0.05
    y_true[flip] = 1 - y_true[flip]
    _, y, sample_domain = pack(X_source, y_true[:n_source], X_target)
    # log N(x; mu, s^2 I) - log N(x; 0, I), in closed form
    log_ratio = (
        -0.5 * np.sum((X - mu) ** 2, axis=1) / target_scale**2
        + 0.5 * np.sum(X**2, axis=1)
        - n_features * np.log(target_scale)
    )
    return Bunch(X=X, y=y, y_true=y_true, sample_domain=sample_domain, true_ratio=np.exp(log_ratio))
