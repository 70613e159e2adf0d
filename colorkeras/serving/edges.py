"""Hints that stop at edges: TensorFlow ops the SavedModel graph uses.

The hint network spreads a hint's colour by a learned amount, which often crosses
the edge of the thing the hint is on (a red point in the sky becomes a round red
glow). Here the change the hints make (hinted colour minus automatic colour, the
hint network run with and without them) is kept where the hints reach and faded
where they do not. The reach is a geodesic distance from the hint patches over
the working-resolution lightness (blurred once): a step costs nothing within
``THRESHOLD`` of lightness (texture, noise) and the excess beyond it otherwise,
so the distance stays short across a region and jumps at an edge; how far a hint
spreads inside its region the network still decides. The change is weighted by
``exp(-distance / REACH)``.

The settings were chosen on the places validation split (locality and the gain of
ten hints): ``scripts/experiments/edge_sweep.py`` and
``docs/research/2026-12-07-reference-and-key-frames.md`` (a pixel's step counted
as distance, and the encoder's features as a second guide, moved the same
trade-off the wrong way).
"""

import tensorflow as tf

ENABLED = True
SPATIAL_COST = 0.0  # Distance per pixel stepped (the network already decides how far a hint spreads).
EDGE_COST = 1.0  # Distance per unit of lightness (L, 0-100) crossed.
REACH = 5.0  # Distance over which a hint's change fades to 1/e.
THRESHOLD = 2.0  # Lightness steps up to this (texture, noise) cost nothing; only the excess counts.
SMOOTHING = 1  # 3x3 box blurs of the lightness before its steps are taken.
INFINITY = 1e6


def _shift(image, dy, dx, fill):
    """``image`` [B, H, W] moved by (dy, dx) one pixel, the uncovered border filled with ``fill``."""
    height, width = tf.shape(image)[1], tf.shape(image)[2]
    padded = tf.pad(image, [[0, 0], [1, 1], [1, 1]], constant_values=fill)
    return padded[:, 1 - dy : 1 - dy + height, 1 - dx : 1 - dx + width]


@tf.function
def geodesic_distance(lightness, seeds, edge_cost, spatial_cost, threshold, smoothing):
    """float32 [B, H, W]: the cheapest path from any seed pixel (``seeds`` [B, H, W], > 0 at a seed), each step to a
    4-neighbour costing ``spatial_cost`` + ``edge_cost`` x the lightness step beyond ``threshold``; ``lightness``
    [B, H, W] in L units, blurred ``smoothing`` times (3x3 box) first. Relaxed until nothing changes (at most
    height + width sweeps of the four directions)."""
    for _ in range(smoothing):
        lightness = tf.nn.avg_pool2d(lightness[..., None], 3, 1, "SAME")[..., 0]
    distance = tf.where(seeds > 0, 0.0, INFINITY)
    directions = ((1, 0), (-1, 0), (0, 1), (0, -1))
    costs = [
        spatial_cost + edge_cost * tf.nn.relu(tf.abs(lightness - _shift(lightness, dy, dx, 0.0)) - threshold)
        for dy, dx in directions
    ]
    limit = tf.shape(lightness)[1] + tf.shape(lightness)[2]

    def relax(step, distance, _):
        before = distance
        for (dy, dx), cost in zip(directions, costs, strict=True):
            distance = tf.minimum(distance, _shift(distance, dy, dx, INFINITY) + cost)
        return step + 1, distance, tf.reduce_any(distance < before)

    return tf.while_loop(
        lambda step, _, changed: tf.logical_and(changed, step < limit), relax, [tf.constant(0), distance, True]
    )[1]


def stop_at_edges(automatic_ab, hinted_ab, lightness, mask):
    """The hinted a/b with the hints' change faded where their reach ends: all [B, h, w, .] at the working
    resolution; ``mask`` [B, h, w, 1] the hint patches (the canvas's mask)."""
    distance = geodesic_distance(lightness[..., 0], mask[..., 0], EDGE_COST, SPATIAL_COST, THRESHOLD, SMOOTHING)
    weight = tf.exp(-distance / REACH)[..., None]
    return automatic_ab + weight * (hinted_ab - automatic_ab)
