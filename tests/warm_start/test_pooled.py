"""PooledTransfer: one estimator on source and labelled target rows, target rows reweighted."""

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import is_classifier, is_regressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skxfer import pack
from skxfer.utils import NoTransferWarning
from skxfer.warm_start import PooledTransfer


def _packed(seed=0, n_source=120, n_target=30, n_unlabelled=10, regression=False):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n_source, 3))
    Xt = rng.normal(size=(n_target + n_unlabelled, 3)) + 0.5
    if regression:
        ys, yt = Xs @ [1.0, 2.0, -1.0], Xt @ [1.0, -2.0, 0.0] + 1.0
        yt[n_target:] = np.nan
    else:
        ys, yt = (Xs[:, 0] > 0).astype(int), (Xt[:, 1] > 0.5).astype(int)
        yt[n_target:] = -1
    X, y, sample_domain = pack(Xs, ys, Xt, yt)
    return X, y, sample_domain


def test_target_weight_zero_is_the_source_only_fit():
    X, y, sd = _packed()
    pooled = PooledTransfer(LogisticRegression(), target_weight=0.0).fit(X, y, sample_domain=sd)
    source_only = LogisticRegression().fit(X[sd > 0], y[sd > 0])
    np.testing.assert_allclose(pooled.predict_proba(X), source_only.predict_proba(X), rtol=1e-9)
    assert np.all(pooled.sample_weight_[sd < 0] == 0)


def test_target_weight_and_user_sample_weight_multiply():
    X, y, sd = _packed()
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    pooled = PooledTransfer(LogisticRegression(), target_weight=3.0)
    pooled.fit(X, y, sample_weight=sw, sample_domain=sd)
    labelled = (sd > 0) | (y != -1)
    expected = np.where(sd < 0, 3.0 * sw, sw)[labelled]
    ref = LogisticRegression().fit(X[labelled], y[labelled], sample_weight=expected)
    np.testing.assert_allclose(pooled.estimator_.coef_, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(pooled.sample_weight_[labelled], expected)
    # a larger target weight moves the model toward the target's concept (feature 1)
    plain = PooledTransfer(LogisticRegression()).fit(X, y, sample_weight=sw, sample_domain=sd)
    assert pooled.estimator_.coef_[0, 1] > plain.estimator_.coef_[0, 1]


def test_balanced_target_weight_equalises_the_domains():
    X, y, sd = _packed()
    sw = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    pooled = PooledTransfer(LogisticRegression(), target_weight="balanced")
    pooled.fit(X, y, sample_weight=sw, sample_domain=sd)
    labelled_target = (sd < 0) & (y != -1)
    assert pooled.target_weight_ == pytest.approx(sw[sd > 0].sum() / sw[labelled_target].sum())
    assert pooled.sample_weight_[labelled_target].sum() == pytest.approx(sw[sd > 0].sum())
    explicit = PooledTransfer(LogisticRegression(), target_weight=pooled.target_weight_)
    explicit.fit(X, y, sample_weight=sw, sample_domain=sd)
    np.testing.assert_allclose(pooled.predict_proba(X), explicit.predict_proba(X))


def test_unlabelled_target_rows_are_dropped():
    X, y, sd = _packed(n_unlabelled=10)
    with_unlabelled = PooledTransfer(LogisticRegression()).fit(X, y, sample_domain=sd)
    keep = y != -1
    without = PooledTransfer(LogisticRegression()).fit(X[keep], y[keep], sample_domain=sd[keep])
    np.testing.assert_allclose(with_unlabelled.estimator_.coef_, without.estimator_.coef_)
    np.testing.assert_array_equal(with_unlabelled.classes_, [0, 1])


def test_regressor_mode_with_nan_masked_targets():
    X, y, sd = _packed(regression=True)
    pooled = PooledTransfer(Ridge(), target_weight=2.0)
    assert is_regressor(pooled)
    assert not is_classifier(pooled)
    pooled.fit(X, y, sample_domain=sd)
    labelled = ~np.isnan(y)
    ref = Ridge().fit(X[labelled], y[labelled], sample_weight=np.where(sd < 0, 2.0, 1.0)[labelled])
    np.testing.assert_allclose(pooled.predict(X), ref.predict(X), rtol=1e-9)
    assert pooled.score(X[labelled], y[labelled]) == pytest.approx(
        ref.score(X[labelled], y[labelled])
    )
    assert not hasattr(pooled, "predict_proba")


def test_methods_delegate_to_the_fitted_estimator():
    X, y, sd = _packed()
    pooled = PooledTransfer(LogisticRegression()).fit(X, y, sample_domain=sd)
    assert is_classifier(pooled)
    inner = pooled.estimator_
    np.testing.assert_array_equal(pooled.predict(X), inner.predict(X))
    np.testing.assert_array_equal(pooled.decision_function(X), inner.decision_function(X))
    np.testing.assert_array_equal(pooled.predict_log_proba(X), inner.predict_log_proba(X))
    labelled = y != -1
    assert pooled.score(X[labelled], y[labelled]) == inner.score(X[labelled], y[labelled])


def test_estimator_without_sample_weight_raises_type_error():
    X, y, sd = _packed()
    with pytest.raises(TypeError, match="KNeighborsClassifier.fit takes no sample_weight"):
        PooledTransfer(KNeighborsClassifier()).fit(X, y, sample_domain=sd)


def test_a_pipeline_gets_the_weights_on_its_final_step_also_with_routing_on():
    X, y, sd = _packed()
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    with config_context(enable_metadata_routing=True):
        pooled = PooledTransfer(pipe, target_weight=4.0).fit(X, y, sample_domain=sd)
    labelled = (sd > 0) | (y != -1)
    weights = np.where(sd < 0, 4.0, 1.0)[labelled]
    ref = make_pipeline(StandardScaler(), LogisticRegression())
    ref.fit(X[labelled], y[labelled], logisticregression__sample_weight=weights)
    np.testing.assert_allclose(pooled.predict_proba(X), ref.predict_proba(X), rtol=1e-9)


def test_without_sample_domain_it_is_the_estimator_and_warns():
    X, y, _ = _packed(n_unlabelled=0)
    with pytest.warns(NoTransferWarning):
        pooled = PooledTransfer(LogisticRegression(), target_weight=5.0).fit(X, y)
    assert pooled.target_weight_ == 1.0
    np.testing.assert_allclose(
        pooled.predict_proba(X), LogisticRegression().fit(X, y).predict_proba(X)
    )


def test_dataframe_rows_reach_the_estimator_with_their_columns():
    pd = pytest.importorskip("pandas")
    X, y, sd = _packed()
    X = pd.DataFrame(X, columns=["a", "b", "c"])
    pooled = PooledTransfer(LogisticRegression()).fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(pooled.estimator_.feature_names_in_, ["a", "b", "c"])
    np.testing.assert_array_equal(pooled.feature_names_in_, ["a", "b", "c"])
    assert pooled.predict(X).shape == (len(X),)
