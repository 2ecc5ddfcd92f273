import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from skxfer import is_masked, mask_value, pack, unpack
from skxfer._domain import check_sample_domain, domain_masks


def test_pack_unpack_round_trip_arrays():
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    ys, yt = np.array([0, 1, 2, 1, 0]), np.array([1, -1, -1, 2])
    X, y, sd = pack(Xs, ys, Xt, yt)
    assert X.shape == (9, 3)
    np.testing.assert_array_equal(sd, [1] * 5 + [-1] * 4)
    Xs2, ys2, Xt2, yt2 = unpack(X, y, sd)
    np.testing.assert_array_equal(Xs2, Xs)
    np.testing.assert_array_equal(Xt2, Xt)
    np.testing.assert_array_equal(ys2, ys)
    np.testing.assert_array_equal(yt2, yt)


@pytest.mark.parametrize(
    ("y_source", "expected_mask"),
    [([0, 1], -1), ([0.5, 1.5], np.nan), (np.array(["a", "b"], dtype=object), None)],
)
def test_pack_masks_unlabelled_target_by_dtype(y_source, expected_mask):
    _, y, _ = pack(np.zeros((2, 1)), y_source, np.zeros((3, 1)))
    assert is_masked(y).tolist() == [False, False, True, True, True]
    if expected_mask is None:
        assert y[-1] is None
    elif np.isnan(expected_mask):
        assert np.isnan(y[-1])
    else:
        assert y[-1] == expected_mask


def test_source_class_minus_one_stays_a_class():
    _, y, sd = pack(np.zeros((3, 1)), [-1, 0, 1], np.zeros((2, 1)))
    masks = domain_masks(y, sd, 5)
    assert masks.labelled.tolist() == [True, True, True, False, False]
    assert y[0] == -1


def test_domain_masks_without_sample_domain_reads_no_mask():
    y = np.array([-1, 0, -1])
    masks = domain_masks(y, None, 3)
    assert masks.labelled.all()
    assert masks.source.all()
    assert not masks.target.any()


def test_pack_dataframes_align_columns_by_name():
    Xs = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    Xt = pd.DataFrame({"b": [30.0], "a": [10.0]})
    X, _, sd = pack(Xs, [0, 1], Xt)
    assert list(X.columns) == ["a", "b"]
    assert X.iloc[2].tolist() == [10.0, 30.0]
    Xs2, _, Xt2, _ = unpack(X, None, sd)
    assert Xt2.iloc[0]["b"] == 30.0


def test_pack_dataframes_with_different_columns_names_them():
    Xs = pd.DataFrame({"a": [1.0], "b": [2.0]})
    Xt = pd.DataFrame({"a": [1.0], "c": [2.0]})
    with pytest.raises(ValueError, match=r"missing \['b'\], extra \['c'\]"):
        pack(Xs, [0], Xt)


def test_pack_fewer_target_features_is_an_error():
    with pytest.raises(ValueError, match="X_target has features"):
        pack(np.zeros((2, 3)), [0, 1], np.zeros((2, 2)))


def test_pack_lists_of_texts_and_sparse():
    X, _, sd = pack(["a b", "c"], [0, 1], ["d"])
    assert X == ["a b", "c", "d"]
    Xs, _, Xt, _ = unpack(X, None, sd)
    assert Xt == ["d"]
    Xsp, _, _ = pack(sp.csr_matrix(np.eye(3)), [0, 1, 0], sp.csr_matrix(np.ones((1, 3))))
    assert sp.issparse(Xsp)
    assert Xsp.shape == (4, 3)
    _, _, Xt, _ = unpack(Xsp, None, np.array([1, 1, 1, -1]))
    assert Xt.toarray().tolist() == [[1.0, 1.0, 1.0]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X_source": np.zeros((0, 2))}, "X_source has no rows"),
        ({"X_target": np.zeros((0, 2))}, "X_target has no rows"),
        ({"y_source": [0, 1, 0]}, "y_source has 3 labels but X_source has 2"),
        ({"y_source": [0.0, np.nan]}, "y_source contains NaN"),
        ({"y_target": [0, 1, 1]}, "y_target has 3 labels"),
        ({"y_source": None, "y_target": [0]}, "y_source is None"),
    ],
)
def test_pack_errors_name_the_parameter(kwargs, message):
    args = {"X_source": np.zeros((2, 2)), "y_source": [0, 1], "X_target": np.zeros((1, 2))}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        pack(**args)


