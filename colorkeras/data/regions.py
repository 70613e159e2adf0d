"""Regions of a photograph bounded by its edges, and training hints that recolour one.

``regions`` finds the object-sized segments of a colour photograph (Felzenszwalb's
graph segmentation, a stand-in for human-drawn outlines): the leakage measure
(``evaluation.leakage``) puts one hint in each and asks how far its colour spreads
past the edge. ``recolour_regions`` turns the same segments into a training
signal for hint networks (issue 27): for a share of the training samples one
segment of the target is given another colour and a hint in that colour is put
inside it, so the target says "this whole region, and nothing outside it".
With hints in true colours alone, a point's neighbours across an edge are often
of a similar colour too, and the network learns a round glow.
"""

import numpy as np
from scipy import ndimage
from skimage.segmentation import felzenszwalb

from colorkeras.core import lab
from colorkeras.core.constants import AB_SCALE

SEGMENT_SCALE = 300.0  # Felzenszwalb's scale: larger merges more (object-sized regions at 128 px).
MIN_AREA, MAX_AREA = 0.02, 0.30  # A region's share of the image.
MIN_DEPTH = 3  # Pixels from the hint to the region's edge, so the hint patch lies inside it.
# Recoloured training regions: chroma of the new colour (a/b units), uniform in this range, any hue.
RECOLOUR_CHROMA = (20.0, 60.0)


def segment_labels(truth, scale=SEGMENT_SCALE):
    """Felzenszwalb's segments of ``truth`` uint8 RGB [H, W, 3]: a label per pixel [H, W]
    (none smaller than 1% of the image, so at most 100 on images of 100 pixels or more)."""
    height, width = truth.shape[:2]
    return felzenszwalb(truth, scale=scale, sigma=0.8, min_size=max(1, int(0.01 * height * width)))


def _depth(mask):
    """Each pixel's distance to the nearest pixel outside ``mask`` (the image border counts as outside)."""
    return ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]


def _sized_labels(labels, min_area=MIN_AREA, max_area=MAX_AREA):
    """The labels of ``labels`` [H, W] whose segment holds ``min_area``-``max_area`` of the pixels, in order."""
    areas = np.bincount(labels.ravel()) / labels.size
    return np.flatnonzero((areas >= min_area) & (areas <= max_area))


def segment_depths(truth, scale=SEGMENT_SCALE, min_area=MIN_AREA, max_area=MAX_AREA):
    """Segments of ``truth`` uint8 RGB [H, W, 3] with ``min_area``-``max_area`` of the
    pixels, as (mask [H, W] bool, depth [H, W] float) pairs: depth is each pixel's
    distance to the nearest pixel outside the segment (the image border counts as outside)."""
    labels = segment_labels(truth, scale)
    return [(labels == label, _depth(labels == label)) for label in _sized_labels(labels, min_area, max_area)]


def regions(truth, per_image=3, scale=SEGMENT_SCALE):
    """Up to ``per_image`` regions of ``truth`` uint8 RGB [H, W, 3]: boolean masks
    [H, W] of segments with ``MIN_AREA``-``MAX_AREA`` of the pixels whose most
    interior pixel lies at least ``MIN_DEPTH`` pixels from their edge, deepest
    first (the most unambiguous places to click). Returns (masks, points) with
    points (y, x), the most interior pixel of each."""
    chosen = []
    for index, (mask, depth) in enumerate(segment_depths(truth, scale)):
        y, x = np.unravel_index(int(depth.argmax()), depth.shape)
        if depth[y, x] >= MIN_DEPTH:
            chosen.append((float(depth[y, x]), index, mask, (int(y), int(x))))
    chosen.sort(key=lambda item: (-item[0], item[1]))
    chosen = chosen[:per_image]
    return [item[2] for item in chosen], [item[3] for item in chosen]


def recolour_regions(rng, lightness, ab, points, radii, share, labels=None):
    """Training batches with one recoloured region in ``share`` of the samples.

    ``lightness`` [B, H, W, 1] (L / 100) and ``ab`` [B, H, W, 2] (a/b units) are a
    batch of training crops; ``points`` [B, K, 2] (y, x; -1 = padding) and ``radii``
    [B, K] the simulated hint places (``hints.sample_points``). For each chosen
    sample, one segment of the crop drawn at random among those of ``MIN_AREA``-
    ``MAX_AREA`` deep enough for the hint's patch gets its a/b moved so that its
    mean becomes a random colour (any hue, chroma in ``RECOLOUR_CHROMA``; its own
    variation kept), and the first hint place moves to a random pixel of it deep
    enough for its patch, so that hint carries the new colour (the hint trainer
    paints each place in the target's colour there). The segments are the crop's
    own (``segment_labels`` of its true colour), or ``labels`` [B, H, W] where the
    caller has them already (the portable trainer segments its pack once, and
    crops the label maps with the images). Samples without a usable segment stay
    as they are. Returns new (ab, points, radii); the inputs are not changed.
    """
    ab, points, radii = np.array(ab, np.float32), np.array(points, np.int32), np.array(radii, np.int32)
    for index in np.flatnonzero(rng.random(len(ab)) < share):
        radius = int(rng.integers(0, 2))
        if labels is None:
            truth_lab = np.concatenate([lightness[index] * 100.0, ab[index]], axis=-1).astype(np.float64)
            truth = np.rint(lab.linear_to_srgb(lab.lab_to_linear(truth_lab, np), np) * 255.0).astype(np.uint8)
            segments = segment_labels(truth)
        else:
            segments = labels[index]
        # Drawn in a random order, the first deep enough: a uniform draw among the
        # usable ones, with the distance transform of only those tried.
        for label in rng.permutation(_sized_labels(segments)):
            mask = segments == label
            depth = _depth(mask)
            if depth.max() > radius + 1:
                break
        else:
            continue
        hue = rng.uniform(0.0, 2.0 * np.pi)
        chroma = rng.uniform(*RECOLOUR_CHROMA)
        colour = chroma * np.array([np.cos(hue), np.sin(hue)], np.float32)
        region = ab[index][mask]
        ab[index][mask] = np.clip(region - region.mean(axis=0) + colour, -AB_SCALE, AB_SCALE)
        ys, xs = np.nonzero(depth > radius + 1)
        pick = int(rng.integers(len(ys)))
        points[index, 0] = (ys[pick], xs[pick])
        radii[index, 0] = radius
    return ab, points, radii
