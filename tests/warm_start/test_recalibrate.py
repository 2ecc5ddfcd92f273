"""recalibrate="bias" or "affine": the source margin, scaled and shifted on the target rows."""

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV

from skxfer import pack
from skxfer.model_selection import TargetKFold
from skxfer.warm_start._recalibrate import fit_recalibration
from tests.warm_start._libraries import (
    LIBRARIES,
    estimator,
    native,
    native_margin,
    source_params,
    transferred_model,
)

# ---------------------------------------------------------------------------------------------
# the fit itself


def test_squared_bias_with_no_pull_is_the_weighted_mean_residual():
    rng = np.random.RandomState(0)
    margin, y, w = rng.normal(size=50), rng.normal(2.0, 1.0, size=50), rng.uniform(0.5, 2, 50)
    scale, bias = fit_recalibration("squared", margin, y, w, kind="bias", tau=0.0)
    assert scale == 1.0
    np.testing.assert_allclose(bias, [np.average(y - margin, weights=w)], rtol=1e-5)


def test_squared_affine_with_no_pull_is_weighted_least_squares():
    rng = np.random.RandomState(1)
    margin = rng.normal(size=80)
    y = 0.4 * margin + 1.0 + rng.normal(0, 0.1, size=80)
    w = rng.uniform(0.5, 2, 80)
    scale, bias = fit_recalibration("squared", margin, y, w, kind="affine", tau=0.0)
    design = np.column_stack([margin, np.ones_like(margin)]) * np.sqrt(w)[:, None]
    expected, *_ = np.linalg.lstsq(design, y * np.sqrt(w), rcond=None)
    np.testing.assert_allclose([scale, bias[0]], expected, rtol=1e-4)


def test_logistic_bias_matches_the_base_rate_of_the_target():
    # The score equation of an unpenalised offset: the predicted positives equal the observed.
    rng = np.random.RandomState(2)
    margin = rng.normal(size=300)
    y = (rng.rand(300) < expit(margin + 1.0)).astype(float)
    _, bias = fit_recalibration("logistic", margin, y, np.ones(300), kind="bias", tau=0.0)
    assert expit(margin + bias[0]).sum() == pytest.approx(y.sum(), rel=1e-4)
    assert bias[0] == pytest.approx(1.0, abs=0.35)


def test_softmax_affine_lowers_the_loss_and_a_huge_pull_changes_nothing():
    rng = np.random.RandomState(3)
    margin = rng.normal(size=(200, 3)) * 3.0  # overconfident source
    y = np.array([rng.choice(3, p=p) for p in softmax(margin / 3.0 + [1.0, 0, 0], axis=1)])
    w = np.ones(200)
    scale, bias = fit_recalibration("softmax", margin, y, w, kind="affine", tau=1.0)
    assert scale < 0.7
    before = log_loss(y, softmax(margin, axis=1), labels=[0, 1, 2])
    after = log_loss(y, softmax(scale * margin + bias, axis=1), labels=[0, 1, 2])
    assert after < before
    scale, bias = fit_recalibration("softmax", margin, y, w, kind="affine", tau=1e9)
    assert scale == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(bias, 0.0, atol=1e-5)


def test_one_class_target_with_no_pull_gives_a_finite_offset():
    _, bias = fit_recalibration(
        "logistic", np.zeros(10), np.ones(10), np.ones(10), kind="bias", tau=0
    )
    assert np.isfinite(bias).all()
    assert bias[0] > 5


# ---------------------------------------------------------------------------------------------
# every library: the fitted model is the corrected source


def _data(kind, seed=0):
    rng = np.random.RandomState(seed)
    Xs = rng.normal(size=(1500, 3))
    Xt = rng.normal(size=(400, 3))
    if kind == "binary":
        ys = (rng.rand(1500) < expit(2 * Xs[:, 0])).astype(int)
        yt = (rng.rand(400) < expit(2 * Xt[:, 0] + 1.5)).astype(int)  # a higher base rate
    elif kind == "multiclass":
        ys = np.digitize(Xs[:, 0] + rng.normal(0, 0.3, 1500), [-0.5, 0.5])
        yt = np.digitize(Xt[:, 0] + rng.normal(0, 0.3, 400), [-1.0, -0.2])
    else:
        ys = Xs[:, 0] + rng.normal(0, 0.1, 1500)
        yt = Xt[:, 0] + 2.0 + rng.normal(0, 0.1, 400)
    return Xs, ys, Xt, yt


