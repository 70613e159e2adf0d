"""Colour from a reference photograph, measured on pairs of overlapping views (issue 49).

Each pair comes from one colour photograph: the target is a crop of 3/4 of its
short side (its gray copy goes in), the reference another crop of that size
moved by up to a third of it on each axis and scaled 0.85. Each run colours the
target three ways: automatically, from the reference by the naive transfer (each
lightness level takes the reference's mean colour at that level: the floor to
beat) and from the reference by correspondence (``Colorizer.colorize(reference=)``).
A fourth row colours each target from the next pair's reference, another
photograph: where nothing matches, the automatic colour should stay. Each row:
PSNR against the target's truth, its gain over the run's automatic colour, and
the mean chroma error |d(a, b)| in Lab units.

``python -m colorkeras.evaluate --reference-pairs --data skimage`` (or an image
folder, ``--split``).
"""

import logging

import numpy as np
from PIL import Image

from colorkeras.core import lab, store
from colorkeras.core.images import ImageError, check_colour, luma_gray
from colorkeras.evaluation import scoring
from colorkeras.evaluation.options import EvaluateOptions, Report
from colorkeras.serving.inference import Colorizer

log = logging.getLogger(__name__)

SCALE = 0.85  # The reference view's scale.
VIEW = 0.75  # Each view's side, as a share of the photograph's short side.
SHIFT = 1 / 3  # The largest move between the views on each axis, as a share of a view's side.
FIELDS = ("name", "pairs", "psnr", "gain_db", "chroma_error")


def view_pair(image, rng):
    """(target, reference) uint8 RGB views of ``image`` (see the module's text)."""
    height, width = image.shape[:2]
    side = max(8, int(VIEW * min(height, width)))
    top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
    shift = int(side * SHIFT)
    other_top = int(np.clip(top + rng.integers(-shift, shift + 1), 0, height - side))
    other_left = int(np.clip(left + rng.integers(-shift, shift + 1), 0, width - side))
    target = image[top : top + side, left : left + side]
    reference = image[other_top : other_top + side, other_left : other_left + side]
    scaled = max(8, round(side * SCALE))
    return target, np.asarray(Image.fromarray(reference).resize((scaled, scaled), Image.Resampling.LANCZOS))


def pairs(images, seed=0):
    """One ``view_pair`` per photograph, drawn from one generator seeded by ``seed``: the same pairs every time."""
    rng = np.random.default_rng(seed)
    return [view_pair(np.asarray(image)[..., :3], rng) for image in images]


def is_colour(image):
    try:
        check_colour(np.asarray(image)[..., :3])
    except ImageError:
        return False
    return True


def psnr(prediction, truth):
    error = np.mean((prediction.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(error, 1e-10))


def chroma_error(prediction, truth):
    """Mean Euclidean a/b distance (Lab units) between two uint8 RGB images."""
    difference = lab.rgb_to_lab(prediction / 255.0)[..., 1:] - lab.rgb_to_lab(truth / 255.0)[..., 1:]
    return float(np.mean(np.hypot(difference[..., 0], difference[..., 1])))


def naive_transfer(gray, reference):
    """Each lightness level of ``gray`` (uint8 [h, w]) takes the reference's mean a/b at that level (the nearest
    level the reference has), under the gray's own lightness: uint8 RGB."""
    lightness = lab.rgb_to_lab(np.repeat(gray[..., None], 3, -1) / 255.0)[..., 0]
    reference_lab = lab.rgb_to_lab(reference / 255.0)
    levels = np.clip(reference_lab[..., 0].round().astype(int), 0, 100).ravel()
    counts = np.bincount(levels, minlength=101)
    means = np.stack(
        [np.bincount(levels, reference_lab[..., c].ravel(), minlength=101) / np.maximum(counts, 1) for c in (1, 2)],
        axis=-1,
    )
    filled = np.flatnonzero(counts)
    nearest = filled[np.abs(np.arange(101)[:, None] - filled[None, :]).argmin(axis=1)]
    ab = means[nearest][np.clip(lightness.round().astype(int), 0, 100)]
    rgb = lab.linear_to_srgb(lab.lab_to_linear(np.concatenate([lightness[..., None], ab], axis=-1)))
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def score_pairs(colorizer, made):
    """The rows of one run on ``made`` (target, reference) pairs: automatic, naive transfer, reference, and
    (from two pairs up) another photograph's reference: what a reference of an unrelated scene does."""
    scores = {"automatic": [], "naive transfer": [], "reference": []}
    if len(made) > 1:
        scores["another photograph as reference"] = []
    for index, (target, reference) in enumerate(made):
        gray = luma_gray(target)
        results = {
            "automatic": colorizer.colorize(gray),
            "naive transfer": naive_transfer(gray[..., 0], reference),
            "reference": colorizer.colorize(gray, reference=reference),
        }
        if len(made) > 1:
            unrelated = made[(index + 1) % len(made)][1]
            results["another photograph as reference"] = colorizer.colorize(gray, reference=unrelated)
        for way, result in results.items():
            scores[way].append((psnr(result, target), chroma_error(result, target)))
    automatic = np.array(scores["automatic"])[:, 0]
    rows = []
    for way, values in scores.items():
        values = np.array(values)
        rows.append(
            {
                "name": f"{colorizer.name} {way}" if way != "naive transfer" else "naive transfer",
                "pairs": len(values),
                "psnr": float(values[:, 0].mean()),
                "gain_db": float((values[:, 0] - automatic).mean()),
                "chroma_error": float(values[:, 1].mean()),
            }
        )
    return rows


def format_table(rows):
    return scoring.text_table(rows, FIELDS, {"psnr": "{:.2f}", "gain_db": "{:+.2f}", "chroma_error": "{:.2f}"})


def evaluate_reference_pairs(options: EvaluateOptions) -> Report:
    """``python -m colorkeras.evaluate --reference-pairs``: each run named (each must take a reference;
    default: the default run) on one pair of views of every photograph of ``options.data``; prints the table
    and writes ``options.output`` (JSON, and CSV beside it)."""
    scoring.check_limit(options.limit)
    output = scoring.table_output(options)
    names = options.model or [store.resolve_run().name]
    colorizers = [Colorizer(name) for name in names]
    for colorizer in colorizers:
        colorizer.check_takes_reference()
    images, source = scoring.photographs(options, colorizers[0], "--reference-pairs measures")
    made = [(target, reference) for target, reference in pairs(images) if is_colour(reference)]
    if len(made) < len(images):
        log.info(f"Left out {len(images) - len(made)} photograph(s) whose view has no colour to lend (gray)")
    if not made:
        raise ValueError("no colour photograph to make pairs of views from")
    log.info(f"Colouring {len(made)} pairs of views from their references ...")
    rows = []
    for colorizer in colorizers:
        rows += [row for row in score_pairs(colorizer, made) if row["name"] != "naive transfer" or not rows]
    if output:
        record = {
            "data": source,
            "split": None if options.data == "skimage" else options.split,
            "limit": options.limit,
            "pairs": f"views of {VIEW:.0%} of the short side, moved up to {SHIFT:.0%}, the reference scaled {SCALE}",
            "rows": rows,
        }
        scoring.write_table(output, record, FIELDS)
    return Report(rows, source, text=format_table(rows), written=scoring.written(output))
