"""transfer_curve: which rows each method trains and is scored on, and its result table."""

import sys

import numpy as np
import pytest
import sklearn
from joblib import parallel_config
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skxfer import is_masked, pack
from skxfer.model_selection import TargetKFold, TransferCurveResult, transfer_curve
from skxfer.warm_start import PooledTransfer

#: What the recording estimators saw, in the order they saw it (reset by each test).
LOG = []


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """A classifier that logs the row ids (column 0 of X) it is fitted and scored on."""

    def __init__(self, tag="plain"):
        self.tag = tag

    def fit(self, X, y):
        LOG.append(("fit", self.tag, X[:, 0].astype(int), np.asarray(y).copy(), None))
        self.classes_ = np.unique(y[~is_masked(y)])
        return self

    def predict(self, X):
        LOG.append(("predict", self.tag, X[:, 0].astype(int), None, None))
        return np.full(len(X), self.classes_[0])


class RecordingTransferClassifier(RecordingClassifier):
    """The same, domain-aware: it asks for ``sample_domain`` as skxfer's estimators do."""

    __metadata_request__fit = {"sample_domain": True}

    def fit(self, X, y, sample_domain=None):
        LOG.append(("fit", self.tag, X[:, 0].astype(int), np.asarray(y).copy(), sample_domain))
        self.classes_ = np.unique(y[~is_masked(y) | (sample_domain > 0)])
        return self


def _data(n_source=120, n_targets=(50,), n_unlabelled=0, seed=0, imbalance=0.5):
    """Packed rows whose column 0 is the row's index in X; target domains -1, -2, ..., each
    with ``n_unlabelled`` unlabelled rows at its end."""
    rng = np.random.RandomState(seed)
    parts_X, parts_y, parts_d = [], [], []
    Xs = rng.normal(size=(n_source, 3))
    parts_X.append(Xs)
    parts_y.append((Xs[:, 0] > 0).astype(int))
    parts_d.append(np.ones(n_source, dtype=int))
    for k, n in enumerate(n_targets):
        Xt = rng.normal(0.3, 1.0, size=(n, 3))
        yt = (rng.uniform(size=n) < imbalance).astype(int)
        yt[n - n_unlabelled :] = -1
        parts_X.append(Xt)
        parts_y.append(yt)
        parts_d.append(np.full(n, -(k + 1)))
    X = np.vstack(parts_X)
    X[:, 0] = np.arange(len(X))
    return X, np.concatenate(parts_y), np.concatenate(parts_d)


@pytest.fixture(autouse=True)
def _empty_log():
    LOG.clear()
    yield
    LOG.clear()


