"""PretrainedFeaturizer on tiny random encoders: layers, pooling, cache, fine-tuning, pickling."""

import pickle
import warnings

import numpy as np
import pytest
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skxfer.featurize import CacheWarning, PretrainedFeaturizer, _cache, clear_cache
from tests.featurize.conftest import sentences, tiny_cnn

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def _images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    y = (X[:, 0, :4].mean(axis=(1, 2)) > X[:, 0, 4:].mean(axis=(1, 2))).astype(int)
    return X, y


def _counted_rows(featurizer):
    """Rows the first (counting) block of a fitted featurizer's network has seen."""
    return int(featurizer._encoder().blocks[0].rows)


# ---------------------------------------------------------------------------------------------
# what the features are


@pytest.mark.parametrize("layer", [0, 1, 2, 3, -1, -2])
def test_a_layer_is_the_pooled_output_of_that_block(layer):
    X, _ = _images()
    net = tiny_cnn()
    Z = PretrainedFeaturizer(net, layer=layer).fit(X).transform(X)
    with torch.no_grad():
        h = torch.from_numpy(X)
        for block in list(net)[: layer % 4]:
            h = block(h)
    np.testing.assert_allclose(Z, h.mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    assert Z.dtype == np.float32


def test_text_features_match_the_hugging_face_model(tiny_bert):
    texts = sentences(30)
    model = transformers.AutoModel.from_pretrained(tiny_bert).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_bert)
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc, output_hidden_states=True).hidden_states
    mask = enc["attention_mask"].unsqueeze(-1).float()
    for layer, pooling in [(-1, "mean"), (1, "mean"), (3, "cls"), (2, "max")]:
        Z = (
            PretrainedFeaturizer(tiny_bert, layer=layer, pooling=pooling)
            .fit(texts)
            .transform(texts)
        )
        h = hidden[layer]
        if pooling == "mean":
            expected = (h * mask).sum(1) / mask.sum(1)
        elif pooling == "cls":
            expected = h[:, 0]
        else:
            expected = h.masked_fill(mask == 0, -np.inf).amax(1)
        np.testing.assert_allclose(Z, expected.numpy(), atol=2e-5, err_msg=f"{layer} {pooling}")


def test_length_sorted_batches_give_the_features_of_single_texts(tiny_bert):
    texts = sentences(25, seed=3)
    batched = PretrainedFeaturizer(tiny_bert, batch_size=8, cache=False).fit(texts)
    single = PretrainedFeaturizer(tiny_bert, batch_size=1, cache=False).fit(texts)
    np.testing.assert_allclose(batched.transform(texts), single.transform(texts), atol=2e-5)


def test_pandas_output_and_feature_names(tiny_bert):
    pd = pytest.importorskip("pandas")
    texts = pd.Series(sentences(6), index=[f"r{i}" for i in range(6)])
    featurizer = PretrainedFeaturizer(tiny_bert).set_output(transform="pandas").fit(texts)
    out = featurizer.transform(texts)
    assert list(out.columns) == [f"pretrainedfeaturizer{i}" for i in range(16)]
    assert list(featurizer.get_feature_names_out()) == list(out.columns)
    assert out.shape == (6, 16)


# ---------------------------------------------------------------------------------------------
# the activation cache


def test_grid_search_over_layer_runs_each_row_through_the_network_once():
    X, y = _images(60)
    net = tiny_cnn()
    pipe = make_pipeline(PretrainedFeaturizer(net), LogisticRegression(max_iter=500))
    search = GridSearchCV(pipe, {"pretrainedfeaturizer__layer": [1, 2, 3, -1]}, cv=5)
    search.fit(X, y)
    # 4 layers x 5 folds x (fit + score) = 40 featurizations, one forward pass per row
    first = search.best_estimator_[0]
    assert _counted_rows(first) == 0  # the refit found every row in the cache
    featurizer = PretrainedFeaturizer(net, cache=False).fit(X)
    assert _counted_rows(featurizer) == len(X)  # without cache: every fit runs again
    clear_cache()
    counter = PretrainedFeaturizer(net).fit(X)
    for layer in (1, 2, 3):
        clone(counter).set_params(layer=layer).fit(X).transform(X[:10])
    assert _counted_rows(counter) == len(X)


