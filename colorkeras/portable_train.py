"""Training on any Keras 3 backend, for a GPU machine that has JAX but no TensorFlow.

Keras 3 trains the same functional network on JAX, PyTorch or TensorFlow. The
``fit`` step here imports neither TensorFlow nor any colorkeras module that does,
so it runs wherever Keras and JAX do; ``pack`` (here, with TensorFlow) writes what
it needs: the training split as 64x64 JPEG bytes, the networks as Keras JSON and
the colour tables. The weights come back as ``.weights.npz`` files, which
``python -m colorkeras.train --init-from FILE --epochs 0`` turns into a run
(evaluated, exported) as usual::

    python -m colorkeras.portable_train pack --data ../shared/datasets/photos \\
        ../shared/datasets/places --base-filters 40 --out pack/
    KERAS_BACKEND=jax python -m colorkeras.portable_train fit pack/ \\
        --seconds 300 --hint-seconds 150 --out weights/

``fit`` trains the automatic network for ``--seconds``, then the hint network
(Zhang et al. 2017), started from it, for ``--hint-seconds``, with hints simulated
from the ground truth (``hints.sample_points``). The learning rate follows a cosine
over the wall-clock budget, since a borrowed machine's time is what is fixed.

The MobileNetV2 hint network, as the CPU trains it (``train --hints --region-hints
0.75 --freeze-encoder``, 128-px random crops of 144-px squares), from its
checkpoint::

    python -m colorkeras.portable_train pack --data ../shared/datasets/photos \\
        ../shared/datasets/places --architecture mobilenet-unet --freeze-encoder \\
        --base-filters 16 --size 144 --crop 128 --format webp --quality 80 \\
        --network-precision mixed_bfloat16 --out pack/
    KERAS_BACKEND=jax python -m colorkeras.portable_train fit pack/ --seconds 0 \\
        --hint-seconds 520 --init-hints checkpoints/mobilenet-unet-hints-41.weights.npz \\
        --region-share 0.75 --workers 15 --batch-size 64 --learning-rate 8e-4 --out weights/

With ``--crop`` the pack keeps the load-size squares and ``fit`` crops them at
random each time, as the tf.data pipeline does; ``--region-share`` recolours one
edge-bounded region of that share of the hint samples (scikit-image and SciPy
needed where ``fit`` runs), drawn in ``--workers`` processes.
"""

import argparse
import sys
from pathlib import Path

