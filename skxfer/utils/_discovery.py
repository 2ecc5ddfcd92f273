import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator

import skxfer

# Subpackages that hold helpers or loaders, never estimators.
_NOT_ESTIMATOR_PACKAGES = {"utils", "datasets"}


def all_estimators():
    found = {}
    for info in pkgutil.iter_modules(skxfer.__path__):
        if not info.ispkg or info.name.startswith("_") or info.name in _NOT_ESTIMATOR_PACKAGES:
            continue
        module = importlib.import_module(f"skxfer.{info.name}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
                and not name.startswith("Base")
            ):
                found[name] = obj
    return sorted(found.items())
