"""torchvision and timm image classifiers as encoders: ``"torchvision:NAME"``, ``"timm:NAME"``.

The network is built by its library without weights, then given the weights the user names: a
local file (a ``state_dict``, read with ``torch.load(weights_only=True)``, or a
``.safetensors`` file), or ``"pretrained"``, the library's own weights, which the library
downloads (or finds in its cache). The images are prepared as the model's library prepares them
for those weights (shorter side, centre crop, interpolation, mean and standard deviation), by
the torch preprocessing of :class:`~skxfer.featurize._vision.ImageEncoder`.

Each network is cut into a stem and blocks whose outputs are feature maps ``(n, C, H, W)``:

- torchvision: ResNet / ResNeXt / Wide ResNet (stem, ``layer1`` .. ``layer4``), RegNet
  (``stem``, the stages of ``trunk_output``), ShuffleNetV2 (stem, ``stage2`` .. ``stage4``,
  ``conv5``), DenseNet (stem, one block per dense block, with its transition), and the models
  whose convolutional part is a ``features`` sequence (MobileNet V2/V3, EfficientNet V1/V2,
  ConvNeXt, VGG, AlexNet, SqueezeNet): ``features[0]`` is the stem and every later child a
  block, a child without weights (an activation, a pooling) joining the block before it;
- timm: the top-level children that ``forward_features`` runs, with the containers named by
  the model's ``feature_info`` (``blocks``, ``stages``, ``features``) opened into their
  children; the stem ends at the first feature level, children without weights join the block
  before, and what runs after the last feature level forms one last block. The split is
  checked against the model's own ``forward_features`` once, when the model is loaded; a
  network it does not reproduce (vision transformers, channels-last models) is refused.
"""

import difflib
import math
import os

from skxfer.featurize._cache import digest
from skxfer.featurize._encoders import package_version
from skxfer.featurize._vision import ImageEncoder
from skxfer.utils import import_optional

#: How a model string names its library: ``"torchvision:resnet18"``, ``"timm:resnet18"``.
HUB_LIBRARIES = ("torchvision", "timm")

#: The ``weights`` value that asks the library for its own (downloaded) weights.
PRETRAINED = "pretrained"

# timm children that belong to the classifier head, not to forward_features
_TIMM_HEAD = {"global_pool", "head", "fc", "classifier", "head_drop", "pre_logits", "fc_norm"}
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def is_hub_model(spec):
    """Whether the model string names a torchvision or timm model."""
    library, sep, _ = spec.partition(":")
    return bool(sep) and library in HUB_LIBRARIES


