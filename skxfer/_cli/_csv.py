"""``skxfer compare``'s input: a user's source and target CSV files, read and checked.

Every problem with the files is an :class:`InputError` with a one-line message, found before
anything is fitted.
"""

import os

import numpy as np

# No scikit-learn import up here: a bad file is reported before the slow imports.

#: Whole-number labels with at most this many distinct values are classes under --task auto.
MAX_AUTO_CLASSES = 10


class InputError(ValueError):
    """A problem with the user's files or options, reported as one line without traceback."""


def read_tables(source, target, label, task):
    """Read and check both files; return ``X_source, y_source, X_target, y_target, info``.

    Classification labels become codes ``0..k-1`` of the source's classes (-1 where a target
    row is unlabelled); regression labels floats (NaN where unlabelled).
    """
    pd = _pandas()
    frames = {}
    for role, path in (("source", source), ("target", target)):
        frames[role] = _read_csv(pd, role, path)
    src, tgt = frames["source"], frames["target"]
    for role, frame, path in (("source", src, source), ("target", tgt, target)):
        if label not in frame.columns:
            raise InputError(
                f"label column {label!r} is not in the {role} file {path} (its columns: "
                f"{_names(frame.columns)})."
            )
    only_source = [c for c in src.columns if c not in tgt.columns]
    only_target = [c for c in tgt.columns if c not in src.columns]
    if only_source or only_target:
        raise InputError(
            "the source and target files have different columns: "
            + "; ".join(
                part
                for part in (
                    f"only in the source: {_names(only_source)}" if only_source else "",
                    f"only in the target: {_names(only_target)}" if only_target else "",
                )
                if part
            )
            + ". Rename or drop columns so that both files have the same ones."
        )
    features = [c for c in src.columns if c != label]
    if not features:
        raise InputError(f"the files hold only the label column {label!r}; add feature columns.")
    tgt = tgt[list(src.columns)]
    if len(tgt) == 0:
        raise InputError(f"the target file {target} has a header but no rows.")
    if len(src) == 0:
        raise InputError(f"the source file {source} has a header but no rows.")
    _check_column_types(pd, src[features], tgt[features])
    notes = []
    missing_source = src[label].isna()
    if missing_source.all():
        raise InputError(f"no source row has a label: column {label!r} is empty in {source}.")
    if missing_source.any():
        notes.append(f"{_rows(int(missing_source.sum()), 'source')} without a label dropped.")
        src = src[~missing_source].reset_index(drop=True)
    task, reason = _detect_task(pd, src[label], tgt[label], task)
    if task == "regression":
        y_source = _numeric_label(pd, src[label], label, "source")
        y_target = _numeric_label(pd, tgt[label], label, "target")
    else:
        y_source, y_target = _class_codes(src[label], tgt[label], label)
    if task == "classification":
        n_labelled = int((y_target != -1).sum())
    else:
        n_labelled = int((~np.isnan(y_target)).sum())
    if n_labelled == 0:
        raise InputError(
            f"no target row has a label in column {label!r}: compare scores every method on "
            "labelled target rows, so label some of them."
        )
    if n_labelled < len(tgt):
        notes.append(
            f"{_rows(len(tgt) - n_labelled, 'target')} without a label: used as unlabelled "
            "target data (by the weighter), never scored."
        )
    info = {
        "task": task,
        "task_reason": reason,
        "features": features,
        "n_numeric": sum(is_numeric(src[c]) for c in features),
        "n_labelled_target": n_labelled,
        "target_name": os.path.splitext(os.path.basename(target))[0] or target,
        "notes": notes,
    }
    return (
        src[features].reset_index(drop=True),
        y_source,
        tgt[features].reset_index(drop=True),
        y_target,
        info,
    )


