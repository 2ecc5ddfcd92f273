"""Images and labels from a folder of class folders."""

import os

import numpy as np
from sklearn.utils import Bunch

from skxfer.utils import import_optional

#: File endings read as images (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def load_image_folder(path, *, load=False, extensions=IMAGE_EXTENSIONS):
    """Load the images and labels of a folder with one subfolder per class.

    The layout that Keras' ``flow_from_directory`` and torchvision's ``ImageFolder`` read::

        path/cat/001.jpg
        path/cat/002.jpg
        path/dog/001.jpg

    Classes are the subfolder names in sorted order; files in each are sorted by name, and
    files whose ending is not in ``extensions`` (or hidden ones) are skipped.

    Parameters
    ----------
    path : str or path-like
        The folder of class folders.
    load : bool, default=False
        ``False`` returns file paths, which :class:`skxfer.featurize.PretrainedFeaturizer`
        reads one batch at a time; ``True`` decodes every image into an RGB uint8 array
        (needs Pillow).
    extensions : tuple of str, default=IMAGE_EXTENSIONS
        File endings to read.

    Returns
    -------
    data : Bunch
        ``images`` (list of paths, or of arrays ``(H, W, 3)``), ``target`` (int class
        index per image), ``target_names`` (the class folder names) and ``filenames``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skxfer.datasets import load_image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["cat/a.png", "cat/b.png", "dog/c.jpg", "dog/notes.txt"]:
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     _ = (root / name).write_bytes(b"")
    >>> data = load_image_folder(root)
    >>> data.target.tolist(), data.target_names
    ([0, 0, 1], ['cat', 'dog'])
    """
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        raise ValueError(f"path={folder!r} is not a folder; pass a folder of class folders.")
    endings = tuple(e.lower() for e in extensions)
    classes = sorted(
        entry.name
        for entry in os.scandir(folder)
        if entry.is_dir() and not entry.name.startswith(".")
    )
    filenames, target = [], []
    for index, name in enumerate(classes):
        for entry in sorted(os.scandir(os.path.join(folder, name)), key=lambda e: e.name):
            visible = entry.is_file() and not entry.name.startswith(".")
            if visible and entry.name.lower().endswith(endings):
                filenames.append(entry.path)
                target.append(index)
    if not filenames:
        raise ValueError(
            f"path={folder!r} holds no image files in class subfolders (looked for "
            f"{list(endings)} in {classes or 'no subfolders'})."
        )
    images = filenames
    if load:
        image = import_optional("PIL.Image", purpose="load_image_folder(load=True)")
        images = []
        for file in filenames:
            with image.open(file) as img:
                images.append(np.asarray(img.convert("RGB")))
    return Bunch(
        images=images,
        target=np.asarray(target, dtype=np.intp),
        target_names=classes,
        filenames=list(filenames),
    )
