"""The linear aligners: CORAL, the Gaussian optimal-transport map, subspace alignment."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.covariance import ledoit_wolf_shrinkage

from skxfer import pack
from skxfer.align import CORAL, LinearOTMapping, SubspaceAlignment
from skxfer.align._base import shrunk_covariance
from skxfer.utils import NoTransferWarning

ALIGNERS = [CORAL(), LinearOTMapping(), SubspaceAlignment(n_components=3, random_state=0)]


def _domains(n_source=300, n_target=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n_source, d)) @ rng.normal(size=(d, d))
    Xt = rng.normal(size=(n_target, d)) @ rng.normal(size=(d, d)) + 2.0
    return Xs, Xt


def _cov(X):
    return np.cov(X.T, bias=True)


@pytest.mark.parametrize("cls", [CORAL, LinearOTMapping])
def test_source_rows_get_the_target_mean_and_covariance(cls):
    Xs, Xt = _domains()
    X, _, sd = pack(Xs, None, Xt)
    Z = cls(reg=0.0).fit_transform(X, sample_domain=sd)
    np.testing.assert_allclose(Z[:300].mean(axis=0), Xt.mean(axis=0), atol=1e-10)
    np.testing.assert_allclose(_cov(Z[:300]), _cov(Xt), atol=1e-8)
    np.testing.assert_array_equal(Z[300:], Xt)


@pytest.mark.parametrize("cls", [CORAL, LinearOTMapping])
def test_new_rows_are_target_rows_and_pass_unchanged(cls):
    Xs, Xt = _domains()
    X, _, sd = pack(Xs, None, Xt)
    aligner = cls().fit(X, sample_domain=sd)
    np.testing.assert_array_equal(aligner.transform(Xs[:5]), Xs[:5])
    # a source row is mapped when marked so, and mapping by domain is row by row
    both = aligner.transform(X, sample_domain=sd)
    np.testing.assert_allclose(both[:5], aligner.transform(Xs[:5], sample_domain=np.ones(5)))


def test_linear_ot_map_is_symmetric_and_moves_rows_less_than_coral():
    Xs, Xt = _domains(seed=1)
    X, _, sd = pack(Xs, None, Xt)
    ot_map = LinearOTMapping(reg=0.0).fit(X, sample_domain=sd)
    np.testing.assert_allclose(ot_map.coef_, ot_map.coef_.T, atol=1e-10)
    assert np.linalg.eigvalsh(ot_map.coef_).min() > 0
    moved = {
        name: np.mean(np.sum((est.fit_transform(X, sample_domain=sd)[:300] - Xs) ** 2, axis=1))
        for name, est in (("ot", ot_map), ("coral", CORAL(reg=0.0)))
    }
    assert moved["ot"] < moved["coral"]


def test_linear_ot_map_equals_pot_linear_transport():
    ot = pytest.importorskip("ot")
    Xs, Xt = _domains(seed=2)
    X, _, sd = pack(Xs, None, Xt)
    ours = LinearOTMapping(reg=0.0).fit(X, sample_domain=sd).transform(Xs, np.ones(300))
    theirs = ot.da.LinearTransport(reg=1e-12).fit(Xs=Xs, Xt=Xt).transform(Xs=Xs)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_auto_shrinkage_is_ledoit_wolf():
    Xs, _ = _domains(n_source=50, d=20)
    _, _, shrinkage = shrunk_covariance(Xs, "auto")
    assert shrinkage == pytest.approx(ledoit_wolf_shrinkage(Xs), rel=1e-8)
    assert 0 < shrinkage < 1


def test_coral_shrinkage_keeps_the_map_finite_when_features_outnumber_rows():
    rng = np.random.default_rng(0)
    X, _, sd = pack(rng.normal(size=(10, 30)), None, rng.normal(size=(12, 30)) * 2)
    coral = CORAL().fit(X, sample_domain=sd)
    assert coral.shrinkage_source_ > 0
    assert np.all(np.isfinite(coral.transform(X, sample_domain=sd)))


def test_subspace_alignment_matches_the_published_map():
    from sklearn.decomposition import PCA

    Xs, Xt = _domains(d=6)
    X, _, sd = pack(Xs, None, Xt)
    Z = SubspaceAlignment(n_components=3, svd_solver="full").fit_transform(X, sample_domain=sd)
    ps, pt = PCA(3).fit(Xs), PCA(3).fit(Xt)
    M = ps.components_ @ pt.components_.T
    np.testing.assert_allclose(np.abs(Z[:300]), np.abs(ps.transform(Xs) @ M), atol=1e-8)
    np.testing.assert_allclose(np.abs(Z[300:]), np.abs(pt.transform(Xt)), atol=1e-8)


def test_subspace_alignment_refuses_more_components_than_rows():
    Xs, Xt = _domains(n_target=3)
    X, _, sd = pack(Xs, None, Xt)
    with pytest.raises(ValueError, match="n_components=4 exceeds"):
        SubspaceAlignment(n_components=4).fit(X, sample_domain=sd)


@pytest.mark.parametrize("aligner", ALIGNERS, ids=lambda a: type(a).__name__)
def test_too_few_rows_of_a_domain_is_a_clear_error(aligner):
    if isinstance(aligner, SubspaceAlignment):
        pytest.skip("a subspace of one row is defined")
    Xs, Xt = _domains(n_target=1)
    X, _, sd = pack(Xs, None, Xt)
    with pytest.raises(ValueError, match="at least 2 target rows"):
        aligner.fit(X, sample_domain=sd)


@pytest.mark.parametrize("aligner", ALIGNERS, ids=lambda a: type(a).__name__)
def test_without_sample_domain_nothing_is_transferred(aligner):
    Xs, _ = _domains()
    with pytest.warns(NoTransferWarning, match="sample_domain"):
        fitted = clone(aligner).fit(Xs)
    if isinstance(aligner, SubspaceAlignment):
        np.testing.assert_allclose(fitted.alignment_, np.eye(3), atol=1e-12)
    else:
        np.testing.assert_array_equal(fitted.transform(Xs, np.ones(len(Xs))), Xs)


@pytest.mark.parametrize("aligner", ALIGNERS, ids=lambda a: type(a).__name__)
def test_pandas_output_names_and_pickling(aligner):
    pd = pytest.importorskip("pandas")
    Xs, Xt = _domains()
    X, _, sd = pack(
        pd.DataFrame(Xs, columns=list("abcd")), None, pd.DataFrame(Xt, columns=list("abcd"))
    )
    fitted = clone(aligner).set_output(transform="pandas").fit(X, sample_domain=sd)
    out = fitted.transform(X, sample_domain=sd)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(fitted.get_feature_names_out())
    if not isinstance(aligner, SubspaceAlignment):
        assert list(out.columns) == list("abcd")
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(restored.transform(X, sample_domain=sd), out)


@pytest.mark.parametrize("aligner", ALIGNERS, ids=lambda a: type(a).__name__)
def test_float32_stays_float32(aligner):
    Xs, Xt = _domains()
    X, _, sd = pack(Xs.astype(np.float32), None, Xt.astype(np.float32))
    assert aligner.fit_transform(X, sample_domain=sd).dtype == np.float32


@pytest.mark.parametrize("aligner", ALIGNERS, ids=lambda a: type(a).__name__)
def test_values_whose_squares_overflow_are_refused_with_the_fix(aligner):
    Xs, Xt = _domains()
    X, _, sd = pack(Xs * 1e160, None, Xt * 1e160)
    with pytest.raises(ValueError, match="Scale X first"):
        clone(aligner).fit(X, sample_domain=sd)
    fitted = clone(aligner).fit(np.vstack([Xs, Xt]), sample_domain=sd)
    with pytest.raises(ValueError, match="Scale X first"):
        fitted.transform(Xs * 1e160)
