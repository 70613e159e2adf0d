"""Colour from a reference photograph, by correspondence: TensorFlow ops the SavedModel graph uses.

The gray target and the colour reference each go through the hint network's own
pretrained encoder (the ImageNet MobileNetV2 that sees the lightness alone). At
stride 4 of the working resolution each position gets a descriptor: the
encoder's stride-4 features beside its stride-8 features (upsampled), each
normalised, and its mean lightness. Every target position is compared with every
reference position (about a thousand each at a 128-px render: the whole
cosine-similarity matrix is a few million entries); a position's colour is the
softmax-weighted mean of the reference's colour over its best matches (each
similarity less a penalty for the lightness difference), and its confidence is
the best similarity. Confident positions keep the colour they matched, and
become a dense hint canvas for the hint network, whose colour fills the rest:
where nothing matches, the automatic colour stays
(``ColorizerModule._colorize_with_reference``).

The settings below were chosen on validation pairs (two overlapping crops of one
validation photograph, the reference scaled 0.85; strides 8 and 16 gave 0.9 dB
less, adding stride 2 gave 0.6 dB more at three times the time; the matched colour
through the hint network alone, 2.7 dB less than kept as matched). The threshold
is the lowest at which a reference of an unrelated scene costs nothing against
the automatic colour (0.5 cost 4.7 dB there, and gave 0.7 dB more on the pairs):
``scripts/experiments/reference_sweep.py`` and
``docs/research/2026-12-07-reference-and-key-frames.md``.
"""

import tensorflow as tf

from colorkeras.models import color

LEVELS = (1, 2)  # The encoder outputs described (strides 2, 4, 8, 16, 32 are 0-4): strides 4 and 8.
TEMPERATURE = 0.05  # Of the softmax over cosine similarities (lower: the best match alone).
LIGHTNESS_WEIGHT = 2.0  # Similarity lost per 100 L of lightness difference between two positions.
THRESHOLD = 0.7  # A position whose best similarity is below this keeps the automatic colour.
TOP_K = 8  # Matches each position's colour is averaged over.
DIRECT = True  # Matched colour kept as matched where confident (False: only through the hint network's canvas).


def _normalised(features):
    """Unit length along channels after removing the image's mean descriptor (which every position shares and
    which would otherwise make everything look alike)."""
    features = tf.cast(features, tf.float32)
    features = features - tf.reduce_mean(features, axis=[1, 2], keepdims=True)
    return tf.math.l2_normalize(features, axis=-1)


def descriptors(*features):
    """Encoder features of ``LEVELS`` (finest first) -> float32 ``[B, h, w, C]`` descriptors at the finest stride:
    each level upsampled there and normalised, so that each weighs the same in a cosine similarity."""
    size = tf.shape(features[0])[1:3]
    parts = [_normalised(tf.image.resize(tf.cast(level, tf.float32), size, method="bilinear")) for level in features]
    return tf.concat(parts, axis=-1) * (1.0 / len(parts)) ** 0.5


def cells(image, size):
    """Area mean of ``image`` ``[B, H, W, C]`` over the cells of a ``size`` ([h, w]) grid."""
    return tf.image.resize(image, size, method="area")


def match(
    target,
    reference,
    target_lightness,
    reference_lightness,
    reference_ab,
    temperature=TEMPERATURE,
    lightness_weight=LIGHTNESS_WEIGHT,
    top_k=TOP_K,
):
    """Each target position's colour from the reference.

    ``target`` ``[B, h, w, C]`` and ``reference`` ``[B, h2, w2, C]``: descriptors;
    ``target_lightness`` ``[B, h, w, 1]``, ``reference_lightness`` ``[B, h2, w2, 1]``
    (L, 0-100) and ``reference_ab`` ``[B, h2, w2, 2]`` (Lab units) on the same grids.
    Returns (a/b ``[B, h, w, 2]``, confidence ``[B, h, w]``: the best similarity).
    """
    batch = tf.shape(target)[0]
    height, width = tf.shape(target)[1], tf.shape(target)[2]
    channels = tf.shape(target)[3]
    queries = tf.reshape(target, [batch, -1, channels])
    keys = tf.reshape(reference, [batch, -1, channels])
    similarity = tf.matmul(queries, keys, transpose_b=True)  # [B, Nt, Nr]
    gap = tf.abs(tf.reshape(target_lightness, [batch, -1, 1]) - tf.reshape(reference_lightness, [batch, 1, -1]))
    similarity = similarity - lightness_weight * gap / 100.0
    k = tf.minimum(top_k, tf.shape(keys)[1])
    best, where = tf.math.top_k(similarity, k=k)  # [B, Nt, k]
    weights = tf.nn.softmax(best / temperature, axis=-1)
    colours = tf.gather(tf.reshape(reference_ab, [batch, -1, 2]), where, batch_dims=1)  # [B, Nt, k, 2]
    ab = tf.reduce_sum(weights[..., None] * colours, axis=2)
    return tf.reshape(ab, [batch, height, width, 2]), tf.reshape(best[..., 0], [batch, height, width])


def reference_lab(images):
    """uint8 RGB ``[B, H, W, 3+]`` -> float32 Lab ``[B, H, W, 3]``."""
    return color.rgb_to_lab(tf.cast(images[..., :3], tf.float32) / 255.0)