def _source(library, kind, Xs, ys):
    return native(
        library, "regressor" if kind == "regression" else "classifier", Xs, ys, n_trees=20
    )


def _estimator(library, kind):
    return estimator(library, "regressor" if kind == "regression" else "classifier")


def _margin(model, X, kind):
    return model.predict(X) if kind == "regression" else model.decision_function(X)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("recalibrate", ["bias", "affine"])
def test_the_model_is_scale_times_the_source_margin_plus_bias(library, kind, recalibrate):
    Xs, ys, Xt, yt = _data(kind)
    source = _source(library, kind, Xs, ys)
    before = native_margin(library, source, Xt)
    model = _estimator(library, kind)(
        FrozenEstimator(source), recalibrate=recalibrate, n_estimators=0, tau=1.0, n_jobs=1
    ).fit(Xt, yt)
    n_outputs = 3 if kind == "multiclass" else 1
    assert model.margin_bias_.shape == (n_outputs,)
    if recalibrate == "bias":
        assert model.margin_scale_ == 1.0
    expected = model.margin_scale_ * before + (
        model.margin_bias_ if n_outputs > 1 else model.margin_bias_[0]
    )
    np.testing.assert_allclose(_margin(model, Xt, kind), expected, atol=1e-5)
    # the source model is read, never written
    np.testing.assert_array_equal(native_margin(library, source, Xt), before)


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_change_of_base_rate_is_learnt_as_the_offset(library):
    Xs, ys, Xt, yt = _data("binary")
    source = _source(library, "binary", Xs, ys)
    model = _estimator(library, "binary")(
        FrozenEstimator(source), recalibrate="bias", n_estimators=0, tau=1.0, n_jobs=1
    ).fit(Xt, yt)
    assert model.margin_bias_[0] == pytest.approx(1.5, abs=0.4)
    X_new, y_new = _data("binary", seed=1)[2:]
    loss = log_loss(y_new, model.predict_proba(X_new)[:, 1])
    assert loss < log_loss(y_new, source.predict_proba(X_new)[:, 1]) - 0.05


@pytest.mark.parametrize("library", LIBRARIES)
def test_regression_offset_with_no_pull_is_the_mean_residual(library):
    Xs, ys, Xt, yt = _data("regression")
    source = _source(library, "regression", Xs, ys)
    model = _estimator(library, "regression")(
        FrozenEstimator(source), recalibrate="bias", n_estimators=0, tau=0.0, n_jobs=1
    ).fit(Xt, yt)
    residual = np.mean(yt - native_margin(library, source, Xt))
    assert model.margin_bias_[0] == pytest.approx(residual, abs=1e-4)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("strategy", ["continue", "refresh", "refresh_continue"])
def test_a_strategy_after_recalibrate_is_the_strategy_on_the_corrected_source(library, strategy):
    Xs, ys, Xt, yt = _data("binary")
    source = _source(library, "binary", Xs, ys)
    cls = _estimator(library, "binary")
    params = {"n_jobs": 1, "random_state": 0, "tau": 10.0, "source_learning_rate": 0.3}
    one_step = cls(
        FrozenEstimator(source), recalibrate="affine", strategy=strategy, n_estimators=5, **params
    ).fit(Xt, yt)
    corrected = cls(FrozenEstimator(source), recalibrate="affine", n_estimators=0, **params)
    corrected = corrected.fit(Xt, yt)
    two_steps = cls(
        transferred_model(library, corrected), strategy=strategy, n_estimators=5, **params
    ).fit(Xt, yt)
    np.testing.assert_allclose(
        one_step.decision_function(Xt), two_steps.decision_function(Xt), atol=1e-5
    )
    assert one_step.margin_bias_[0] == corrected.margin_bias_[0] > 0.5


