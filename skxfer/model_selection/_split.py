"""Cross-validation splitters that respect the source/target structure of ``sample_domain``."""

import numpy as np
from sklearn.model_selection import KFold, ShuffleSplit
from sklearn.model_selection._split import BaseCrossValidator

from skxfer._domain import domain_masks


class TargetKFold(BaseCrossValidator):
    """K-fold over the labelled target rows; every source row is always in training.

    Transfer estimators learn from the source rows and are judged on the target. This
    splitter splits only the *labelled target rows* into ``n_splits`` folds. Each test fold
    holds only labelled target rows; each training fold holds every source row, every
    unlabelled target row (usable by weighters as unlabelled target data) and the labelled
    target rows of the other folds.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds of the labelled target rows; at least 2.
    shuffle : bool, default=False
        Shuffle the labelled target rows before splitting them into folds.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle; only used when ``shuffle=True``.

    See Also
    --------
    TargetShuffleSplit : Random train/test splits of the labelled target rows.
    LeaveOneDomainOut : Each domain in turn is the test fold.
    ImportanceWeightedScorer : Validation on source rows when no target row is labelled.

    Notes
    -----
    With metadata routing on (``sklearn.set_config(enable_metadata_routing=True)``) the
    splitter requests ``sample_domain``, so ``GridSearchCV(...).fit(X, y,
    sample_domain=sample_domain)`` routes it here. With routing off scikit-learn hands only
    ``groups`` to a splitter, so pass the array twice: ``GridSearchCV(...).fit(X, y,
    groups=sample_domain, sample_domain=sample_domain)`` (for a Pipeline the second one is
    ``<step>__sample_domain=sample_domain``). ``groups`` is read as ``sample_domain`` when
    ``sample_domain`` is None.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer.model_selection import TargetKFold
    >>> sample_domain = np.array([1, 1, 1, -1, -1, -1, -1])
    >>> y = np.array([0, 1, 0, 1, 0, -1, -1])  # two labelled target rows
    >>> X = np.zeros((7, 1))
    >>> for train, test in TargetKFold(n_splits=2).split(X, y, sample_domain=sample_domain):
    ...     print(train, test)
    [0 1 2 4 5 6] [3]
    [0 1 2 3 5 6] [4]
    """

    __metadata_request__split = {"sample_domain": True}

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def split(self, X, y=None, groups=None, sample_domain=None):
        """Generate the indices of the training and test rows of each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Stacked source and target rows; only its length is used.
        y : array-like of shape (n_samples,)
            Labels, with unlabelled target rows masked (-1 for integer labels, NaN for
            float labels). Needed to find the labelled target rows.
        groups : array-like of shape (n_samples,), default=None
            Read as ``sample_domain`` when ``sample_domain`` is None (metadata routing off).
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows.

        Yields
        ------
        train : ndarray
            Indices of the training rows of the fold.
        test : ndarray
            Indices of the test rows of the fold: labelled target rows only.
        """
        kfold = KFold(self.n_splits, shuffle=self.shuffle, random_state=self.random_state)
        yield from _split_labelled_target(self, kfold, X, y, groups, sample_domain)

    def get_n_splits(self, X=None, y=None, groups=None, sample_domain=None):
        """Return the number of folds, ``n_splits``.

        Parameters
        ----------
        X, y, groups, sample_domain : object
            Ignored; present for API compatibility.

        Returns
        -------
        n_splits : int
            Number of (train, test) pairs that ``split`` yields.
        """
        return self.n_splits


