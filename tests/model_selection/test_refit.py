"""least_change_refit: the one-standard-error rule toward the source."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skxfer.model_selection import least_change_refit
from skxfer.warm_start import TransferRidge


def _results(means, stds, params, n_splits=4):
    results = {
        "mean_test_score": np.asarray(means, dtype=float),
        "std_test_score": np.asarray(stds, dtype=float),
        "params": params,
    }
    for k in range(n_splits):
        results[f"split{k}_test_score"] = np.zeros(len(means))
    return results


def test_picks_the_closest_candidate_within_one_standard_error():
    params = [{"alpha": a} for a in (0.01, 1.0, 100.0)]
    # best is alpha=0.01 (score 0); its SE is 0.4 / sqrt(4) = 0.2
    within = _results([0.0, -0.1, -0.15], [0.4, 0.1, 0.1], params)
    assert least_change_refit("-alpha")(within) == 2
    outside = _results([0.0, -0.1, -0.25], [0.4, 0.1, 0.1], params)
    assert least_change_refit("-alpha")(outside) == 1
    assert least_change_refit("alpha")(within) == 0
    assert least_change_refit("-alpha", n_se=0)(within) == 0


def test_callable_order_and_ties_broken_by_score():
    params = [{"k": 1}, {"k": 0}, {"k": 0}]
    results = _results([-0.1, -0.2, -0.05], [0.0, 0.0, 1.0], params)
    # candidates 1 and 2 share the order key 0; the better scored one wins
    assert least_change_refit(lambda p: p["k"])(results) == 2


def test_nan_scores_are_skipped_and_all_nan_raises():
    params = [{"alpha": 1.0}, {"alpha": 10.0}]
    assert least_change_refit("-alpha")(_results([np.nan, -1.0], [np.nan, 0.1], params)) == 1
    with pytest.raises(ValueError, match="NaN"):
        least_change_refit("-alpha")(_results([np.nan, np.nan], [0.0, 0.0], params))


def test_bad_arguments():
    with pytest.raises(TypeError, match="order_by"):
        least_change_refit(3)
    with pytest.raises(ValueError, match="n_se"):
        least_change_refit("alpha", n_se=-1)


def test_in_grid_search_it_moves_away_from_the_source_as_labels_grow():
    rng = np.random.RandomState(0)
    source = np.array([1.0, 2.0, 0.0])
    target = np.array([1.0, 2.0, 1.5])  # the target has an effect the source lacks

    def chosen(n):
        X = rng.normal(size=(n, 3))
        y = X @ target + rng.normal(size=n)
        search = GridSearchCV(
            TransferRidge(source_model=source),
            {"alpha": [0.01, 1.0, 100.0, 10000.0]},
            refit=least_change_refit("-alpha"),
            cv=5,
        ).fit(X, y)
        return search.best_params_["alpha"]

    assert chosen(12) >= 100.0
    assert chosen(400) <= 1.0
