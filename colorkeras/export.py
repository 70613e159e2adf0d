"""Export: write a run's model files, and re-export a run with other serving defaults.

``python -m colorkeras.export --model RUN --name NEW [--saturation 1.2 ...]`` writes a
new run from a run's ``model.keras``; the graph itself (signatures, preprocessing)
is in ``colorkeras.serving.graph``. TensorFlow loads only after the flags are read,
so ``--help`` answers at once.
"""

import os
import sys
from pathlib import Path

from colorkeras.core import cli, store


def build_parser():
    parser = cli.command_parser(
        "export",
        "Write a new run from an existing run's model.keras with other serving defaults "
        "(temperature, prior weight, saturation, render size), scored on the test split. "
        "Without any of those (and without --data), rebuild the run's serving graph with every "
        "current signature, keeping its test report: no data needed. The source run is not changed.",
    )
    parser.add_argument(
        "--model", required=True, metavar="RUN", help="the source run: a name in saved_models/ or a folder"
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--name", help="the new run's name in saved_models/")
    where.add_argument("--run-dir", help="an explicit folder for the new run")
    where.add_argument(
        "--serving-dir",
        metavar="DIR",
        help=(
            "write the run's SavedModel as DIR/<name>/<version>/ for TensorFlow Serving "
            "(version 1, or the next free one)"
        ),
    )
    where.add_argument(
        "--tflite",
        metavar="FILE",
        help="write a TFLite model (builtin ops only) with serving_default's interface and the run's serving defaults",
    )
    parser.add_argument(
        "--model-name", metavar="NAME", help="with --serving-dir: the model's name there (default: the run's name)"
    )
    parser.add_argument(
        "--data",
        nargs="+",
        metavar="DATA",
        help="data (one or more sources) to score on and to count colours from (default: the source run's)",
    )
    cli.add_serving_flags(parser, "the source run's")
    parser.add_argument(
        "--automatic",
        metavar="RUN",
        help=(
            "for a hint run: the automatic run whose network answers every call without hints; its serving defaults "
            "become the new run's (flags above still override)"
        ),
    )
    parser.add_argument(
        "--hint-saturation",
        type=float,
        help=(
            "saturation of results with hints (default: the source run's, or 1.0: the colours given come out as given)"
        ),
    )
    parser.add_argument("--evaluate-limit", type=cli.count, help="score at most this many test images (default: all)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing run of the new name (or the --tflite file)"
    )
    return parser


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    args = build_parser().parse_args(argv)  # Before TensorFlow loads: --help answers at once.
    # The library loads TensorFlow: only after the flags are read, so --help and a
    # wrong flag answer at once.
    from colorkeras.data.pipeline import DatasetError
    from colorkeras.training.exporter import export_run, write_serving_dir, write_tflite

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    if args.tflite or args.serving_dir:  # Another form of the same run; no new run is written.
        try:
            source = store.resolve_run(args.model)
            if args.tflite:
                target = write_tflite(source, args.tflite, args.overwrite)
                message = f"Wrote {target} ({target.stat().st_size / 1e6:.1f} MB)"
            else:
                target = write_serving_dir(source, args.serving_dir, args.model_name)
                message = f"Wrote {target} (TensorFlow Serving's layout: model name / version)"
        except (ValueError, store.RunError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(message)
        return 0
    try:
        final = Path(args.run_dir).expanduser().absolute() if args.run_dir else store.run_path(args.name).absolute()
        overrides = {
            "temperature": args.temperature,
            "prior_weight": args.prior_weight,
            "saturation": args.saturation,
            "render_size": args.render_size,
        }
        source, row = export_run(
            args.model,
            final,
            overrides,
            data=args.data,
            automatic=args.automatic,
            hint_saturation=args.hint_saturation,
            evaluate_limit=args.evaluate_limit,
            overwrite=args.overwrite,
            command="python -m colorkeras.export " + " ".join(sys.argv[1:] if argv is None else argv),
        )
    except (ValueError, store.RunError, DatasetError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if row is None:
        print(f"Rebuilt {source.name}'s serving graph into {final} (same settings; its test report kept)")
        return 0
    print(
        f"Saved run to {final}\n  test PSNR {row['psnr']:.2f} dB, SSIM {row['ssim']:.4f}, "
        f"colourfulness {row['colorfulness']:.1f} (truth {row['truth_colorfulness']:.1f}), AuC {row['auc']:.3f}"
    )
    return 0


if __name__ == "__main__":
    cli.run(main)
