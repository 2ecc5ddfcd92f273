"""The rows a boosted-tree transfer estimator passes to its library, checked and aligned.

Every library here stores features as 32-bit floats and reads NaN as missing; a DataFrame's
categorical columns go to the library as categories. The rows are aligned to the *source
model's* features: its columns by name (or position), and its categories by value, because
XGBoost and LightGBM read a pandas categorical through its integer codes, and the codes of
a target frame that holds fewer (or other) categories than the source's mean other things.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils.validation import validate_data

# pandas dtypes of text columns, which XGBoost and LightGBM cannot split on.
_TEXT_DTYPES = {"object", "string", "str"}

# The largest finite 32-bit float: a larger value becomes infinity in the library.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class SourceFeatures:
    """The features of a source model, which the rows given to fit and predict must match.

    Attributes
    ----------
    names : list of str
        Feature names in the source's order.
    named : bool
        Whether DataFrame columns are matched to ``names`` by name (False: by position, for a
        model fitted on an array).
    categorical : list of int
        Positions of the features the source model treats as categorical.
    categories : dict of int to list
        For the categorical features whose categories the model records, those categories
        in the order of its codes.
    """

    names: list
    named: bool
    categorical: list = field(default_factory=list)
    categories: dict = field(default_factory=dict)


def is_frame(X):
    return hasattr(X, "iloc") and hasattr(X, "dtypes")


def take_rows(X, rows):
    """Rows of an array or DataFrame, by boolean mask or index."""
    index = np.arange(X.shape[0])[rows]
    return X.iloc[index] if is_frame(X) else X[index]


def check_tree_X(estimator, X, *, reset, library, text_ok):
    """Validate ``X`` for a tree library that reads NaN as missing.

    A DataFrame is kept as it is (its categorical columns go to the library as categories);
    its column names are recorded or checked as by any scikit-learn estimator. Anything else
    becomes a float array (an object array when ``text_ok``: CatBoost reads strings as
    categories). Numbers must be finite and within the 32-bit float range.
    """
    if is_frame(X):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        if X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {type(estimator).__name__}."
            )
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        text = [str(c) for c, kind in X.dtypes.items() if str(kind) in _TEXT_DTYPES]
        if text and not text_ok:
            raise ValueError(
                f"Columns {text} hold Python objects (strings); {library} needs numbers or "
                "pandas categoricals. Convert them with X[cols] = X[cols].astype('category')."
            )
        for j, kind in enumerate(X.dtypes):
            if is_numeric_dtype(kind) and not is_bool_dtype(kind):
                values = X.iloc[:, j].to_numpy(np.float64, na_value=np.nan)
                check_float32_range(values, str(X.columns[j]), library)
        return X
    if text_ok:
        # numbers are checked when the library's input is built (a column may be strings)
        return validate_data(estimator, X, reset=reset, dtype=None, ensure_all_finite=False)
    X = validate_data(
        estimator, X, reset=reset, ensure_all_finite="allow-nan", dtype=[np.float64, np.float32]
    )
    for j in range(X.shape[1]):
        check_float32_range(X[:, j], j, library)
    return X


def check_float32_range(values, column, library):
    """Raise when a column holds infinity, or finite numbers a 32-bit float cannot hold."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        size = np.abs(values)
    if np.isinf(size).any():
        raise ValueError(
            f"Column {column!r} of X holds infinity; {library} needs finite numbers (NaN marks "
            "a missing value). Replace it, e.g. X[X == np.inf] = np.nan."
        )
    if np.nanmax(size, initial=0.0) > _FLOAT32_MAX:
        low, high = np.nanmin(values), np.nanmax(values)
        raise ValueError(
            f"Column {column!r} of X holds values from {low:.3g} to {high:.3g}, beyond what "
            f"{library} stores features in (32-bit floats, up to {_FLOAT32_MAX:.3g} in size). "
            "Rescale the column (divide it by a constant, or take its logarithm) so that it "
            "fits; trees only use the order of the values."
        )


def align_columns(X, features, name):
    """``X`` with the source model's features in its order.

    A DataFrame is matched to the source's feature names when it has them; anything else is
    taken in position order, after checking its width.
    """
    n_features = len(features.names)
    if not (features.named and is_frame(X)):
        if X.shape[1] != n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but the source model of {name} has "
                f"{n_features}. Pass the source model's features, in its order (or a DataFrame "
                "with its column names)."
            )
        return X
    columns = [str(c) for c in X.columns]
    missing = [c for c in features.names if c not in columns]
    extra = [c for c in columns if c not in features.names]
    if missing or extra:
        raise ValueError(
            f"The columns of X do not match the source model's features: missing {missing}, "
            f"not in the source model {extra}. {name} aligns DataFrame columns by name; "
            "rename or drop columns so that X has exactly the source model's features."
        )
    if columns == features.names:
        return X
    return X.iloc[:, [columns.index(c) for c in features.names]]


def align_categories(X, features, library):
    """``X`` whose categorical columns have the source model's categories, in its order.

    A value the source model was not fitted with becomes missing (NaN), with a warning: the
    trees then send it where they send missing values.
    """
    if not (is_frame(X) and features.categories):
        return X
    import pandas as pd

    aligned = None
    for j, categories in features.categories.items():
        column = X.iloc[:, j]
        if not isinstance(column.dtype, pd.CategoricalDtype):
            continue
        if list(column.cat.categories) == list(categories):
            continue
        recoded = pd.Categorical(column, categories=categories)
        unseen = column.notna().to_numpy() & (recoded.codes == -1)
        if unseen.any():
            values = sorted({str(v) for v in column[unseen]})
            shown = ", ".join(values[:5]) + (", ..." if len(values) > 5 else "")
            warnings.warn(
                f"Column {str(X.columns[j])!r} of X holds categories the source model was not "
                f"fitted with ({shown}: {int(unseen.sum())} row(s)); {library} reads them as "
                "missing values.",
                UserWarning,
                stacklevel=4,
            )
        if aligned is None:
            aligned = X.copy(deep=False)
        aligned.isetitem(j, recoded)
    return X if aligned is None else aligned
