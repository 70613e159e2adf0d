"""Image-quality metrics for colorization, on uint8 RGB images (range 0-255).

- MSE over every pixel and channel; PSNR pooled over the whole set,
  ``10 * log10(255**2 / MSE)`` (the headline; a mean of per-image PSNR is also
  kept, with images whose error is 0 left out, as ``psnr_mean``).
- SSIM: scikit-image ``structural_similarity(channel_axis=-1, data_range=255)``,
  mean over images.
- Colourfulness: Hasler & Suesstrunk (2003), mean over images; and its gap to the
  ground truth's (prediction minus truth: negative means duller).
- AuC: Zhang et al. (2016): the share of pixels whose a/b error is within a
  threshold, averaged over thresholds 0, 1, ..., 150 (Lab units), in [0, 1].
- Warping error (film): Lai et al. (ECCV 2018), ``WarpingError``: flow computed
  on the input frames, a non-occlusion mask from a forward-backward check, and the
  mean squared difference (RGB in [0, 1]) between output frame t and output frame
  t+1 warped to t, over the mask; the mean over frame pairs, times 1000 as in
  their tables.
"""

import math

import numpy as np
from skimage.metrics import structural_similarity

from colorkeras.models import color
from colorkeras.video.flow import FlowEstimator, reliable, warp

AUC_THRESHOLDS = np.arange(0, 151, dtype=np.float64)


def colorfulness(rgb_uint8):
    """Hasler & Suesstrunk (2003) colourfulness of one uint8 RGB image."""
    rgb = np.asarray(rgb_uint8, dtype=np.float64)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    spread = math.sqrt(rg.std() ** 2 + yb.std() ** 2)
    mean = math.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return spread + 0.3 * mean


def ssim(prediction, truth):
    """SSIM of two uint8 RGB images; the window shrinks for images under 7 px.

    Below 3 px a sample covariance is undefined, so the population one is used.
    """
    window = min(7, *prediction.shape[:2])
    window -= 1 - window % 2  # Odd, as scikit-image requires.
    return float(
        structural_similarity(
            prediction, truth, channel_axis=-1, data_range=255, win_size=window, use_sample_covariance=window > 1
        )
    )


def ab_error_histogram(prediction, truth):
    """Counts of pixels by a/b error, in the bins of ``AUC_THRESHOLDS`` (last: > 150).

    Takes uint8 RGB arrays of any matching shape ``[..., 3]``.
    """

    lab_prediction = color.rgb_to_lab(np.asarray(prediction, np.float32) / 255.0).numpy()
    lab_truth = color.rgb_to_lab(np.asarray(truth, np.float32) / 255.0).numpy()
    error = np.sqrt(np.sum((lab_prediction[..., 1:] - lab_truth[..., 1:]) ** 2, axis=-1))
    index = np.minimum(np.ceil(error).astype(np.int64), len(AUC_THRESHOLDS))
    return np.bincount(index.ravel(), minlength=len(AUC_THRESHOLDS) + 1)


def auc_from_histogram(histogram):
    """Share of pixels within each threshold, averaged over the thresholds."""
    cumulative = np.cumsum(histogram)[: len(AUC_THRESHOLDS)]
    return float(np.mean(cumulative / max(histogram.sum(), 1)))


class MetricAccumulator:
    """Accumulates every metric above over (prediction, truth) pairs of any size."""

    def __init__(self, name):
        self.name = name
        self.count = 0
        self.squared_error = 0.0
        self.values = 0
        self.psnrs = []
        self.ssims = []
        self.colorfulness = []
        self.truth_colorfulness = []
        self.histogram = np.zeros(len(AUC_THRESHOLDS) + 1, np.int64)

    def update(self, prediction, truth):
        """Adds one pair of uint8 RGB images ``[h, w, 3]`` of the same shape."""
        self.update_batch(np.asarray(prediction)[None], np.asarray(truth)[None])

    def update_batch(self, predictions, truths):
        """Adds pairs of uint8 RGB images ``[n, h, w, 3]`` (one size within a batch)."""
        predictions, truths = np.asarray(predictions), np.asarray(truths)
        if predictions.shape != truths.shape:
            raise ValueError(f"predictions {predictions.shape} and truths {truths.shape} differ in shape")
        errors = np.sum((predictions.astype(np.float64) - truths.astype(np.float64)) ** 2, axis=(1, 2, 3))
        values_per_image = predictions[0].size
        self.count += len(predictions)
        self.squared_error += float(errors.sum())
        self.values += values_per_image * len(predictions)
        self.psnrs += [10.0 * math.log10(255.0**2 / (e / values_per_image)) for e in errors if e > 0]
        self.ssims += [ssim(p, t) for p, t in zip(predictions, truths, strict=False)]
        self.colorfulness += [colorfulness(p) for p in predictions]
        self.truth_colorfulness += [colorfulness(t) for t in truths]
        self.histogram += ab_error_histogram(predictions, truths)

    def merge(self, other):
        """Adds everything ``other`` accumulated."""
        self.count += other.count
        self.squared_error += other.squared_error
        self.values += other.values
        self.psnrs += other.psnrs
        self.ssims += other.ssims
        self.colorfulness += other.colorfulness
        self.truth_colorfulness += other.truth_colorfulness
        self.histogram += other.histogram

    def result(self):
        """One row: name, n, mse, psnr, psnr_mean, ssim, colorfulness, colorfulness_gap,
        truth_colorfulness, auc."""
        if self.count == 0:
            raise ValueError(f"no images were scored for {self.name!r}")
        mse = self.squared_error / self.values
        truth = float(np.mean(self.truth_colorfulness))
        model = float(np.mean(self.colorfulness))
        return {
            "name": self.name,
            "n": self.count,
            "mse": mse,
            "psnr": 10.0 * math.log10(255.0**2 / mse) if mse > 0 else float("inf"),
            "psnr_mean": float(np.mean(self.psnrs)) if self.psnrs else float("inf"),
            "ssim": float(np.mean(self.ssims)),
            "colorfulness": model,
            "colorfulness_gap": model - truth,
            "truth_colorfulness": truth,
            "auc": auc_from_histogram(self.histogram),
        }


class WarpingError:
    """Lai et al.'s warping error of a colorized film, fed frame by frame.

    ``add(input_gray, output_rgb)`` with uint8 frames in order; ``start_shot()``
    at a cut (no pair across it). Flow is computed at full resolution, as Lai et
    al. do (a coarser flow misaligns fine texture, and the error of the truth
    itself rises).
    """

    def __init__(self):
        self.flow = FlowEstimator()
        self.previous = None
        self.values = []

    def start_shot(self):
        self.previous = None

    def add(self, input_gray, output_rgb):
        gray = np.asarray(input_gray)
        output = np.asarray(output_rgb[..., :3], np.float32) / 255.0
        if self.previous is not None:
            previous_gray, previous_output = self.previous
            forward = self.flow(previous_gray, gray)  # t -> t+1, on the input
            mask = reliable(forward, self.flow(gray, previous_gray))
            warped = warp(output, forward)
            squared = np.sum((previous_output - warped) ** 2, axis=-1) / 3.0
            if mask.sum() > 0:
                self.values.append(float((squared * mask).sum() / mask.sum()))
        self.previous = (gray, output)

    def result(self):
        """Mean over frame pairs, x 1000 (None without a pair)."""
        return 1000.0 * float(np.mean(self.values)) if self.values else None