from colorkeras.core import cli
from colorkeras.core.config import ARCHITECTURES, TrainConfig
from colorkeras.training.portable import PACK_FILE, WeightsMismatch, fit, pack

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")  # Keras dtype policies, for the networks' JSON and for fit.


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m colorkeras.portable_train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("pack", help="write the training split and the networks (needs TensorFlow)")
    p.add_argument("--data", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--quality", type=int, default=85)
    p.add_argument("--base-filters", type=int, default=40)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument(
        "--format",
        default="JPEG",
        type=str.upper,
        choices=("JPEG", "WEBP"),
        help="how the images are stored: JPEG or WEBP (smaller at equal quality; default: JPEG)",
    )
    p.add_argument("--crop", type=int, help="train on random crops of this side (default: the stored --size squares)")
    p.add_argument(
        "--architecture",
        default=None,
        choices=sorted(ARCHITECTURES),
        help="the networks' architecture (default: the default, unet)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a pack already in --out")
    p.add_argument("--freeze-encoder", action="store_true", help="mobilenet-unet: train the decoder only")
    p.add_argument(
        "--global-view",
        type=int,
        default=0,
        metavar="SIDE",
        help="mobilenet-unet: the encoder also sees the whole image at SIDE x SIDE (train --global-view); 0 = off",
    )
    p.add_argument(
        "--network-precision",
        default="float32",
        choices=PRECISIONS,
        help="the dtype policy the networks' JSON records and train under (default: float32)",
    )
    f = commands.add_parser("fit", help="train on any Keras backend from a pack")
    f.add_argument("pack")
    f.add_argument("--out", required=True)
    f.add_argument("--seconds", type=float, default=300)
    f.add_argument("--hint-seconds", type=float, default=150)
    f.add_argument("--batch-size", type=int, default=128)
    f.add_argument("--learning-rate", type=float, default=2e-3)
    f.add_argument("--init", help="start the automatic network from these weights (.weights.npz)")
    f.add_argument("--auto-network", help="the automatic network's Keras JSON (default: the pack's)")
    f.add_argument("--hint-network", help="the hint network's Keras JSON (default: the pack's)")
    f.add_argument("--tag", default="", help="appended to the names of the files written")
    f.add_argument("--overwrite", action="store_true", help="replace the weights and report of an earlier fit in --out")
    f.add_argument("--precision", default="mixed_bfloat16", choices=PRECISIONS)
    f.add_argument("--init-hints", help="start the hint network from these weights (default: from the automatic one)")
    f.add_argument(
        "--region-share",
        type=float,
        default=0.0,
        help="share of hint samples with one region recoloured and hinted inside it, 0-1 (default: 0)",
    )
    f.add_argument(
        "--workers", type=int, default=0, help="processes that draw the batches (default: 0, Keras' threads)"
    )
    return parser


def pack_command(parser, args):
    """``pack``: the flags checked, then the pack written."""
    if args.crop is not None and not 0 < args.crop <= args.size:
        parser.error(f"--crop must be between 1 and --size ({args.size}), received {args.crop}")
    if args.global_view and "global_view" not in ARCHITECTURES[args.architecture or TrainConfig.architecture].options:
        parser.error("--global-view needs --architecture mobilenet-unet")
    if args.global_view < 0 or args.global_view % 32:
        parser.error(f"--global-view must be 0 (off) or a multiple of 32 such as 224, received {args.global_view}")
    if (Path(args.out) / PACK_FILE).exists() and not args.overwrite:
        parser.error(f"{Path(args.out) / PACK_FILE} already exists; choose another --out or pass --overwrite")
    from colorkeras.data.pipeline import DatasetError

    options = {"freeze_encoder": True} if args.freeze_encoder else {}
    if args.global_view:
        options["global_view"] = args.global_view
    try:
        settings, size = pack(
            args.data,
            args.out,
            args.size,
            args.quality,
            args.base_filters,
            args.depth,
            crop=args.crop,
            architecture=args.architecture,
            options=options,
            precision=args.network_precision,
            image_format=args.format,
        )
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Packed {settings['images']} images ({size / 2**20:.1f} MiB of {args.format}) into {args.out}")
    return 0


def fit_command(parser, args):
    """``fit``: the flags and the pack checked, then the networks trained."""
    if not 0 <= args.region_share <= 1:
        parser.error(f"--region-share must be between 0 and 1, received {args.region_share}")
    if args.workers < 0:
        parser.error(f"--workers must be 0 or more, received {args.workers}")
    if not (Path(args.pack) / PACK_FILE).is_file():
        parser.error(
            f"{Path(args.pack) / PACK_FILE} not found; write a pack with `python -m colorkeras.portable_train pack`"
        )
    for flag, path in (("--init", args.init), ("--init-hints", args.init_hints)):
        if path and not Path(path).is_file():
            parser.error(f"{flag} {path}: no such weights file")
    report = Path(args.out) / f"report{args.tag}.json"
    if report.exists() and not args.overwrite:
        parser.error(f"{report} already exists (an earlier fit); choose another --out or --tag, or pass --overwrite")
    networks = {k: v for k, v in (("auto", args.auto_network), ("hints", args.hint_network)) if v}
    try:
        fit(
            args.pack,
            args.out,
            args.seconds,
            args.hint_seconds,
            args.batch_size,
            args.learning_rate,
            args.init,
            precision=args.precision,
            networks=networks,
            tag=args.tag,
            init_hints=args.init_hints,
            region_share=args.region_share,
            workers=args.workers,
        )
    except WeightsMismatch as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    parser = build_parser()
    args = parser.parse_args(argv)
    return (pack_command if args.command == "pack" else fit_command)(parser, args)


if __name__ == "__main__":
    cli.run(main)
