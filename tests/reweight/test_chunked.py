"""Weighters fitted on dask arrays, block by block: the weights of the in-memory fit."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

da = pytest.importorskip("dask.array")

from skxfer.datasets import make_covariate_shift  # noqa: E402
from skxfer.reweight import (  # noqa: E402
    DiscriminativeWeighter,
    KLIEPWeighter,
    KMMWeighter,
    NearestNeighborsWeighter,
    RULSIFWeighter,
    ULSIFWeighter,
)


def _data(n_source=700, n_target=500, d=4):
    data = make_covariate_shift(n_source, n_target, d, random_state=0)
    # interleave the domains, so that blocks hold both
    order = np.random.RandomState(1).permutation(len(data.X))
    return data.X[order], data.sample_domain[order]


@pytest.mark.parametrize(
    "weighter",
    [
        ULSIFWeighter(random_state=0),
        RULSIFWeighter(alpha=0.2, random_state=0),
        KLIEPWeighter(random_state=0, subsample=300),
        ULSIFWeighter(random_state=0, max_weight=3.0),
        DiscriminativeWeighter(),
        KMMWeighter(solver="scalable", n_components=50, random_state=0),
    ],
    ids=["ulsif", "rulsif", "kliep", "ulsif-clipped", "discriminative", "kmm-scalable"],
)
def test_blocks_give_the_in_memory_weights(weighter):
    X, domain = _data()
    in_memory = weighter.fit(X, sample_domain=domain)
    expected_weights, expected_all = in_memory.weights_, in_memory.sample_weight_
    expected_new = in_memory.compute_weights(X[:50])
    on_blocks = weighter.fit(da.from_array(X, chunks=(250, 4)), sample_domain=domain)
    assert isinstance(on_blocks.weights_, da.Array)
    tol = {"rtol": 1e-4, "atol": 1e-6}
    assert_allclose(on_blocks.weights_.compute(), expected_weights, **tol)
    assert_allclose(on_blocks.sample_weight_.compute(), expected_all, **tol)
    assert on_blocks.ess_ == pytest.approx(in_memory.ess_, rel=1e-4)
    new = on_blocks.compute_weights(da.from_array(X[:50], chunks=25))
    assert_allclose(new.compute(), expected_new, **tol)


def test_discriminative_blocks_keep_the_chosen_form():
    X, domain = _data(400, 300, d=3)
    in_memory = DiscriminativeWeighter().fit(X, sample_domain=domain)
    on_blocks = DiscriminativeWeighter().fit(
        da.from_array(X, chunks=(200, 3)), sample_domain=da.from_array(domain, chunks=200)
    )
    assert on_blocks.cv_scores_ == in_memory.cv_scores_
    assert on_blocks.estimator_[0].form == in_memory.estimator_[0].form
    assert_allclose(
        on_blocks.estimator_[-1].coef_, in_memory.estimator_[-1].coef_, rtol=1e-3, atol=1e-4
    )


def test_a_solver_that_needs_every_row_says_so():
    X, domain = _data(60, 40, d=2)
    with pytest.raises(TypeError, match="needs every row at once"):
        NearestNeighborsWeighter().fit(da.from_array(X, chunks=50), sample_domain=domain)
    with pytest.raises(ValueError, match="solver='scalable'"):
        KMMWeighter(solver="exact").fit(da.from_array(X, chunks=50), sample_domain=domain)
    with pytest.raises(ValueError, match="integer subsample"):
        KLIEPWeighter(subsample=None).fit(da.from_array(X, chunks=50), sample_domain=domain)
    with pytest.raises(TypeError, match="default classifier"):
        DiscriminativeWeighter(calibration="sigmoid").fit(
            da.from_array(X, chunks=50), sample_domain=domain
        )


@pytest.mark.slow
def test_importance_weights_reach_a_dask_estimator_as_a_dask_array():
    pytest.importorskip("distributed")
    xgb = pytest.importorskip("xgboost")
    import xgboost.dask  # noqa: F401
    from distributed import Client, LocalCluster

    from skxfer.reweight import ImportanceWeightedClassifier

    data = make_covariate_shift(600, 400, 3, random_state=0)
    y = np.where(data.sample_domain > 0, data.y, -1)  # unlabelled target rows
    params = {"n_estimators": 10, "max_depth": 2, "tree_method": "hist", "nthread": 1}
    weighter = ULSIFWeighter(random_state=0)
    in_memory = ImportanceWeightedClassifier(xgb.XGBClassifier(**params), weighter).fit(
        data.X, y, sample_domain=data.sample_domain
    )
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster),
    ):
        X = da.from_array(data.X, chunks=(250, 3))
        on_dask = ImportanceWeightedClassifier(xgb.dask.DaskXGBClassifier(**params), weighter).fit(
            X, da.from_array(y, chunks=250), sample_domain=data.sample_domain
        )
        assert isinstance(on_dask.sample_weight_, da.Array)
        assert isinstance(on_dask.weighter_.weights_, da.Array)
        assert_allclose(on_dask.sample_weight_.compute(), in_memory.sample_weight_, rtol=1e-4)
        proba = on_dask.predict_proba(X)
        assert isinstance(proba, da.Array)
        assert_allclose(proba.compute(), in_memory.predict_proba(data.X), atol=1e-4)