@pytest.mark.parametrize(
    ("sample_domain", "error", "message"),
    [
        ([1, 1], ValueError, "2 entries but X has 3"),
        ([1, 0, -1], ValueError, "contains 0"),
        (["s", "t", "t"], TypeError, "integer domain ids"),
        ([True, False, True], TypeError, "integer domain ids"),
        ([1.0, 1.5, -1.0], ValueError, "whole-number"),
        ([[1, -1, 1]], ValueError, "1-D"),
        (1, TypeError, "scalar"),
    ],
)
def test_check_sample_domain_errors(sample_domain, error, message):
    with pytest.raises(error, match=message):
        check_sample_domain(sample_domain, 3)


def test_check_sample_domain_accepts_float_ids_and_series():
    out = check_sample_domain(pd.Series([1.0, -1.0, 2.0]), 3)
    assert out.dtype.kind == "i"
    assert out.tolist() == [1, -1, 2]


def test_domain_masks_requires_both_domains():
    with pytest.raises(ValueError, match="no target rows"):
        domain_masks(None, [1, 1], 2)
    with pytest.raises(ValueError, match="no source rows"):
        domain_masks(None, [-1, -2], 2)


def test_domain_masks_rejects_nan_labels_on_source_rows():
    with pytest.raises(ValueError, match=r"source row\(s\), e.g. row 1"):
        domain_masks(np.array([0.0, np.nan, np.nan]), [1, 1, -1], 3)


def test_multi_source_and_multi_target_ids():
    y = np.array([0, 1, 0, -1, 1])
    masks = domain_masks(y, [1, 2, 2, -1, -2], 5)
    assert masks.source.tolist() == [True, True, True, False, False]
    assert masks.labelled_target.tolist() == [False, False, False, False, True]


def test_mask_value_by_dtype():
    assert mask_value(np.array([1, 2])) == -1
    assert np.isnan(mask_value(np.array([1.0])))
    assert mask_value(np.array(["a"])) is None


def test_labels_without_domains_nan_is_refused_and_minus_one_is_flagged():
    from skxfer._domain import check_labels_without_domains
    from skxfer.utils import MaskedLabelWarning

    with pytest.raises(ValueError, match="row 2.*sample_domain"):
        check_labels_without_domains(np.array([0.0, 1.0, np.nan]))
    with pytest.raises(ValueError, match="sample_domain"):
        check_labels_without_domains(np.array(["a", "b", None], dtype=object))
    with pytest.warns(MaskedLabelWarning, match="fitted as a class"):
        check_labels_without_domains(np.array([0, 1, 2, -1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_labels_without_domains(np.array([-1, 1, 1]))  # +-1 labels: -1 is a class
        check_labels_without_domains(np.array([0, 1, 2]))


def test_scored_rows_reads_minus_one_as_a_class_only_when_fitted_as_one():
    from skxfer._domain import scored_rows

    y = np.array([0, 1, -1, 1])
    np.testing.assert_array_equal(scored_rows(y, classes=[0, 1]), [True, True, False, True])
    np.testing.assert_array_equal(scored_rows(y, classes=[-1, 0, 1]), [True] * 4)
    np.testing.assert_array_equal(scored_rows(np.array([0.5, np.nan])), [True, False])
    sd = np.array([1, 1, -1, -1])
    np.testing.assert_array_equal(scored_rows(y, sd), [False, False, False, True])
    with pytest.raises(ValueError, match="no labelled target rows"):
        scored_rows(y, np.array([1, 1, -1, 1]))
