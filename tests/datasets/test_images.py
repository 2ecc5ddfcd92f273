"""load_image_folder: the class-folder layout, with real images written by Pillow."""

import numpy as np
import pytest

from skxfer.datasets import load_image_folder


def test_class_folders_become_labels_and_images_load(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    written = {}
    for cls, names in {"zebra": ["b.png", "a.jpg"], "ant": ["x.PNG"]}.items():
        (tmp_path / cls).mkdir()
        for name in names:
            pixels = rng.integers(0, 255, size=(6, 5, 3), dtype=np.uint8)
            pil.fromarray(pixels).save(tmp_path / cls / name, quality=100)
            written[f"{cls}/{name}"] = pixels
    (tmp_path / "zebra" / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden").mkdir()
    data = load_image_folder(tmp_path)
    assert data.target_names == ["ant", "zebra"]
    assert data.target.tolist() == [0, 1, 1]
    assert [p.split("/")[-1] for p in data.images] == ["x.PNG", "a.jpg", "b.png"]
    loaded = load_image_folder(tmp_path, load=True)
    np.testing.assert_array_equal(loaded.images[0], written["ant/x.PNG"])  # PNG is lossless
    assert loaded.images[1].shape == (6, 5, 3)


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        load_image_folder(tmp_path / "nope")
    (tmp_path / "cls").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        load_image_folder(tmp_path)
