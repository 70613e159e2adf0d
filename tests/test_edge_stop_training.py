"""The hint network trained through the served edge stop (training.edge_stop): the term's colour is the exported
graph's fade of the decoded outputs, no hint gives no gradient, a hint's gradient stops at an edge, and the trainer's
loss is the cross-entropy plus the term."""

import numpy as np
import pytest
import tensorflow as tf

from colorkeras.core import hints as hints_lib
from colorkeras.core.config import TrainConfig
from colorkeras.models import color
from colorkeras.serving import edges
from colorkeras.training.edge_stop import EdgeStopTerm

SIZE = 32
BINS = len(color.ab_bin_centers(10.0))


def decoded(logits):
    centers = color.ab_bin_centers(10.0).astype(np.float32)
    ab = tf.tensordot(tf.nn.softmax(logits, axis=-1), centers, 1)
    return tf.image.resize(ab, (SIZE, SIZE), method="bilinear")


def scene(count):
    """Two pictures: L dark on the left half and bright on the right; ``count`` hints on the left, else none."""
    rng = np.random.default_rng(0)
    lightness = np.full((2, SIZE, SIZE, 1), 0.3, np.float32)
    lightness[:, :, SIZE // 2 :] = 0.8
    lightness += rng.normal(0, 0.002, lightness.shape).astype(np.float32)
    points = np.full((2, hints_lib.TRAIN_MAX_POINTS, 2), -1, np.int32)
    for index in range(count):
        points[0, index] = (4 + 6 * index, 6)
    radii = np.ones((2, hints_lib.TRAIN_MAX_POINTS), np.int32)
    truth = rng.normal(0, 20, (2, SIZE, SIZE, 2)).astype(np.float32)
    logits = [rng.normal(0, 2, (2, SIZE // 2, SIZE // 2, BINS)).astype(np.float32) for _ in range(2)]
    return lightness, truth, points, radii, *logits


def test_the_term_fades_the_decoded_colours_as_the_served_graph_does():
    lightness, truth, points, radii, hinted, automatic = scene(3)
    term = EdgeStopTerm(weight=1.0)
    result = term.faded(lightness, truth, points, radii, hinted, automatic).numpy()
    mask = np.zeros((2, SIZE, SIZE, 1), np.float32)
    for y, x in points[0, :3]:
        mask[0, y - 1 : y + 2, x - 1 : x + 2] = 1.0
    expected = edges.stop_at_edges(
        decoded(automatic), decoded(hinted), tf.constant(lightness * 100.0), tf.constant(mask), tf.constant([3, 0])
    ).numpy()
    np.testing.assert_allclose(result, expected, atol=1e-3)
    # The picture without hints keeps its automatic colour.
    np.testing.assert_allclose(result[1], decoded(automatic).numpy()[1], atol=1e-4)


def test_no_hint_gives_no_gradient_and_a_hint_gradient_stops_at_the_edge():
    lightness, truth, points, radii, hinted, automatic = scene(1)
    term = EdgeStopTerm(weight=1.0)
    logits = tf.Variable(hinted)
    with tf.GradientTape() as tape:
        result = term.faded(lightness, truth, points, radii, logits, automatic)
        loss = tf.reduce_sum(tf.square(result - truth))
    gradient = tf.reduce_sum(tf.abs(tape.gradient(loss, logits)), axis=-1).numpy()  # [2, 16, 16]
    assert gradient[1].max() == 0.0  # No hint: the automatic colour, which the term does not train.
    near, across = gradient[0, :, : SIZE // 4 - 2].mean(), gradient[0, :, SIZE // 4 + 2 :].mean()
    assert near > 0
    assert across < 0.01 * near  # One hint keeps none of its median: beyond the edge nothing is learned from it.


@pytest.mark.slow
def test_the_trainer_loss_is_the_cross_entropy_plus_the_term():
    from colorkeras.training import loop

    def trainer(weight):
        config = TrainConfig(
            architecture="unet", hints=True, image_size=SIZE, base_filters=8, depth=2, edge_stop=weight
        ).resolve()
        return loop.compile_model(config)

    plain, network = trainer(0.0)
    through, other = trainer(2.0)
    other.set_weights(network.get_weights())
    assert "edge_stop" in [layer.name for layer in through.layers]
    assert through.get_layer(other.name) is other
    lightness, truth, points, radii, _, _ = scene(4)
    inputs = [lightness, truth, points, radii]
    cross_entropy = plain.evaluate(inputs, truth, verbose=0)
    total = through.evaluate(inputs, truth, verbose=0)
    painter = next(layer for layer in through.layers if layer.name.startswith("simulated_hints"))
    canvas = painter(*[tf.constant(value) for value in inputs])
    automatic = other(through.get_layer("empty_canvas")(tf.constant(lightness)))
    faded = through.get_layer("edge_stop").faded(lightness, truth, points, radii, other(canvas), automatic)
    expected = 2.0 * float(tf.reduce_mean(tf.square((faded - truth) / 10.0)))
    assert total - cross_entropy == pytest.approx(expected, rel=1e-3)


def test_the_edge_stop_needs_a_hint_network_with_a_classes_head():
    with pytest.raises(ValueError, match="add --hints"):
        TrainConfig(architecture="unet", edge_stop=1.0).resolve()
    with pytest.raises(ValueError, match=">= 0"):
        TrainConfig(architecture="unet", hints=True, edge_stop=-1.0).resolve()
