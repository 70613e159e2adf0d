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
        np.ascontiguousarray(image, dtype=np.float32),
        grid_x + flow[..., 0],
        grid_y + flow[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
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
    bound = (
        alpha * (np.einsum("hwc,hwc->hw", forward, forward) + np.einsum("hwc,hwc->hw", back_at_target, back_at_target))
        + beta
    )
    return ((error <= bound) & inside(forward)).astype(np.float32)


def inside(flow):
    """bool [h, w]: where ``flow`` lands inside the frame."""
    height, width = flow.shape[:2]
    grid_x, grid_y = _grid(height, width)
    target_x, target_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    return (target_x >= 0) & (target_x <= width - 1) & (target_y >= 0) & (target_y <= height - 1)


def luma_histogram(gray, bins=32):
    histogram = np.bincount((np.asarray(gray, np.uint8) // (256 // bins)).ravel(), minlength=bins).astype(np.float64)
    return histogram / max(histogram.sum(), 1.0)


# Scene cuts. Measured at the stabiliser's 240-px flow resolution on the test clips
# (python -m colorkeras.clips) and on every ordered pair of four scikit-image
# photographs histogram-matched to each other (so only their structure differs):
# within a shot (2-px pans, a zoom) the histograms moved by <= 0.03, the flow held
# for >= 96% of pixels and the previous frame warped onto this one within 0.005
# (mean absolute difference, 0-1); across every cut the flow held for <= 12% and
# the residual was >= 0.10. The thresholds sit between, far from both.
CUT_HISTOGRAM = 0.5  # L1 distance of the 32-bin luma histograms (0 to 2).
CUT_RELIABLE_SHARE = 0.5  # Share of pixels whose flow passes the forward-backward check.
CUT_RESIDUAL = 0.06  # Mean |previous frame warped onto this one - this one|, gray in [0, 1].


def is_cut(previous_gray, gray, backward=None, forward=None):
    """Whether uint8 gray frame ``gray`` starts a new scene after ``previous_gray``.

    A jump in the luma histogram is a cut; so is a frame the previous one cannot
    be warped onto (a cut between two scenes of the same tones, whose histograms
    hardly differ): the optical flow fails its forward-backward check on most
    pixels, or the warped frame does not match. ``backward`` (this frame -> the
    previous) and ``forward`` flows may be given where they are computed anyway;
    otherwise they are computed here at the stabiliser's resolution.
    """
    if float(np.abs(luma_histogram(previous_gray) - luma_histogram(gray)).sum()) > CUT_HISTOGRAM:
        return True
    if backward is None or forward is None:
        previous_gray, gray = shrink(previous_gray), shrink(gray)
        estimator = FlowEstimator("fast")
        backward, forward = estimator(gray, previous_gray), estimator(previous_gray, gray)
    if float(reliable(backward, forward).mean()) < CUT_RELIABLE_SHARE:
        return True
    warped = warp(np.asarray(previous_gray, np.float32)[..., None], backward)[..., 0]
    return float(np.abs(warped - np.asarray(gray, np.float32)).mean()) / 255.0 > CUT_RESIDUAL


FLOW_SHORT_SIDE = 240  # The stabiliser's working resolution: chroma is smooth, but a coarser flow misplaces it.


def shrink(image, short_side=FLOW_SHORT_SIDE):
    """``image`` resized (area) so that its short side is at most ``short_side``."""
    height, width = image.shape[:2]
    scale = min(1.0, short_side / min(height, width))
    if scale == 1.0:
        return image
    return cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    )
