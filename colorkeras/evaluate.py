"""Evaluation: score colorizers beside the baselines, ``python -m colorkeras.evaluate``.

Every model colorizes the BT.601 gray copy of each colour image through the same
path users get (``inference.Colorizer``, the run's SavedModel); the gray copy
itself is scored as the first baseline.
"""

import argparse
import os
import sys
from pathlib import Path

from colorkeras.core import cli, store
from colorkeras.core.constants import DEFAULT_EVERY


class GivenSplit(argparse.Action):
    """Stores --split and notes that it was given (``args.split_given``): modes that
    score no split (--recognition --true-classes) refuse it rather than ignore it."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.split_given = True


def build_parser():
    parser = cli.command_parser(
        "evaluate", "Score colorizers on the gray copies of colour images, beside the gray-copy baseline."
    )
    parser.add_argument(
        "--model",
        action="append",
        metavar="RUN",
        help="a run name in saved_models/ or a run folder; repeat for several (default: every run in saved_models/)",
    )
    parser.add_argument(
        "--data",
        default="cifar10",
        help=(
            "'cifar10' (download or local copy), cifar-10-batches-py/ or .tar.gz, an image folder (scored at full "
            "resolution), 'skimage' (scikit-image's colour photographs at full size), 'historical' (seven "
            "public-domain prints of 1865-1940 with no colour truth, fetched once from the npm registry: colourfulness "
            "and a --contact-sheet only), or a colour film (.mp4, .mov, .mkv, .avi, .webm: per-frame and stabilised "
            "colorization, with the warping error)"
        ),
    )
    parser.add_argument(
        "--split",
        action=GivenSplit,
        choices=("test", "validation", "train", "all"),
        default="test",
        help=(
            "which split to score, as training splits the data; validation: the training images that training holds "
            "out (as the first model's run split them; folders at full resolution, CIFAR-10 archives at the run's load "
            "size); all: every image of a folder"
        ),
    )
    parser.set_defaults(split_given=False)  # GivenSplit sets it where --split is given.
    parser.add_argument("--limit", type=int, help="score at most this many images (default: all)")
    parser.add_argument("--batch-size", type=int, default=256, help="images per batch for same-sized images")
    cli.add_serving_flags(parser, "each run's own")
    parser.add_argument(
        "--output",
        metavar="FILE",
        help=(
            "write the table as JSON to FILE and as CSV beside it (with --limit: to FILE's name + .limit-N, a partial "
            "report, never over a full one)"
        ),
    )
    parser.add_argument(
        "--contact-sheet",
        metavar="FILE",
        help=(
            "also write a picture (PNG, or JPEG where FILE ends in .jpg) of gray copy / each model / truth for "
            "--sheet-count images of the split, spread evenly (scikit-image: all eight)"
        ),
    )
    parser.add_argument("--sheet-count", type=int, default=24, help="images on the contact sheet")
    parser.add_argument(
        "--stability",
        type=float,
        help=(
            "with a film as --data: the stabilised rows' stability (default: the film command's); "
            "per-frame rows are always scored"
        ),
    )
    parser.add_argument(
        "--every",
        type=cli.count,
        default=DEFAULT_EVERY,
        metavar="N",
        help="with a film as --data: the stabilised rows' network colours every Nth frame, as film --every does",
    )
    parser.add_argument(
        "--key-frames",
        metavar="DIR",
        help="with a film as --data: add a row coloured from these key frames (as film --key-frames); every row "
        "leaves the key frames' own frames out",
    )
    parser.add_argument(
        "--hints",
        type=int,
        nargs="+",
        default=[0],
        metavar="N",
        help=(
            "reveal N ground-truth points per image as hints (centre-biased places, each the mean colour of a 3x3 "
            "patch; seeded by the image, so reproducible), for runs that take hints; several N give a sweep, one row "
            "per run and N (0: no hints, the automatic result)"
        ),
    )
    parser.add_argument(
        "--degrade",
        action="store_true",
        help=(
            "give every gray copy archive-scan defects (fading, blur, film grain, scratches, JPEG artefacts; each with "
            "probability 0.5, seeded by the image, so reproducible) before the models see it; the truth stays the "
            "clean colour image (the gray copy row is then the degraded gray)"
        ),
    )
    parser.add_argument(
        "--per-image",
        action="store_true",
        help=(
            "with --data skimage: also print one row per photograph (and store them in --output's JSON as per_image, "
            "and in NAME.per-image.csv)"
        ),
    )
    parser.add_argument(
        "--leakage",
        action="store_true",
        help=(
            "instead of the scores: how far one hint's colour leaks past the region it is put on, for runs that take "
            "hints (default: the hint run colorize uses). Regions come from the true photograph's edges (Felzenszwalb "
            "segmentation); one hint at each region's most interior pixel, in a colour far from the automatic result "
            "there; the a/b change it causes inside the region and in a band just outside it, and containment = inside "
            "/ band (1: a round glow; issue 27 asks >= 3). Image folders (--split) and 'skimage'"
        ),
    )
    parser.add_argument(
        "--reference-pairs",
        action="store_true",
        help=(
            "instead of the scores: colour from a reference photograph, on a pair of overlapping views of each "
            "photograph (the reference scaled 0.85): each run's automatic colour, the naive transfer and colour from "
            "the reference, with the dB over automatic and the chroma error (runs that take a reference; default: "
            "the default run). Image folders (--split) and 'skimage'"
        ),
    )
    parser.add_argument(
        "--recognition",
        metavar="CLASSIFIER",
        help=(
            "instead of the scores: how often an ImageNet classifier (a TFLite file, e.g. "
            "../shared/pretrained/mobilenet_v2_1.0_224_quant.tflite) gives each run's colorization the top class it "
            "gives the true photograph, beside the gray copy (top-1 and top-5 agreement; default run: the default). "
            "Image folders (--split) and 'skimage'"
        ),
    )
    parser.add_argument(
        "--true-classes",
        action="store_true",
        help=(
            "with --recognition: --data is a folder of ImageNet photographs with a labels.txt of '<file name>\\t"
            "<classifier index>' lines, and each picture (true photo, gray copy, each run's colorization; short side "
            "256, centre crop 224) is scored against the photo's true class: top-1 and top-5 (Zhang et al.'s "
            "measure), beside the agreement columns. The folder is read whole, in sorted order (--limit N: the first "
            "N), so --split does not apply and is refused (bar 'all')"
        ),
    )
    parser.add_argument(
        "--band",
        type=int,
        metavar="PIXELS",
        help=(
            "with --leakage: the band's width outside each region (default: 5%% of each image's longer side, "
            "24 px on a 481-px photograph)"
        ),
    )
    parser.add_argument(
        "--regions", type=int, default=3, help="with --leakage: regions hinted per image, the deepest first"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --output's files and the --contact-sheet where they already exist",
    )
    return parser


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    args = build_parser().parse_args(argv)  # Before TensorFlow loads: --help answers at once.
    if args.output and args.limit:
        # A partial report never takes a full one's place (the dashboard ranks full
        # reports together): it goes beside it, named for its limit.
        named = Path(args.output).expanduser()
        args.output = str(named.with_name(f"{named.stem}.limit-{args.limit}{named.suffix or '.json'}"))
        print(f"--limit {args.limit}: a partial report, written to {args.output}", file=sys.stderr)
    # The library loads TensorFlow: only after the flags are read, so --help and a
    # wrong flag answer at once.
    from colorkeras.data.historical import HistoricalError
    from colorkeras.data.pipeline import DatasetError
    from colorkeras.evaluation.historical import evaluate_historical
    from colorkeras.evaluation.leakage import evaluate_leakage
    from colorkeras.evaluation.options import EvaluateOptions
    from colorkeras.evaluation.recognition import evaluate_recognition
    from colorkeras.evaluation.references import evaluate_reference_pairs
    from colorkeras.evaluation.scoring import evaluate, format_table
    from colorkeras.serving.inference import ImageError

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    try:
        if sum(map(bool, (args.leakage, args.recognition, args.reference_pairs))) > 1:
            raise ValueError("--leakage, --recognition and --reference-pairs are different measures: give one")
        if args.true_classes and not args.recognition:
            raise ValueError(
                "--true-classes goes with --recognition CLASSIFIER (the classifier that names the classes)"
            )
        options = cli.options_from(EvaluateOptions, args)
        if options.recognition:
            report = evaluate_recognition(options)
        elif options.reference_pairs:
            report = evaluate_reference_pairs(options)
        elif options.data == "historical" and not options.leakage:
            report = evaluate_historical(options)
        elif options.leakage:
            report = evaluate_leakage(options)
        else:
            report = evaluate(options)
    except (
        ValueError,
        ImageError,
        DatasetError,
        HistoricalError,
        store.RunError,
    ) as error:  # HintError is a ValueError
        print(f"error: {error}", file=sys.stderr)
        return 2
    if report.per_image:
        print(format_table(report.per_image))
    print(report.text or format_table(report.rows, extra=report.columns))
    for path in report.written:
        print(f"Wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    cli.run(main)
