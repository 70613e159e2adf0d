"""Hints that stop at edges (``serving.edges``): the geodesic reach, and a hint inside a square on the shipped
default."""

import numpy as np
import pytest
import tensorflow as tf

from colorkeras.core import lab
from colorkeras.serving import edges


def test_the_reach_crosses_a_flat_region_freely_and_an_edge_dearly():
    lightness = np.full((1, 20, 40), 30.0, np.float32)
    lightness[:, :, 20:] = 80.0  # An edge down the middle.
    seeds = np.zeros((1, 20, 40), np.float32)
    seeds[0, 10, 5] = 1.0
    distance = edges.geodesic_distance(
        tf.constant(lightness), tf.constant(seeds), 1.0, 0.0, edges.THRESHOLD, 0
    ).numpy()[0]
    assert distance[10, 5] == 0.0
    assert distance[:, :20].max() == 0.0  # The whole flat side: no lightness crossed.
    np.testing.assert_allclose(distance[:, 20:], 50.0 - edges.THRESHOLD)  # Every path crosses the edge once.


def test_without_hints_nothing_changes_and_far_across_an_edge_the_change_is_gone():
    automatic = tf.zeros((1, 8, 16, 2))
    hinted = tf.ones((1, 8, 16, 2)) * 40.0
    lightness = np.full((1, 8, 16, 1), 20.0, np.float32)
    lightness[:, :, 8:] = 90.0
    mask = np.zeros((1, 8, 16, 1), np.float32)
    mask[0, 4, 2] = 1.0
    result = edges.stop_at_edges(automatic, hinted, tf.constant(lightness), tf.constant(mask)).numpy()[0]
    assert np.abs(result[:, :4] - 40.0).max() < 1.0  # The hint's own side keeps the hinted colour.
    assert np.abs(result[:, 10:]).max() < 0.01  # Across a jump of 70 in lightness it is gone.


def chroma(rgb):
    return lab.rgb_to_lab(np.asarray(rgb, np.float64) / 255.0)[..., 1:]


@pytest.fixture(scope="module")
def colorizer():
    from colorkeras.serving.inference import Colorizer

    return Colorizer()  # The shipped default.


@pytest.mark.parametrize("square_lightness", [25, 200])
def test_a_hint_inside_a_square_does_not_colour_outside_it(colorizer, square_lightness):
    rng = np.random.default_rng(0)
    gray = np.clip(rng.normal(110, 6, (160, 160)), 0, 255).astype(np.uint8)  # A plain, slightly grainy ground.
    gray[50:110, 50:110] = square_lightness
    hint = [{"x": 80, "y": 80, "color": "#2040d0"}]
    # Both at the hints' saturation, so that the change is the hint's alone.
    automatic = colorizer.colorize(gray, saturation=colorizer.hint_saturation)
    change = np.linalg.norm(chroma(colorizer.colorize(gray, hints=hint)) - chroma(automatic), axis=-1)
    inside = change[55:105, 55:105].mean()
    ring = np.zeros_like(change, bool)
    ring[40:120, 40:120] = True
    ring[46:114, 46:114] = False  # From 4 to 10 pixels outside the square.
    assert inside > 15.0, inside  # The square takes the hint's colour ...
    assert change[ring].mean() < 0.15 * inside, (change[ring].mean(), inside)  # ... and it stops at the edge.
