"""The Python API's full-resolution ends (serving.pixels) against the SavedModel graph's own:
the same lightness, and the same join of lightness and upsampled chroma, within one code value."""

import numpy as np
import tensorflow as tf

from colorkeras.models import color
from colorkeras.serving import pixels


def graph_lightness(image):
    return color.uint8_to_lightness(tf.constant(image), gray=image.shape[-1] == 1).numpy()[..., 0]


def test_lightness_is_the_graphs_for_gray_colour_and_gray_stored_as_rgb():
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (37, 53, 1), dtype=np.uint8)
    np.testing.assert_array_equal(pixels.lightness(gray), graph_lightness(gray))
    # A gray photograph stored as RGB takes the gray table, as the graph's _lightness does.
    np.testing.assert_array_equal(pixels.lightness(np.repeat(gray, 3, axis=-1)), graph_lightness(gray))
    # Colour: the same tables; the luminance sum may round differently by one step of the fine table.
    assert np.abs(pixels.lightness(colour) - graph_lightness(colour)).max() < 0.1
    assert pixels.lightness(colour).dtype == np.float32


def test_compose_is_the_graphs_join_within_one_code_value():
    rng = np.random.default_rng(1)
    lightness = rng.uniform(0, 100, (61, 83)).astype(np.float32)
    chroma = rng.uniform(-90, 90, (8, 11, 2)).astype(np.float32)  # Far out of gamut in places: clipping counts too.
    upsampled = tf.image.resize(chroma[None], (61, 83), method="bilinear")
    expected = color.lab_to_uint8(tf.concat([lightness[None, ..., None], upsampled], axis=-1)).numpy()[0]
    got = pixels.compose(lightness, chroma)
    assert got.shape == (61, 83, 3) and got.dtype == np.uint8
    difference = np.abs(got.astype(int) - expected.astype(int))
    assert difference.max() <= 1
    assert difference.mean() < 0.05
