"""Estimators fitted on aligned rows, and the Pipeline factory that builds them."""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.preprocessing import StandardScaler

from skxfer import pack
from skxfer.align import (
    CORAL,
    AlignedClassifier,
    AlignedRegressor,
    LinearOTMapping,
    SubspaceAlignment,
    make_alignment_pipeline,
)


def _shifted(seed=0, n=300):
    """Target = source scaled and moved; the label rule moves with it, so only an aligned
    model classifies the target well."""
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n, 3))
    ys = (Xs[:, 0] + Xs[:, 1] > 0).astype(int)
    Zt = rng.normal(size=(n, 3))
    yt = (Zt[:, 0] + Zt[:, 1] > 0).astype(int)
    Xt = Zt * [3.0, 0.5, 2.0] + [4.0, -2.0, 1.0]
    return Xs, ys, Xt, yt


def test_alignment_beats_the_source_only_model_on_the_target():
    Xs, ys, Xt, yt = _shifted()
    X, y, sd = pack(Xs, ys, Xt)
    source_only = LogisticRegression().fit(Xs, ys).score(Xt, yt)
    for aligner in (CORAL(), LinearOTMapping()):
        aligned = AlignedClassifier(LogisticRegression(), aligner).fit(X, y, sample_domain=sd)
        assert aligned.score(Xt, yt) > source_only + 0.15
        assert aligned.score(Xt, yt) > 0.9


def test_labelled_target_rows_are_fitted_unmapped_and_masked_ones_dropped():
    Xs, ys, Xt, yt = _shifted()
    y_target = np.where(np.arange(len(yt)) < 10, yt, -1)
    X, y, sd = pack(Xs, ys, Xt, y_target)
    clf = AlignedClassifier(LogisticRegression()).fit(X, y, sample_domain=sd)
    assert set(clf.classes_) == {0, 1}
    assert clf.estimator_.n_features_in_ == 3
    # 300 source + 10 labelled target rows; the same fit by hand agrees
    Z = clf.aligner_.transform(X, sample_domain=sd)
    rows = np.r_[np.arange(300), 300 + np.arange(10)]
    by_hand = LogisticRegression().fit(Z[rows], y[rows])
    np.testing.assert_allclose(clf.estimator_.coef_, by_hand.coef_)


def test_regressor_predicts_through_the_target_map():
    Xs, _, Xt, _ = _shifted()
    X, y, sd = pack(Xs, Xs @ [1.0, 2.0, 0.0], Xt)
    reg = AlignedRegressor(Ridge(), SubspaceAlignment(2, random_state=0))
    reg.fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(
        reg.predict(Xt), reg.estimator_.predict(reg.aligner_.pca_target_.transform(Xt))
    )


def test_factory_splits_at_the_aligner_and_checks_its_steps():
    pipe = make_alignment_pipeline(StandardScaler(), CORAL(), StandardScaler(), Ridge())
    assert [name for name, _ in pipe.steps] == ["standardscaler", "alignedregressor"]
    inner = pipe[-1]
    assert isinstance(inner.aligner, CORAL)
    assert [name for name, _ in inner.estimator.steps] == ["standardscaler", "ridge"]
    with pytest.raises(ValueError, match="exactly one aligner"):
        make_alignment_pipeline(StandardScaler(), Ridge())
    with pytest.raises(ValueError, match="last step"):
        make_alignment_pipeline(StandardScaler(), CORAL())


def _search(routing, X, y, sd, cv):
    pipe = make_alignment_pipeline(StandardScaler(), CORAL(), LogisticRegression())
    grid = {"alignedclassifier__aligner__reg": [0.0, 0.5]}
    search = GridSearchCV(pipe, grid, cv=cv)
    if routing:
        with sklearn.config_context(enable_metadata_routing=True):
            return search.fit(X, y, sample_domain=sd)
    return search.fit(X, y, alignedclassifier__sample_domain=sd)


@pytest.mark.parametrize("routing", [True, False])
def test_grid_search_routes_sample_domain_with_routing_on_and_off(routing):
    Xs, ys, Xt, yt = _shifted()
    y_target = np.where(np.arange(len(yt)) < 60, yt, -1)
    X, y, sd = pack(Xs, ys, Xt, y_target)
    cv = list(KFold(3, shuffle=True, random_state=0).split(X))
    search = _search(routing, X, y, sd, cv)
    for i, reg in enumerate([0.0, 0.5]):
        scores = []
        for train, test in cv:
            pipe = make_alignment_pipeline(StandardScaler(), CORAL(reg=reg), LogisticRegression())
            pipe.fit(X[train], y[train], alignedclassifier__sample_domain=sd[train])
            # routed, the default score counts labelled target rows; unrouted, labelled rows
            keep = (y[test] != -1) & ((sd[test] < 0) | (not routing))
            scores.append(pipe.score(X[test][keep], y[test][keep]))
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(np.mean(scores))
    fitted = search.best_estimator_
    assert fitted[-1].aligner_.n_target_ == len(Xt)  # the aligner saw the target rows
    # the scaler before it was fitted on source and target rows alike
    np.testing.assert_allclose(fitted[0].mean_, X.mean(axis=0))
    assert fitted.score(Xt, yt) > 0.85


def test_routing_on_without_sample_domain_is_a_no_transfer_warning():
    from skxfer.utils import NoTransferWarning

    Xs, ys, _, _ = _shifted()
    pipe = make_alignment_pipeline(StandardScaler(), CORAL(), LogisticRegression())
    with (
        sklearn.config_context(enable_metadata_routing=True),
        pytest.warns(NoTransferWarning, match="sample_domain"),
    ):
        pipe.fit(Xs, ys)


def test_plain_pipeline_routes_sample_domain_to_the_aligner_transform():
    """With routing on, an aligner inside an ordinary Pipeline gets sample_domain in
    fit_transform and in transform, so source rows are mapped there too."""
    from sklearn.pipeline import make_pipeline

    Xs, _, Xt, _ = _shifted()
    X, _, sd = pack(Xs, None, Xt)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), CORAL())
        Z = pipe.fit_transform(X, sample_domain=sd)
        np.testing.assert_allclose(pipe.transform(X, sample_domain=sd), Z)
    np.testing.assert_allclose(Z[300:], pipe[0].transform(Xt))
