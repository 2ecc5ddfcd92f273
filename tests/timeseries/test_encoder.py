"""ConvSeriesEncoder: learning, determinism, pickling, lengths, and its blocks in the featurizer."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skxfer.featurize import PretrainedFeaturizer, clear_cache
from skxfer.timeseries import ConvSeriesEncoder

torch = pytest.importorskip("torch")

TINY = {"n_filters": (8, 8, 6), "kernel_sizes": (5, 3, 3), "n_threads": 1}


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_cache()
    yield
    clear_cache()


def _waves(n, length=60, seed=0):
    """Noisy sines with a random phase; the class is the period (6, 12 or 24 steps), so the
    task reads the same at any series length."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    period = np.array([6.0, 12.0, 24.0])[y]
    t = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    X = np.sin(2 * np.pi * t / period[:, None] + phase) + 0.4 * rng.normal(size=(n, length))
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _waves(150)
    encoder = ConvSeriesEncoder(**TINY, max_epochs=25, learning_rate=0.01, random_state=0)
    return encoder.fit(X[:, None, :], y)


def _blocks_by_hand(encoder, X, upto, blocks=None):
    """Time-averaged output of block ``upto`` (0: the input), running the blocks one by one."""
    blocks = blocks or [getattr(encoder.module_, name) for name in encoder.block_names_]
    state = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        for block in blocks[:upto]:
            state = block(state)
    return state.mean(dim=2).numpy()


# ---------------------------------------------------------------------------------------------
# the estimator


def test_learns_a_separable_series_task_well_above_chance(fitted):
    X, y = _waves(90, seed=1)
    assert fitted.score(X[:, None, :], y) > 0.85  # chance is about 1/3
    assert fitted.n_blocks_ == 3
    assert fitted.n_channels_ == 1
    assert fitted.history_["validation_loss"][fitted.best_epoch_] == min(
        fitted.history_["validation_loss"]
    )
    proba = fitted.predict_proba(X[:, None, :])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(X))


def test_series_of_another_length_are_classified_and_featurized(fitted):
    # global average pooling makes the network length-agnostic: trained on 60 steps
    X, y = _waves(90, length=150, seed=2)
    assert fitted.score(X[:, None, :], y) > 0.8
    assert fitted.transform(X[:, None, :]).shape == (90, 6)


