"""Export: write a run's model files, and re-export a run with other serving defaults.

``python -m colorkeras.export --model RUN --name NEW [--saturation 1.2 ...]`` writes a
new run from a run's ``model.keras``; the graph itself (signatures, preprocessing)
is in ``colorkeras.serving.graph``. TensorFlow loads only after the flags are read,
so ``--help`` answers at once.
"""

import argparse
import datetime
import os
import shutil
import sys
from pathlib import Path

from colorkeras.core import cli, store
from colorkeras.core.config import TrainConfig, architecture


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m colorkeras.export",
        description=(
            "Write a new run from an existing run's model.keras with other serving defaults "
            "(temperature, prior weight, saturation, render size), scored on the test split. "
            "Without any of those (and without --data), rebuild the run's serving graph with every "
            "current signature, keeping its test report: no data needed. The source run is not changed."
        ),
        formatter_class=cli.HelpFormatter,
    )
    parser.add_argument("--model", required=True, metavar="RUN", help="the source run: a name in saved_models/ or a folder")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--name", help="the new run's name in saved_models/")
    where.add_argument("--run-dir", help="an explicit folder for the new run")
    where.add_argument("--serving-dir", metavar="DIR", help="write the run's SavedModel as DIR/<name>/<version>/ for TensorFlow Serving (version 1, or the next free one)")
    where.add_argument("--tflite", metavar="FILE", help="write a TFLite model (builtin ops only) with serving_default's interface and the run's serving defaults")
    parser.add_argument("--model-name", default=None, metavar="NAME", help="with --serving-dir: the model's name there (default: the run's name)")
    parser.add_argument("--data", nargs="+", default=None, metavar="DATA", help="data (one or more sources) to score on and to count colours from (default: the source run's)")
    parser.add_argument("--temperature", type=float, default=None, help="annealed-mean temperature, 1.0 = mean (default: the source run's)")
    parser.add_argument("--prior-weight", type=float, default=None, help="decode-time class rebalancing in [0, 1], 0 = off (default: the source run's)")
    parser.add_argument("--saturation", type=float, default=None, help="HSV saturation factor, 1.0 = off (default: the source run's)")
    parser.add_argument("--render-size", type=int, default=None, help="short side the chroma is predicted at (default: the source run's)")
    parser.add_argument("--automatic", default=None, metavar="RUN", help="for a hint run: the automatic run whose network answers every call without hints; its serving defaults become the new run's (flags above still override)")
    parser.add_argument("--hint-saturation", type=float, default=None, help="saturation of results with hints (default: the source run's, or 1.0: the colours given come out as given)")
    parser.add_argument("--evaluate-limit", type=int, default=None, help="score at most this many test images (default: all)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run of the new name (or the --tflite file)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)  # Before TensorFlow loads: --help answers at once.
    # The library loads TensorFlow: only after the flags are read, so --help and a
    # wrong flag answer at once.
    from colorkeras.data import pipeline as data_lib
    from colorkeras.models.heads import bin_prior
    from colorkeras.models.registry import count_parameters
    from colorkeras.training.exporter import load_networks, rebuild, write_run_files, write_serving_dir, write_tflite

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    partial = None
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
        source = store.resolve_run(args.model)
        record = store.Run(source).read_config()
        final = Path(args.run_dir).expanduser().absolute() if args.run_dir else store.run_path(args.name).absolute()
        if final.exists() and not args.overwrite:
            raise store.RunError(f"{final} already exists; choose another name or pass --overwrite")
        store.check_replaceable(final)
        overrides = {
            "temperature": args.temperature,
            "prior_weight": args.prior_weight,
            "saturation": args.saturation,
            "render_size": args.render_size,
        }
        if args.data is None and args.automatic is None and args.hint_saturation is None and all(v is None for v in overrides.values()):
            # Nothing that changes a result: rebuild the serving graph, keep the test report.
            partial = store.partial_path(final)
            rebuild(source, partial, final, argv)
            store.publish(partial, final, overwrite=args.overwrite)
            print(f"Rebuilt {source.name}'s serving graph into {final} (same settings; its test report kept)")
            return 0
        automatic = None
        if args.automatic:
            automatic_run = store.Run(store.resolve_run(args.automatic))
            automatic_record = automatic_run.read_config()
            if not record["settings"].get("hints"):
                raise store.RunError(f"--automatic goes with a hint run; {source.name} takes no hints")
            if automatic_record["settings"].get("hints"):
                raise store.RunError(f"--automatic {args.automatic}: that run takes hints; name an automatic run")
            for key in ("architecture", "head", "bin_step"):
                if automatic_record["settings"].get(key) != record["settings"].get(key):
                    raise store.RunError(f"--automatic {args.automatic}: its {key} differs from {source.name}'s")
            automatic = load_networks(automatic_run)[0]
            serving = ("render_size", "saturation", "temperature", "prior_weight")
            record = dict(record, automatic={"from": str(automatic_run.path), "parameters": count_parameters(automatic),
                                             "settings": automatic_record["settings"]})
            record["settings"] = dict(record["settings"], **{k: automatic_record["settings"][k] for k in serving})
            record["hint_saturation"] = record.get("hint_saturation") or 1.0
            if automatic_record.get("bin_prior"):
                record["bin_prior"] = automatic_record["bin_prior"]
        elif store.Run(source).automatic_model.is_file():
            automatic = load_networks(store.Run(source))[1]
        if args.hint_saturation is not None:
            if args.hint_saturation <= 0:
                raise ValueError(f"hint saturation must be positive, received {args.hint_saturation}")
            record = dict(record, hint_saturation=args.hint_saturation)
        settings = dict(record["settings"], **{k: v for k, v in overrides.items() if v is not None})
        config = TrainConfig.from_dict(settings).resolve()
        data = (args.data[0] if len(args.data) == 1 else args.data) if args.data else config.data
        splits = data_lib.load_splits(data, config.load_size, config.validation_fraction, config.seed)
        record = dict(record, settings=config.to_dict(), data_source=splits.source, dataset=data_lib.describe(data))
        if architecture(config.architecture).chroma and config.head == "classes" and not record.get("bin_prior"):
            record["bin_prior"] = bin_prior(splits.train, config.bin_step, seed=config.seed).tolist()
        record["exported_from"] = str(source)
        record["exported"] = datetime.datetime.now().isoformat(timespec="seconds")
        record["export_command"] = "python -m colorkeras.export " + " ".join(sys.argv[1:] if argv is None else argv)
        model = load_networks(store.Run(source))[0]
        partial = store.partial_path(final)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if store.Run(source).history.is_file():
            shutil.copy2(store.Run(source).history, store.Run(partial).history)
        row = write_run_files(partial, model, record, splits.test, final.name, config.samples, args.evaluate_limit, automatic)
        store.publish(partial, final, overwrite=args.overwrite)
    except (ValueError, store.RunError, data_lib.DatasetError, OSError) as error:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"Saved run to {final}\n  test PSNR {row['psnr']:.2f} dB, SSIM {row['ssim']:.4f}, "
        f"colourfulness {row['colorfulness']:.1f} (truth {row['truth_colorfulness']:.1f}), AuC {row['auc']:.3f}"
    )
    return 0


if __name__ == "__main__":
    cli.run(main)
