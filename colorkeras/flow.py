"""Optical flow between gray frames (OpenCV's DIS), for film: what the stabiliser
and the warping error (Lai et al., ECCV 2018) need from it.

Convention: ``flow(a, b)`` is the flow from frame ``a`` to frame ``b``:
``a(x) ~ b(x + flow(x))``, so ``warp(b, flow(a, b))`` brings ``b`` onto ``a``.
"""

import functools

import cv2
import numpy as np

PRESETS = {"fast": cv2.DISOPTICAL_FLOW_PRESET_FAST, "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


class FlowEstimator:
    """DIS optical flow on uint8 gray frames of one size.

    ``preset`` "medium" (the warping error's: 14 ms at 320x240 on this machine's
    cores) or "fast" (the film stabiliser's: 4 ms; its flow only carries smooth
    chroma). One object per thread: OpenCV's are not shared.
    """

    def __init__(self, preset="medium"):
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])

    def __call__(self, a, b):
        return self._dis.calc(np.ascontiguousarray(a), np.ascontiguousarray(b), None)


@functools.lru_cache(maxsize=8)
def _grid(height, width):
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid_x.setflags(write=False)
    grid_y.setflags(write=False)
    return grid_x, grid_y


def warp(image, flow):
    """``image`` [h, w, c] sampled at ``x + flow(x)`` (bilinear, edges replicated)."""
    grid_x, grid_y = _grid(*flow.shape[:2])
    return cv2.remap(
        np.ascontiguousarray(image, dtype=np.float32), grid_x + flow[..., 0], grid_y + flow[..., 1],
        interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    ).reshape(image.shape)


def reliable(forward, backward, alpha=0.01, beta=0.5):
    """float32 [h, w] mask, 1 where ``forward`` (a -> b) is confirmed by ``backward``
    (b -> a): the round trip returns within ``alpha`` of the squared motion plus
    ``beta`` pixels squared (Sundaram et al. 2010), and lands inside the frame.
    Occluded and disoccluded pixels fail it."""
    height, width = forward.shape[:2]
    back_at_target = warp(backward, forward)
    round_trip = forward + back_at_target
    error = np.einsum("hwc,hwc->hw", round_trip, round_trip)
    bound = alpha * (np.einsum("hwc,hwc->hw", forward, forward) + np.einsum("hwc,hwc->hw", back_at_target, back_at_target)) + beta
    grid_x, grid_y = _grid(height, width)
    target_x, target_y = grid_x + forward[..., 0], grid_y + forward[..., 1]
    inside = (target_x >= 0) & (target_x <= width - 1) & (target_y >= 0) & (target_y <= height - 1)
    return ((error <= bound) & inside).astype(np.float32)


def luma_histogram(gray, bins=32):
    histogram = np.bincount((np.asarray(gray, np.uint8) // (256 // bins)).ravel(), minlength=bins).astype(np.float64)
    return histogram / max(histogram.sum(), 1.0)


def is_cut(previous_gray, gray, threshold=0.5):
    """A scene cut: the luma histograms differ by more than ``threshold`` in L1
    (0: the same distribution, 2: disjoint). Camera motion within a shot moves it
    by well under 0.3; a cut to another scene by more."""
    return float(np.abs(luma_histogram(previous_gray) - luma_histogram(gray)).sum()) > threshold
