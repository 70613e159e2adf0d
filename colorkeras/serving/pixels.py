"""The Python API's full-resolution pixel work, on the CPU with OpenCV.

The SavedModel's graph makes an image's lightness, upsamples the predicted chroma and
joins the two (``serving.graph``), so that TensorFlow Serving needs nothing else. The
Python API (``Colorizer``) calls the graph only from lightness to chroma (its
``chroma`` signatures) and does the two full-resolution ends here: OpenCV's
multithreaded SIMD loops make each pixel once, where the graph's elementwise ops
stream every intermediate through memory (a 4000x3000 scan's join took 590 ms in the
graph, 200 here). Both ends give the graph's result within one code value: the same
lightness tables, the same half-pixel bilinear upsampling, and OpenCV's CIELAB (D65)
conversion, which agrees with ``models.color.lab_to_uint8`` within one code value.
"""

from __future__ import annotations

import cv2
import numpy as np

from colorkeras.models import color

_GRAY_LIGHTNESS = color.uint8_gray_lightness_table()
_LINEAR = color.srgb_to_linear_table()
_LUMINANCE_LIGHTNESS = color.luminance_lightness_table()
_LUMINANCE = np.asarray(color.cielab.LUMINANCE, np.float32).reshape(1, 3)


def lightness(image: np.ndarray) -> np.ndarray:
    """uint8 ``[h, w, 1|3]`` -> CIELAB L float32 ``[h, w]``, as the graph's ``_lightness``: a gray
    image (or an RGB one whose channels are equal) by an exact table, colour by its luminance."""
    image = np.ascontiguousarray(image)
    if image.shape[-1] == 1:
        return cv2.LUT(image[..., 0], _GRAY_LIGHTNESS)
    red, green, blue = cv2.split(image)
    if not (cv2.absdiff(red, green).any() or cv2.absdiff(green, blue).any()):
        return cv2.LUT(red, _GRAY_LIGHTNESS)
    linear = cv2.LUT(image, _LINEAR)
    luminance = cv2.transform(linear, _LUMINANCE)
    np.clip(luminance, 0.0, 1.0, out=luminance)
    index = (luminance * color.LINEAR_STEPS + 0.5).astype(np.int32)
    return _LUMINANCE_LIGHTNESS[index]


def compose(lightness_: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """L float32 ``[H, W]`` and a/b float32 ``[h, w, 2]`` -> uint8 RGB ``[H, W, 3]``: the chroma
    upsampled (bilinear, half-pixel centres, as ``tf.image.resize``) and the pair converted."""
    height, width = lightness_.shape
    ab = cv2.resize(np.ascontiguousarray(chroma, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    lab = cv2.merge([np.ascontiguousarray(lightness_, np.float32), ab])
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)  # float32 in [0, 1]: OpenCV clips to the gamut.
    return cv2.convertScaleAbs(rgb, alpha=255.0)  # Rounded, and >= 0 already, so the absolute value is a no-op.
