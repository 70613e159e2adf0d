"""The shipped default (a hint network) on a real photograph: a red hint reddens the wall it is
on, and leaves other objects far away as they were, through every door alike."""

import json

import numpy as np
import pytest
from PIL import Image
from skimage import color as skcolor
from skimage import data

from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # Loads the shipped default (a MobileNetV2 U-Net) and colorizes a 741x500 photograph.

HINT = {"x": 240, "y": 50, "color": "#ff0000"}  # On the plain wall behind the motorcycle.
WALL = (215, 265, 25, 75)  # x0, x1, y0, y1: 50x50 pixels around the hint, all wall.
FAR = {
    "floor": (20, 120, 420, 490),
    "bench": (60, 140, 110, 170),
    "shelf": (540, 620, 20, 90),
    "front tyre": (560, 660, 330, 430),
}


def lab(rgb, box):
    x0, x1, y0, y1 = box
    return skcolor.rgb2lab(rgb[y0:y1, x0:x1, :3] / 255.0)


@pytest.fixture(scope="module")
def gray_photo():
    photo = data.stereo_motorcycle()[0]
    return np.clip(np.rint(photo @ np.array([0.299, 0.587, 0.114])), 0, 255).astype(np.uint8)


def test_a_red_hint_reddens_the_wall_and_not_far_objects_through_every_door(gray_photo, tmp_path):
    import tensorflow as tf

    from colorkeras.core import store
    from colorkeras.serving.inference import Colorizer

    colorizer = Colorizer()  # The default run, as a newcomer gets it.
    plain = colorizer.colorize(gray_photo)
    through_python = colorizer.colorize(gray_photo, hints=[HINT])

    signature = tf.saved_model.load(str(store.Run(store.resolve_run()).saved_model)).signatures["colorize_with_hints"]
    through_graph = signature(
        images=tf.constant(gray_photo[None, ..., None]),
        points=tf.constant([[[HINT["y"], HINT["x"]]]], tf.int32),
        colors=tf.constant([[[255, 0, 0]]], tf.uint8),
    )["colorized"].numpy()[0]

    photo_file, hints_file = tmp_path / "motorcycle.png", tmp_path / "hints.json"
    Image.fromarray(gray_photo).save(photo_file)
    hints_file.write_text(json.dumps([HINT]))
    result = run_cli("colorkeras.colorize", photo_file, "--hints", hints_file, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr[-2000:]
    through_cli = np.asarray(Image.open(tmp_path / "out" / "motorcycle.png"))

    # The API joins L and chroma on the CPU (serving.pixels), the graph in TensorFlow: within one code value.
    assert np.abs(through_python.astype(int) - through_graph.astype(int)).max() <= 1
    np.testing.assert_array_equal(through_python, through_cli)
    wall_before, wall_after = lab(plain, WALL)[..., 1].mean(), lab(through_python, WALL)[..., 1].mean()
    assert wall_after > 15 and wall_after - wall_before > 12, (wall_before, wall_after)  # a*: red
    for name, box in FAR.items():
        change = np.abs(lab(plain, box)[..., 1:] - lab(through_python, box)[..., 1:]).mean()
        assert change < 5.0, (name, change)  # Lab a/b units; the wall moved by over 12.
