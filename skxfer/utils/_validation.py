"""Input checks shared by the meta-estimators."""

from sklearn.utils.validation import check_is_fitted, validate_data


def check_fitted_rows(estimator, X):
    """Check that ``estimator`` is fitted and that ``X`` is a 2-D table of its features.

    ``X`` is not converted (a meta-estimator hands it to its inner estimators as it is); a
    1-D array is refused with the reshape hint, and the feature count and names are checked
    against those seen in ``fit``.
    """
    check_is_fitted(estimator)
    if getattr(X, "ndim", 2) == 1 and hasattr(estimator, "n_features_in_"):
        raise ValueError(
            f"Expected a 2-D X with {estimator.n_features_in_} features, got a 1-D array. "
            "Reshape your data with X.reshape(-1, 1) for one feature or X.reshape(1, -1) "
            "for one row."
        )
    validate_data(estimator, X, reset=False, skip_check_array=True)
