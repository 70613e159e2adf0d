"""Colour spaces as float32 graph ops, and the uint8 fast paths.

The CIELAB formulas and constants are ``core.lab``'s, run here through keras.ops
on TensorFlow, so that the same code runs inside the tf.data pipelines, inside the
exported SavedModel graph (and TFLite) and, eagerly, on numpy arrays in the
evaluator; the portable trainer runs the same formulas in numpy. Ranges:

- sRGB: float32 in [0, 1] (uint8 / 255).
- CIELAB (D65 white): L float32 in [0, 100], a and b float32 in about [-110, 110].
- Model input: L / 100, float32 in [0, 1] (see ``L_SCALE``).
"""

import numpy as np
import tensorflow as tf
from keras import ops

from colorkeras.core import lab as cielab
from colorkeras.core.constants import AB_SCALE

# The model sees L / L_SCALE, a gray image in [0, 1].
L_SCALE = 100.0


def _srgb_to_linear(rgb):
    return cielab.srgb_to_linear(rgb, ops)


def _linear_to_srgb(linear):
    return cielab.linear_to_srgb(linear, ops)


def _f(t):
    return cielab.f(t, ops)


def rgb_to_lab(rgb):
    """sRGB float32 [..., 3] in [0, 1] -> CIELAB float32 [..., 3] (L in [0, 100])."""
    return cielab.rgb_to_lab(tf.convert_to_tensor(rgb, tf.float32), ops)


def _lab_to_linear(lab):
    """CIELAB float32 [..., 3] -> linear sRGB float32 [..., 3], clipped to [0, 1]."""
    return cielab.lab_to_linear(tf.convert_to_tensor(lab, tf.float32), ops)


def lab_to_rgb(lab):
    """CIELAB float32 [..., 3] -> sRGB float32 [..., 3], clipped to [0, 1]."""
    return tf.clip_by_value(_linear_to_srgb(_lab_to_linear(lab)), 0.0, 1.0)


def gray_to_lightness(gray):
    """sRGB gray float32 [..., 1] in [0, 1] -> L float32 [..., 1] in [0, 100].

    A gray pixel has R = G = B, so its luminance Y is its linearised value and L
    depends on that alone; this is cheaper than a full conversion.
    """
    y = _srgb_to_linear(tf.convert_to_tensor(gray, tf.float32))
    return 116.0 * _f(y) - 16.0


def rgb_to_lightness(rgb):
    """sRGB float32 [..., 3] in [0, 1] -> L float32 [..., 1] in [0, 100]."""
    linear = _srgb_to_linear(tf.convert_to_tensor(rgb, tf.float32))
    y = tf.expand_dims(tf.tensordot(linear, tf.constant(cielab.LUMINANCE), axes=1), -1)
    return 116.0 * _f(y) - 16.0


def boost_saturation(rgb, factor):
    """Multiplies HSV saturation of sRGB float32 [..., 3] by ``factor``; hue and value stay.

    This is the original design's enhancement after prediction; 1.0 leaves the image
    as it is.
    """
    hsv = tf.image.rgb_to_hsv(tf.clip_by_value(rgb, 0.0, 1.0))
    hue, saturation, value = tf.unstack(hsv, axis=-1)
    saturation = tf.clip_by_value(saturation * factor, 0.0, 1.0)
    return tf.image.hsv_to_rgb(tf.stack([hue, saturation, value], axis=-1))


def ab_bin_centers(step=10.0, limit=AB_SCALE):
    """Centres of the quantised a/b grid cells that hold some in-gamut sRGB colour.

    Returns float32 [K, 2]. With the default 10-unit grid, K is about 300, close to
    the 313 bins of Zhang et al. (2016). The grid depends on nothing but the colour
    space, so a model's bins are reproducible from its step alone.
    """
    values = np.arange(-limit, limit + step / 2, step, dtype=np.float32)
    a_grid, b_grid = np.meshgrid(values, values, indexing="ij")
    # Sample each cell densely across lightness and within the cell, and keep the
    # cell if any sample round-trips through sRGB without clipping.
    offsets = np.linspace(-step / 2, step / 2, 5, dtype=np.float32)
    lightness = np.linspace(1.0, 99.0, 50, dtype=np.float32)
    lab = np.stack(np.meshgrid(lightness, values, values, offsets, offsets, indexing="ij"), axis=-1).reshape(-1, 5)
    samples = np.stack([lab[:, 0], lab[:, 1] + lab[:, 3], lab[:, 2] + lab[:, 4]], axis=-1)
    rgb = _lab_to_rgb_unclipped(samples)
    in_gamut = np.all((rgb >= -1e-3) & (rgb <= 1.0 + 1e-3), axis=-1)
    cell_index = np.stack([lab[:, 1], lab[:, 2]], axis=-1)
    keep = {tuple(cell) for cell in cell_index[in_gamut].tolist()}
    centers = [(a, b) for a, b in zip(a_grid.ravel(), b_grid.ravel(), strict=False) if (a, b) in keep]
    return np.array(centers, dtype=np.float32)


def annealed_mean(logits, centers, temperature=1.0):
    """A classes head's logits ``[..., K]`` -> a/b float32 ``[..., 2]``: the mean of the bin centres ``centers``
    [K, 2] under softmax(logits / ``temperature``) (1.0: the plain mean), in keras.ops, so that a loss can
    differentiate through it."""
    probabilities = ops.softmax(ops.cast(logits, "float32") / temperature, axis=-1)
    return ops.tensordot(probabilities, ops.convert_to_tensor(centers), 1)


