"""LGBMTransferClassifier / LGBMTransferRegressor against native LightGBM (what every
library shares is in test_boosted.py)."""

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator

from skxfer.warm_start import LGBMTransferClassifier, LGBMTransferRegressor
from tests.warm_start._libraries import binary_task, native, task

lgb = pytest.importorskip("lightgbm")


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_continue_equals_native_init_model_continuation(kind):
    Xs, ys, Xt, yt, est_kind = task(kind)
    source = native("lightgbm", est_kind, Xs, ys, n_trees=20)
    cls = LGBMTransferRegressor if est_kind == "regressor" else LGBMTransferClassifier
    est = cls(FrozenEstimator(source), n_estimators=8, learning_rate=0.2, max_depth=2)
    est.set_params(reg_lambda=2.0, random_state=0, n_jobs=1).fit(Xt, yt)
    objective = source.booster_.params["objective"]
    params = {
        "objective": objective,
        "learning_rate": 0.2,
        "max_depth": 2,
        "num_leaves": 4,
        "lambda_l2": 2.0,
        "min_data_in_leaf": 1,
        "min_sum_hessian_in_leaf": 1.0,
        "seed": np.random.RandomState(0).randint(np.iinfo(np.int32).max),
        "num_threads": 1,
        "verbosity": -1,
    }
    if kind == "multiclass":
        params["num_class"] = 3
    train = lgb.Dataset(Xt, label=yt, params={**params, "feature_pre_filter": False})
    by_hand = lgb.train(params, train, num_boost_round=8, init_model=source.booster_)
    expected = by_hand.predict(Xs, raw_score=True)
    got = est.predict(Xs) if est_kind == "regressor" else est.decision_function(Xs)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert est.n_estimators_ == 8
    assert est.booster_.current_iteration() == 28


def test_refreshed_leaf_values_match_a_computation_by_hand():
    """Two stumps: LightGBM keeps its starting score (the mean) in the first tree, whose
    root holds it; refresh keeps it and re-estimates each leaf around it."""
    rng = np.random.RandomState(1)
    Xs = rng.normal(size=(300, 1))
    source = native(
        "lightgbm", "regressor", Xs, 2 * Xs[:, 0] + 3.0, n_trees=2, max_depth=1, learning_rate=0.4
    )
    Xt = rng.normal(size=(40, 1))
    yt = 2 * Xt[:, 0] + 4.5
    w = rng.uniform(0.5, 2.0, size=40)
    tau, reg_lambda = 3.0, 0.5
    reg = LGBMTransferRegressor(
        FrozenEstimator(source), strategy="refresh", tau=tau, reg_lambda=reg_lambda
    ).fit(Xt, yt, sample_weight=w)

    booster = source.booster_
    leaves = booster.predict(Xt, pred_leaf=True)
    start = booster.dump_model()["tree_info"][0]["tree_structure"]["internal_value"]
    margin = np.full(40, start)
    for tree in range(2):
        offset = start if tree == 0 else 0.0
        for leaf in range(2):
            rows = leaves[:, tree] == leaf
            G = np.sum(w[rows] * (margin[rows] - yt[rows]))
            H = np.sum(w[rows])
            source_value = booster.get_leaf_output(tree, leaf) - offset
            new = (tau * source_value - 0.4 * G) / (H + reg_lambda + tau)
            assert reg.booster_.get_leaf_output(tree, leaf) == pytest.approx(new + offset)
        margin = margin + np.array(
            [reg.booster_.get_leaf_output(tree, j) - offset for j in leaves[:, tree]]
        )
    np.testing.assert_allclose(reg.predict(Xt), margin, rtol=1e-6)
    assert booster.get_leaf_output(0, 0) != reg.booster_.get_leaf_output(0, 0)


def test_a_source_stopped_early_keeps_the_trees_it_predicts_with():
    Xs, ys, Xt, yt = binary_task()
    params = {"objective": "binary", "verbosity": -1, "num_threads": 1}
    source = lgb.train(
        params,
        lgb.Dataset(Xs[:1000], ys[:1000]),
        num_boost_round=200,
        valid_sets=[lgb.Dataset(Xs[1000:], ys[1000:])],
        callbacks=[lgb.early_stopping(5, verbose=False)],
        keep_training_booster=True,  # every tree trained, the best iteration marked
    )
    assert 0 < source.best_iteration < source.current_iteration()
    clf = LGBMTransferClassifier(source, n_estimators=0).fit(Xt, yt)
    assert clf.n_source_estimators_ == source.best_iteration
    np.testing.assert_allclose(clf.predict_proba(Xt)[:, 1], source.predict(Xt), rtol=1e-6)


def test_a_few_target_rows_can_be_split_and_the_added_rounds_are_counted():
    Xs, ys, Xt, yt = binary_task(n_target=30)
    source = FrozenEstimator(native("lightgbm", "classifier", Xs, ys, n_trees=10))
    clf = LGBMTransferClassifier(source, n_estimators=5, n_jobs=1).fit(Xt, yt)
    counts = [t["num_leaves"] for t in clf.booster_.dump_model()["tree_info"][10:]]
    assert len(counts) == 5
    assert max(counts) > 1
    # LightGBM's own 20-row leaves cannot split 30 rows: it stops, and says how many it added
    strict = LGBMTransferClassifier(source, n_estimators=5, params={"min_data_in_leaf": 20})
    assert strict.set_params(n_jobs=1).fit(Xt, yt).n_estimators_ < 5


def test_a_booster_of_another_objective_is_refused():
    Xs, ys, Xt, yt = binary_task(n_source=300)
    poisson = native("lightgbm", "regressor", Xs, np.exp(Xs[:, 0]), n_trees=5, objective="poisson")
    with pytest.raises(ValueError, match="'poisson'"):
        LGBMTransferRegressor(poisson.booster_).fit(Xt, Xt[:, 0])


def test_linear_trees_are_refused_where_leaves_are_read():
    Xs, ys, Xt, yt = binary_task(n_source=300)
    source = FrozenEstimator(native("lightgbm", "regressor", Xs, Xs[:, 0], linear_tree=True))
    with pytest.raises(ValueError, match="linear trees"):
        LGBMTransferRegressor(source, strategy="refresh").fit(Xt, Xt[:, 0])
    kept = LGBMTransferRegressor(source, n_estimators=0).fit(Xt, Xt[:, 0])
    np.testing.assert_allclose(kept.predict(Xt), source.predict(Xt), rtol=1e-6)
