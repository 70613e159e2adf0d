"""Archive-scan defects for gray photographs: fading, blur, film grain, JPEG
artefacts, scratches and dust.

Old photographs and their scans are not the clean gray copies of colour photos a
colorizer trains on. ``archive_gray`` gives a uint8 gray image the defects users'
scans have, each with probability ``DEFECT_PROBABILITY`` and a random strength,
from a two-number seed (stateless: the same seed, the same defects). Training
(``data.make_dataset(degrade=...)``) applies it to a share of the inputs while
the targets stay the clean colours; evaluation (``evaluate --degrade``) applies
it to every gray copy, seeded by the image's own pixels, so that a model is
scored on what an archive gives it.

Strengths are in pixels of the image they act on; at the 64-96 px this project
trains on, a blur of sigma 1 px is a soft print and a grain of 4% a fast film.
"""

import zlib

import numpy as np
import tensorflow as tf

DEFECT_PROBABILITY = 0.5  # Each defect, independently, on a degraded image.
_DEFECTS = ("fade", "blur", "grain", "scratches", "jpeg")  # The order a print ages, then is scanned and saved.


def _uniform(seed, low, high):
    return tf.random.stateless_uniform((), seed, low, high)


def _happens(seed):
    return tf.random.stateless_uniform((), seed) < DEFECT_PROBABILITY


def _fade(gray, seed):
    """Lower contrast (a raised black, a lowered white) and a gamma: a faded print."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    black = _uniform(seeds[0], 0.0, 0.25)
    white = _uniform(seeds[1], 0.7, 1.0)
    gamma = tf.exp(_uniform(seeds[2], -0.35, 0.35))
    return black + (white - black) * tf.pow(gray, gamma)


def _blur(gray, seed):
    """A Gaussian blur of sigma 0.4-1.3 px: a soft lens or a print copied from a print."""
    sigma = _uniform(seed, 0.4, 1.3)
    offsets = tf.range(-3, 4, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(offsets / sigma))
    kernel /= tf.reduce_sum(kernel)
    padded = tf.pad(gray[None], [[0, 0], [3, 3], [3, 3], [0, 0]], mode="SYMMETRIC")
    rows = tf.nn.conv2d(padded, tf.reshape(kernel, [7, 1, 1, 1]), 1, "VALID")
    return tf.nn.conv2d(rows, tf.reshape(kernel, [1, 7, 1, 1]), 1, "VALID")[0]


def _grain(gray, seed):
    """Film grain: Gaussian noise of 1-5% at the pixel and at twice its size."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    amount = _uniform(seeds[0], 0.01, 0.05)
    shape = tf.shape(gray)
    fine = tf.random.stateless_normal(shape, seeds[1])
    coarse_shape = tf.stack([(shape[0] + 1) // 2, (shape[1] + 1) // 2, 1])
    coarse = tf.image.resize(tf.random.stateless_normal(coarse_shape, seeds[2]), shape[:2], "bilinear")
    return gray + amount * (0.6 * fine + 0.8 * coarse)


def _jpeg(gray, seed):
    """JPEG artefacts at quality 15-70 (a scan saved small, or saved again)."""
    quality = tf.cast(_uniform(seed, 15.0, 71.0), tf.int32)
    return tf.cast(tf.image.adjust_jpeg_quality(_to_uint8(gray), quality), tf.float32) / 255.0


def _scratches(gray, seed):
    """One to three thin vertical scratches (light or dark) and a sprinkle of dust."""
    seeds = tf.random.experimental.stateless_split(seed, 5)
    width = tf.shape(gray)[1]
    count = tf.random.stateless_uniform((), seeds[0], 1, 4, dtype=tf.int32)
    columns = tf.random.stateless_uniform([3], seeds[1], 0, width, dtype=tf.int32)[:count]
    scratch = tf.reduce_any(tf.range(width)[:, None] == columns[None, :], axis=1)
    scratch = tf.broadcast_to(scratch[None, :, None], tf.shape(gray))
    light = _uniform(seeds[2], 0.0, 1.0) < 0.5
    scratch_value = tf.where(light, 0.92, 0.08)
    dust = tf.random.stateless_uniform(tf.shape(gray), seeds[3]) < 0.002
    dust_value = tf.where(tf.random.stateless_uniform(tf.shape(gray), seeds[4]) < 0.5, 0.05, 0.95)
    faded = 0.5 * gray + 0.5 * scratch_value
    return tf.where(dust, dust_value, tf.where(scratch, faded, gray))


def _to_uint8(gray):
    return tf.cast(tf.round(tf.clip_by_value(gray, 0.0, 1.0) * 255.0), tf.uint8)


_APPLY = {"fade": _fade, "blur": _blur, "grain": _grain, "jpeg": _jpeg, "scratches": _scratches}


def archive_gray(gray_uint8, seed):
    """uint8 gray ``[h, w, 1]`` and an integer seed ``[2]`` (stateless) -> uint8 gray ``[h, w, 1]``
    with each archive defect of ``_DEFECTS`` applied with probability ``DEFECT_PROBABILITY``."""
    gray = tf.cast(gray_uint8, tf.float32) / 255.0
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 2 * len(_DEFECTS))
    for index, name in enumerate(_DEFECTS):
        apply = _APPLY[name]
        strength_seed = seeds[2 * index + 1]
        gray = tf.cond(
            _happens(seeds[2 * index]),
            lambda apply=apply, gray=gray, strength_seed=strength_seed: apply(gray, strength_seed),
            lambda gray=gray: gray,
        )
        gray = tf.ensure_shape(tf.clip_by_value(gray, 0.0, 1.0), [None, None, 1])
    return _to_uint8(gray)


_archive_gray_graph = tf.function(
    archive_gray,
    input_signature=[tf.TensorSpec([None, None, 1], tf.uint8), tf.TensorSpec([2], tf.int64)],
)


def archive_gray_copies(gray_uint8, seed=0):
    """uint8 gray images ``[n, h, w, 3]`` (R = G = B, as ``images.luma_gray`` gives) ->
    the same with archive defects, each image seeded by ``seed`` and its own pixels
    (the same image gets the same defects whatever batch it is in)."""
    gray = np.asarray(gray_uint8)
    out = np.empty_like(gray)
    for index, image in enumerate(gray):
        image_seed = np.array([seed, zlib.crc32(image.tobytes())], np.int64)
        out[index] = _archive_gray_graph(image[..., :1], image_seed).numpy()
    return out
