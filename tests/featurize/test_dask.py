"""Scale-out on dask and joblib: a grid search costs about one forward pass whatever the
backend, and a dask collection is featurized lazily on the workers, each loading the network
once. On a real ``distributed.LocalCluster`` of worker processes."""

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skxfer.featurize import PretrainedFeaturizer, _featurizer, clear_cache
from tests.featurize.conftest import logged_cnn, logged_rows, sentences

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

# another cluster on the machine may hold the scheduler's default HTTP port
pytestmark = pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")


def _images(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    y = (X[:, 0, :4].mean(axis=(1, 2)) > X[:, 0, 4:].mean(axis=(1, 2))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _search(net):
    pipe = make_pipeline(PretrainedFeaturizer(net), LogisticRegression(max_iter=500))
    return GridSearchCV(pipe, {"pretrainedfeaturizer__layer": [1, 2, 3]}, cv=3)


def _grid(log, X, y, backend, n_jobs):
    search = _search(logged_cnn(log)).set_params(n_jobs=n_jobs)
    with joblib.parallel_backend(backend):
        search.fit(X, y)
    return search


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "n_jobs"), [("loky", 2), ("threading", 2), ("dask", -1)])
def test_a_parallel_grid_search_costs_about_one_forward_pass(backend, n_jobs, tmp_path, request):
    X, y = _images()
    if backend == "dask":
        request.getfixturevalue("client")
    serial = _grid(tmp_path / "serial.log", X, y, "sequential", 1)
    assert logged_rows(tmp_path / "serial.log") == len(X)

    parallel = _grid(tmp_path / "parallel.log", X, y, backend, n_jobs)
    # each row once; a process that reads every row from the shared folder runs one row
    # to learn the layout the files must have (the workers and the refit)
    assert len(X) <= logged_rows(tmp_path / "parallel.log") <= len(X) + 3
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_allclose(
        parallel.best_estimator_[0].transform(X), serial.best_estimator_[0].transform(X), rtol=1e-6
    )


def _loads(client):
    return client.run(lambda: _featurizer.ENCODER_LOADS[0])


@pytest.mark.slow
def test_a_dask_array_is_featurized_lazily_once_per_row_and_worker(client, tmp_path):
    log = tmp_path / "rows.log"
    X, _ = _images(48)
    fitted = PretrainedFeaturizer(logged_cnn(log), layer=2).fit(X[:8])
    expected = fitted.transform(X)
    before = logged_rows(log)

    lazy = fitted.transform(da.from_array(X, chunks=(6, 1, 8, 8)))
    assert isinstance(lazy, da.Array)
    assert lazy.shape == expected.shape
    assert lazy.numblocks == (8, 1)
    assert logged_rows(log) == before  # nothing ran yet
    loads = _loads(client)
    np.testing.assert_allclose(lazy.compute(), expected, rtol=1e-6)
    # each row once (the workers do not see this process's memory)
    assert logged_rows(log) - before == len(X)
    added = [_loads(client)[w] - n for w, n in loads.items()]
    assert max(added) == 1  # 8 partitions, one network per worker that ran some

    # the workers wrote what they computed: featurizing again reads it
    again = fitted.transform(da.from_array(X, chunks=(12, 1, 8, 8))).compute()
    np.testing.assert_allclose(again, expected, rtol=1e-6)
    assert logged_rows(log) - before <= len(X) + 2  # a worker may run one row to learn the layout


@pytest.mark.slow
def test_a_dask_dataframe_of_texts_gives_the_in_memory_features(client, tiny_bert):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    texts = pd.Series(sentences(40), name="text")
    fitted = PretrainedFeaturizer(tiny_bert, layer=2).fit(texts[:10])
    expected = fitted.transform(texts)
    frame = dd.from_pandas(texts.to_frame(), npartitions=5)
    loads = _loads(client)
    lazy = fitted.transform(frame)
    result = lazy.compute()
    assert list(result.columns) == list(fitted.get_feature_names_out())
    assert result.index.equals(texts.index)
    np.testing.assert_allclose(result.to_numpy(), expected, rtol=1e-5, atol=1e-6)
    added = [_loads(client)[w] - n for w, n in loads.items()]
    assert max(added) == 1  # 5 partitions, one network per worker that ran some
    with pytest.raises(ValueError, match="one column"):
        fitted.transform(dd.from_pandas(pd.DataFrame({"a": texts, "b": texts}), npartitions=2))


@pytest.mark.slow
def test_a_dask_series_of_image_paths_gives_the_in_memory_features(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    pil = pytest.importorskip("PIL.Image")
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    from sklearn.datasets import load_sample_images

    paths = []
    for i, photo in enumerate(load_sample_images().images):
        for j, crop in enumerate((photo[::6, ::6], photo[1::5, ::5])):
            paths.append(str(tmp_path / f"{i}-{j}.png"))
            pil.fromarray(crop).save(paths[-1])
    featurizer = PretrainedFeaturizer("efficientnet_lite0", layer=3).fit(paths[:1])
    expected = featurizer.transform(paths)
    # dask's local threads: the partitions share the featurizer of the graph
    lazy = featurizer.transform(dd.from_pandas(pd.Series(paths), npartitions=2))
    clear_cache()  # computed again, not read from this process's memory
    np.testing.assert_allclose(lazy.compute().to_numpy(), expected, rtol=1e-5, atol=1e-6)
