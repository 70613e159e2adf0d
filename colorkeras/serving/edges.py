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

One part of the change is not faded where several hints are given: its median
over the picture, in the share 1 - 1/n of n hints. One hint says what colour one
thing is, and stops at its edges, even where the network would tint the whole
picture from it (a plain ground that turns blue around a blue square); several
hints that together move most of the picture (a cast they correct, the colour of
a whole scene) move it everywhere, as the network without the fade would. Fading
that part too gave ten hints a tenth less gain at a lower locality (places
validation, session 27: +3.56 dB at locality 0.859 against +3.91 dB at 0.865 with
the whole median kept).

The settings were chosen on the places validation split (locality and the gain of
ten hints): ``scripts/experiments/edge_sweep.py`` and
``docs/research/2026-12-07-reference-and-key-frames.md`` (a pixel's step counted
as distance, more blurring, a lower threshold, the encoder's features or the
automatic colour as a second guide all moved along one trade-off or below it;
keeping the median moved it). A network trained through this fade
(``training.edge_stop``, session 28) was not better on the test split; it is not shipped."""

import tensorflow as tf

ENABLED = True
SPATIAL_COST = 0.0  # Distance per pixel stepped (the network already decides how far a hint spreads).
EDGE_COST = 1.0  # Distance per unit of lightness (L, 0-100) crossed.
REACH = 4.0  # Distance over which a hint's change fades to 1/e.
THRESHOLD = 1.5  # Lightness steps up to this (texture, noise) cost nothing; only the excess counts.
SMOOTHING = 1  # 3x3 box blurs of the lightness before its steps are taken.
KEEP_MEDIAN = True  # Of n hints' change, its median over the picture is kept in share 1 - 1/n; the rest fades.
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


def stop_at_edges(automatic_ab, hinted_ab, lightness, mask, hint_count):
    """The hinted a/b with the hints' change faded where their reach ends, but for the share 1 - 1/n of its median
    over the picture, which stays: all [B, h, w, .] at the working resolution; ``mask`` [B, h, w, 1] the hint
    patches (the canvas's mask); ``hint_count`` [B] the hints n of each picture. A picture without hints keeps its
    automatic colour."""
    distance = geodesic_distance(lightness[..., 0], mask[..., 0], EDGE_COST, SPATIAL_COST, THRESHOLD, SMOOTHING)
    weight = tf.exp(-distance / REACH)[..., None]
    change = hinted_ab - automatic_ab
    if not KEEP_MEDIAN:
        return automatic_ab + weight * change
    count = tf.cast(hint_count, change.dtype)
    share = tf.where(count > 0, 1.0 - 1.0 / tf.maximum(count, 1.0), 0.0)[:, None, None, None]
    kept = share * median_change(change)
    return automatic_ab + kept + weight * (change - kept)


def median_change(change):
    """[B, 1, 1, C]: each channel's median over the pixels of ``change`` [B, h, w, C] (the upper of the two middle
    values where the count is even)."""
    pixels = tf.reshape(change, [tf.shape(change)[0], -1, tf.shape(change)[-1]])
    middle = tf.shape(pixels)[1] // 2
    return tf.sort(pixels, axis=1)[:, middle][:, None, None, :]
