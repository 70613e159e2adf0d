"""Archive-scan defects: what training and ``evaluate --degrade`` give the models."""

import numpy as np
import pytest
import tensorflow as tf

from colorkeras.core.images import luma_gray
from colorkeras.data import degrade
from colorkeras.data import pipeline as data_lib


@pytest.fixture(scope="module")
def photo_grays():
    from skimage import data

    photos = [data.chelsea()[:96, :96], data.astronaut()[:96, :96], data.coffee()[:96, :96]]
    return luma_gray(np.stack(photos))


def test_defects_are_reproducible_per_image_and_keep_a_gray_uint8_image(photo_grays):
    once = degrade.archive_gray_copies(photo_grays, seed=0)
    assert once.dtype == np.uint8 and once.shape == photo_grays.shape
    assert (once[..., 0] == once[..., 1]).all() and (once[..., 0] == once[..., 2]).all()
    np.testing.assert_array_equal(once, degrade.archive_gray_copies(photo_grays, seed=0))
    # An image gets its own defects whatever batch it is in.
    np.testing.assert_array_equal(once[1:2], degrade.archive_gray_copies(photo_grays[1:2], seed=0))
    changed = [not np.array_equal(a, b) for a, b in zip(once, photo_grays, strict=False)]
    assert any(changed)


def test_each_defect_does_what_its_name_says(photo_grays):
    gray = tf.constant(photo_grays[0][..., :1].astype(np.float32) / 255.0)
    seed = tf.constant([3, 4], tf.int64)
    faded = degrade._fade(gray, seed).numpy()
    assert np.ptp(faded) < np.ptp(gray.numpy())  # less contrast
    blurred = degrade._blur(gray, seed).numpy()
    assert np.abs(np.diff(blurred, axis=1)).mean() < np.abs(np.diff(gray.numpy(), axis=1)).mean()
    assert abs(blurred.mean() - gray.numpy().mean()) < 0.01  # a blur keeps the mean
    grainy = degrade._grain(gray, seed).numpy()
    assert 0.005 < np.std(grainy - gray.numpy()) < 0.08
    jpeg = degrade._jpeg(gray, seed).numpy()
    assert 0 < np.abs(jpeg - gray.numpy()).mean() < 0.05
    scratched = degrade._scratches(gray, seed).numpy()[..., 0]
    changed_columns = (scratched != gray.numpy()[..., 0]).mean(axis=0)
    assert 1 <= (changed_columns > 0.9).sum() <= 3  # whole-height scratches, plus sparse dust


def test_training_pipeline_degrades_the_share_asked_and_keeps_clean_targets(photo_grays):
    from skimage import data

    # One mirror-symmetric 64x64 photo kept at 64 px: every crop and flip is the photo itself.
    half = data.astronaut()[:128:2, :64:2]
    photo = np.concatenate([half, half[:, ::-1]], axis=1)
    colour = np.repeat(photo[None], 16, axis=0)
    clean_l, clean_ab = data_lib.to_example(photo[None], "unet")
    lightness, ab = next(iter(data_lib.make_dataset(colour, 64, 16, "unet", True, seed=0, degrade_share=1.0)))
    np.testing.assert_allclose(ab.numpy(), np.repeat(clean_ab.numpy(), 16, axis=0), atol=1e-3)
    differs = [not np.allclose(one, clean_l.numpy()[0], atol=1e-3) for one in lightness.numpy()]
    assert sum(differs) >= 12  # each of five defects with probability 0.5: 1/32 get none
    assert len({one.tobytes() for one in lightness.numpy()}) >= 12  # each image its own defects
    lightness, _ = next(iter(data_lib.make_dataset(colour, 64, 16, "unet", True, seed=0, degrade_share=0.0)))
    np.testing.assert_allclose(lightness.numpy(), np.repeat(clean_l.numpy(), 16, axis=0), atol=1e-3)


def test_degrade_share_is_checked():
    from colorkeras.core.config import TrainConfig

    with pytest.raises(ValueError, match="degrade"):
        TrainConfig(degrade=1.5).resolve()
