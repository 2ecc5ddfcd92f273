"""Shared helpers: warnings, optional dependencies, estimator discovery."""

from skxfer.utils._optional import import_optional
from skxfer.utils._warnings import MaskedLabelWarning, NoTransferWarning

__all__ = ["MaskedLabelWarning", "NoTransferWarning", "all_estimators", "import_optional"]


def all_estimators():
    """List every public skxfer estimator as ``(name, class)`` pairs, sorted by name.

    The estimators are the classes in the subpackages' ``__all__`` that derive from
    scikit-learn's ``BaseEstimator`` (abstract bases left out).

    Returns
    -------
    estimators : list of tuple
        ``(name, class)`` of every public estimator.

    Examples
    --------
    >>> from skxfer.utils import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> "KMMWeighter" in names
    True
    """
    from skxfer.utils._discovery import all_estimators as _all

    return _all()
