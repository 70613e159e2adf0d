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


def edge_scene():
    """Lightness [2, 8, 16, 1] with a jump of 70 down the middle, and hint masks: the first picture has one
    hint on the left at (4, 2), the second none."""
    lightness = np.full((2, 8, 16, 1), 20.0, np.float32)
    lightness[:, :, 8:] = 90.0
    mask = np.zeros((2, 8, 16, 1), np.float32)
    mask[0, 4, 2] = 1.0
    return tf.constant(lightness), tf.constant(mask)


def test_far_across_an_edge_a_hints_change_is_gone_and_without_hints_nothing_changes():
    lightness, mask = edge_scene()
    automatic = np.zeros((2, 8, 16, 2), np.float32)
    hinted = np.zeros((2, 8, 16, 2), np.float32)
    hinted[:, :, :6] = 40.0  # The network spreads the hint's colour over 6 of 16 columns, across nothing yet.
    hinted[:, :, 8:9] = 20.0  # ... and a little over the edge.
    hinted[1] += 7.0  # The second picture's networks differ everywhere, but it has no hints.
    count = tf.constant([1, 0])
    result = edges.stop_at_edges(tf.constant(automatic), tf.constant(hinted), lightness, mask, count).numpy()
    assert np.abs(result[0, :, :4] - 40.0).max() < 1.0  # The hint's own side keeps the hinted colour.
    assert np.abs(result[0, :, 10:]).max() < 0.01  # Across a jump of 70 in lightness it is gone.
    np.testing.assert_array_equal(result[1], automatic[1])  # No hints: the automatic colour, whatever the networks.


def test_of_several_hints_a_change_over_most_of_the_picture_is_kept_across_the_edge_of_one_it_is_not():
    lightness, mask = edge_scene()
    automatic = np.zeros((2, 8, 16, 2), np.float32)
    hinted = np.zeros((2, 8, 16, 2), np.float32)
    hinted[..., 0] = 10.0  # The hints move the whole picture's a by 10 (a cast they correct) ...
    hinted[:, :, :4, 1] = 30.0  # ... and b by 30 on the hint's side only.
    mask = tf.concat([mask[:1], mask[:1]], axis=0)  # Both pictures hinted at (4, 2) ...
    count = tf.constant([4, 1])  # ... by four hints (one patch drawn here) and by one.
    result = edges.stop_at_edges(tf.constant(automatic), tf.constant(hinted), lightness, mask, count).numpy()
    np.testing.assert_allclose(result[0, :, 10:, 0], 0.75 * 10.0, atol=1e-5)  # Four hints: 3/4 of the median stays.
    assert np.abs(result[1, :, 10:]).max() < 0.01  # One hint: nothing crosses the edge.
    for picture in result:  # On the hint's side, the hinted colour either way.
        assert np.abs(picture[:, :4] - [10.0, 30.0]).max() < 1.0 and np.abs(picture[:, 10:, 1]).max() < 0.01
    np.testing.assert_array_equal(
        edges.median_change(tf.constant([[[[1.0, 5.0]], [[3.0, -1.0]], [[2.0, 0.0]]]])).numpy(), [[[[2.0, 0.0]]]]
    )


def chroma(rgb):
    return lab.rgb_to_lab(np.asarray(rgb, np.float64) / 255.0)[..., 1:]


@pytest.fixture(scope="module")
def colorizer(default_colorizer):
    return default_colorizer  # The shipped default.


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
