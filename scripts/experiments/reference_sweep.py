"""Colour from a reference photograph, measured on pairs of overlapping views (issue 49).

The pairs are ``evaluation.references``'s (``evaluate --reference-pairs``), made in
this process so that the settings of ``serving.reference`` can change between runs.
Printed for each setting: the mean dB over the automatic colour of the same run, and the mean chroma error
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

from colorkeras.core import store
from colorkeras.core.images import luma_gray
from colorkeras.data import pipeline
from colorkeras.evaluation.references import chroma_error, naive_transfer, pairs, psnr
from colorkeras.serving import reference as reference_lib
from colorkeras.serving.graph import ColorizerModule
from colorkeras.training.exporter import load_networks, serving_settings


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
    made = pairs([np.asarray(Image.open(path).convert("RGB")) for path in paths[: args.pairs]])
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