class TargetShuffleSplit(BaseCrossValidator):
    """Random splits of the labelled target rows; every source row is always in training.

    Like :class:`TargetKFold`, but each of the ``n_splits`` iterations draws a random test
    set of labelled target rows (:class:`sklearn.model_selection.ShuffleSplit` on those
    rows). The training set holds every source row, every unlabelled target row and the
    labelled target rows drawn for training.

    Parameters
    ----------
    n_splits : int, default=10
        Number of re-shuffling and splitting iterations.
    test_size : float or int, default=None
        Fraction (float) or number (int) of the labelled target rows in each test set.
        ``None`` means the complement of ``train_size``, or 0.1 if that is None too.
    train_size : float or int, default=None
        Fraction or number of the labelled target rows in each training set; ``None``
        means the complement of ``test_size``. Source and unlabelled target rows are
        always added.
    random_state : int, RandomState instance or None, default=None
        Seed of the random splits.

    See Also
    --------
    TargetKFold : K-fold over the labelled target rows.
    ImportanceWeightedScorer : Validation on source rows when no target row is labelled.

    Notes
    -----
    With metadata routing on the splitter requests ``sample_domain``; with it off, pass
    ``groups=sample_domain`` to ``GridSearchCV.fit`` (see :class:`TargetKFold`).

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer.model_selection import TargetShuffleSplit
    >>> sample_domain = np.array([1, 1, -1, -1, -1, -1, -1])
    >>> y = np.array([0, 1, 1, 0, 1, 0, -1])
    >>> cv = TargetShuffleSplit(n_splits=3, test_size=2, random_state=0)
    >>> [len(test) for _, test in cv.split(np.zeros((7, 1)), y, sample_domain=sample_domain)]
    [2, 2, 2]
    """

    __metadata_request__split = {"sample_domain": True}

    def __init__(self, n_splits=10, *, test_size=None, train_size=None, random_state=None):
        self.n_splits = n_splits
        self.test_size = test_size
        self.train_size = train_size
        self.random_state = random_state

    def split(self, X, y=None, groups=None, sample_domain=None):
        """Generate the indices of the training and test rows of each split.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Stacked source and target rows; only its length is used.
        y : array-like of shape (n_samples,)
            Labels, with unlabelled target rows masked (-1 or NaN).
        groups : array-like of shape (n_samples,), default=None
            Read as ``sample_domain`` when ``sample_domain`` is None (metadata routing off).
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows.

        Yields
        ------
        train : ndarray
            Indices of the training rows of the split.
        test : ndarray
            Indices of the test rows of the split: labelled target rows only.
        """
        shuffle_split = ShuffleSplit(
            self.n_splits,
            test_size=self.test_size,
            train_size=self.train_size,
            random_state=self.random_state,
        )
        yield from _split_labelled_target(self, shuffle_split, X, y, groups, sample_domain)

    def get_n_splits(self, X=None, y=None, groups=None, sample_domain=None):
        """Return the number of splits, ``n_splits``.

        Parameters
        ----------
        X, y, groups, sample_domain : object
            Ignored; present for API compatibility.

        Returns
        -------
        n_splits : int
            Number of (train, test) pairs that ``split`` yields.
        """
        return self.n_splits


class LeaveOneDomainOut(BaseCrossValidator):
    """Each domain in turn is the test fold; the other domains train.

    For multi-source validation: with source domains 1, 2, 3 and a target domain -1, the
    fold that holds out domain 2 trains on domains 1, 3 and -1 and tests on domain 2, which
    measures how well a model carries over to a domain it did not learn from.

    A domain is a test fold when it has labelled rows, and the test fold holds those rows
    (every row of a source domain). The unlabelled rows of a held-out target domain stay in
    training as unlabelled target data, and a fully unlabelled target domain is never a test
    fold: its rows are in every training fold. Folds come in the order of the domain ids:
    source ids ascending, then target ids descending (-1, -2, ...).

    See Also
    --------
    TargetKFold : K-fold over the labelled target rows.

    Notes
    -----
    With metadata routing on the splitter requests ``sample_domain``; with it off, pass
    ``groups=sample_domain`` to ``GridSearchCV.fit`` (see :class:`TargetKFold`).

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer.model_selection import LeaveOneDomainOut
    >>> sample_domain = np.array([1, 1, 2, 2, -1, -1])
    >>> y = np.array([0, 1, 0, 1, -1, -1])
    >>> cv = LeaveOneDomainOut()
    >>> cv.get_n_splits(y=y, sample_domain=sample_domain)
    2
    >>> for train, test in cv.split(np.zeros((6, 1)), y, sample_domain=sample_domain):
    ...     print(train, test)
    [2 3 4 5] [0 1]
    [0 1 4 5] [2 3]
    """

    __metadata_request__split = {"sample_domain": True}

    def split(self, X, y=None, groups=None, sample_domain=None):
        """Generate the indices of the training and test rows of each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Stacked rows; only its length is used.
        y : array-like of shape (n_samples,), default=None
            Labels, with unlabelled target rows masked (-1 or NaN). Without ``y`` every
            source row is labelled and every target row unlabelled.
        groups : array-like of shape (n_samples,), default=None
            Read as ``sample_domain`` when ``sample_domain`` is None (metadata routing off).
        sample_domain : array-like of shape (n_samples,), default=None
            Domain id of each row.

        Yields
        ------
        train : ndarray
            Indices of the rows of every other domain (and of the unlabelled rows of the
            held-out domain).
        test : ndarray
            Indices of the labelled rows of the held-out domain.
        """
        sample_domain, labelled = _read_domains(self, X, y, groups, sample_domain)
        indices = np.arange(len(sample_domain))
        for domain in _labelled_domains(sample_domain, labelled):
            test = (sample_domain == domain) & labelled
            yield indices[~test], indices[test]

    def get_n_splits(self, X=None, y=None, groups=None, sample_domain=None):
        """Return the number of folds: the number of domains with labelled rows.

        Parameters
        ----------
        X : object
            Ignored.
        y : array-like of shape (n_samples,), default=None
            Labels, with unlabelled target rows masked.
        groups : array-like of shape (n_samples,), default=None
            Read as ``sample_domain`` when ``sample_domain`` is None.
        sample_domain : array-like of shape (n_samples,)
            Domain id of each row.

        Returns
        -------
        n_splits : int
            Number of (train, test) pairs that ``split`` yields.
        """
        sample_domain, labelled = _read_domains(self, None, y, groups, sample_domain)
        return len(_labelled_domains(sample_domain, labelled))


