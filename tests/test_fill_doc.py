"""Shared docstring fragments are filled in at the indentation of their field."""

import pytest

from skxfer.utils._docstrings import fill, fill_doc

FRAGMENTS = {"params": 'alpha : float\n    Strength.\nbeta : {"a", "b"}\n    Kind.\n'}


def test_fragment_lines_follow_the_field_indentation():
    doc = "Summary.\n\n    Parameters\n    ----------\n    %(params)s\n    gamma : int\n"
    assert fill(doc, FRAGMENTS) == (
        "Summary.\n\n    Parameters\n    ----------\n    alpha : float\n        Strength.\n"
        '    beta : {"a", "b"}\n        Kind.\n    gamma : int\n'
    )


def test_a_field_inside_a_line_continues_it():
    doc = "    Notes\n    -----\n    First. %(notes)s Last.\n"
    filled = fill(doc, {"notes": "One\ntwo."})
    assert filled == "    Notes\n    -----\n    First. One\n    two. Last.\n"


def test_braces_and_percent_signs_elsewhere_are_kept():
    assert fill("Take {x: 1} at 5%% or 5%.", FRAGMENTS) == "Take {x: 1} at 5%% or 5%."


def test_unknown_field_names_the_fragments():
    with pytest.raises(KeyError, match=r"%\(parms\)s has no fragment.*'params'"):
        fill("%(parms)s", FRAGMENTS)


def test_decorator_fills_the_docstring_and_returns_the_object():
    @fill_doc(FRAGMENTS)
    def f(alpha, beta):
        """Do.

        Parameters
        ----------
        %(params)s
        """

    assert "        beta : {" in f.__doc__
    assert "            Kind." in f.__doc__
    assert f.__name__ == "f"


def test_common_fragments_need_no_argument():
    @fill_doc()
    class Estimator:
        """Estimator.

        Attributes
        ----------
        %(input_attributes)s
        """

    assert "        n_features_in_ : int\n            Number of features" in Estimator.__doc__