def test_each_size_trains_on_a_prefix_and_every_size_tests_on_the_same_rows():
    X, y, sd = _data(n_targets=(60,), n_unlabelled=8)
    sizes = [5, 12, 30]
    result = transfer_curve(
        X,
        y,
        sd,
        methods={"plain": RecordingClassifier(), "transfer": RecordingTransferClassifier("t")},
        sizes=sizes,
        n_seeds=3,
        random_state=4,
    )
    assert result.seeds == [4, 5, 6]
    target_rows = np.flatnonzero(sd == -1)
    labelled = set(target_rows[y[target_rows] != -1])
    fits = [entry for entry in LOG if entry[0] == "fit"]
    predictions = [entry for entry in LOG if entry[0] == "predict"]
    assert len(fits) == len(predictions) == 2 * 3 * len(sizes)
    orders = []
    for seed in result.seeds:
        _, test = result.split(seed=seed, size=sizes[0])
        assert len(test) == 60 - 8 - max(sizes) == result.n_test[-1]
        full_train, _ = result.split(seed=seed, size=max(sizes))
        orders.append(np.concatenate([full_train, test]))
        # the labelled target rows, each once: max(sizes) to train on, the rest to test on
        assert sorted(orders[-1]) == sorted(labelled)
        for n in sizes:
            train, same_test = result.split(seed=seed, size=n)
            np.testing.assert_array_equal(same_test, test)
            np.testing.assert_array_equal(train, full_train[:n])
    # every order is a different shuffle
    assert not np.array_equal(orders[0], orders[1])
    # what the methods saw, in the order of seeds, then sizes, then methods
    k = 0
    for seed in result.seeds:
        _, test = result.split(seed=seed)
        for n in sizes:
            train, _ = result.split(seed=seed, size=n)
            for tag in ("plain", "t"):
                _, fit_tag, rows, y_seen, sd_seen = fits[k]
                assert fit_tag == tag
                np.testing.assert_array_equal(predictions[k][2], test)  # scored on test rows
                k += 1
                if tag == "plain":  # a target-only baseline: the n training rows alone
                    np.testing.assert_array_equal(rows, train)
                    np.testing.assert_array_equal(y_seen, y[train])
                    continue
                # the source rows and every target row, labelled only where it trains
                np.testing.assert_array_equal(rows, np.flatnonzero((sd > 0) | (sd == -1)))
                np.testing.assert_array_equal(sd_seen, sd[rows])
                visible = rows[~is_masked(y_seen) | (sd_seen > 0)]
                np.testing.assert_array_equal(np.sort(visible[sd[visible] < 0]), np.sort(train))
                np.testing.assert_array_equal(y_seen[np.isin(rows, train)], y[np.sort(train)])
                assert not np.isin(test, visible).any()


def test_training_prefixes_keep_the_class_proportions():
    X, y, sd = _data(n_targets=(90,), imbalance=0.2, seed=3)
    sizes = list(range(1, 61))
    result = transfer_curve(
        X,
        y,
        sd,
        methods={"majority": DummyClassifier()},
        sizes=sizes,
        n_seeds=4,
        random_state=0,
    )
    labels = y[sd == -1]
    share = np.mean(labels == 1)
    assert 0.1 < share < 0.3
    n = np.arange(1, max(sizes) + 1)
    for seed in result.seeds:
        train, _ = result.split(seed=seed, size=max(sizes))
        drift = np.cumsum(y[train] == 1) - share * n  # minority labels among the first n
        assert np.all(np.abs(drift) <= 1), (seed, drift)
    # a plain shuffle drifts further: the same check fails on unstratified orders
    drifts = [
        np.cumsum(np.random.RandomState(seed).permutation(labels)[:60] == 1) - share * n
        for seed in result.seeds
    ]
    assert max(np.abs(drift).max() for drift in drifts) > 1


def test_the_score_is_the_scorer_on_the_test_rows_of_a_model_fitted_on_the_training_rows():
    X, y, sd = _data(n_targets=(70,))
    X = X[:, 1:]
    source = LogisticRegression().fit(X[sd > 0], y[sd > 0])
    result = transfer_curve(
        X,
        y,
        sd,
        methods={
            "target only": LogisticRegression(C=0.5),
            "source only": FrozenEstimator(source),
        },
        sizes=[10, 40],
        n_seeds=2,
        random_state=0,
        scoring="balanced_accuracy",
    )
    from sklearn.metrics import balanced_accuracy_score

    assert result.scoring == "balanced_accuracy"
    for j, seed in enumerate(result.seeds):
        _, test = result.split(seed=seed)
        for i, n in enumerate(result.sizes):
            train, _ = result.split(seed=seed, size=n)
            model = LogisticRegression(C=0.5).fit(X[train], y[train])
            expected = balanced_accuracy_score(y[test], model.predict(X[test]))
            assert result.per_seed("target only")[i, j] == pytest.approx(expected)
            # the frozen source model is never refitted: the same score at every size
            expected = balanced_accuracy_score(y[test], source.predict(X[test]))
            assert result.per_seed("source only")[i, j] == pytest.approx(expected)


