"""Colour from a reference photograph, measured on pairs of overlapping views (issue 49).

Each pair comes from one photograph: the target is a crop of 3/4 of its short
side (its gray copy goes in), the reference another crop of that size moved by up
to a quarter of it on each axis and scaled 0.85. Printed for each setting: the
mean dB over the automatic colour of the same run, and the mean chroma error
|d(a, b)| (Lab units), beside the automatic colour and the naive transfer (each
lightness level takes the reference's mean colour at that level).

    .venv/bin/python scripts/experiments/reference_sweep.py --data ../shared/datasets/places --split validation
    .venv/bin/python scripts/experiments/reference_sweep.py --data ../shared/datasets/places --split test --once

``--split validation`` takes the files training held out for its validation loss
(``pipeline.validation_files``), ``test`` the folder's test files. Settings are
chosen on validation; ``--once`` scores only the shipped settings.
"""

import argparse
import itertools
import time

import numpy as np
from PIL import Image

from colorkeras.core import lab, store
from colorkeras.core.images import luma_gray
from colorkeras.data import pipeline
from colorkeras.serving import reference as reference_lib
from colorkeras.serving.graph import ColorizerModule
from colorkeras.training.exporter import load_networks, serving_settings

SCALE = 0.85


def pairs(paths, count, seed=0):
    """(target uint8 RGB, reference uint8 RGB) pairs, one per photograph, made reproducibly."""
    rng = np.random.default_rng(seed)
    made = []
    for path in paths:
        if len(made) == count:
            break
        image = np.asarray(Image.open(path).convert("RGB"))
        height, width = image.shape[:2]
        side = int(0.75 * min(height, width))
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        shift = side // 3
        ref_top = int(np.clip(top + rng.integers(-shift, shift + 1), 0, height - side))
        ref_left = int(np.clip(left + rng.integers(-shift, shift + 1), 0, width - side))
        target = image[top : top + side, left : left + side]
        reference = image[ref_top : ref_top + side, ref_left : ref_left + side]
        scaled = max(8, round(side * SCALE))
        reference = np.asarray(Image.fromarray(reference).resize((scaled, scaled), Image.LANCZOS))
        made.append((target, reference))
    return made


def psnr(prediction, truth):
    error = np.mean((prediction.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / max(error, 1e-10))


def chroma_error(prediction, truth):
    a = lab.rgb_to_lab(prediction.astype(np.float64) / 255.0)[..., 1:]
    b = lab.rgb_to_lab(truth.astype(np.float64) / 255.0)[..., 1:]
    return float(np.mean(np.sqrt(np.sum((a - b) ** 2, axis=-1))))


def naive_transfer(gray, reference):
    """Each lightness level of ``gray`` takes the reference's mean a/b at that level (nearest filled level)."""
    target_l = lab.rgb_to_lab(np.repeat(gray[..., None], 3, -1).astype(np.float64) / 255.0)[..., 0]
    reference_lab = lab.rgb_to_lab(reference.astype(np.float64) / 255.0)
    levels = np.clip(reference_lab[..., 0].round().astype(int), 0, 100).ravel()
    counts = np.bincount(levels, minlength=101)
    means = np.stack(
        [np.bincount(levels, reference_lab[..., c].ravel(), minlength=101) / np.maximum(counts, 1) for c in (1, 2)], -1
    )
    filled = np.flatnonzero(counts)
    nearest = filled[np.abs(np.arange(101)[:, None] - filled[None, :]).argmin(1)]
    ab = means[nearest][np.clip(target_l.round().astype(int), 0, 100)]
    out = lab.linear_to_srgb(np.clip(lab.lab_to_linear(np.concatenate([target_l[..., None], ab], -1)), 0, 1))
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="run name or folder (default: the default run)")
    parser.add_argument("--data", default="../shared/datasets/places")
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--once", action="store_true", help="only the shipped settings")
    parser.add_argument("--network-only", action="store_true", help="matched colour only through the hint network")
    parser.add_argument("--levels", default=None, help="encoder outputs described, such as 2,3 (default: shipped)")
    parser.add_argument("--grid", default="0.05:3:0.5:8", help="temperatures:weights:thresholds:top-ks, each a,b,...")
    args = parser.parse_args()
    reference_lib.DIRECT = not args.network_only
    if args.levels:
        reference_lib.LEVELS = tuple(int(level) for level in args.levels.split(","))

    folder = args.data
    paths = (
        pipeline.validation_files(folder, 0.1, 0)
        if args.split == "validation"
        else pipeline.folder_split_paths(folder)[1]
    )
    made = pairs(paths, args.pairs)
    run = store.Run(store.resolve_run(args.model))
    model, automatic = load_networks(run)
    module = ColorizerModule(model, serving_settings(run.read_config()), automatic)
    print(
        f"{len(made)} pairs from the {args.split} files of {folder}; run {run.path.name}; levels {reference_lib.LEVELS}"
    )

    automatic_scores, naive_scores = [], []
    for target, reference in made:
        gray = luma_gray(target)[..., 0]
        colour = module.serve(gray[None, ..., None])["colorized"].numpy()[0]
        automatic_scores.append((psnr(colour, target), chroma_error(colour, target)))
        naive = naive_transfer(gray, reference)
        naive_scores.append((psnr(naive, target), chroma_error(naive, target)))
    automatic_scores, naive_scores = np.array(automatic_scores), np.array(naive_scores)
    print(f"automatic: {automatic_scores[:, 0].mean():.2f} dB, chroma error {automatic_scores[:, 1].mean():.2f}")
    gain = (naive_scores[:, 0] - automatic_scores[:, 0]).mean()
    print(f"naive transfer: {gain:+.2f} dB over automatic, chroma error {naive_scores[:, 1].mean():.2f}")

    grid = (
        [(reference_lib.TEMPERATURE, reference_lib.LIGHTNESS_WEIGHT, reference_lib.THRESHOLD, reference_lib.TOP_K)]
        if args.once
        else list(itertools.product(*[[float(v) for v in part.split(",")] for part in args.grid.split(":")]))
    )
    for temperature, weight, threshold, top_k in grid:
        reference_lib.TEMPERATURE, reference_lib.LIGHTNESS_WEIGHT = temperature, weight
        reference_lib.THRESHOLD, reference_lib.TOP_K = threshold, int(top_k)
        started = time.time()
        scores = []
        for target, reference in made:
            gray = luma_gray(target)[..., 0]
            colour = module._colorize_with_reference(gray[None, ..., None], reference[None])["colorized"].numpy()[0]
            scores.append((psnr(colour, target), chroma_error(colour, target)))
        scores = np.array(scores)
        print(
            f"temperature {temperature} lightness weight {weight} threshold {threshold} top-k {top_k}: "
            f"{(scores[:, 0] - automatic_scores[:, 0]).mean():+.2f} dB over automatic, "
            f"chroma error {scores[:, 1].mean():.2f} ({time.time() - started:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
