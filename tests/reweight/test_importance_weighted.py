import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skxfer import pack
from skxfer.datasets import make_covariate_shift
from skxfer.reweight import (
    ImportanceWeightedClassifier,
    ImportanceWeightedRegressor,
    make_reweighting_pipeline,
)
from skxfer.reweight._base import BaseWeighter
from skxfer.utils import NoTransferWarning


class ExpWeighter(BaseWeighter):
    """Ratio exp(x0): known weights, so the meta-estimator's bookkeeping can be checked."""

    def _fit_ratio(self, X_source, X_target, random_state):
        self.seen_ = np.vstack([X_source, X_target])
        return self._ratio(X_source)

    def _ratio(self, X):
        return np.exp(X[:, 0])


@pytest.fixture
def shift():
    return make_covariate_shift(400, 300, n_features=3, random_state=0)


def test_weights_reach_estimator(shift):
    clf = ImportanceWeightedClassifier(LogisticRegression(), ExpWeighter())
    clf.fit(shift.X, shift.y, sample_domain=shift.sample_domain)
    source = shift.sample_domain > 0
    expected = np.exp(shift.X[source, 0])
    expected /= expected.mean()
    np.testing.assert_allclose(clf.sample_weight_, expected)
    # the inner model equals a LogisticRegression fitted by hand with the same weights
    by_hand = LogisticRegression().fit(shift.X[source], shift.y[source], sample_weight=expected)
    np.testing.assert_allclose(
        clf.predict_proba(shift.X), by_hand.predict_proba(shift.X), rtol=1e-4, atol=1e-6
    )


def test_user_sample_weight_is_multiplied_not_dropped(shift):
    user = np.linspace(0.5, 2.0, len(shift.y))
    user_copy = user.copy()
    clf = ImportanceWeightedClassifier(LogisticRegression(), ExpWeighter())
    clf.fit(shift.X, shift.y, sample_weight=user, sample_domain=shift.sample_domain)
    source = shift.sample_domain > 0
    ratio = np.exp(shift.X[source, 0])
    np.testing.assert_allclose(clf.sample_weight_, user[source] * ratio / ratio.mean())
    np.testing.assert_array_equal(user, user_copy)


def test_labelled_target_rows_get_target_weight():
    data = make_covariate_shift(200, 100, n_features=3, random_state=1)
    y = data.y.copy()
    target = np.flatnonzero(data.sample_domain < 0)
    y[target[:10]] = data.y_true[target[:10]]
    y_before = y.copy()
    clf = ImportanceWeightedClassifier(LogisticRegression(), ExpWeighter(), target_weight=3.0)
    clf.fit(data.X, y, sample_domain=data.sample_domain)
    assert len(clf.sample_weight_) == 200 + 10
    np.testing.assert_allclose(clf.sample_weight_[-10:], 3.0)
    np.testing.assert_array_equal(y, y_before)  # the masked labels are not overwritten


def test_weighter_sees_all_rows_including_unlabelled_target(shift):
    clf = ImportanceWeightedClassifier(LogisticRegression(), ExpWeighter())
    clf.fit(shift.X, shift.y, sample_domain=shift.sample_domain)
    assert clf.weighter_.n_target_ == 300
    assert clf.weighter_.seen_.shape[0] == 700


def test_no_sample_domain_warns_once_and_fits_all_rows(shift):
    y = shift.y_true
    with pytest.warns(NoTransferWarning) as record:
        clf = ImportanceWeightedClassifier(LogisticRegression(), ExpWeighter()).fit(shift.X, y)
    assert len(record) == 1
    assert clf.weighter_ is None
    plain = LogisticRegression().fit(shift.X, y)
    np.testing.assert_allclose(clf.predict_proba(shift.X), plain.predict_proba(shift.X))


def test_minus_one_is_a_class_without_sample_domain():
    X = np.array([[0.0], [0.1], [1.0], [1.1]])
    y = np.array([-1, -1, 1, 1])
    with pytest.warns(NoTransferWarning):
        clf = ImportanceWeightedClassifier(LogisticRegression()).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [-1, 1])


def test_estimator_without_sample_weight_raises(shift):
    clf = ImportanceWeightedClassifier(KNeighborsClassifier(), ExpWeighter())
    with pytest.raises(TypeError, match="does not accept sample_weight"):
        clf.fit(shift.X, shift.y, sample_domain=shift.sample_domain)
    pipe = make_pipeline(StandardScaler(), KNeighborsClassifier())
    with pytest.raises(TypeError, match="KNeighborsClassifier"):
        ImportanceWeightedClassifier(pipe, ExpWeighter()).fit(
            shift.X, shift.y, sample_domain=shift.sample_domain
        )


