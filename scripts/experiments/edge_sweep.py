"""Hints that stop at edges (issue 49): locality and the gain of ten hints for settings of ``serving.edges``.

For each setting (spatial cost, edge cost, reach, lightness threshold, smoothing; ``--grid`` takes
lists of each), on photographs of one split: the locality of
one hint per region (``evaluation.leakage``: Felzenszwalb regions of the truth,
one hint at each region's most interior pixel; locality = inside / (inside +
band), the chroma change inside the region against the change in the band around
it) and the dB that ten revealed hints add over the automatic colour. The network runs once
per image and hint set; each setting costs only the fade.

    .venv/bin/python scripts/experiments/edge_sweep.py --images 60 --grid "0:1:3,4:1.5:1"
    .venv/bin/python scripts/experiments/edge_sweep.py --data ../shared/datasets/places --split test --once
    .venv/bin/python scripts/experiments/edge_sweep.py --once --weights ../runs/epoch-1.weights.npz  # another network
"""

import argparse
import itertools

import numpy as np
from PIL import Image

from colorkeras.core import store
from colorkeras.data import pipeline
from colorkeras.evaluation import leakage, scoring
from colorkeras.serving import edges
from colorkeras.serving.graph import ColorizerModule
from colorkeras.training.exporter import load_networks, serving_settings
from colorkeras.training.portable import read_weights


class InProcess:
    """A run's serving graph built in this process (not loaded), called eagerly, so the settings of
    ``serving.edges`` can change between calls; the part of ``Colorizer`` the measures use."""

    def __init__(self, model=None):
        run = store.Run(store.resolve_run(model))
        network, automatic = load_networks(run)
        self.module = ColorizerModule(network, serving_settings(run.read_config()), automatic)
        self.name = run.path.name
        self.hint_saturation = self.module.hint_saturation
        # The network's outputs depend on the image and the hints alone, not on the edge
        # settings: kept per input, so each further setting costs only the fade.
        predict, cache = self.module._predict_from, {}

        def memoized(lightness, render_size, points=None, colors=None):
            key = tuple(
                None if value is None else np.asarray(value).tobytes()
                for value in (lightness, render_size, points, colors)
            )
            if key not in cache:
                cache[key] = predict(lightness, render_size, points, colors)
            return cache[key]

        self.module._predict_from = memoized

    def colorize_batch(self, images, render_size=None, saturation=None, points=None, colors=None):
        module = self.module
        size, default_saturation, temperature, prior_weight = module._defaults()
        if render_size is not None:
            size = np.int32(render_size)
        if points is None:
            saturation = default_saturation if saturation is None else np.float32(saturation)
            return module._colorize(images, size, saturation, temperature, prior_weight).numpy()
        saturation = np.float32(self.hint_saturation if saturation is None else saturation)
        points, colors = np.asarray(points, np.int32), np.asarray(colors, np.uint8)
        return module._colorize(images, size, saturation, temperature, prior_weight, points, colors).numpy()


def load(folder, split, count):
    if split == "validation":
        paths = pipeline.validation_files(folder, 0.1, 0)
    else:
        paths = pipeline.folder_split_paths(folder)[1]
    return np.stack([np.asarray(Image.open(path).convert("RGB")) for path in paths[:count]])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--data", default="../shared/datasets/places")
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--once", action="store_true", help="only the shipped settings (and without)")
    parser.add_argument(
        "--weights", help="a .weights.npz of the run's network (a training's checkpoint) to measure in its place"
    )
    parser.add_argument(
        "--grid",
        default="0:1:5,10,20,40:2:1",
        help="spatial costs:edge costs:reaches:thresholds:smoothings",
    )
    parser.add_argument(
        "--fade-median", action="store_true", help="fade the hints' median change too (as before session 27)"
    )
    args = parser.parse_args()
    edges.KEEP_MEDIAN = not args.fade_median
    images = load(args.data, args.split, args.images)
    colorizer = InProcess(args.model)
    if args.weights:
        colorizer.module.keras_model.set_weights(read_weights(args.weights))
        colorizer.name += f" with {args.weights}"
    print(f"{len(images)} images of the {args.split} split of {args.data}; run {colorizer.name}")
    automatic = scoring.score_arrays(colorizer, images, batch_size=32)["psnr"]
    grid = [[float(v) for v in part.split(",")] for part in args.grid.split(":")]
    shipped = (edges.SPATIAL_COST, edges.EDGE_COST, edges.REACH, edges.THRESHOLD, edges.SMOOTHING)
    settings = [(None,) * 5] + ([shipped] if args.once else list(itertools.product(*grid)))
    for spatial, cost, reach, threshold, smoothing in settings:
        edges.ENABLED = cost is not None
        if cost is not None:
            edges.SPATIAL_COST, edges.EDGE_COST, edges.REACH = spatial, cost, reach
            edges.THRESHOLD, edges.SMOOTHING = threshold, int(smoothing)
        rows = []
        for image in images:
            rows += leakage.measure_image(colorizer, image, 3)
        row = leakage.summarize(colorizer.name, rows)
        locality = row["inside"] / (row["inside"] + row["band"])
        ten = scoring.score_arrays(colorizer, images, batch_size=32, inputs=scoring.Inputs(10))["psnr"]
        label = (
            "network alone"
            if cost is None
            else f"spatial cost {spatial:g}, edge cost {cost:g}, reach {reach:g}, threshold {threshold:g}, "
            f"smoothing {smoothing:g}"
        )
        print(
            f"{label}: locality {locality:.3f} (inside {row['inside']:.2f}, band {row['band']:.2f}, "
            f"{row['regions']} regions); ten hints {ten - automatic:+.2f} dB over automatic "
            f"({ten:.2f} against {automatic:.2f} dB: the gain depends on the run's saturation without hints)",
            flush=True,
        )


if __name__ == "__main__":
    main()