def is_numeric(column):
    """Numbers or booleans: a column encoded as numbers, not as categories."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return is_numeric_dtype(column) or is_bool_dtype(column)


def _pandas():
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("skxfer compare needs pandas: pip install 'skxfer[demo]'.") from exc
    return pd


def _read_csv(pd, role, path):
    if not os.path.exists(path):
        raise InputError(f"{role} file not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"{role} file {path} is a folder; pass a CSV file.")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"the {role} file {path} is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read the {role} file {path} as CSV: {reason}") from None
    except OSError as exc:
        raise InputError(f"cannot open the {role} file {path}: {exc.strerror or exc}") from None
    # pandas renames a repeated name ("a", "a.1"), so the repeats are found in the header
    # itself; stripped, as the column names are below
    header = [name.strip() for name in _header(path)]
    duplicated = sorted({c for c in header if c and header.count(c) > 1})
    if duplicated:
        raise InputError(
            f"the {role} file {path} repeats the column(s) {_names(duplicated)} in its header; "
            "rename or drop the repeats so that each column has one name."
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _header(path):
    """The names on the first non-blank line of a CSV file (where pandas finds them), as its
    writer spelt them."""
    import csv

    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        for row in csv.reader(file):
            if any(cell.strip() for cell in row):
                return row
    return []


def _check_column_types(pd, src, tgt):
    """A column numeric in one file but text in the other is a data error worth naming."""
    for column in src.columns:
        in_source, in_target = is_numeric(src[column]), is_numeric(tgt[column])
        empty = src[column].isna().all() or tgt[column].isna().all()
        if in_source != in_target and not empty:
            text, where = (tgt, "target") if in_source else (src, "source")
            values = text[column].dropna()
            bad = values[pd.to_numeric(values, errors="coerce").isna()]
            example = repr(bad.iloc[0]) if len(bad) else "text"
            raise InputError(
                f"column {column!r} is numeric in one file but holds text in the {where} file "
                f"(e.g. {example}); make it numbers in both or text in both."
            )


def _detect_task(pd, y_source, y_target, task):
    """``(task, reason)``. The auto rule: a label that is not numeric (text, booleans), or
    whose values are all whole numbers with at most ``MAX_AUTO_CLASSES`` distinct values, is
    classification; any other numeric label is regression."""
    if task in ("classification", "regression"):
        return task, "as requested"
    parts = [y.dropna() for y in (y_source, y_target)]
    labels = pd.concat([y for y in parts if len(y)], ignore_index=True)
    if pd.api.types.is_bool_dtype(labels) or not pd.api.types.is_numeric_dtype(labels):
        return "classification", "auto: the label is not numeric; --task regression to override"
    values = labels.to_numpy(float)
    distinct = np.unique(values)
    if np.all(values == np.round(values)) and len(distinct) <= MAX_AUTO_CLASSES:
        return "classification", (
            f"auto: whole-number label with {len(distinct)} distinct values; "
            "--task regression to override"
        )
    return "regression", "auto: numeric label; --task classification to override"


def _numeric_label(pd, y, label, role):
    values = pd.to_numeric(y, errors="coerce")
    bad = y[values.isna() & y.notna()]
    if len(bad):
        raise InputError(
            f"regression needs a numeric label, but column {label!r} of the {role} file holds "
            f"{bad.iloc[0]!r}; pass --task classification to treat it as classes."
        )
    values = values.to_numpy(float)
    if not np.all(np.isfinite(values[~np.isnan(values)])):
        raise InputError(f"column {label!r} of the {role} file holds an infinite label.")
    return values


def _class_codes(y_source, y_target, label):
    """Codes of the source's classes; a target class the source lacks is an error."""
    source_labels = _as_class_labels(y_source)
    target_labels = _as_class_labels(y_target.dropna())
    classes = np.unique(source_labels)
    if len(classes) < 2:
        raise InputError(
            f"every labelled source row has the same {label!r} ({classes[0]!r}): a classifier "
            "needs at least two classes in the source."
        )
    unknown = sorted(set(target_labels) - set(classes))
    if unknown:
        shown = [u.item() if isinstance(u, np.generic) else u for u in unknown[:5]]
        raise InputError(
            f"target label(s) {shown} of column {label!r} never occur in the source, so "
            "no source model can predict them; drop those rows, or pass --task regression if "
            "the label is a number."
        )
    codes = np.full(len(y_target), -1, dtype=int)
    codes[y_target.notna().to_numpy()] = np.searchsorted(classes, target_labels)
    return np.searchsorted(classes, source_labels).astype(int), codes


def _as_class_labels(y):
    """Labels as comparable values: whole floats as ints ("1.0" and "1" are one class),
    everything else as text."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        values = y.to_numpy(float)
        if np.all(values == np.round(values)):
            return values.astype(np.int64)
        return values
    return y.astype(str).to_numpy()


def _rows(count, role):
    return f"{count} {role} row{'' if count == 1 else 's'}"


def _names(columns, limit=8):
    columns = [str(c) for c in columns]
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")