def test_2d_input_is_univariate_and_keeps_its_width():
    X, y = _waves(60, length=30)
    encoder = ConvSeriesEncoder(**TINY, max_epochs=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(encoder.transform(X), encoder.transform(X[:, None, :]))
    assert encoder.n_features_in_ == 30
    assert list(encoder.get_feature_names_out()) == [f"convseriesencoder{i}" for i in range(6)]
    with pytest.raises(ValueError, match="expecting 30 features"):
        encoder.transform(X[:, :20])  # a table keeps its columns ...
    assert encoder.transform(X[:, None, :20]).shape == (60, 6)  # ... series may change length


def test_random_state_makes_fits_identical():
    X, y = _waves(60)
    make = lambda seed: ConvSeriesEncoder(  # noqa: E731
        **TINY, max_epochs=3, random_state=seed
    ).fit(X, y)
    first, again, other = make(0), make(0), make(1)
    np.testing.assert_array_equal(first.transform(X), again.transform(X))
    assert first.history_ == again.history_
    assert not np.allclose(first.transform(X), other.transform(X))


def test_pickle_round_trip_keeps_the_predictions(fitted):
    X, _ = _waves(20, seed=3)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    assert next(restored.module_.parameters()).device.type == "cpu"


def test_bad_inputs_name_the_problem_and_the_fix(fitted):
    X, y = _waves(20)
    encoder = ConvSeriesEncoder(**TINY, max_epochs=1)
    with pytest.raises(ValueError, match="4-D array"):
        encoder.fit(X[:, None, None, :], y)
    with pytest.raises(ValueError, match="Expected 2D array"):
        encoder.fit(X[0], y)
    nan = X.copy()
    nan[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        encoder.fit(nan, y)
    with pytest.raises(ValueError, match=r"fewer than the largest kernel \(5\)"):
        encoder.fit(X[:, :4], y)
    with pytest.raises(ValueError, match=r"\(n, T, C\) rather than \(n, C, T\)"):
        encoder.fit(X[:, :, None], y)  # series of length 1 with 60 channels
    with pytest.raises(ValueError, match="needs at least 2 classes"):
        encoder.fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="n_filters has 3 entries but kernel_sizes has 2"):
        clone(encoder).set_params(kernel_sizes=(3, 3)).fit(X, y)
    with pytest.raises(ValueError, match="positive ints"):
        clone(encoder).set_params(n_filters=(8, 0, 4)).fit(X, y)
    with pytest.raises(ValueError, match=r"2 channel\(s\).*fitted on series with 1"):
        fitted.predict(np.stack([X, X], axis=1))
    with pytest.raises(ValueError, match="shorter than the encoder's largest kernel"):
        PretrainedFeaturizer(FrozenEstimator(fitted)).fit(X[:, None, :2])
    with pytest.raises(ValueError, match="FrozenEstimator"):
        PretrainedFeaturizer(ConvSeriesEncoder()).fit(X)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            clone(encoder).set_params(device="cuda").fit(X, y)


# ---------------------------------------------------------------------------------------------
# the trained blocks in PretrainedFeaturizer


@pytest.mark.parametrize("layer", [0, 1, 2, 3, -1])
def test_featurizer_layer_is_the_pooled_output_of_that_block(fitted, layer):
    X, _ = _waves(30, length=80, seed=4)  # target series longer than the source ones
    featurizer = PretrainedFeaturizer(FrozenEstimator(fitted), layer=layer, n_threads=1)
    features = clone(featurizer).fit(X[:, None, :]).transform(X[:, None, :])
    assert featurizer.fit(X).n_blocks_ == 3
    np.testing.assert_allclose(
        features, _blocks_by_hand(fitted, X[:, None, :], layer % 4), rtol=1e-5, atol=1e-6
    )
    if layer == -1:  # the last block's pooled output is what the encoder's transform gives
        np.testing.assert_allclose(features, fitted.transform(X), rtol=1e-5, atol=1e-6)


def test_featurizer_takes_the_network_module_with_its_block_names(fitted):
    X, _ = _waves(20, seed=5)
    by_module = PretrainedFeaturizer(fitted.module_, blocks=fitted.block_names_, layer=2)
    by_estimator = PretrainedFeaturizer(FrozenEstimator(fitted), layer=2)
    np.testing.assert_array_equal(
        by_module.fit(X[:, None, :]).transform(X[:, None, :]),
        by_estimator.fit(X[:, None, :]).transform(X[:, None, :]),
    )


def test_fine_tuning_changes_only_the_blocks_above_freeze_depth(fitted):
    X, y = _waves(80, seed=6)
    y = (y == 1).astype(int)  # a new target task on the same kind of series
    before = {k: v.clone() for k, v in fitted.module_.state_dict().items()}
    tuned = PretrainedFeaturizer(
        FrozenEstimator(fitted),
        freeze_depth=1,
        max_epochs=4,
        learning_rate=1e-2,
        validation_fraction=0.0,
        random_state=0,
        n_threads=1,
    ).fit(X, y)
    assert len(tuned.tuned_blocks_) == 2  # blocks 2 and 3
    for key, value in fitted.module_.state_dict().items():
        torch.testing.assert_close(value, before[key])  # the source encoder never changes
    for tuned_block, name in zip(tuned.tuned_blocks_, fitted.block_names_[1:]):
        original = getattr(fitted.module_, name)
        assert not torch.allclose(tuned_block[1].weight, original[1].weight), name
    # the features: the untouched block 1, then the two tuned blocks
    blocks = [fitted.module_.block0, *tuned.tuned_blocks_]
    np.testing.assert_allclose(
        tuned.transform(X), _blocks_by_hand(fitted, X[:, None, :], 3, blocks), rtol=1e-5, atol=1e-6
    )


def test_grid_over_freeze_depth_runs_the_frozen_blocks_about_once(fitted):
    X, y = _waves(60, seed=7)
    seen = []
    hook = fitted.module_.block0.register_forward_hook(lambda m, i, o: seen.append(len(o)))
    try:
        featurizer = PretrainedFeaturizer(
            FrozenEstimator(fitted), freeze_depth=1, max_epochs=2, random_state=0, n_threads=1
        )
        pipe = make_pipeline(featurizer, LogisticRegression(max_iter=300))
        grid = {"pretrainedfeaturizer__freeze_depth": [1, 2, 3]}
        GridSearchCV(pipe, grid, cv=3).fit(X, y)
    finally:
        hook.remove()
    # 3 depths x 3 folds x (fit + score) + refit: every series through block 1 once
    assert sum(seen) == len(X)


def test_values_beyond_float32_are_refused_not_predicted_as_the_first_class(fitted):
    X, _ = _waves(6, seed=8)
    huge = X.copy()
    huge[1, 5] = 1e39
    for method in ("predict", "predict_proba", "transform", "score"):
        args = (huge, np.zeros(6, dtype=int)) if method == "score" else (huge,)
        with pytest.raises(ValueError, match=r"beyond float32's range \(max \|x\| = 1e\+39"):
            getattr(fitted, method)(*args)
    with pytest.raises(ValueError, match="Scale X"):
        ConvSeriesEncoder(**TINY, max_epochs=1).fit(huge, [0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match="beyond float32's range"):
        PretrainedFeaturizer(FrozenEstimator(fitted)).fit(huge)
    # in range, but too large for the network's arithmetic: NaN logits, refused
    overflow = X.copy()
    overflow[0], overflow[1] = 3e38, -3e38
    with pytest.raises(ValueError, match=r"NaN or infinite for \d of 6 series"):
        fitted.predict(overflow)
