"""TCA and the entropic optimal-transport map."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from skxfer import pack
from skxfer.align import TCA, OTMapping


def _domains(n_source=300, n_target=250, d=4, seed=0, shift=2.0):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n_source, d))
    Xt = rng.normal(size=(n_target, d)) * 1.5 + shift
    return Xs, Xt


def _gap(Z, n_source):
    return float(np.linalg.norm(Z[:n_source].mean(axis=0) - Z[n_source:].mean(axis=0)))


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_tca_shrinks_the_mean_gap_as_mu_grows(kernel):
    Xs, Xt = _domains()
    X, _, sd = pack(Xs, None, Xt)
    gaps = [
        _gap(
            TCA(2, kernel=kernel, mu=mu, n_landmarks=200, random_state=0)
            .fit(X, sample_domain=sd)
            .transform(X),
            300,
        )
        for mu in (0.0, 10.0, 1000.0)
    ]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.05 * gaps[0]


def test_tca_with_a_linear_kernel_and_no_mean_matching_is_pca():
    Xs, Xt = _domains()
    X, _, sd = pack(Xs, None, Xt)
    Z = TCA(3, kernel="linear", mu=0.0).fit(X, sample_domain=sd).transform(X)
    pcs = PCA(3).fit_transform(X)
    scale = np.sqrt(X.var(axis=0).sum() / pcs.var(axis=0).sum())  # the input's variance
    np.testing.assert_allclose(np.abs(Z), np.abs(pcs) * scale, atol=1e-8)


@pytest.mark.parametrize("factor", [1e-3, 1.0, 1e3])
def test_tca_components_hold_the_inputs_variance(factor):
    # an rbf feature map has unit norm whatever X: without rescaling the components come
    # out some 0.1 wide, and a classifier's default penalty swamps them
    Xs, Xt = _domains()
    X, _, sd = pack(Xs * factor, None, Xt * factor)
    Z = TCA(4, n_landmarks=100, random_state=0).fit(X, sample_domain=sd).transform(X)
    np.testing.assert_allclose(Z.var(axis=0).sum(), X.var(axis=0).sum(), rtol=1e-6)
    assert Z.var(axis=0)[0] > Z.var(axis=0)[-1]  # the components keep their order


def test_tca_maps_every_domain_the_same_way_and_new_rows_alike():
    Xs, Xt = _domains()
    X, _, sd = pack(Xs, None, Xt)
    tca = TCA(3, n_landmarks=200, random_state=0).fit(X, sample_domain=sd)
    np.testing.assert_allclose(tca.transform(X, sample_domain=sd), tca.transform(X))
    np.testing.assert_allclose(tca.transform(X[:7]), tca.transform(X)[:7])


def test_tca_scales_past_the_exact_kernel_through_landmarks():
    Xs, Xt = _domains(n_source=10_000, n_target=10_000, d=10)
    X, _, sd = pack(Xs, None, Xt)
    tca = TCA(5, n_landmarks=100, random_state=0).fit(X, sample_domain=sd)
    assert tca.components_.shape == (100, 5)
    with pytest.raises(ValueError, match="n_components=200 exceeds"):
        TCA(200, n_landmarks=100, random_state=0).fit(X[::40], sample_domain=sd[::40])


def test_ot_mapping_moves_transported_rows_to_their_barycentric_image():
    ot = pytest.importorskip("ot")
    Xs, Xt = _domains()
    X, _, sd = pack(Xs, None, Xt)
    Z = OTMapping(reg=0.05).fit_transform(X, sample_domain=sd)
    cost = ot.dist(Xs, Xt)
    cost -= cost.min(axis=1, keepdims=True)
    plan = ot.sinkhorn(
        np.full(300, 1 / 300), np.full(250, 1 / 250), cost / (2 * Xt.var(axis=0).sum()), 0.05
    )
    np.testing.assert_allclose(Z[:300], plan @ Xt / plan.sum(axis=1, keepdims=True), atol=1e-6)
    np.testing.assert_array_equal(Z[300:], Xt)


def test_ot_mapping_extends_to_new_source_rows_by_neighbouring_displacements():
    pytest.importorskip("ot")
    Xs, Xt = _domains(n_source=600, n_target=500)
    X, _, sd = pack(Xs, None, Xt)
    mapping = OTMapping(max_samples=200, n_neighbors=3, random_state=0).fit(X, sample_domain=sd)
    assert len(mapping.support_) == 200
    mapped = mapping.transform(Xs, sample_domain=np.ones(600))
    # every source row moves, the fitted plan's rows exactly by their own displacement
    on_support = mapping.transform(mapping.support_, np.ones(200))
    np.testing.assert_allclose(on_support, mapping.support_ + mapping.displacement_)
    np.testing.assert_allclose(mapped.mean(axis=0), Xt.mean(axis=0), atol=0.3)
    # a new row's shift is a weighted mean of its neighbours' displacements
    new = Xs[:1] + 0.01
    _, index = mapping._neighbors.kneighbors(new)
    shift = mapping.transform(new, np.ones(1)) - new
    low, high = mapping.displacement_[index[0]].min(0), mapping.displacement_[index[0]].max(0)
    assert np.all((shift[0] >= low - 1e-12) & (shift[0] <= high + 1e-12))
    np.testing.assert_array_equal(mapping.transform(Xt), Xt)  # new target rows stay


def test_ot_mapping_with_a_tiny_reg_falls_back_to_the_log_domain():
    pytest.importorskip("ot")
    Xs, Xt = _domains(shift=30.0)
    X, _, sd = pack(Xs, None, Xt)
    Z = OTMapping(reg=1e-3, sinkhorn_max_iter=200).fit_transform(X, sample_domain=sd)
    assert np.all(np.isfinite(Z))


def test_ot_mapping_names_the_extra_when_pot_is_missing(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ot", None)  # makes `import ot` fail
    Xs, Xt = _domains()
    X, _, sd = pack(Xs, None, Xt)
    with pytest.raises(ImportError, match=r"skxfer\[align\]"):
        OTMapping().fit(X, sample_domain=sd)


def test_tca_estimates_its_statistics_on_a_sample_of_large_domains():
    Xs, Xt = _domains(n_source=3000, n_target=3000)
    X, _, sd = pack(Xs, None, Xt)
    full = TCA(2, n_landmarks=50, random_state=0).fit(X, sample_domain=sd)
    sampled = TCA(2, n_landmarks=50, max_samples=1000, random_state=0).fit(X, sample_domain=sd)
    assert sampled.transform(X).shape == (6000, 2)
    # the mean gap still shrinks against kernel PCA on the same sample
    pca = TCA(2, n_landmarks=50, max_samples=1000, mu=0.0, random_state=0)
    gap = _gap(sampled.transform(X), 3000)
    assert gap < 0.2 * _gap(pca.fit(X, sample_domain=sd).transform(X), 3000)
    assert np.isfinite(full.transform(X)).all()
