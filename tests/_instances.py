"""Constructor arguments for estimators that cannot be built with defaults.

Every public estimator (skxfer.utils.all_estimators) is instantiated from this table, so the
common checks, pickling and determinism tests reach all of them.
"""

from sklearn.linear_model import LogisticRegression, Ridge

CONSTRUCTOR_ARGS = {
    "ImportanceWeightedClassifier": {"estimator": LogisticRegression()},
    "ImportanceWeightedRegressor": {"estimator": Ridge()},
    # the defaults do ~2,500 base fits; fewer keep the common checks quick
    "TwoStageTrAdaBoostRegressor": {"n_steps": 4, "n_estimators": 10},
}


def make_instance(cls):
    return cls(**CONSTRUCTOR_ARGS.get(cls.__name__, {}))