def test_each_target_domain_has_its_own_curve_without_the_other_domains_rows():
    X, y, sd = _data(n_targets=(40, 55))
    result = transfer_curve(
        X,
        y,
        sd,
        methods={"transfer": RecordingTransferClassifier()},
        sizes=[10],
        n_seeds=1,
        random_state=0,
    )
    assert result.targets == [-1, -2]
    assert result.n_labelled == {-1: 40, -2: 55}
    assert result.n_test == {-1: 30, -2: 45}
    assert result.scores.shape == (2, 1, 1, 1)
    for target, (_, _, rows, _, sd_seen) in zip(result.targets, LOG[::2]):
        assert set(sd_seen) == {1, target}
        np.testing.assert_array_equal(rows, np.flatnonzero((sd > 0) | (sd == target)))
        train, test = result.split(target=target)
        assert set(sd[train]) == set(sd[test]) == {target}
    with pytest.raises(ValueError, match=r"target: pass one of the target domains \[-1, -2\]"):
        result.mean("transfer")


def test_a_factory_gets_each_seed_and_same_seeds_mean_same_splits():
    X, y, sd = _data()
    seen = []

    def factory(random_state):
        seen.append(random_state)
        return DummyClassifier(strategy="stratified", random_state=random_state)

    kwargs = {"sizes": [5, 20], "n_seeds": 3, "random_state": 7}
    first = transfer_curve(X, y, sd, methods={"coin": factory}, **kwargs)
    assert seen == [7, 7, 8, 8, 9, 9]  # one estimator per fit, each with its seed
    other = transfer_curve(X, y, sd, methods={"plain": RecordingClassifier()}, **kwargs)
    for seed in first.seeds:
        for a, b in zip(first.split(seed=seed, size=5), other.split(seed=seed, size=5)):
            np.testing.assert_array_equal(a, b)
    again = transfer_curve(X, y, sd, methods={"coin": factory}, **kwargs)
    np.testing.assert_array_equal(first.scores, again.scores)


def test_a_search_around_a_transfer_estimator_gets_sample_domain_without_touching_the_config():
    X, y, sd = _data(n_targets=(60,), n_unlabelled=10)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), PooledTransfer(LogisticRegression())),
        {"pooledtransfer__target_weight": [1.0, 10.0]},
        cv=TargetKFold(3),
    )
    config = sklearn.get_config()
    copies = [X.copy(), y.copy(), sd.copy()]
    result = transfer_curve(
        X, y, sd, methods={"pooled": search}, sizes=[10, 30], n_seeds=1, random_state=0
    )
    assert sklearn.get_config() == config
    for before, after in zip(copies, (X, y, sd)):
        np.testing.assert_array_equal(before, after)
    assert np.all((result.scores >= 0) & (result.scores <= 1))


def test_parallel_runs_give_the_same_table_and_progress_counts_every_step():
    X, y, sd = _data(n_targets=(50, 40))
    calls = []
    kwargs = {
        "methods": {"lr": LogisticRegression(), "coin": lambda s: DummyClassifier(random_state=s)},
        "sizes": [5, 10, 20],
        "n_seeds": 2,
        "random_state": 0,
    }
    serial = transfer_curve(
        X, y, sd, progress=lambda done, total: calls.append((done, total)), **kwargs
    )
    assert calls == [(k, 12) for k in range(1, 13)]  # 2 targets x 2 seeds x 3 sizes
    calls.clear()
    with parallel_config(backend="threading"):
        parallel = transfer_curve(
            X, y, sd, n_jobs=2, progress=lambda done, total: calls.append((done, total)), **kwargs
        )
    np.testing.assert_array_equal(serial.scores, parallel.scores)
    assert calls[-1] == (12, 12)


