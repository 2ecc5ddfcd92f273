class NoTransferWarning(UserWarning):
    """Fitting without ``sample_domain`` (or without a source) makes the transfer a no-op.

    The estimator still fits, as a plain scikit-learn estimator on all the rows it is given;
    the warning says once per fit that nothing was transferred.
    """
