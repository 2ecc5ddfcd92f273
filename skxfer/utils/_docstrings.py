"""Docstring text that several public objects share, written once and filled in.

A classifier and its regressor twin, or a function and the estimator behind it, take
parameters that mean the same thing. Their text is kept in one fragment, and each docstring
names it with a ``%(name)s`` field. A fragment is written flush left: its lines after the
first are indented as the line of the field, so one fragment fits a class docstring (fields
at 4 spaces) and a method's (at 8) alike, and can continue a line. The rendered ``__doc__`` is
complete, so ``help()``, numpydoc and the doctests see the full text.
"""

import re

_FIELD = re.compile(r"%\((\w+)\)s")

# Fragments that every docstring may name, besides those given to ``fill_doc``.
COMMON_FRAGMENTS = {
    # the attributes ``validate_data(..., reset=True)`` sets
    "input_attributes": """\
n_features_in_ : int
    Number of features seen during ``fit``.
feature_names_in_ : ndarray of shape (n_features_in_,)
    Names of features seen during ``fit``, when ``X`` has string column names.""",
}


def fill_doc(fragments=None):
    """Return a decorator that fills the ``%(name)s`` fields of a docstring.

    Parameters
    ----------
    fragments : dict of str to str, default=None
        The text of each field, written flush left, besides ``COMMON_FRAGMENTS``.

    Returns
    -------
    decorator : callable
        Takes a class or function, fills its ``__doc__`` and returns it.
    """

    fragments = {**COMMON_FRAGMENTS, **(fragments or {})}

    def decorate(obj):
        if obj.__doc__ is not None:  # None under ``python -OO``
            obj.__doc__ = fill(obj.__doc__, fragments)
        return obj

    return decorate


def fill(doc, fragments):
    """Return ``doc`` with every ``%(name)s`` field replaced by its fragment.

    Parameters
    ----------
    doc : str
        A docstring holding fields.
    fragments : dict of str to str
        The text of each field, written flush left.

    Returns
    -------
    filled : str
        ``doc`` with each fragment's lines after the first indented as its field's line.
    """

    def replace(match):
        name = match.group(1)
        if name not in fragments:
            raise KeyError(
                f"The docstring field %({name})s has no fragment; the fragments are "
                f"{sorted(fragments)}."
            )
        line = doc[doc.rfind("\n", 0, match.start()) + 1 : match.start()]
        indent = line[: len(line) - len(line.lstrip())]
        first, *rest = fragments[name].strip("\n").split("\n")
        return "\n".join([first] + [indent + line if line else line for line in rest])

    return _FIELD.sub(replace, doc)