def _read_domains(cv, X, y, groups, sample_domain):
    """Validate ``sample_domain`` (or ``groups`` standing in for it); return it and the
    mask of labelled rows."""
    if sample_domain is None:
        sample_domain = groups
    if sample_domain is None:
        raise ValueError(
            f"{type(cv).__name__} needs sample_domain to tell source rows from target rows. "
            "With metadata routing on, call GridSearchCV(...).fit(X, y, "
            "sample_domain=sample_domain); with it off, pass groups=sample_domain too."
        )
    if X is None:
        n_samples = len(sample_domain)
    else:
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
    masks = domain_masks(y, sample_domain, n_samples, require_target=False)
    return np.asarray(sample_domain).astype(np.int64), masks.labelled


def _labelled_domains(sample_domain, labelled):
    present = np.unique(sample_domain[labelled])
    domains = np.concatenate([present[present >= 1], present[present <= -1][::-1]])
    if len(domains) < 2:
        raise ValueError(
            f"LeaveOneDomainOut needs at least two domains with labelled rows, got "
            f"{domains.tolist()} (all domains: {np.unique(sample_domain).tolist()}): every "
            "training fold needs labels from another domain. With one labelled source, use "
            "TargetKFold (labelled target rows) or KFold with ImportanceWeightedScorer."
        )
    return domains


def _split_labelled_target(cv, inner, X, y, groups, sample_domain):
    """Split the labelled target rows with ``inner``; every other row goes to training."""
    name = type(cv).__name__
    if y is None:
        raise ValueError(
            f"{name}.split needs y to find the labelled target rows (unlabelled target rows "
            "hold -1 for integer labels or NaN for float labels)."
        )
    sample_domain, labelled = _read_domains(cv, X, y, groups, sample_domain)
    labelled_target = np.flatnonzero(labelled & (sample_domain <= -1))
    n_labelled = len(labelled_target)
    if n_labelled == 0:
        raise ValueError(
            f"{name} found no labelled target rows (every target row's y is the mask value "
            "-1 or NaN), so there is nothing to validate on. When the target is unlabelled, "
            "validate on source rows with importance weights: GridSearchCV(..., cv=KFold(), "
            "scoring=skxfer.model_selection.ImportanceWeightedScorer())."
        )
    n_splits = inner.get_n_splits()
    if isinstance(inner, KFold) and n_labelled < n_splits:
        raise ValueError(
            f"{name}(n_splits={n_splits}) needs at least n_splits labelled target rows, but "
            f"only {n_labelled} target row(s) are labelled. Lower n_splits, label more target "
            "rows, or validate on source rows with importance weights: cv=KFold(), "
            "scoring=skxfer.model_selection.ImportanceWeightedScorer()."
        )
    try:
        splits = list(inner.split(labelled_target))
    except ValueError as exc:
        raise ValueError(
            f"{name} cannot split the {n_labelled} labelled target rows: {exc} Label more "
            "target rows or change test_size/train_size."
        ) from exc
    always_train = np.flatnonzero(~np.isin(np.arange(len(sample_domain)), labelled_target))
    for inner_train, inner_test in splits:
        train = np.sort(np.concatenate([always_train, labelled_target[inner_train]]))
        yield train, labelled_target[inner_test]