def _lab_to_rgb_unclipped(lab):
    lab = np.asarray(lab, np.float64)
    fy = (lab[:, 0] + 16.0) / 116.0
    f = np.stack([fy + lab[:, 1] / 500.0, fy, fy - lab[:, 2] / 200.0], axis=-1)
    xyz = cielab.f_inverse(f, np) * np.array(cielab.WHITE)
    return _encode_srgb(xyz @ cielab.XYZ_TO_RGB.T)


def _encode_srgb(linear):
    """The sRGB transfer curve in float64 numpy, for the tables and the gamut test."""
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.abs(linear) ** (1.0 / 2.4) - 0.055)


# === Fast full-resolution paths for uint8 images ===
#
# At 12 megapixels the powers of the sRGB transfer curve dominate the colorize
# graph. Both ends of it see 8-bit values, so tables replace the powers: an exact
# 256-entry table from uint8 to linear light, and a 16384-entry table from linear
# light back to uint8 (at most 0.2 of a code value from the exact result).

LINEAR_STEPS = 16383


def srgb_to_linear_table():
    """Linear light of each uint8 sRGB value (float32 [256]), exact."""
    values = np.arange(256, dtype=np.float64) / 255.0
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _lightness_of_luminance(y):
    return np.where(y > cielab.EPSILON, 116.0 * np.cbrt(y) - 16.0, 116.0 * (y / cielab.KAPPA + 4.0 / 29.0) - 16.0)


def uint8_gray_lightness_table():
    """CIELAB L of each uint8 gray level (float32 [256]), exact."""
    return _lightness_of_luminance(srgb_to_linear_table().astype(np.float64)).astype(np.float32)


def luminance_lightness_table():
    """CIELAB L at ``LINEAR_STEPS + 1`` even steps of luminance in [0, 1] (float32)."""
    return _lightness_of_luminance(np.arange(LINEAR_STEPS + 1, dtype=np.float64) / LINEAR_STEPS).astype(np.float32)


def _linear_to_uint8_table():
    srgb = _encode_srgb(np.arange(LINEAR_STEPS + 1, dtype=np.float64) / LINEAR_STEPS)
    return np.clip(np.round(srgb * 255.0), 0, 255).astype(np.uint8)


def uint8_to_lightness(images, gray=None):
    """uint8 ``[..., 1|3]`` (gray, or RGB whose luminance is used) -> L float32 ``[..., 1]``.

    ``gray`` says which, where the channel count is not known when the graph is built.
    """
    images = tf.convert_to_tensor(images, tf.uint8)
    if gray is None:
        gray = images.shape[-1] == 1
    if gray:
        # A gray value has one lightness: an exact 256-entry table.
        return tf.gather(tf.constant(uint8_gray_lightness_table()), tf.cast(images[..., :1], tf.int32))
    linear = tf.gather(tf.constant(srgb_to_linear_table()), tf.cast(images, tf.int32))
    y = tf.expand_dims(tf.tensordot(linear, tf.constant(cielab.LUMINANCE), axes=1), -1)
    # L from luminance through a fine table (within 0.06 L units of the exact value).
    index = tf.cast(tf.clip_by_value(y, 0.0, 1.0) * LINEAR_STEPS + 0.5, tf.int32)
    return tf.gather(tf.constant(luminance_lightness_table()), index)


def lab_to_uint8(lab):
    """CIELAB float32 ``[..., 3]`` -> sRGB uint8 ``[..., 3]``, clipped to the gamut."""
    index = tf.cast(_lab_to_linear(lab) * LINEAR_STEPS + 0.5, tf.int32)
    return tf.gather(tf.constant(_linear_to_uint8_table()), index)


# CIELAB's f^-1 is continuous at 6/29, so it can be written with max and min instead
# of a select: the same values in fewer passes over a band of pixels.
_F_KNEE = 6.0 / 29.0

# a / 500 and -b / 200: the chroma as CIELAB's f(X) - f(Y) and f(Z) - f(Y) terms
# (``lightness_chroma_to_uint8``). Scaling before upsampling costs nothing at full size.
CHROMA_TO_F = (1.0 / 500.0, -1.0 / 200.0)


def _f_inverse_fast(t):
    knee = tf.maximum(t, _F_KNEE)
    return knee * knee * knee + cielab.KAPPA * tf.minimum(t - _F_KNEE, 0.0)


def lightness_chroma_to_uint8(lightness, chroma_f):
    """L float32 ``[..., 1]`` and ``chroma_f`` float32 ``[..., 2]`` (a and b times
    ``CHROMA_TO_F``) -> sRGB uint8 ``[..., 3]``, as ``lab_to_uint8`` (within one code
    value) with fewer full-size passes: the colorize graph's last step."""
    fy = (lightness + 16.0) / 116.0
    xz = _f_inverse_fast(fy + chroma_f)
    xyz = tf.concat([xz[..., :1], _f_inverse_fast(fy), xz[..., 1:]], axis=-1)
    linear = tf.tensordot(xyz, tf.constant(cielab.WHITE_XYZ_TO_RGB), axes=1)
    index = tf.cast(tf.clip_by_value(linear, 0.0, 1.0) * LINEAR_STEPS + 0.5, tf.int32)
    return tf.gather(tf.constant(_linear_to_uint8_table()), index)