def test_grid_search_over_freeze_depth_reuses_the_frozen_pass():
    X, y = _images(50)
    net = tiny_cnn()
    base = PretrainedFeaturizer(net, freeze_depth=0, max_epochs=2, random_state=0)
    first = base.fit(X, y)
    assert _counted_rows(first) == len(X)
    for depth in (1, 2):
        again = clone(base).set_params(freeze_depth=depth).fit(X, y)
        again.transform(X)
        assert _counted_rows(again) == 0, depth


def test_disk_cache_survives_the_process_cache_and_rejects_bad_files(tmp_path):
    X, _ = _images(12)
    net = tiny_cnn()
    first = PretrainedFeaturizer(net, cache_dir=tmp_path).fit(X)
    expected = first.transform(X)
    clear_cache()
    second = PretrainedFeaturizer(net, cache_dir=tmp_path).fit(X)
    assert _counted_rows(second) == 0
    np.testing.assert_array_equal(second.transform(X), expected)

    files = sorted(tmp_path.rglob("*.npz"))
    assert len(files) == 1  # one pass, one file: every layer's pooled output of every row
    assert len(_cache.read_segment(files[0])) == 4 * len(X)
    files[0].write_bytes(b"not a numpy file")  # corrupt
    clear_cache()
    with pytest.warns(CacheWarning):
        third = PretrainedFeaturizer(net, cache_dir=tmp_path).fit(X)
    assert _counted_rows(third) == len(X)
    np.testing.assert_allclose(third.transform(X), expected, rtol=1e-6)
    assert not list(tmp_path.rglob("*.tmp"))  # writes are atomic: no leftovers


def test_cache_keys_follow_content_not_position():
    X, _ = _images(10)
    net = tiny_cnn()
    featurizer = PretrainedFeaturizer(net).fit(X)
    shuffled = featurizer.transform(X[::-1])
    np.testing.assert_array_equal(shuffled, featurizer.transform(X)[::-1])
    other = PretrainedFeaturizer(tiny_cnn(seed=1)).fit(X).transform(X)
    assert not np.allclose(other, featurizer.transform(X))  # another network, another key


# ---------------------------------------------------------------------------------------------
# fine-tuning


def test_fine_tuning_trains_the_top_blocks_only_and_helps():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(240, 1, 8, 8)).astype(np.float32)
    y = (X.mean(axis=(1, 2, 3)) > 0).astype(int)  # random ReLU features barely see it
    train, test = slice(0, 120), slice(120, None)
    net = tiny_cnn()
    before = [p.detach().clone() for p in net.parameters()]
    frozen = PretrainedFeaturizer(net, layer=3).fit(X[train], y[train])
    tuned = PretrainedFeaturizer(
        net,
        layer=3,
        freeze_depth=1,
        max_epochs=40,
        learning_rate=1e-2,
        validation_fraction=0.0,
        random_state=0,
    ).fit(X[train], y[train])
    assert len(tuned.tuned_blocks_) == 2
    assert tuned.history_["train_loss"][-1] < 0.8 * tuned.history_["train_loss"][0]
    for p, q in zip(net.parameters(), before):
        torch.testing.assert_close(p, q)  # the user's network is never trained
    assert not torch.allclose(tuned.tuned_blocks_[0][0].weight, net[1][0].weight)
    score = {}
    for name, f in [("frozen", frozen), ("tuned", tuned)]:
        clf = LogisticRegression(max_iter=2000).fit(f.transform(X[train]), y[train])
        score[name] = clf.score(f.transform(X[test]), y[test])
    assert score["tuned"] > score["frozen"] + 0.15, score


def test_fine_tuning_is_deterministic_under_random_state():
    X, y = _images(40)
    make = lambda seed: PretrainedFeaturizer(  # noqa: E731
        tiny_cnn(), freeze_depth=1, max_epochs=3, learning_rate=1e-2, random_state=seed
    ).fit(X, y)
    np.testing.assert_array_equal(make(0).transform(X), make(0).transform(X))
    assert not np.allclose(make(0).transform(X), make(1).transform(X))


def test_regression_target_gets_a_regression_head_and_gradual_unfreezing(tiny_bert):
    texts = sentences(40)
    y = np.array([len(t) for t in texts], dtype=float)
    tuned = PretrainedFeaturizer(
        tiny_bert, freeze_depth=1, max_epochs=3, gradual_unfreezing=True, random_state=0
    ).fit(texts, y)
    assert len(tuned.tuned_blocks_) == 2
    assert np.isfinite(tuned.history_["train_loss"]).all()
    assert tuned.transform(texts).shape == (40, 16)


