class NoTransferWarning(UserWarning):
    """Fitting without ``sample_domain`` (or without a source) makes the transfer a no-op.

    The estimator still fits, as a plain scikit-learn estimator on all the rows it is given;
    the warning says once per fit that nothing was transferred.
    """


class MaskedLabelWarning(UserWarning):
    """A label that is also the mask of unlabelled rows was fitted as a label.

    Without ``sample_domain`` no label is read as the unlabelled mark; an integer ``-1``
    beside two or more other labels is fitted as a class and this warning says so once per
    fit, because it is also what ``y`` holds on unlabelled target rows when
    ``sample_domain`` is forgotten.
    """
