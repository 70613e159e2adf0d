"""Evaluation: score colorizers beside the baselines, ``python -m colorkeras.evaluate``.

Every model colorizes the BT.601 gray copy of each colour image through the same
path users get (``inference.Colorizer``, the run's SavedModel); the gray copy
itself is scored as the first baseline.
"""

import numpy as np

from colorkeras import color
from colorkeras.metrics import MetricAccumulator

GRAY_COPY = "gray copy"


def score_arrays(colorizer, images, name=None, batch_size=256, progress=None):
    """Scores ``colorizer`` on uint8 RGB images ``[n, h, w, 3]`` (one size); returns a row."""
    accumulator = MetricAccumulator(name or colorizer.name)
    for start in range(0, len(images), batch_size):
        truth = images[start : start + batch_size]
        accumulator.update_batch(colorizer.colorize_batch(color.luma_gray(truth)), truth)
        if progress:
            progress(min(start + batch_size, len(images)), len(images))
    return accumulator.result()


def score_gray_copy(images):
    accumulator = MetricAccumulator(GRAY_COPY)
    accumulator.update_batch(color.luma_gray(images), images)
    return accumulator.result()


def sample_grid(colorizer, images, scale=4):
    """A uint8 picture: one column per image, rows gray / colorized / truth."""
    gray = color.luma_gray(images)
    colour = colorizer.colorize_batch(gray)
    rows = [np.concatenate(list(row), axis=1) for row in (gray, colour, images)]
    grid = np.concatenate(rows, axis=0)
    return np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1) if scale > 1 else grid


def write_samples(colorizer, images, path):
    import os

    from PIL import Image

    temporary = f"{path}.tmp.png"
    Image.fromarray(sample_grid(colorizer, images)).save(temporary)
    os.replace(temporary, path)
