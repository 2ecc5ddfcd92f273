"""TransferRidge: closed-form least squares pulled toward the source weights."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, PoissonRegressor, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skxfer import pack
from skxfer.utils import NoTransferWarning
from skxfer.warm_start import TransferRidge

W_SOURCE = np.array([1.0, -2.0, 0.5, 3.0])


def _data(n, w, rng, *, shift=0.0, intercept=0.0, noise=0.5):
    X = rng.normal(size=(n, len(w))) * [1.0, 2.0, 0.5, 1.5] + shift
    return X, X @ w + intercept + rng.normal(scale=noise, size=n)


def _source_and_target(seed=0, w_target=W_SOURCE, n_source=300, n_target=25, **kwargs):
    rng = np.random.default_rng(seed)
    Xs, ys = _data(n_source, W_SOURCE, rng)
    Xt, yt = _data(n_target, w_target, rng, shift=0.5, **kwargs)
    return Xs, ys, Xt, yt


def _augmented_solution(X, Y, sw, w0, alpha):
    """Minimise sum s (y - Xw - b)^2 + alpha ||w - w0||^2 by least squares on extra rows."""
    root = np.sqrt(sw)[:, None]
    n, p = X.shape
    A = np.vstack(
        [np.hstack([root * X, root]), np.hstack([np.sqrt(alpha) * np.eye(p), np.zeros((p, 1))])]
    )
    B = np.vstack([root * Y.reshape(n, -1), np.sqrt(alpha) * w0.reshape(-1, p).T])
    solution = np.linalg.lstsq(A, B, rcond=None)[0]
    return solution[:p].T, solution[p]


@pytest.mark.parametrize("alpha", [0.01, 1.0, 50.0])
def test_equals_the_closed_form_by_augmented_rows(alpha):
    Xs, ys, Xt, yt = _source_and_target(w_target=-W_SOURCE)
    sw = np.random.default_rng(1).uniform(0.2, 3.0, len(yt))
    w0 = np.array([0.5, 1.0, -1.0, 2.0])
    reg = TransferRidge((w0, 7.0), alpha=alpha, pull_intercept=False).fit(Xt, yt, sample_weight=sw)
    coef, intercept = _augmented_solution(Xt, yt, sw, w0, alpha)
    np.testing.assert_allclose(reg.coef_, coef[0], rtol=1e-10)
    assert reg.intercept_ == pytest.approx(intercept[0], rel=1e-10)


def test_multi_output_equals_the_closed_form_per_output():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 4))
    Y = np.column_stack([X @ W_SOURCE, X @ -W_SOURCE + 1.0]) + rng.normal(size=(30, 2))
    w0 = np.vstack([W_SOURCE, np.zeros(4)])
    reg = TransferRidge((w0, [1.0, 2.0]), alpha=3.0, pull_intercept=False).fit(X, Y)
    coef, intercept = _augmented_solution(X, Y, np.ones(30), w0, 3.0)
    assert reg.coef_.shape == (2, 4)
    np.testing.assert_allclose(reg.coef_, coef, rtol=1e-10)
    np.testing.assert_allclose(reg.intercept_, intercept, rtol=1e-10)
    assert reg.predict(X).shape == (30, 2)


def test_alpha_inf_keeps_the_source_weights_and_refits_the_intercept():
    Xs, ys, Xt, yt = _source_and_target(w_target=-W_SOURCE, intercept=4.0)
    source = FrozenEstimator(Ridge().fit(Xs, ys))
    reg = TransferRidge(source, alpha=np.inf, pull_intercept=False).fit(Xt, yt)
    np.testing.assert_allclose(reg.coef_, source.coef_, rtol=1e-12)
    # the source's predictions, shifted by the mean target residual
    shift = np.mean(yt - source.predict(Xt))
    np.testing.assert_allclose(reg.predict(Xt), source.predict(Xt) + shift, rtol=1e-10)
    huge = TransferRidge(source, alpha=1e12, pull_intercept=False).fit(Xt, yt)
    np.testing.assert_allclose(huge.predict(Xt), reg.predict(Xt), rtol=1e-6)


def test_pulled_intercept_is_the_weight_of_a_ones_column():
    Xs, ys, Xt, yt = _source_and_target(w_target=-W_SOURCE, intercept=4.0)
    source = FrozenEstimator(Ridge().fit(Xs, ys))
    w0, b0 = source.coef_, source.intercept_
    alpha = 3.0
    reg = TransferRidge(source, alpha=alpha).fit(Xt, yt)
    # closed form of ||y - A v||^2 + alpha ||v - v0||^2 with A = [X, 1], v0 = [w0, b0]
    A = np.column_stack([Xt, np.ones(len(Xt))])
    v0 = np.r_[w0, b0]
    v = np.linalg.solve(A.T @ A + alpha * np.eye(A.shape[1]), A.T @ yt + alpha * v0)
    np.testing.assert_allclose(reg.coef_, v[:-1], rtol=1e-8)
    np.testing.assert_allclose(reg.intercept_, v[-1], rtol=1e-8)
    # a huge alpha keeps the source model, intercept included
    huge = TransferRidge(source, alpha=np.inf).fit(Xt, yt)
    np.testing.assert_allclose(huge.predict(Xt), source.predict(Xt), rtol=1e-10)
    auto = TransferRidge(source, alpha="auto").fit(Xt, yt)
    assert np.isfinite(auto.alpha_)


def test_alpha_zero_is_least_squares_on_the_target():
    Xs, ys, Xt, yt = _source_and_target(w_target=-W_SOURCE)
    source = FrozenEstimator(Ridge().fit(Xs, ys))
    ols = LinearRegression().fit(Xt, yt)
    for alpha in (0.0, 1e-9):
        reg = TransferRidge(source, alpha=alpha).fit(Xt, yt)
        np.testing.assert_allclose(reg.coef_, ols.coef_, rtol=1e-6)
        assert reg.intercept_ == pytest.approx(ols.intercept_, rel=1e-6)


def test_zero_source_is_sklearn_ridge_with_sample_weight():
    rng = np.random.default_rng(3)
    X, y = _data(40, W_SOURCE, rng)
    sw = rng.uniform(0.5, 2.0, 40)
    reg = TransferRidge(np.zeros(4), alpha=2.5, pull_intercept=False).fit(X, y, sample_weight=sw)
    ref = Ridge(alpha=2.5).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(reg.coef_, ref.coef_, rtol=1e-9)
    assert reg.intercept_ == pytest.approx(ref.intercept_, rel=1e-9)


def _refit_error(Xt, yt, sw, source, alpha, splits):
    total = 0.0
    for train, test in splits:
        reg = TransferRidge(source, alpha=alpha).fit(Xt[train], yt[train], sample_weight=sw[train])
        total += np.sum(sw[test] * (yt[test] - reg.predict(Xt[test])) ** 2)
    return total / sw.sum()


def test_leave_one_out_equals_refitting_without_each_row():
    Xs, ys, Xt, yt = _source_and_target(w_target=-W_SOURCE, n_target=15)
    sw = np.random.default_rng(4).uniform(0.2, 3.0, len(yt))
    source = (W_SOURCE, 0.0)
    alphas = [0.0, 0.1, 10.0, np.inf]
    reg = TransferRidge(source, alpha="auto", alphas=alphas).fit(Xt, yt, sample_weight=sw)
    splits = [(np.delete(np.arange(15), i), np.array([i])) for i in range(15)]
    expected = [_refit_error(Xt, yt, sw, source, a, splits) for a in alphas]
    np.testing.assert_allclose(reg.cv_loss_, expected, rtol=1e-8)
    assert reg.alpha_ == alphas[int(np.argmin(expected))]


def test_k_fold_cv_equals_refitting_each_fold():
    Xs, ys, Xt, yt = _source_and_target(n_target=20)
    sw = np.ones(20)
    cv = KFold(4, shuffle=True, random_state=1)
    alphas = [0.1, 1.0, 100.0]
    reg = TransferRidge((W_SOURCE, 0.0), alpha="auto", alphas=alphas, cv=cv).fit(Xt, yt)
    splits = list(cv.split(Xt))
    expected = [_refit_error(Xt, yt, sw, (W_SOURCE, 0.0), a, splits) for a in alphas]
    np.testing.assert_allclose(reg.cv_loss_, expected, rtol=1e-8)


@pytest.mark.parametrize("seed", range(5))
def test_auto_alpha_trusts_an_agreeing_source_and_not_a_conflicting_one(seed):
    Xs, ys, Xt, yt = _source_and_target(seed=seed, noise=2.0)
    source = FrozenEstimator(LinearRegression().fit(Xs, ys))
    agree = TransferRidge(source, alpha="auto").fit(Xt, yt)
    _, _, Xt, yt = _source_and_target(seed=seed, w_target=-W_SOURCE, noise=2.0)
    conflict = TransferRidge(source, alpha="auto").fit(Xt, yt)
    assert agree.alpha_ >= 10.0
    assert agree.alpha_ >= 10 * conflict.alpha_
    assert conflict.alpha_ <= 1.0


def test_source_fitted_on_the_sample_domain_source_rows():
    Xs, ys, Xt, yt = _source_and_target(w_target=-W_SOURCE)
    X, y, sample_domain = pack(Xs, ys, Xt, yt)
    reg = TransferRidge(source_alpha=3.0, alpha=1.0, pull_intercept=False).fit(
        X, y, sample_domain=sample_domain
    )
    ref = Ridge(alpha=3.0).fit(Xs, ys)
    np.testing.assert_allclose(reg.source_coef_, ref.coef_, rtol=1e-9)
    assert reg.source_intercept_ == pytest.approx(ref.intercept_, rel=1e-9)
    coef, _ = _augmented_solution(Xt, yt, np.ones(len(yt)), ref.coef_, 1.0)
    np.testing.assert_allclose(reg.coef_, coef[0], rtol=1e-8)


def test_pipeline_source_is_converted_to_raw_units():
    Xs, ys, Xt, yt = _source_and_target()
    pipe = make_pipeline(StandardScaler(), Ridge()).fit(Xs, ys)
    reg = TransferRidge(FrozenEstimator(pipe), alpha=np.inf, pull_intercept=False).fit(Xt, yt)
    np.testing.assert_allclose(reg.source_coef_, pipe[-1].coef_ / pipe[0].scale_, rtol=1e-12)
    shift = np.mean(yt - pipe.predict(Xt))
    np.testing.assert_allclose(reg.predict(Xt), pipe.predict(Xt) + shift, rtol=1e-9)


def test_frozen_source_survives_clone_and_grid_search():
    Xs, ys, Xt, yt = _source_and_target()
    source = FrozenEstimator(Ridge().fit(Xs, ys))
    reg = TransferRidge(source)
    assert clone(reg).source_model is source
    search = GridSearchCV(reg, {"alpha": [0.01, 1.0, 100.0]}, cv=3).fit(Xt, yt)
    np.testing.assert_allclose(search.best_estimator_.source_coef_, source.coef_)


def test_bad_sources_raise_clear_errors():
    Xs, ys, Xt, yt = _source_and_target()
    with pytest.raises(TypeError, match="FrozenEstimator"):
        TransferRidge(Ridge().fit(Xs, ys)).fit(Xt, yt)
    with pytest.raises(ValueError, match=r"shape \(3,\).*4 features"):
        TransferRidge(np.zeros(3)).fit(Xt, yt)
    with pytest.raises(ValueError, match=r"shape \(2, 4\).*1 column"):
        TransferRidge(np.zeros((2, 4))).fit(Xt, yt)
    poisson = PoissonRegressor().fit(Xs, np.exp(ys / 10))
    with pytest.raises(ValueError, match="not X @ coef_.T"):
        TransferRidge(FrozenEstimator(poisson)).fit(Xt, yt)


def test_integer_sample_weight_equals_repeated_rows():
    Xs, ys, Xt, yt = _source_and_target(n_source=50)
    X, y, sample_domain = pack(Xs, ys, Xt, yt)
    weights = np.random.default_rng(5).integers(0, 4, len(y))
    repeat = np.repeat(np.arange(len(y)), weights)
    weighted = TransferRidge(alpha=0.7).fit(
        X, y, sample_weight=weights, sample_domain=sample_domain
    )
    repeated = TransferRidge(alpha=0.7).fit(
        X[repeat], y[repeat], sample_domain=sample_domain[repeat]
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-9)
    assert weighted.intercept_ == pytest.approx(repeated.intercept_, rel=1e-9)


def test_unlabelled_target_rows_are_ignored():
    Xs, ys, Xt, yt = _source_and_target()
    X, y, sample_domain = pack(Xs, ys, Xt, yt)
    X2, y2, sd2 = pack(Xs, ys, np.vstack([Xt, Xt[:5] + 9]), np.r_[yt, np.full(5, np.nan)])
    a = TransferRidge().fit(X, y, sample_domain=sample_domain)
    b = TransferRidge().fit(X2, y2, sample_domain=sd2)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12)


def test_pandas_input_keeps_column_names():
    pd = pytest.importorskip("pandas")
    Xs, ys, Xt, yt = _source_and_target()
    columns = ["a", "b", "c", "d"]
    Xs, Xt = pd.DataFrame(Xs, columns=columns), pd.DataFrame(Xt, columns=columns)
    source = FrozenEstimator(make_pipeline(StandardScaler(), Ridge()).fit(Xs, ys))
    reg = TransferRidge(source).fit(Xt, pd.Series(yt))
    np.testing.assert_array_equal(reg.feature_names_in_, columns)
    assert reg.predict(Xt).shape == (len(yt),)
    with pytest.raises(ValueError, match="differ from the columns"):
        TransferRidge(source).fit(Xt[columns[::-1]], yt)


def test_no_domain_and_no_source_is_ridge_with_a_warning():
    rng = np.random.default_rng(6)
    X, y = _data(30, W_SOURCE, rng)
    with pytest.warns(NoTransferWarning):
        reg = TransferRidge(alpha=2.0, pull_intercept=False).fit(X, y)
    np.testing.assert_allclose(reg.coef_, Ridge(alpha=2.0).fit(X, y).coef_, rtol=1e-9)
