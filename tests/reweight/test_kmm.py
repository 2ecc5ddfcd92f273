"""KMMWeighter: quality against the true ratio, solver agreement, constraints, odd inputs."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

import skxfer.reweight._kmm as kmm_module
import skxfer.reweight._kmm_solvers as solvers
from skxfer.datasets import make_covariate_shift
from skxfer.reweight import KMMWeighter
from skxfer.reweight._kmm_solvers import slab_shift
from skxfer.utils import NoTransferWarning


def _fit(data, **params):
    return KMMWeighter(random_state=0, **params).fit(data.X, sample_domain=data.sample_domain)


def _source(data):
    return data.sample_domain > 0


@pytest.fixture(scope="module")
def shift_2000():
    return make_covariate_shift(2000, 2000, 10, random_state=0)


@pytest.fixture(scope="module")
def shift_600():
    return make_covariate_shift(600, 500, 5, random_state=1)


@pytest.mark.parametrize("solver", ["exact", "scalable"])
def test_weights_rank_rows_like_the_true_ratio(shift_2000, solver):
    # The goal: Spearman >= 0.7 (ADAPT's KMM gets 0.31, skada's 0.32).
    weighter = _fit(shift_2000, solver=solver)
    rho = spearmanr(weighter.weights_, shift_2000.true_ratio[_source(shift_2000)])[0]
    assert rho >= 0.7


def test_auto_picks_exact_for_small_and_scalable_for_large(shift_600, monkeypatch):
    assert _fit(shift_600).solver_ == "exact"
    monkeypatch.setattr(kmm_module, "_EXACT_MAX_SOURCE", 100)
    assert _fit(shift_600).solver_ == "scalable"


def test_exact_and_scalable_solvers_agree(shift_600):
    exact = _fit(shift_600, solver="exact")
    scalable = _fit(shift_600, solver="scalable")
    assert np.corrcoef(exact.weights_, scalable.weights_)[0, 1] > 0.99
    assert spearmanr(exact.weights_, scalable.weights_)[0] > 0.98


def test_weights_beat_source_only_for_a_weighted_classifier(shift_2000):
    data, source = shift_2000, _source(shift_2000)
    Xs, ys = data.X[source], data.y_true[source]
    Xt, yt = data.X[~source], data.y_true[~source]
    weights = _fit(data).weights_
    plain = LogisticRegression().fit(Xs, ys).score(Xt, yt)
    weighted = LogisticRegression().fit(Xs, ys, sample_weight=weights).score(Xt, yt)
    assert weighted >= plain + 0.03


@pytest.mark.parametrize("solver", ["exact", "scalable"])
def test_weights_are_nonnegative_mean_one_and_bounded(shift_600, solver):
    B = 4.0
    weighter = _fit(shift_600, solver=solver, B=B)
    w = weighter.weights_
    assert np.all(w >= 0)
    assert w.mean() == pytest.approx(1.0)
    # Without max_weight the weights are the raw KMM weights times ratio_scale_.
    assert np.max(w / weighter.ratio_scale_) <= B * (1 + 1e-12)
    assert np.isclose(np.max(w / weighter.ratio_scale_), B)  # B binds on this shift
    clipped = _fit(shift_600, solver=solver, max_weight=2.5).weights_
    assert clipped.max() <= 2.5 + 1e-12
    assert clipped.mean() == pytest.approx(1.0)


@pytest.mark.parametrize("solver", ["exact", "scalable"])
def test_sum_constraint_holds_when_it_binds(shift_600, solver):
    # eps=0 forces sum(b) == n_source, which the unconstrained ridge solution does not meet.
    weighter = _fit(shift_600, solver=solver, eps=0.0)
    raw = weighter.weights_ / weighter.ratio_scale_
    assert weighter.offset_ != 0.0
    assert raw.sum() == pytest.approx(weighter.n_source_, rel=1e-9)


@pytest.mark.parametrize("solver", ["exact", "scalable"])
def test_compute_weights_reproduces_weights_on_training_rows(shift_600, solver):
    weighter = _fit(shift_600, solver=solver)
    np.testing.assert_allclose(
        weighter.compute_weights(shift_600.X[_source(shift_600)]), weighter.weights_, rtol=1e-10
    )


def test_compute_weights_extends_to_new_rows(shift_2000):
    weighter = _fit(shift_2000, solver="scalable")
    fresh = make_covariate_shift(1000, 10, 10, random_state=7)
    source = _source(fresh)
    rho = spearmanr(weighter.compute_weights(fresh.X[source]), fresh.true_ratio[source])[0]
    assert rho >= 0.7


def test_float32_features_give_the_float64_solution(shift_600, monkeypatch):
    reference = _fit(shift_600, solver="scalable").weights_
    monkeypatch.setattr(solvers, "_FLOAT64_FEATURE_LIMIT", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        weights = _fit(shift_600, solver="scalable").weights_
    # float32 rounding caps the dual accuracy near 1e-4, so the weights agree to about 1e-3.
    np.testing.assert_allclose(weights, reference, atol=1e-3 * reference.max())


def test_subsampled_newton_hessian_reaches_the_same_solution(shift_600, monkeypatch):
    reference = _fit(shift_600, solver="scalable").weights_
    monkeypatch.setattr(solvers, "_HESSIAN_ROWS", 50)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        weighter = _fit(shift_600, solver="scalable", max_iter=200)
    # Both stop at the same dual tolerance; the weights agree to well within it.
    np.testing.assert_allclose(weighter.weights_, reference, atol=1e-4 * reference.max())


@pytest.mark.parametrize("solver", ["exact", "scalable"])
def test_too_few_iterations_warn(shift_600, solver):
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        _fit(shift_600, solver=solver, max_iter=1)


def test_float_bandwidth_is_used_and_median_is_positive(shift_600):
    assert _fit(shift_600, bandwidth=1.7).bandwidth_ == 1.7
    assert _fit(shift_600).bandwidth_ > 0


def test_deterministic_under_random_state(shift_600):
    first = _fit(shift_600, solver="scalable")
    second = _fit(shift_600, solver="scalable")
    np.testing.assert_array_equal(first.weights_, second.weights_)
    np.testing.assert_array_equal(first.centers_, second.centers_)
    other = KMMWeighter(solver="scalable", n_components=100, random_state=1)
    other.fit(shift_600.X, sample_domain=shift_600.sample_domain)
    assert not np.array_equal(other.centers_, first.centers_)


def test_without_sample_domain_warns_and_gives_uniform_weights(shift_600):
    with pytest.warns(NoTransferWarning):
        weighter = KMMWeighter().fit(shift_600.X)
    np.testing.assert_array_equal(weighter.weights_, np.ones(len(shift_600.X)))


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"bandwidth": 0.0}, "bandwidth"),
        ({"bandwidth": -1.0}, "bandwidth"),
        ({"bandwidth": "scott"}, "bandwidth"),
        ({"solver": "fast"}, "solver"),
        ({"B": 0}, "B"),
        ({"eps": -0.1}, "eps"),
        ({"alpha": 0.0}, "alpha"),
        ({"n_components": 0}, "n_components"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": 0.0}, "tol"),
        ({"max_weight": 1.0}, "max_weight"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(shift_600, params, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        KMMWeighter(**params).fit(shift_600.X, sample_domain=shift_600.sample_domain)


def test_infeasible_bound_raises(shift_600):
    with pytest.raises(ValueError, match=r"B=0.5 is below 1 - eps"):
        KMMWeighter(B=0.5, eps=0.1).fit(shift_600.X, sample_domain=shift_600.sample_domain)


def test_exact_solver_refuses_a_huge_kernel(shift_600, monkeypatch):
    monkeypatch.setattr(kmm_module, "_EXACT_MAX_KERNEL_BYTES", 1000)
    with pytest.raises(ValueError, match="solver='scalable'"):
        KMMWeighter(solver="exact").fit(shift_600.X, sample_domain=shift_600.sample_domain)


@settings(max_examples=40, deadline=None)
@given(
    s=st.lists(st.floats(-50, 50), min_size=1, max_size=30),
    upper=st.floats(0.1, 10),
    lo_frac=st.floats(0, 1),
    width=st.floats(0, 1),
)
def test_slab_shift_projects_onto_the_constraints(s, upper, lo_frac, width):
    s = np.asarray(s)
    n = len(s)
    lo = lo_frac * n * upper
    hi = lo + width * n * upper
    tau = slab_shift(s, upper, lo, hi)
    b = np.clip(s - tau, 0, upper)
    tol = 1e-9 * max(1.0, n * upper)
    assert lo - tol <= b.sum() <= hi + tol
    # Optimality of the projection: tau is 0 unless the sum constraint binds, and its sign
    # says which side binds.
    if tau > 0:
        assert b.sum() == pytest.approx(hi, abs=tol)
    elif tau < 0:
        assert b.sum() == pytest.approx(lo, abs=tol)


_values = st.sampled_from([-1.0, 0.0, 0.5, 2.0])


@settings(max_examples=25, deadline=None)
@given(
    n_source=st.integers(1, 12),
    n_target=st.integers(1, 12),
    n_features=st.integers(1, 3),
    data=st.data(),
    solver=st.sampled_from(["exact", "scalable"]),
)
def test_odd_inputs_give_finite_weights(n_source, n_target, n_features, data, solver):
    # Few distinct values: duplicate rows and constant columns are common here.
    rows = data.draw(
        st.lists(
            st.lists(_values, min_size=n_features, max_size=n_features),
            min_size=n_source + n_target,
            max_size=n_source + n_target,
        )
    )
    X = np.asarray(rows)
    sample_domain = np.r_[np.ones(n_source, dtype=int), -np.ones(n_target, dtype=int)]
    weighter = KMMWeighter(solver=solver, n_components=5, random_state=0)
    # The default eps keeps sum(b) >= sqrt(n_source) > 0, so every input must fit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighter.fit(X, sample_domain=sample_domain)
    assert np.all(np.isfinite(weighter.weights_))
    assert np.all(weighter.weights_ >= 0)
    assert weighter.weights_.mean() == pytest.approx(1.0)
