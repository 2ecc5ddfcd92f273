"""Constructor arguments for estimators that cannot be built with defaults.

Every public estimator (skxfer.utils.all_estimators) is instantiated from this table, so the
common checks, pickling and determinism tests reach all of them.
"""

from sklearn.linear_model import LogisticRegression, Ridge

from skxfer.align import SubspaceAlignment
from skxfer.utils import all_estimators
from skxfer.warm_start import TransferLogisticRegression

CONSTRUCTOR_ARGS = {
    "AlignedClassifier": {"estimator": LogisticRegression()},
    # a subspace aligner, so the checks reach an aligner whose output is not its input
    "AlignedRegressor": {"estimator": Ridge(), "aligner": SubspaceAlignment()},
    # a transfer estimator, so the domain tests reach the search with sample_domain
    "AveragedSearchCV": {
        "estimator": TransferLogisticRegression(),
        "param_grid": {"alpha": [0.1, 10.0]},
    },
    "ImportanceWeightedClassifier": {"estimator": LogisticRegression()},
    "ImportanceWeightedRegressor": {"estimator": Ridge()},
    "PooledTransfer": {"estimator": LogisticRegression()},
    "TransferOrTarget": {
        "transfer": TransferLogisticRegression(),
        "target": LogisticRegression(),
    },
    # the defaults do ~2,500 base fits; fewer keep the common checks quick
    "TwoStageTrAdaBoostRegressor": {"n_steps": 4, "n_estimators": 10},
    # a small source model and few added trees keep the ~60 CatBoost fits of the checks quick
    "CatBoostTransferClassifier": {"source_params": {"iterations": 20}, "max_estimators": 30},
    "CatBoostTransferRegressor": {"source_params": {"iterations": 20}, "max_estimators": 30},
    "LGBMTransferClassifier": {"source_params": {"n_estimators": 20}, "max_estimators": 30},
    "LGBMTransferRegressor": {"source_params": {"n_estimators": 20}, "max_estimators": 30},
    # windows too, so the checks reach the rolling statistics, not only the lags
    "LagFeatures": {"lags": (1, 2), "windows": (2,), "window_stats": ("mean", "max")},
}


_XGB_WEIGHTS = (
    "XGBoost sums gradients in float32 and sketches feature quantiles by row, so a weight of 2 "
    "and a repeated row give trees that differ in the last digits; "
    "tests/warm_start/test_boosted.py checks the weights to a tolerance instead"
)

_CATBOOST_WEIGHTS = (
    "CatBoost draws bootstrap weights and random split scores per row and quantizes features "
    "from the rows, so a weight of 2 and a repeated row give different trees; "
    "tests/warm_start/test_boosted.py checks that weight 0 equals dropping the row instead"
)

_LIGHTGBM_WEIGHTS = (
    "LightGBM bins features from the rows and its leaves need a number of rows "
    "(min_child_samples), so a weight of 2 and a repeated row give different trees; "
    "tests/warm_start/test_boosted.py checks that weight 0 equals dropping the row instead"
)

_LAG_ROWS = (
    "a lag feature of a row is the value of an earlier row of its series, so reordering or "
    "batching the rows changes it by design; tests/timeseries/test_windows.py checks that "
    "only earlier rows of the same series matter instead"
)

#: Common checks an estimator is known to fail, with the reason (and where it is tested).
EXPECTED_FAILED_CHECKS = {
    "XGBTransferClassifier": {"check_sample_weight_equivalence_on_dense_data": _XGB_WEIGHTS},
    "XGBTransferRegressor": {"check_sample_weight_equivalence_on_dense_data": _XGB_WEIGHTS},
    "CatBoostTransferClassifier": {
        "check_sample_weight_equivalence_on_dense_data": _CATBOOST_WEIGHTS
    },
    "CatBoostTransferRegressor": {
        "check_sample_weight_equivalence_on_dense_data": _CATBOOST_WEIGHTS
    },
    "LGBMTransferClassifier": {"check_sample_weight_equivalence_on_dense_data": _LIGHTGBM_WEIGHTS},
    "LGBMTransferRegressor": {"check_sample_weight_equivalence_on_dense_data": _LIGHTGBM_WEIGHTS},
    "LagFeatures": {
        "check_methods_sample_order_invariance": _LAG_ROWS,
        "check_methods_subset_invariance": _LAG_ROWS,
    },
}


#: Estimators whose output holds NaN by design, with the reason (the bad-input test then
#: checks only that it holds no infinity).
NAN_OUTPUT = {
    "LagFeatures": "the first rows of a series have no history to lag, and get NaN",
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


def _featurizer_args():
    """A parameter-free torch chain: it takes arrays of any width and shape, as the common
    checks need (a pretrained network of a fixed input width would fail most of them)."""
    import torch

    return {"model": torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Softsign())}


def _series_encoder_args():
    """A tiny network (2 blocks of 8 filters, kernels of 2 and 1 so that the checks' 2-column
    tables are long enough) and few epochs keep the ~100 fits of the checks quick."""
    import torch  # noqa: F401  (skip the checks when torch is absent)

    return {
        "n_filters": (8, 8),
        "kernel_sizes": (2, 1),
        "max_epochs": 20,
        "learning_rate": 0.02,
        "n_threads": 1,
    }


# estimators whose constructor arguments need an optional dependency, built on demand
LAZY_CONSTRUCTOR_ARGS = {
    "PretrainedFeaturizer": _featurizer_args,
    "ConvSeriesEncoder": _series_encoder_args,
}


def make_instance(cls):
    lazy = LAZY_CONSTRUCTOR_ARGS.get(cls.__name__)
    args = lazy() if lazy is not None else CONSTRUCTOR_ARGS.get(cls.__name__, {})
    return cls(**args)


def all_instances():
    """One instance of every public estimator whose optional dependencies are installed."""
    instances = []
    for name, cls in all_estimators():
        try:
            instances.append(make_instance(cls))
        except ImportError:
            if name not in LAZY_CONSTRUCTOR_ARGS:
                raise
    return instances


def domain_kwargs(estimator, sample_domain):
    """``{"sample_domain": ...}`` for estimators whose fit takes it, else nothing (a
    featurizer is not domain-aware)."""
    import inspect

    if "sample_domain" in inspect.signature(estimator.fit).parameters:
        return {"sample_domain": sample_domain}
    return {}
