"""Evaluation: score colorizers beside the baselines, ``python -m colorkeras.evaluate``.

Every model colorizes the BT.601 gray copy of each colour image through the same
path users get (``inference.Colorizer``, the run's SavedModel); the gray copy
itself is scored as the first baseline.
"""

import argparse
import contextlib
import os
import sys
from pathlib import Path

import numpy as np

from colorkeras.core import cli, store
from colorkeras.core.constants import FILM_SUFFIXES
from colorkeras.core.images import save_image


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m colorkeras.evaluate",
        description="Score colorizers on the gray copies of colour images, beside the gray-copy baseline.",
        formatter_class=cli.HelpFormatter,
    )
    parser.add_argument("--model", action="append", default=None, metavar="RUN", help="a run name in saved_models/ or a run folder; repeat for several (default: every run in saved_models/)")
    parser.add_argument("--data", default="cifar10", help="'cifar10' (download or local copy), cifar-10-batches-py/ or .tar.gz, an image folder (scored at full resolution), 'skimage' (scikit-image's colour photographs at full size), or a colour film (.mp4, .mov, .mkv, .avi, .webm: per-frame and stabilised colorization, with the warping error)")
    parser.add_argument("--split", choices=("test", "validation", "train", "all"), default="test", help="which split to score, as training splits the data; validation: the training images that training holds out (as the first model's run split them; folders at full resolution, CIFAR-10 archives at the run's load size); all: every image of a folder")
    parser.add_argument("--limit", type=int, default=None, help="score at most this many images (default: all)")
    parser.add_argument("--render-size", type=int, default=None, help="short side the chroma is predicted at (default: each run's own)")
    parser.add_argument("--saturation", type=float, default=None, help="HSV saturation factor, 1.0 = off (default: each run's own)")
    parser.add_argument("--temperature", type=float, default=None, help="annealed-mean temperature for class heads (default: each run's own)")
    parser.add_argument("--prior-weight", type=float, default=None, help="decode-time class rebalancing for class heads, 0 = off (default: each run's own)")
    parser.add_argument("--output", default=None, metavar="FILE", help="write the table as JSON to FILE and as CSV beside it")
    parser.add_argument("--batch-size", type=int, default=256, help="images per batch for same-sized images")
    parser.add_argument("--contact-sheet", default=None, metavar="FILE", help="also write a picture (PNG, or JPEG where FILE ends in .jpg) of gray copy / each model / truth for --sheet-count images of the split, spread evenly (scikit-image: all eight)")
    parser.add_argument("--sheet-count", type=int, default=24, help="images on the contact sheet")
    parser.add_argument("--stability", type=float, default=None, help="with a film as --data: the stabilised rows' stability (default: the film command's); per-frame rows are always scored")
    parser.add_argument("--hints", type=int, nargs="+", default=[0], metavar="N", help="reveal N ground-truth points per image as hints (centre-biased places, each the mean colour of a 3x3 patch; seeded by the image, so reproducible), for runs that take hints; several N give a sweep, one row per run and N (0: no hints, the automatic result)")
    parser.add_argument("--degrade", action="store_true", help="give every gray copy archive-scan defects (fading, blur, film grain, scratches, JPEG artefacts; each with probability 0.5, seeded by the image, so reproducible) before the models see it; the truth stays the clean colour image (the gray copy row is then the degraded gray)")
    parser.add_argument("--per-image", action="store_true", help="with --data skimage: also print one row per photograph (and store them in --output's JSON as per_image, and in NAME.per-image.csv)")
    parser.add_argument("--overwrite", action="store_true", help="replace --output's files and the --contact-sheet where they already exist")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)  # Before TensorFlow loads: --help answers at once.
    # The library loads TensorFlow: only after the flags are read, so --help and a
    # wrong flag answer at once.
    import keras

    from colorkeras.data import pipeline as data_lib
    from colorkeras.evaluation.scoring import (
        SKIMAGE_PHOTOS,
        Inputs,
        _read_files,
        contact_sheet,
        find_split_files,
        format_table,
        label_hints,
        load_split_arrays,
        report_files,
        score_arrays,
        score_files,
        score_gray_copy,
        score_skimage,
        score_video,
        skimage_photos,
        truth_row,
        write_report,
    )
    from colorkeras.serving.inference import Colorizer, ImageError

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    try:
        if args.limit is not None and args.limit < 1:
            raise ValueError(f"--limit must be at least 1, received {args.limit}")
        if not all(0 <= count <= 1000 for count in args.hints):
            raise ValueError(f"--hints must be between 0 and 1000, received {args.hints}")
        sweep = sorted(set(args.hints))
        for target in report_files(args):
            store.check_writable(target, overwrite=args.overwrite)  # Before the scoring, not after it.
        names = args.model or store.list_runs()
        if not names:
            raise store.RunError("no runs to evaluate: train one or pass --model")
        colorizers = [
            Colorizer(
                name, render_size=args.render_size, saturation=args.saturation,
                temperature=args.temperature, prior_weight=args.prior_weight,
            )
            for name in names
        ]
        if any(sweep):
            for colorizer in colorizers:
                colorizer.check_takes_hints()
            if args.data == "skimage":
                raise ValueError("--hints scores image folders and CIFAR-10; not --data skimage")

        verbose = 1 if sys.stderr.isatty() else 2
        bar = {"target": 0, "offset": 0, "widget": None}

        def progress(done, total):
            # Keras draws on standard output; the table owns it, so the bar goes to stderr.
            with contextlib.redirect_stdout(sys.stderr):
                if bar["widget"] is None:
                    bar["widget"] = keras.utils.Progbar(bar["target"], unit_name="image", verbose=verbose)
                bar["widget"].update(bar["offset"] + done)

        path = Path(args.data).expanduser()
        if path.suffix.lower() in FILM_SUFFIXES:
            if args.degrade:
                raise ValueError("--degrade scores photographs, not films")
            return score_video(path, colorizers, args)
        is_folder = (
            args.data not in ("cifar10", "skimage")
            and path.is_dir()
            and not data_lib.is_cifar_batches(path)
        )
        skipped, per_photo = 0, []
        # The validation split is the one the first model's run held out.
        settings = colorizers[0].record.get("settings", {})
        held_out = dict(validation_fraction=settings.get("validation_fraction", 0.1), seed=settings.get("seed", 0))
        if args.data == "skimage":
            print(f"Scoring scikit-image's colour photographs at full size: {', '.join(SKIMAGE_PHOTOS)}", file=sys.stderr)
            rows, gray_row, per_photo = score_skimage(colorizers, Inputs(degrade=args.degrade))
            sheet_images = skimage_photos()
            if args.per_image:
                print(format_table(per_photo))
            source = "scikit-image sample photographs (" + ", ".join(SKIMAGE_PHOTOS) + ")"
        elif is_folder:
            files = find_split_files(path, args.split, args.limit, **held_out)
            print(f"Scoring {len(files)} images of {path} at full resolution ...", file=sys.stderr)
            rows = []
            bar["target"] = len(files) * len(sweep)
            for step, count in enumerate(sweep):
                bar["offset"] = step * len(files)
                scored, gray_row, skipped = score_files(colorizers, files, progress, inputs=Inputs(count, args.degrade))
                rows.extend(label_hints(scored, count, sweep))
            if args.contact_sheet:
                chosen = [files[index] for index in np.linspace(0, len(files) - 1, min(args.sheet_count, len(files))).round().astype(int)]
                sheet_images = _read_files(chosen)[0]
            source = str(path.resolve())
        else:
            images = load_split_arrays(
                args.data, args.split, args.limit, load_size=settings.get("load_size") or settings.get("image_size") or 32,
                **held_out,
            )
            print(f"Scoring {len(images)} images ...", file=sys.stderr)
            gray_row = score_gray_copy(images, Inputs(degrade=args.degrade))
            rows = []
            bar["target"] = len(images) * len(colorizers) * len(sweep)
            for step, count in enumerate(sweep):
                for index, colorizer in enumerate(colorizers):
                    bar["offset"] = (step * len(colorizers) + index) * len(images)
                    scored = score_arrays(colorizer, images, colorizer.name, args.batch_size, progress, Inputs(count, args.degrade))
                    rows.extend(label_hints([scored], count, sweep))
            source = args.data if args.data == "cifar10" else str(path.resolve())
            sheet_images = list(images[np.linspace(0, len(images) - 1, min(args.sheet_count, len(images))).round().astype(int)])
    except (ValueError, ImageError, data_lib.DatasetError, store.RunError) as error:  # HintError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    by_name = {colorizer.name: colorizer for colorizer in colorizers}
    for row in rows:
        colorizer = by_name[row.pop("run", row["name"])]
        row.update(
            render_size=colorizer.render_size, saturation=colorizer.hint_saturation if row.get("hints") else colorizer.saturation,
            temperature=colorizer.temperature, prior_weight=colorizer.prior_weight,
        )
    all_rows = [gray_row, *rows, truth_row(gray_row)]
    print(format_table(all_rows))
    if skipped:
        print(f"({skipped} unreadable file(s) skipped)", file=sys.stderr)
    if args.contact_sheet:
        save_image(contact_sheet(colorizers, sheet_images, inputs=Inputs(degrade=args.degrade)), args.contact_sheet)
        print(f"Wrote {args.contact_sheet}: gray copy | {' | '.join(c.name for c in colorizers)} | truth", file=sys.stderr)
    if args.output:
        report = {
            "data": source, "dataset": data_lib.describe(args.data, args.split), "split": args.split,
            "limit": args.limit, "skipped": skipped, "hints": sweep, "degrade": args.degrade, "rows": all_rows,
        }
        if args.per_image and per_photo:
            report["per_image"] = per_photo
        write_report(report, args.output)
        print(f"Wrote {args.output} and {Path(args.output).with_suffix('.csv')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from colorkeras.core import cli

    cli.run(main)
