"""Shared helpers: warnings, optional dependencies, estimator discovery."""

from skxfer.utils._optional import import_optional
from skxfer.utils._warnings import MaskedLabelWarning, NoTransferWarning

__all__ = ["MaskedLabelWarning", "NoTransferWarning", "all_estimators", "import_optional"]


def all_estimators():
    """List every public skxfer estimator as ``(name, class)`` pairs, sorted by name.

    Examples
    --------
    >>> from skxfer.utils import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> "KMMWeighter" in names
    True
    """
    from skxfer.utils._discovery import all_estimators as _all

    return _all()