@pytest.mark.parametrize("library", LIBRARIES)
def test_grid_search_over_recalibrate_picks_a_correction_for_a_prior_shift(library):
    Xs, ys, Xt, yt = _data("binary")
    X, y, domain = pack(Xs, ys, Xt[:90], yt[:90])
    base = _estimator(library, "binary")(
        source_params=source_params(library, 20), n_estimators=0, n_jobs=1
    )
    search = GridSearchCV(
        base,
        {"recalibrate": [None, "bias", "affine"]},
        cv=TargetKFold(n_splits=3, shuffle=True, random_state=0),
        scoring="neg_log_loss",
    )
    search.fit(X, y, groups=domain, sample_domain=domain)
    assert search.best_params_["recalibrate"] in ("bias", "affine")
    assert search.best_estimator_.margin_bias_[0] > 0.5
    # the source model was fitted on the source rows only, so its own offset is still 0
    source_only = clone(base).fit(X, y, sample_domain=domain)
    assert source_only.margin_bias_[0] == 0.0


# ---------------------------------------------------------------------------------------------
# source_scale: keep part of the source margin, or none of it


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("recalibrate", [None, "affine"])
def test_source_scale_multiplies_thenative_margin(library, kind, recalibrate):
    Xs, ys, Xt, yt = _data(kind)
    source = _source(library, kind, Xs, ys)
    before = native_margin(library, source, Xt)
    cls = _estimator(library, kind)
    params = {"n_estimators": 0, "tau": 1.0, "n_jobs": 1, "recalibrate": recalibrate}
    model = cls(FrozenEstimator(source), source_scale=0.5, **params).fit(Xt, yt)
    n_outputs = 3 if kind == "multiclass" else 1
    bias = model.margin_bias_ if n_outputs > 1 else model.margin_bias_[0]
    np.testing.assert_allclose(
        _margin(model, Xt, kind), model.margin_scale_ * before + bias, atol=1e-5
    )
    if recalibrate is None:
        assert model.margin_scale_ == 0.5
        np.testing.assert_array_equal(model.margin_bias_, 0.0)
    else:
        # the scale and offset are fitted to the halved margin, pulled toward no change of it
        objective = {"binary": "logistic", "multiclass": "softmax", "regression": "squared"}
        scale, offset = fit_recalibration(
            objective[kind], 0.5 * before, yt, np.ones(len(yt)), kind="affine", tau=1.0
        )
        assert model.margin_scale_ == pytest.approx(0.5 * scale, rel=1e-4)
        np.testing.assert_allclose(model.margin_bias_, offset, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("library", LIBRARIES)
def test_source_scale_zero_with_an_offset_predicts_the_target_base_rate(library):
    Xs, ys, Xt, yt = _data("binary")
    source = _source(library, "binary", Xs, ys)
    model = _estimator(library, "binary")(
        FrozenEstimator(source),
        source_scale=0.0,
        recalibrate="bias",
        n_estimators=0,
        tau=0.0,
        n_jobs=1,
    ).fit(Xt, yt)
    proba = model.predict_proba(Xs[:50])[:, 1]
    np.testing.assert_allclose(proba, yt.mean(), atol=1e-4)  # the source is discarded
    assert model.margin_scale_ == 0.0


@pytest.mark.parametrize("library", LIBRARIES)
def test_grid_search_discards_a_source_that_hurts(library):
    # The target's labels depend on another feature than the source's: the source's trees
    # only add noise, and the grid prefers boosting on the target alone.
    rng = np.random.RandomState(4)
    Xs, Xt = rng.normal(size=(1000, 3)), rng.normal(size=(150, 3))
    ys = (rng.rand(1000) < expit(4 * Xs[:, 0])).astype(int)
    yt = (rng.rand(150) < expit(4 * Xt[:, 1])).astype(int)
    source = _source(library, "binary", Xs, ys)
    X, y, domain = pack(Xs, ys, Xt, yt)
    base = _estimator(library, "binary")(
        FrozenEstimator(source), recalibrate="bias", n_estimators=30, n_jobs=1, random_state=0
    )
    search = GridSearchCV(
        base,
        {"source_scale": [1.0, 0.0]},
        cv=TargetKFold(n_splits=3, shuffle=True, random_state=0),
        scoring="neg_log_loss",
    )
    search.fit(X, y, groups=domain, sample_domain=domain)
    assert search.best_params_["source_scale"] == 0.0