def test_the_table_and_its_summary():
    X, y, sd = _data(n_targets=(50, 40))
    result = transfer_curve(
        X[:, 1:],
        y,
        sd,
        methods={"lr": LogisticRegression(), "majority": DummyClassifier()},
        sizes=[5, 20],
        n_seeds=3,
        random_state=0,
    )
    assert isinstance(result, TransferCurveResult)
    frame = result.to_frame()
    assert list(frame.columns) == ["target", "method", "size", "seed", "score"]
    assert len(frame) == 2 * 2 * 2 * 3
    row = frame[(frame.target == -2) & (frame.method == "lr") & (frame["size"] == 20)]
    np.testing.assert_array_equal(row.seed, result.seeds)
    np.testing.assert_array_equal(row.score, result.per_seed("lr", -2)[1])
    summary = result.summary()
    assert len(summary) == 2 * 2 * 2
    values = result.per_seed("majority", -1)
    np.testing.assert_allclose(result.mean("majority", -1), values.mean(axis=1))
    np.testing.assert_allclose(result.sem("majority", -1), values.std(axis=1, ddof=1) / np.sqrt(3))
    first = summary[(summary.target == -1) & (summary.method == "majority")]
    np.testing.assert_allclose(first["mean"], result.mean("majority", -1))
    np.testing.assert_allclose(first["sem"], result.sem("majority", -1))
    text = str(result)
    assert "accuracy on held-out target rows" in text
    assert "target domain -2: 40 labelled rows, 20 test rows per seed" in text
    one = transfer_curve(
        X[:, 1:], y, sd, methods={"lr": LogisticRegression()}, sizes=[5], n_seeds=1, random_state=0
    )
    assert np.isnan(one.sem("lr", -1)).all()  # one seed: no spread to measure


def test_regression_is_detected_and_scored_by_r2():
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(80, 3)), rng.normal(0.5, 1.0, size=(40, 3))
    w = np.array([1.0, -2.0, 0.5])
    ys, yt = Xs @ w + rng.normal(0, 0.1, 80), Xt @ w + 0.3 + rng.normal(0, 0.1, 40)
    yt[-5:] = np.nan
    X, y, sd = pack(Xs, ys, Xt, yt)
    result = transfer_curve(
        X, y, sd, methods={"ridge": Ridge(alpha=0.1)}, sizes=[10, 25], n_seeds=2, random_state=0
    )
    assert result.task == "regression"
    assert result.scoring == "r2"
    assert result.n_unlabelled == {-1: 5}
    assert np.all(result.mean("ridge") > 0.8)
    # whole-number labels are classes for "auto"; task="regression" says otherwise
    counts = np.round(np.abs(y) * 3)
    counts[np.isnan(counts)] = -1
    counts = counts.astype(int)
    assert (
        transfer_curve(
            X, counts, sd, methods={"ridge": Ridge()}, sizes=[10], n_seeds=1, task="regression"
        ).task
        == "regression"
    )


@pytest.mark.slow
def test_the_default_methods_run_under_any_routing_configuration():
    X, y, sd = _data(n_targets=(45,), n_unlabelled=5)
    X = X[:, 1:]
    kwargs = {"methods": "fast", "sizes": [10], "n_seeds": 1, "random_state": 0}
    result = transfer_curve(X, y, sd, **kwargs)
    assert result.methods[:3] == ["target only", "source only", "source only (xgb)"]
    assert result.methods[3:] == [
        "pooled",
        "reweighted",
        "transfer logistic",
        "xgb warm start",
        "guarded",
    ]
    assert np.all((result.scores >= 0) & (result.scores <= 1))
    with sklearn.config_context(enable_metadata_routing=True):
        routed = transfer_curve(X, y, sd, **kwargs)
    np.testing.assert_array_equal(result.scores, routed.scores)