def test_freeze_depth_at_or_above_layer_is_a_frozen_extractor():
    X, y = _images(20)
    net = tiny_cnn()
    frozen = PretrainedFeaturizer(net, layer=2).fit(X)
    same = PretrainedFeaturizer(net, layer=2, freeze_depth=2).fit(X, y)
    assert same.tuned_blocks_ is None
    np.testing.assert_array_equal(same.transform(X), frozen.transform(X))


# ---------------------------------------------------------------------------------------------
# pickling and workers


@pytest.mark.parametrize("freeze_depth", [None, 1])
def test_pickle_round_trip_and_joblib_workers(freeze_depth):
    X, y = _images(30)
    fitted = PretrainedFeaturizer(
        tiny_cnn(), freeze_depth=freeze_depth, max_epochs=2, random_state=0
    ).fit(X, y)
    expected = fitted.transform(X)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), expected)
    outs = Parallel(n_jobs=2, backend="loky")(delayed(fitted.transform)(X[i::2]) for i in range(2))
    np.testing.assert_allclose(outs[0], expected[0::2], rtol=1e-6)
    np.testing.assert_allclose(outs[1], expected[1::2], rtol=1e-6)


def test_text_featurizer_pickles(tiny_bert):
    texts = sentences(8)
    fitted = PretrainedFeaturizer(tiny_bert, freeze_depth=2, max_epochs=1).fit(texts, [0, 1] * 4)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(texts), fitted.transform(texts))


# ---------------------------------------------------------------------------------------------
# speed options


def test_bfloat16_and_int8_stay_close_to_float32(tiny_bert):
    texts = sentences(20)
    exact = PretrainedFeaturizer(tiny_bert).fit(texts).transform(texts)
    for params in ({"dtype": "bfloat16"}, {"quantize": "int8"}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            approx = PretrainedFeaturizer(tiny_bert, **params).fit(texts).transform(texts)
        cosine = np.sum(exact * approx, 1) / np.linalg.norm(exact, axis=1)
        cosine /= np.linalg.norm(approx, axis=1)
        assert cosine.min() > 0.9, params
        assert not np.array_equal(exact, approx), params  # its own cache entries


# ---------------------------------------------------------------------------------------------
# bad input


def test_bad_inputs_name_the_parameter_and_the_fix(tiny_bert, tmp_path):
    X, y = _images(10)
    net = tiny_cnn()
    texts = sentences(5)
    with pytest.raises(ValueError, match="no rows"):
        PretrainedFeaturizer(tiny_bert).fit([])
    with pytest.raises(TypeError, match="every row to be a string"):
        PretrainedFeaturizer(tiny_bert).fit(["a text", 3, None])
    with pytest.raises(TypeError, match="pass a list"):
        PretrainedFeaturizer(tiny_bert).fit("one text")
    with pytest.raises(TypeError, match="string"):
        PretrainedFeaturizer(tiny_bert).fit(X)  # images to a text model
    with pytest.raises(ValueError, match="not a directory"):
        PretrainedFeaturizer(str(tmp_path / "missing" / "model")).fit(texts)
    with pytest.raises(ValueError, match=r"layer=7.*n_blocks_=3"):
        PretrainedFeaturizer(net, layer=7).fit(X)
    with pytest.raises(ValueError, match=r"freeze_depth=5.*n_blocks_=3"):
        PretrainedFeaturizer(net, freeze_depth=5).fit(X, y)
    with pytest.raises(ValueError, match="Pass y"):
        PretrainedFeaturizer(net, freeze_depth=1).fit(X)
    with pytest.raises(ValueError, match="pooling='cls'"):
        PretrainedFeaturizer(net, pooling="cls").fit(X)
    with pytest.raises(ValueError, match="quantize=None"):
        PretrainedFeaturizer(net, freeze_depth=1, quantize="int8").fit(X, y)
    with pytest.raises(ValueError, match="blocks="):
        PretrainedFeaturizer(torch.nn.Linear(3, 3)).fit(X)
    with pytest.raises(ValueError, match="no submodule 'nope'"):
        PretrainedFeaturizer(torch.nn.Linear(3, 3), blocks=["nope"]).fit(X)
    with pytest.raises(TypeError, match="model must be"):
        PretrainedFeaturizer(42).fit(X)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            PretrainedFeaturizer(net, device="cuda").fit(X)


def test_blocks_of_a_custom_module_by_name():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.ModuleList([torch.nn.Linear(4, 6), torch.nn.Linear(6, 2)])

        def forward(self, x):  # pragma: no cover - the featurizer runs the blocks itself
            return self.body[1](torch.relu(self.body[0](x)))

    X = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    net = Net()
    Z = PretrainedFeaturizer(net, blocks=["body.0", "body.1"], layer=1).fit(X).transform(X)
    with torch.no_grad():
        np.testing.assert_allclose(Z, net.body[0](torch.from_numpy(X)).numpy(), rtol=1e-6)


def test_an_unreachable_hub_id_is_a_clear_error(monkeypatch):
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError, match=r"model='no-such-org/no-such-model'.*could not load"):
        PretrainedFeaturizer("no-such-org/no-such-model").fit(["a text"])


