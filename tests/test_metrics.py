import math

import numpy as np
import pytest

from colorkeras.evaluation import metrics


def test_mse_and_pooled_psnr_by_hand():
    truth = np.zeros((2, 4, 4, 3), np.uint8)
    prediction = truth.copy()
    prediction[0] = 10  # Image 0: every value off by 10, squared error 100.
    accumulator = metrics.MetricAccumulator("m")
    accumulator.update_batch(prediction, truth)
    row = accumulator.result()
    assert row["n"] == 2
    assert row["mse"] == pytest.approx(50.0)  # Half the values are off by 10.
    assert row["psnr"] == pytest.approx(10 * math.log10(255**2 / 50.0))
    # The per-image mean leaves out the perfect image instead of averaging in infinity.
    assert row["psnr_mean"] == pytest.approx(10 * math.log10(255**2 / 100.0))


def test_colorfulness_by_hand():
    # Half the pixels pure red, half black: rg = (255, 0), yb = (127.5, 0).
    image = np.zeros((2, 2, 3), np.uint8)
    image[0, :, 0] = 255
    spread = math.sqrt(127.5**2 + 63.75**2)
    mean = math.sqrt(127.5**2 + 63.75**2)
    assert metrics.colorfulness(image) == pytest.approx(spread + 0.3 * mean)
    assert metrics.colorfulness(np.full((3, 3, 3), 77, np.uint8)) == 0.0


def test_ssim_is_one_for_identical_images_and_lower_otherwise():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert metrics.ssim(image, image) == pytest.approx(1.0)
    noisy = np.clip(image.astype(int) + rng.integers(-40, 40, image.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(noisy, image) < 0.99


def test_auc_by_hand():
    # Gray against pure colour: the a/b error is the colour's chroma, a known value.
    from skimage import color as skcolor

    truth = np.zeros((1, 1, 3), np.uint8)
    truth[..., 1] = 255  # Pure green.
    prediction = np.full((1, 1, 3), 0, np.uint8)
    chroma = np.hypot(*skcolor.rgb2lab(truth / 255.0)[0, 0, 1:])
    histogram = metrics.ab_error_histogram(prediction, truth)
    # Thresholds 0..150 within which the error falls: those >= ceil(chroma).
    expected = np.mean(np.arange(151) >= math.ceil(chroma))
    assert metrics.auc_from_histogram(histogram) == pytest.approx(expected)
    assert metrics.auc_from_histogram(metrics.ab_error_histogram(truth, truth)) == 1.0


def test_colorfulness_gap_is_prediction_minus_truth():
    truth = np.zeros((1, 2, 2, 3), np.uint8)
    truth[0, 0, :, 0] = 255
    gray = np.zeros_like(truth)
    accumulator = metrics.MetricAccumulator("gray")
    accumulator.update_batch(gray, truth)
    row = accumulator.result()
    assert row["colorfulness"] == 0.0
    assert row["colorfulness_gap"] == pytest.approx(-metrics.colorfulness(truth[0]))


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.MetricAccumulator("x").update(np.zeros((2, 2, 3), np.uint8), np.zeros((3, 2, 3), np.uint8))
