"""How both commands turn tables into numbers: fitted on the source rows alone.

Numeric columns are median-imputed and scaled, with a 0/1 missing indicator each; other
columns are imputed ("missing") and one-hot encoded. A text column with nearly one value per
row (an ID) is dropped, and any other text column keeps its ``MAX_CATEGORIES - 1`` commonest
values (the rest share one column), so the width of the encoded table never grows with the
number of rows. Nothing is learnt from a target row, so the source models are fitted once.
"""

import warnings

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from skxfer._cli._csv import is_numeric

#: Most one-hot columns of one text column: its commonest values, and one for all the others.
MAX_CATEGORIES = 30
#: A text column with more distinct values than this share of its source rows is an ID.
ID_SHARE = 0.9


def encode_tables(X_source, X_targets):
    """``(encoded source, [encoded target, ...], notes)``: float arrays, the encoding fitted
    on ``X_source`` alone; a note for each column dropped as an ID and for each text column
    whose rarer values share one column."""
    ids = id_like_columns(X_source)
    preprocess = make_preprocessor(X_source.drop(columns=list(ids)))
    with warnings.catch_warnings():
        # a column that is all missing, or a category only in the target: expected here
        warnings.simplefilter("ignore")
        encoded = preprocess.fit_transform(X_source).astype(float)
        targets = [preprocess.transform(X).astype(float) for X in X_targets]
    notes = [
        f"column {column!r} dropped: {distinct} distinct values in {rows} source rows, nearly "
        "one per row (an ID?); one-hot encoded, it would teach nothing that carries to the target."
        for column, (distinct, rows) in ids.items()
    ]
    return encoded, targets, notes + _capped_notes(preprocess)


def id_like_columns(X):
    """``{column: (distinct values, rows)}`` of the text columns of ``X`` that hold nearly one
    distinct value per row: more than ``ID_SHARE`` of their non-missing rows and more than
    ``MAX_CATEGORIES``. One-hot encoded, such a column (an ID, a free-text comment) is as wide
    as the table and every column of it is one row, seen in no other domain."""
    found = {}
    for column in X.columns:
        if is_numeric(X[column]):
            continue
        values = X[column].dropna()
        distinct = int(values.astype(str).nunique())
        if distinct > MAX_CATEGORIES and distinct > ID_SHARE * len(values):
            found[column] = (distinct, len(values))
    return found


def make_preprocessor(X):
    """Median-impute and scale the numeric columns of ``X``, with a 0/1 missing indicator
    per numeric column; impute "missing" and one-hot encode the other columns, at most
    ``MAX_CATEGORIES`` columns each (the commonest values, and one column for the rest).

    Only the columns of ``X`` are encoded: any other column of a table it transforms is
    left out."""
    numeric = [c for c in X.columns if is_numeric(X[c])]
    categorical = [c for c in X.columns if c not in numeric]
    steps = []
    if numeric:
        scaled = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        steps.append(("numeric", scaled, numeric))
        # Unscaled and for every column: a source column that is almost never missing would
        # otherwise scale its indicator to +-10 on a target where it is often missing.
        steps.append(("missing", MissingIndicator(features="all"), numeric))
    if categorical:
        encoded = make_pipeline(
            FunctionTransformer(_as_text, feature_names_out="one-to-one"),
            SimpleImputer(strategy="constant", fill_value="missing"),
            # sparse until the cap is applied: dense, a column of 1M distinct values would
            # take terabytes before any value was dropped
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=MAX_CATEGORIES,
                sparse_output=True,
            ),
        )
        steps.append(("categorical", encoded, categorical))
    # every method gets a dense array: the cap bounds its width by the number of columns
    return ColumnTransformer(steps, sparse_threshold=0)


def _capped_notes(preprocess):
    """One note per text column whose rarer values share one column."""
    if "categorical" not in preprocess.named_transformers_:
        return []
    _, _, columns = next(s for s in preprocess.transformers_ if s[0] == "categorical")
    encoder = preprocess.named_transformers_["categorical"][-1]
    notes = []
    for column, values, rare in zip(columns, encoder.categories_, encoder.infrequent_categories_):
        if rare is None:
            continue
        kept = len(values) - len(rare)
        notes.append(
            f"column {column!r}: {len(values)} distinct values in the source; the {kept} "
            f"commonest are one-hot encoded and the other {len(rare)} share one column."
        )
    return notes


def _as_text(X):
    """Categories as text, missing values kept: a column of booleans and blanks, or of
    numbers and words, would otherwise mix types that the encoder cannot sort."""
    import pandas as pd

    values = np.asarray(X, dtype=object)
    missing = pd.isna(values)
    out = values.astype(str).astype(object)
    out[missing] = np.nan
    return out
