"""CIELAB (D65) and sRGB, written once for every array library that colorizes or trains.

Each conversion takes its array namespace ``xp``: ``keras.ops`` inside the
TensorFlow graphs (the tf.data pipelines, the SavedModel, TFLite: ``models.color``
passes it) and on JAX in the portable trainer, ``numpy`` where plain arrays do
(the portable trainer's data pack, the gamut test). The namespaces share the
names used here (``where``, ``maximum``, ``power``, ``tensordot``, ``stack``,
``clip``), so the formulas and their constants exist once. No TensorFlow here.

Ranges: sRGB in [0, 1]; L in [0, 100], a and b in about [-110, 110].
"""

import numpy as np

# D65 reference white, and the linear-sRGB to XYZ matrix (IEC 61966-2-1).
WHITE = (0.95047, 1.0, 1.08883)
RGB_TO_XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    dtype=np.float64,
)
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
EPSILON = (6.0 / 29.0) ** 3
KAPPA = 3.0 * (6.0 / 29.0) ** 2

# The matrices as the float32 graphs apply them: linear sRGB -> XYZ / white, and back.
RGB_TO_WHITE_XYZ = (RGB_TO_XYZ / np.array(WHITE)[:, None]).T.astype(np.float32)
WHITE_XYZ_TO_RGB = (XYZ_TO_RGB * np.array(WHITE)[None, :]).T.astype(np.float32)
LUMINANCE = RGB_TO_XYZ[1].astype(np.float32)  # Y of linear sRGB.


def srgb_to_linear(rgb, xp=np):
    return xp.where(rgb <= 0.04045, rgb / 12.92, xp.power((xp.maximum(rgb, 0.04045) + 0.055) / 1.055, 2.4))


def linear_to_srgb(linear, xp=np):
    linear = xp.clip(linear, 0.0, 1.0)
    return xp.where(
        linear <= 0.0031308, linear * 12.92, 1.055 * xp.power(xp.maximum(linear, 0.0031308), 1.0 / 2.4) - 0.055
    )


def f(t, xp=np):
    """CIELAB's companding function of X/Xn, Y/Yn, Z/Zn."""
    return xp.where(t > EPSILON, xp.power(xp.maximum(t, EPSILON), 1.0 / 3.0), t / KAPPA + 4.0 / 29.0)


def f_inverse(t, xp=np):
    return xp.where(t > 6.0 / 29.0, t * t * t, KAPPA * (t - 4.0 / 29.0))


def linear_to_lab(linear, xp=np):
    """Linear sRGB ``[..., 3]`` -> CIELAB ``[..., 3]``."""
    companded = f(xp.tensordot(linear, RGB_TO_WHITE_XYZ, 1), xp)
    fx, fy, fz = companded[..., 0], companded[..., 1], companded[..., 2]
    return xp.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def rgb_to_lab(rgb, xp=np):
    """sRGB ``[..., 3]`` in [0, 1] -> CIELAB ``[..., 3]``."""
    return linear_to_lab(srgb_to_linear(rgb, xp), xp)


def lab_to_linear(lab, xp=np):
    """CIELAB ``[..., 3]`` -> linear sRGB ``[..., 3]``, clipped to [0, 1]."""
    fy = (lab[..., 0] + 16.0) / 116.0
    xyz = f_inverse(xp.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1), xp)
    return xp.clip(xp.tensordot(xyz, WHITE_XYZ_TO_RGB, 1), 0.0, 1.0)
