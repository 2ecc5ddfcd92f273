"""XGBTransfer* on a target held as a dask collection, on a real cluster of two worker
processes: the continuation equals single-machine ``xgboost.train(..., xgb_model=)``."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

pytest.importorskip("distributed")
xgb = pytest.importorskip("xgboost")
da = pytest.importorskip("dask.array")

from skxfer.warm_start import XGBTransferClassifier, XGBTransferRegressor  # noqa: E402

pytestmark = pytest.mark.slow

PARAMS = {"max_depth": 3, "learning_rate": 0.1, "reg_lambda": 1.0, "n_jobs": 1}


@pytest.fixture(scope="module")
def client():
    import xgboost.dask  # noqa: F401 - imported before the workers start
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _data(kind, seed=0):
    rng = np.random.RandomState(seed)
    X_source, X_target = rng.normal(size=(2000, 5)), rng.normal(0.5, 1.0, size=(600, 5))
    if kind == "regression":
        return (
            X_source,
            X_source[:, 0] + 0.1 * rng.normal(size=2000),
            X_target,
            (X_target[:, 0] + 0.5 * X_target[:, 1]),
        )
    return (
        X_source,
        (X_source[:, 0] > 0).astype(float),
        X_target,
        (X_target[:, 0] + X_target[:, 1] > 0.5).astype(float),
    )


def _dask_source(client, X, y, objective):
    """A source booster trained with xgboost.dask on two partitions."""
    X, y = da.from_array(X, chunks=(1000, 5)), da.from_array(y, chunks=1000)
    train = xgb.dask.DaskDMatrix(client, X, y)
    params = {"objective": objective, "max_depth": 3, "seed": 0, "nthread": 1}
    return xgb.dask.train(client, params, train, num_boost_round=20)


def _single_machine_continue(source, X, y, objective, metric):
    params = {
        "objective": objective,
        "eval_metric": metric,
        "learning_rate": 0.1,
        "max_depth": 3,
        "reg_lambda": 1.0,
        "verbosity": 0,
        "nthread": 1,
    }
    return xgb.train(params, xgb.DMatrix(X, y), num_boost_round=15, xgb_model=source)


@pytest.mark.parametrize("partitions", [1, 2, 3])
def test_regressor_continue_equals_single_machine(client, partitions):
    X_source, y_source, X_target, y_target = _data("regression")
    output = _dask_source(client, X_source, y_source, "reg:squarederror")
    rows = -(-len(X_target) // partitions)
    X = da.from_array(X_target, chunks=(rows, 5))
    y = da.from_array(y_target, chunks=rows)
    reg = XGBTransferRegressor(output, n_estimators=15, random_state=0, **PARAMS).fit(X, y)
    assert reg.n_source_estimators_ == 20
    assert reg.n_estimators_ == 15
    expected = _single_machine_continue(
        output["booster"], X_target, y_target, "reg:squarederror", "rmse"
    )
    # The seed only drives sampling, off here: the trees are the same whatever it is.
    assert_allclose(
        reg.booster_.predict(xgb.DMatrix(X_target)),
        expected.predict(xgb.DMatrix(X_target)),
        rtol=1e-6,
        atol=1e-6,
    )
    lazy = reg.predict(X)
    assert isinstance(lazy, da.Array)
    assert_allclose(lazy.compute(), reg.predict(X_target), rtol=1e-6, atol=1e-6)


def test_classifier_continue_takes_the_bare_booster_and_predicts_lazily(client):
    X_source, y_source, X_target, y_target = _data("classification")
    output = _dask_source(client, X_source, y_source, "binary:logistic")
    X = da.from_array(X_target, chunks=(300, 5))
    y = da.from_array(y_target, chunks=300)
    clf = XGBTransferClassifier(output["booster"], n_estimators=15, **PARAMS).fit(X, y)
    expected = _single_machine_continue(
        output["booster"], X_target, y_target, "binary:logistic", "logloss"
    )
    p = expected.predict(xgb.DMatrix(X_target))
    assert_allclose(clf.predict_proba(X_target)[:, 1], p, rtol=1e-6, atol=1e-6)
    proba = clf.predict_proba(X)
    assert isinstance(proba, da.Array)
    assert_allclose(proba.compute()[:, 1], p, rtol=1e-6, atol=1e-6)
    assert_allclose(clf.predict(X).compute(), (p > 0.5).astype(float))


@pytest.mark.parametrize("strategy", ["refresh", "refresh_continue"])
def test_refresh_equals_the_in_memory_refresh(client, strategy):
    X_source, y_source, X_target, y_target = _data("classification", seed=1)
    output = _dask_source(client, X_source, y_source, "binary:logistic")
    X = da.from_array(X_target, chunks=(250, 5))
    y = da.from_array(y_target, chunks=250)
    settings = {"strategy": strategy, "n_estimators": 5, "tau": 2.0, "source_learning_rate": 0.3}
    on_dask = XGBTransferClassifier(output, **settings, **PARAMS).fit(X, y)
    in_memory = XGBTransferClassifier(output["booster"], **settings, **PARAMS).fit(
        X_target, y_target
    )
    assert on_dask.n_estimators_ == in_memory.n_estimators_
    assert_allclose(
        on_dask.predict_proba(X_target), in_memory.predict_proba(X_target), rtol=1e-5, atol=1e-6
    )
    # the refresh changed the model
    source_p = output["booster"].predict(xgb.DMatrix(X_target))
    assert np.max(np.abs(on_dask.predict_proba(X_target)[:, 1] - source_p)) > 1e-3


def test_unsupported_settings_name_the_fix(client):
    X_source, y_source, X_target, y_target = _data("regression")
    output = _dask_source(client, X_source, y_source, "reg:squarederror")
    X, y = da.from_array(X_target, chunks=(300, 5)), da.from_array(y_target, chunks=300)
    with pytest.raises(ValueError, match="n_estimators as an integer"):
        XGBTransferRegressor(output).fit(X, y)
    with pytest.raises(ValueError, match="source_model"):
        XGBTransferRegressor(n_estimators=3).fit(X, y)
    with pytest.raises(ValueError, match="recalibrate=None"):
        XGBTransferRegressor(output, n_estimators=3, source_scale=0.5).fit(X, y)
    with pytest.raises(ValueError, match="sample_domain=None"):
        XGBTransferRegressor(output, n_estimators=3).fit(X, y, sample_domain=np.ones(600))


@pytest.mark.parametrize("name", ["LGBMTransferRegressor", "CatBoostTransferRegressor"])
def test_libraries_without_a_distributed_continuation_say_so(name):
    import skxfer.warm_start

    estimator = getattr(skxfer.warm_start, name)(n_estimators=3)
    X = da.zeros((40, 3), chunks=(20, 3))
    with pytest.raises(TypeError, match="no distributed training"):
        estimator.fit(X, da.zeros(40, chunks=20))