@pytest.mark.parametrize("routing", [False, True])
def test_pipeline_estimator_gets_weights_routing_on_and_off(shift, routing):
    source = shift.sample_domain > 0
    ratio = np.exp(shift.X[source, 0])
    ratio /= ratio.mean()
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    with config_context(enable_metadata_routing=routing):
        clf = ImportanceWeightedClassifier(pipe, ExpWeighter())
        clf.fit(shift.X, shift.y, sample_domain=shift.sample_domain)
    by_hand = clone(pipe).fit(
        shift.X[source], shift.y[source], logisticregression__sample_weight=ratio
    )
    np.testing.assert_allclose(
        clf.predict_proba(shift.X), by_hand.predict_proba(shift.X), rtol=1e-4
    )
    # the user's pipeline is untouched: its final step still has no request set
    assert pipe[-1].get_metadata_routing().fit.requests == {"sample_weight": None}


def test_regressor_masks_nan_targets():
    data = make_covariate_shift(300, 200, n_features=3, random_state=2)
    y = np.where(data.sample_domain > 0, data.X[:, 0] + 2 * data.X[:, 1], np.nan)
    reg = ImportanceWeightedRegressor(LinearRegression(), ExpWeighter())
    reg.fit(data.X, y, sample_domain=data.sample_domain)
    assert len(reg.sample_weight_) == 300
    np.testing.assert_allclose(reg.estimator_.coef_, [1.0, 2.0, 0.0], atol=1e-8)


def test_regressor_rejects_string_targets():
    X, y, sd = pack(np.zeros((4, 2)), np.array(["a", "b", "a", "b"]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="ImportanceWeightedClassifier"):
        ImportanceWeightedRegressor(Ridge(), ExpWeighter()).fit(X, y, sample_domain=sd)


def test_source_nan_label_is_a_clear_error(shift):
    y = shift.y.astype(float)
    y[0] = np.nan
    with pytest.raises(ValueError, match="source row"):
        ImportanceWeightedClassifier(LogisticRegression(), ExpWeighter()).fit(
            shift.X, y, sample_domain=shift.sample_domain
        )


def test_reweighting_pipeline_preprocesses_target_rows(shift):
    pipe = make_reweighting_pipeline(StandardScaler(), ExpWeighter(), LogisticRegression())
    pipe.fit(shift.X, shift.y, importanceweightedclassifier__sample_domain=shift.sample_domain)
    scaled = StandardScaler().fit_transform(shift.X)
    # the weighter saw the scaled source and target rows, not the raw ones
    np.testing.assert_allclose(np.sort(pipe[-1].weighter_.seen_[:, 0]), np.sort(scaled[:, 0]))


def test_reweighting_pipeline_routes_sample_domain_when_routing_on(shift):
    with config_context(enable_metadata_routing=True):
        pipe = make_reweighting_pipeline(StandardScaler(), ExpWeighter(), Ridge())
        pipe.fit(shift.X, shift.X[:, 0], sample_domain=shift.sample_domain)
    assert isinstance(pipe[-1], ImportanceWeightedRegressor)
    assert pipe[-1].weighter_.n_target_ == 300


def test_reweighting_pipeline_needs_one_weighter_not_last():
    with pytest.raises(ValueError, match="exactly one weighter"):
        make_reweighting_pipeline(StandardScaler(), LogisticRegression())
    with pytest.raises(ValueError, match="last step"):
        make_reweighting_pipeline(StandardScaler(), ExpWeighter())


def test_reweighting_improves_target_accuracy_with_true_ratio_weighter():
    data = make_covariate_shift(4000, 4000, random_state=3)
    target = data.sample_domain < 0

    class TrueRatio(BaseWeighter):
        def _fit_ratio(self, X_source, X_target, random_state):
            return self._ratio(X_source)

        def _ratio(self, X):
            mu = np.r_[0.7, 0.7, np.zeros(X.shape[1] - 2)]
            return np.exp(-0.5 * np.sum((X - mu) ** 2, 1) / 0.64 + 0.5 * np.sum(X**2, 1))

    weighted = ImportanceWeightedClassifier(LogisticRegression(), TrueRatio())
    weighted.fit(data.X, data.y, sample_domain=data.sample_domain)
    source_only = LogisticRegression().fit(data.X[~target], data.y[~target])
    gain = weighted.score(data.X[target], data.y_true[target]) - source_only.score(
        data.X[target], data.y_true[target]
    )
    assert gain > 0.04
