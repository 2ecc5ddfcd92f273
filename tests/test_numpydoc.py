"""Every public object's docstring passes numpydoc's validation.

The objects are the classes and functions in each subpackage's ``__all__``, with the public
methods and properties that skxfer defines (those inherited from scikit-learn or Python carry
their own documentation). numpydoc's checks are listed at
https://numpydoc.readthedocs.io/en/latest/validation.html; every check is enforced except the
ones below, each with its reason. Among those enforced: every parameter documented with a type
and a description, in the order of the signature, and no unknown one (PR01-PR10); a Returns
or Yields section where something is returned, each value described (RT01, RT03, YD01); a
one-line summary in the imperative ending with a period (SS01-SS06); sections in numpydoc's
order (GL07); an extended summary on every class and function (ES01); See Also and Examples
on every estimator (SA01, EX01).
"""

import dataclasses
import importlib
import inspect
import pydoc

import pytest
from numpydoc.validate import validate
from sklearn.base import BaseEstimator

import skxfer

# Codes ignored for every object.
IGNORED = {
    # The first line of a Returns entry names the value (``y_pred : ndarray``), as in
    # scikit-learn, so that the description and the text around it can refer to it.
    "RT02",
    # A summary starts on the line of the opening quotes, the layout ruff's formatter and
    # most of the package use; numpydoc wants it on the next line.
    "GL01",
    # A one-line docstring closes its quotes on the same line, as PEP 257 asks.
    "GL02",
}

# Codes ignored for methods and properties: the class docstring carries the extended
# summary, the See Also section and the runnable example that show them in use.
IGNORED_FOR_MEMBERS = {"ES01", "SA01", "EX01"}

# Codes ignored for the functions, warnings and result containers (everything but the
# estimators): an example or a See Also section is written where it helps, not required.
# Estimators must have both.
IGNORED_FOR_NON_ESTIMATORS = {"SA01", "EX01"}

# Codes ignored for dataclasses (the results of ``transfer_curve`` and
# ``domain_shift_report``): their fields are documented once, as Attributes, and users read
# them; skxfer builds the object, so its constructor's parameters are not documented twice.
IGNORED_FOR_DATACLASSES = {"PR01"}


def _public_objects():
    """Import paths of every public class and function, then of their documented members."""
    paths = []
    for package in ["skxfer", *(f"skxfer.{name}" for name in skxfer._SUBPACKAGES)]:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # constants and subpackages
            paths.append(f"{package}.{name}")
            if inspect.isclass(obj):
                paths.extend(f"{package}.{name}.{member}" for member in _members(obj))
    return paths


def _members(cls):
    for name in sorted(dir(cls)):
        if name.startswith("_") or (name.startswith("set_") and name.endswith("_request")):
            continue  # private, or written by scikit-learn's metadata routing
        static = inspect.getattr_static(cls, name)
        func = static.fget if isinstance(static, property) else getattr(cls, name, None)
        if not callable(func):
            continue
        if getattr(inspect.unwrap(func), "__module__", "").startswith("skxfer"):
            yield name


def _ignored(path):
    owner, _, _ = path.rpartition(".")
    if inspect.isclass(pydoc.locate(owner)):  # a method or property
        return IGNORED | IGNORED_FOR_MEMBERS
    obj = pydoc.locate(path)
    ignored = set(IGNORED)
    if not (inspect.isclass(obj) and issubclass(obj, BaseEstimator)):
        ignored |= IGNORED_FOR_NON_ESTIMATORS
    if dataclasses.is_dataclass(obj):
        ignored |= IGNORED_FOR_DATACLASSES
    return ignored


PUBLIC = _public_objects()


def test_the_walk_finds_the_public_api():
    # guards against a walk that silently finds nothing to validate
    assert "skxfer.warm_start.XGBTransferClassifier.fit" in PUBLIC
    assert "skxfer.reweight.KMMWeighter.compute_weights" in PUBLIC
    assert "skxfer.model_selection.transfer_curve" in PUBLIC
    assert len(PUBLIC) > 100


@pytest.mark.parametrize("path", PUBLIC)
def test_docstring_is_valid_numpydoc(path):
    result = validate(path)
    errors = [(code, message) for code, message in result["errors"] if code not in _ignored(path)]
    assert not errors, f"{path} ({result['file']}:{result['file_line']}):\n" + "\n".join(
        f"  {code}: {message}" for code, message in errors
    )