def test_verbose_shows_a_progress_bar(capsys):
    X, _ = _images(12)
    PretrainedFeaturizer(tiny_cnn(), verbose=True, batch_size=4).fit(X)
    assert "PretrainedFeaturizer" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# values the network's precision cannot hold


def test_values_beyond_float32_are_refused_not_turned_into_nan():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh())
    X = np.random.default_rng(0).normal(size=(10, 4))  # float64
    huge = X.copy()
    huge[2, 1] = 1e39
    with pytest.raises(ValueError, match=r"beyond float32's range \(max \|x\| = 1e\+39"):
        PretrainedFeaturizer(net).fit(huge)
    fitted = PretrainedFeaturizer(net).fit(X)
    with pytest.raises(ValueError, match="Scale X"):
        fitted.transform(huge)
    # in range, but too large for the network's arithmetic: its output overflows
    overflow = np.full((2, 4), 3e38)
    overflow[1] *= -1
    summing = torch.nn.Linear(4, 3)
    torch.nn.init.ones_(summing.weight)  # 4 x 3e38 is inf in float32
    with pytest.raises(ValueError, match="features are NaN or infinite for 2 of 2"):
        PretrainedFeaturizer(torch.nn.Sequential(summing)).fit(overflow)


@pytest.mark.filterwarnings("ignore:dtype='bfloat16' is likely slower")  # on CPUs without it
def test_the_range_is_the_one_of_the_precision_used():
    net = torch.nn.Sequential(torch.nn.Tanh())
    X = np.zeros((3, 2))
    X[0, 0] = 3.395e38  # within float32's range, beyond bfloat16's (3.39e38)
    assert np.isfinite(PretrainedFeaturizer(net).fit_transform(X)).all()
    with pytest.raises(ValueError, match=r"beyond bfloat16's range.*dtype='bfloat16'"):
        PretrainedFeaturizer(net, dtype="bfloat16").fit(X)


def test_float_images_beyond_float32_are_refused():
    from skxfer.featurize._vision import ImageEncoder

    torch.manual_seed(0)
    encoder = ImageEncoder(
        torch.nn.Conv2d(3, 4, 3),
        [torch.nn.Sequential(torch.nn.Conv2d(4, 4, 3), torch.nn.ReLU())],
        size=8,
        resize=8,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        fingerprint="a tiny image network",
    )
    images = np.random.default_rng(0).uniform(size=(4, 10, 10, 3))
    assert PretrainedFeaturizer(encoder).fit_transform(images).shape == (4, 4)
    images[1, 2, 3, 0] = 1e39
    with pytest.raises(ValueError, match="beyond float32's range"):
        PretrainedFeaturizer(encoder).fit(images)
    with pytest.raises(ValueError, match="beyond float32's range"):
        PretrainedFeaturizer(encoder).fit(list(images))


@pytest.mark.slow
def test_the_featurizer_works_without_dask_installed():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['dask'] = sys.modules['distributed'] = None\n"
        "import numpy as np, torch\n"
        "from skxfer.featurize import PretrainedFeaturizer\n"
        "X = np.ones((4, 3), dtype=np.float32)\n"
        "print(PretrainedFeaturizer(torch.nn.Sequential(torch.nn.Linear(3, 2))).fit_transform(X)"
        ".shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(4, 2)"