def weights_key(weights):
    """What identifies ``weights`` for reusing a loaded model: a file's path, size and
    modification time (a rewritten file is read again), or the value itself."""
    if weights is None or weights == PRETRAINED:
        return weights
    path = os.fspath(weights)
    if os.path.isfile(path):
        st = os.stat(path)
        return (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    return path


def load_hub_encoder(spec, weights, name):
    """The :class:`ImageEncoder` of ``"torchvision:NAME"`` or ``"timm:NAME"`` with ``weights``."""
    library, _, arch = spec.partition(":")
    if not arch:
        raise ValueError(f"model={spec!r} names no model; write e.g. '{library}:resnet18'.")
    if weights is None:
        raise ValueError(
            f"{name}: model={spec!r} needs weights: a local file (weights='/path/to/"
            f"{arch}.pth', a state_dict saved with torch.save(model.state_dict(), path)) or "
            f"weights={PRETRAINED!r} for the {library} weights, downloaded (online) by {library}."
        )
    torch = import_optional("torch", purpose=name)
    # the network is cut before its weights are read: a refused architecture fails fast,
    # and the blocks share the modules that the weights are then loaded into
    load = _torchvision if library == "torchvision" else _timm
    net, stem, blocks, preprocessing, identity = load(arch, weights, spec, name)
    net.eval()
    # the library's version and the weights it names are part of the identity of any
    # weights: the architecture's code and its preprocessing come from the library
    if weights == PRETRAINED:
        fingerprint = digest(spec, PRETRAINED, *identity)
    else:
        path = os.fspath(weights)
        st = os.stat(path)
        fingerprint = digest(
            spec, os.path.realpath(path), str(st.st_size), str(st.st_mtime_ns), *identity
        )
    encoder = ImageEncoder(
        stem or torch.nn.Identity(), blocks, fingerprint=fingerprint, **preprocessing
    )
    return encoder


# --- torchvision --------------------------------------------------------------------------


def _torchvision(arch, weights, spec, name):
    models = _import_hub("torchvision.models", "torchvision", spec, name)
    known = models.list_models(module=models)
    if arch not in known:
        raise ValueError(
            f"{name}: torchvision has no classification model {arch!r} (model={spec!r})"
            f"{_close(arch, known)}; torchvision.models.list_models() lists them."
        )
    try:
        available = models.get_model_weights(arch)
        default = available.DEFAULT
    except (ValueError, KeyError, AttributeError):  # an architecture without weights
        available, default = [], None
    if weights != PRETRAINED:
        # a file torchvision published keeps its name (``mobilenet_v2-b0353104.pth``): its
        # own preprocessing then applies, and the default weights' for any other file
        filename = os.path.basename(os.fspath(weights))
        default = next((w for w in available if os.path.basename(w.url) == filename), default)
    net = models.get_model(arch, weights=None)
    stem, blocks = _split_torchvision(net, spec, name)
    if weights == PRETRAINED:
        if default is None:
            raise ValueError(f"{name}: torchvision has no pretrained weights for {arch!r}.")
        try:
            state = default.get_state_dict(progress=False, check_hash=True)
        except Exception as exc:
            raise _download_error(spec, f"{default} ({default.url})", exc) from exc
    else:
        state = _read_state_dict(weights, spec, name)
    _load_state(net, state, weights, spec, name)
    if default is None:
        preprocessing = _preprocessing(224, 256, _IMAGENET_MEAN, _IMAGENET_STD, "bilinear")
    else:
        t = default.transforms()
        preprocessing = _preprocessing(
            t.crop_size[0], t.resize_size[0], t.mean, t.std, t.interpolation.value
        )
    identity = (package_version("torchvision"), str(default))
    return net, stem, blocks, preprocessing, identity


def _split_torchvision(net, spec, name):
    import torch

    models = _import_hub("torchvision.models", "torchvision", spec, name)
    if isinstance(net, models.ResNet):
        stem = torch.nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        return stem, [net.layer1, net.layer2, net.layer3, net.layer4]
    if isinstance(net, models.RegNet):
        return net.stem, list(net.trunk_output.children())
    if isinstance(net, models.ShuffleNetV2):
        stem = torch.nn.Sequential(net.conv1, net.maxpool)
        return stem, [net.stage2, net.stage3, net.stage4, net.conv5]
    if isinstance(net, models.DenseNet):
        # a block is a dense block and the transition after it; the classifier reads the
        # last one through a ReLU
        groups = [[]]
        for child_name, child in net.features.named_children():
            if child_name.startswith("denseblock"):
                groups.append([])
            groups[-1].append(child)
        groups[-1].append(torch.nn.ReLU())
        return _sequence(groups[0]), [_sequence(g) for g in groups[1:]]
    features = getattr(net, "features", None)
    channels_last = isinstance(net, models.SwinTransformer)
    if isinstance(features, torch.nn.Sequential) and len(features) > 1 and not channels_last:
        groups = _join_weightless(list(features.children()))
        if len(groups) > 1:
            return _sequence(groups[0]), [_sequence(g) for g in groups[1:]]
    raise ValueError(
        f"{name}: cannot cut the torchvision {type(net).__name__} of model={spec!r} into "
        "blocks of feature maps. Supported: ResNet/ResNeXt/Wide ResNet, RegNet, ShuffleNetV2, "
        "DenseNet, and models with a `features` sequence (MobileNet, EfficientNet, ConvNeXt, "
        "VGG, AlexNet, SqueezeNet). Another network can be passed as a torch.nn.Module with "
        "blocks=[names of its blocks]."
    )


# --- timm ---------------------------------------------------------------------------------


def _timm(arch, weights, spec, name):
    timm = _import_hub("timm", "timm", spec, name)
    if not timm.is_model(arch):
        raise ValueError(
            f"{name}: timm has no model {arch!r} (model={spec!r}){_close(arch, timm.list_models())}"
            "; timm.list_models() lists them."
        )
    if weights == PRETRAINED:
        try:
            net = timm.create_model(arch, pretrained=True)
        except Exception as exc:
            raise _download_error(spec, f"timm's {arch!r} weights", exc) from exc
    else:
        net = timm.create_model(arch, pretrained=False)
    data = _import_hub("timm.data", "timm", spec, name)
    config = data.resolve_data_config({}, model=net)
    _, height, width = config["input_size"]
    size = min(height, width)
    interpolation = config.get("interpolation", "bilinear")
    if interpolation not in ("bilinear", "bicubic"):
        interpolation = "bilinear"
    resize = math.floor(size / config.get("crop_pct", 0.875))
    preprocessing = _preprocessing(size, resize, config["mean"], config["std"], interpolation)
    stem, blocks = _split_timm(net, size, spec, name)
    if weights != PRETRAINED:
        _load_state(net, _read_state_dict(weights, spec, name), weights, spec, name)
    cfg = getattr(net, "pretrained_cfg", None) or {}
    identity = (package_version("timm"), str(cfg.get("hf_hub_id") or cfg.get("url") or ""))
    return net, stem, blocks, preprocessing, identity


def _split_timm(net, size, spec, name):
    import torch

    refused = (
        f"{name}: cannot cut the timm {type(net).__name__} of model={spec!r} into blocks of "
        "feature maps"
    )
    levels = [info["module"] for info in getattr(net, "feature_info", None) or []]
    if not levels or not hasattr(net, "forward_features"):
        raise ValueError(f"{refused}: it has no feature_info.")
    containers = {level.split(".")[0] for level in levels if "." in level}
    items = []  # (dotted name, module), in the order forward_features runs them
    for child_name, child in net.named_children():
        if child_name in _TIMM_HEAD:
            break
        if child_name in containers:
            items += [(f"{child_name}.{n}", m) for n, m in child.named_children()]
        else:
            items.append((child_name, child))
    positions = [_position(items, level) for level in levels]
    if None in positions:
        raise ValueError(f"{refused}: its feature levels {levels} are not among its children.")
    first, last = positions[0], max(positions)
    # a first level inside a container (``stages.0``) is a block; a top-level one (``act1``,
    # ``stem``) ends the stem
    stem_end = first if "." in items[first][0] else first + 1
    modules = [m for _, m in items]
    groups = _join_weightless(modules[stem_end : last + 1], lead=modules[:stem_end])
    tail = modules[last + 1 :]
    if any(_has_weights(m) for m in tail):
        groups.append(tail)
    elif tail:
        groups[-1].extend(tail)
    stem, blocks = _sequence(groups[0]), [_sequence(g) for g in groups[1:]]
    if not blocks:
        raise ValueError(f"{refused}: it has a single feature level.")
    # the cut must reproduce the model's own forward_features, as feature maps
    net.eval()
    probe = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = net.forward_features(probe)
        state = stem(probe)
        for block in blocks:
            state = block(state)
    same = (
        isinstance(expected, torch.Tensor)
        and state.shape == expected.shape
        and torch.allclose(state, expected, rtol=1e-4, atol=1e-4)
    )
    if not same:
        raise ValueError(
            f"{refused}: running its children in order does not give its forward_features "
            "(a vision transformer's position embedding, or another computation outside its "
            "modules). Pass the network as a torch.nn.Module with blocks=[names] instead."
        )
    width = getattr(net, "num_features", None)
    if state.ndim != 4 or (width is not None and state.shape[1] != width):
        raise ValueError(
            f"{refused}: its features are not (n, channels, height, width) maps (got shape "
            f"{tuple(state.shape)}; a channels-last model such as Swin)."
        )
    return stem, blocks


def _position(items, level):
    for i, (item_name, _) in enumerate(items):
        if level == item_name or level.startswith(item_name + "."):
            return i
    return None


# --- weights ------------------------------------------------------------------------------


def _read_state_dict(weights, spec, name):
    """A state_dict from a local file (a checkpoint dict holding one is opened)."""
    import torch

    if not isinstance(weights, str | os.PathLike):
        raise TypeError(
            f"{name}: weights must be a file path or {PRETRAINED!r}; got {type(weights).__name__}."
        )
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise ValueError(
            f"{name}: weights={path!r} is not a file. Pass the path of the weights of "
            f"{spec!r} (a state_dict saved with torch.save, or a .safetensors file), or "
            f"weights={PRETRAINED!r} to let the library download them (online)."
        )
    try:
        if path.endswith(".safetensors"):
            safetensors = import_optional("safetensors.torch", purpose=f"{name} (weights={path!r})")
            state = safetensors.load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except ImportError:
        raise
    except Exception as exc:
        raise ValueError(
            f"{name}: weights={path!r} could not be read as a state_dict with "
            f"torch.load(weights_only=True) ({type(exc).__name__}: {exc})."
        ) from exc
    for key in ("state_dict", "model", "state_dict_ema"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(
            f"{name}: weights={path!r} holds a {type(state).__name__}, not a state_dict of "
            "tensors; save one with torch.save(model.state_dict(), path)."
        )
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _load_state(net, state, weights, spec, name):
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshapen = [
        k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or misshapen:
        problems = []
        for label, keys in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("of another shape", misshapen),
        ):
            if keys:
                problems.append(f"{len(keys)} {label} (e.g. {keys[0]!r})")
        raise ValueError(
            f"{name}: weights={os.fspath(weights)!r} do not fit model={spec!r}: tensors "
            f"{', '.join(problems)}. Are they the weights of another architecture or variant?"
        )
    net.load_state_dict(state)


def _download_error(spec, what, exc):
    return OSError(
        f"model={spec!r}, weights={PRETRAINED!r}: {spec.partition(':')[0]} could not download "
        f"{what} ({type(exc).__name__}: {exc}). Offline, fetch the weights file on a connected "
        "machine and pass its local path as weights='/path/to/weights.pth'."
    )


# --- helpers ------------------------------------------------------------------------------


def _import_hub(module, library, spec, name):
    import importlib

    try:
        return importlib.import_module(module)
    except Exception as exc:  # a torchvision built for another torch fails beyond ImportError
        import torch

        raise ImportError(
            f"{name}: model={spec!r} needs {library}, which does not import here "
            f"({type(exc).__name__}: {exc}). Run `pip install {library}`, with a build that "
            f"matches the installed torch {torch.__version__} (torchvision pins one torch "
            "version and CUDA build; an unmatched wheel fails to import or replaces torch"
            + ("; timm needs torchvision too" if library == "timm" else "")
            + ")."
        ) from exc


def _preprocessing(size, resize, mean, std, interpolation):
    return {
        "size": int(size),
        "resize": int(resize),
        "mean": tuple(float(m) for m in mean),
        "std": tuple(float(s) for s in std),
        "interpolation": interpolation,
    }


def _has_weights(module):
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def _join_weightless(modules, lead=None):
    """Groups of modules: each module with weights starts a group, one without joins the
    group before it (``lead``, the stem, when there is one)."""
    groups = [list(lead)] if lead is not None else []
    for module in modules:
        if groups and not _has_weights(module):
            groups[-1].append(module)
        else:
            groups.append([module])
    return groups


def _sequence(modules):
    import torch

    if len(modules) == 1:
        return modules[0]
    return torch.nn.Sequential(*modules)


def _close(arch, known):
    close = difflib.get_close_matches(arch, known, n=3)
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