def test_no_global_random_state_is_used_with_an_int_seed():
    X, y, sd = _data()
    np.random.seed(0)  # noqa: NPY002 (the global generator is what this test watches)
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    transfer_curve(X, y, sd, methods={"lr": LogisticRegression()}, sizes=[5], random_state=1)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    # None draws the first seed from numpy's global generator
    result = transfer_curve(X, y, sd, methods={"lr": LogisticRegression()}, sizes=[5], n_seeds=2)
    assert result.seeds[1] == result.seeds[0] + 1
    assert not np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_an_error_inside_a_method_names_it():
    X, y, sd = _data()

    class Broken(RecordingClassifier):
        def fit(self, X, y):
            raise RuntimeError("the model broke")

    with pytest.raises(RuntimeError, match="the model broke") as info:
        transfer_curve(X, y, sd, methods={"broken": Broken()}, sizes=[5], random_state=3)
    if sys.version_info >= (3, 11):  # exception notes are new in 3.11
        assert info.value.__notes__ == ["transfer_curve: method 'broken', seed 3, size 5."]


def _bad_calls():
    X, y, sd = _data(n_targets=(30,))
    Xf = X[:, 1:]
    plain = {"lr": LogisticRegression()}
    text = np.where(y == 1, "yes", "no").astype(object)
    text[sd < 0] = None
    nan_X = Xf.copy()
    nan_X[3, 1] = np.nan
    one_class = np.where(sd > 0, 1, y)
    new_class = np.where((sd < 0) & (y == 1), 2, y)
    return {
        "sizes too large": (
            (Xf, y, sd),
            {"methods": plain, "sizes": [10, 30]},
            "sizes: target domain -1 has 30 labelled rows, too few for sizes up to 30",
        ),
        "size zero": ((Xf, y, sd), {"methods": plain, "sizes": [0, 5]}, "sizes must be whole"),
        "fractional size": ((Xf, y, sd), {"methods": plain, "sizes": [2.5]}, "sizes must be whole"),
        "no sizes": ((Xf, y, sd), {"methods": plain, "sizes": []}, "sizes must be a list"),
        "n_seeds": ((Xf, y, sd), {"methods": plain, "n_seeds": 0}, "'n_seeds' parameter"),
        "methods name": ((Xf, y, sd), {"methods": "best"}, "'methods' parameter"),
        "empty methods": ((Xf, y, sd), {"methods": {}}, "methods is an empty dict"),
        "not an estimator": (
            (Xf, y, sd),
            {"methods": {"three": 3}, "sizes": [5]},
            r"methods\['three'\] is a int",
        ),
        "factory result": (
            (Xf, y, sd),
            {"methods": {"f": lambda seed: "lr"}, "sizes": [5]},
            r"methods\['f'\] returned a str",
        ),
        "scoring": ((Xf, y, sd), {"methods": plain, "scoring": "best"}, "'scoring' parameter"),
        "task": ((Xf, y, sd), {"methods": plain, "task": "ranking"}, "'task' parameter"),
        "text for regression": (
            (Xf, text, sd),
            {"methods": plain, "sizes": [5], "task": "regression"},
            "task='regression' needs numeric labels",
        ),
        "no target rows": ((Xf, y, np.ones_like(sd)), {"methods": plain}, "no target rows"),
        "sample_domain length": ((Xf, y, sd[:-1]), {"methods": plain}, "sample_domain has"),
        "missing features": (
            (nan_X, y, sd),
            {"sizes": [5]},
            "Input X contains NaN. The default methods need numeric features",
        ),
        "one source class": (
            (Xf, one_class, sd),
            {"sizes": [5]},
            "y: every source row has the label 1",
        ),
        "target class unknown": (
            (Xf, new_class, sd),
            {"sizes": [5]},
            r"y: target label\(s\) \[2\] never occur in the source rows",
        ),
    }


BAD_CALLS = list(_bad_calls())


@pytest.mark.parametrize("case", BAD_CALLS)
def test_bad_input_is_an_error_naming_the_parameter(case):
    args, kwargs, message = _bad_calls()[case]
    with pytest.raises((ValueError, TypeError), match=message):
        transfer_curve(*args, random_state=0, **kwargs)
