"""Train a colorizer and write a run to the store: ``python -m colorkeras.train``.

Examples::

    # The default U-Net on CIFAR-10 (local copy), as saved_models/cifar10-unet:
    python -m colorkeras.train --data ../shared/datasets/cifar10 --epochs 20 --name cifar10-unet

    # The original plain-CNN design, for comparison:
    python -m colorkeras.train --data ../shared/datasets/cifar10 --architecture plain-cnn --name cifar10-plain-cnn

    # Any image folder, into an explicit folder; then continue after an interruption:
    python -m colorkeras.train --data ~/photos --image-size 64 --load-size 96 --run-dir /tmp/run
    python -m colorkeras.train --run-dir /tmp/run --resume

    # Over the local devices, or over several machines configured by TF_CONFIG:
    python -m colorkeras.train --data cifar10 --distribute mirrored
    TF_CONFIG='{"cluster": {...}, "task": {...}}' python -m colorkeras.train --distribute multiworker

While it trains, the run lives in a hidden ``.<run>.partial/`` folder beside its
final place (checkpoint every epoch, history.csv, progress.json); it is renamed into
place only when every file is written.
"""

import sys

from colorkeras.core import cli, store
from colorkeras.core.config import ARCHITECTURES, TrainConfig


def build_parser():
    defaults = TrainConfig()

    def per_architecture(key):
        return ", ".join(f"{name} {traits.defaults[key]}" for name, traits in ARCHITECTURES.items())

    def owners(option):
        return " or ".join(name for name, traits in ARCHITECTURES.items() if option in traits.options)

    parser = cli.command_parser(
        "train", "Train a colorizer (gray in, colour out) and write it as a run in saved_models/."
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        nargs="+",
        default=[defaults.data],
        metavar="DATA",
        help=(
            "one or more sources, joined: 'cifar10' (download, or a local copy), or a path: an image folder, "
            "cifar-10-python.tar.gz or cifar-10-batches-py/"
        ),
    )
    data.add_argument(
        "--image-size", type=int, default=defaults.image_size, help="side of the square training crops in pixels"
    )
    data.add_argument(
        "--load-size",
        type=int,
        help="side images are kept at before random crops with scale jitter (default: image size)",
    )
    data.add_argument("--limit", type=int, help="use at most this many training images (default: all)")
    data.add_argument(
        "--validation-fraction",
        type=float,
        default=defaults.validation_fraction,
        help="share of the training images held out for val_loss",
    )
    data.add_argument(
        "--degrade",
        type=float,
        default=0.0,
        metavar="SHARE",
        help=(
            "give this share of the training inputs archive-scan defects (fading, blur, film grain, scratches, JPEG "
            "artefacts; each with probability 0.5); targets stay clean; 0 = off (default: 0)"
        ),
    )

    model = parser.add_argument_group("model")
    model.add_argument(
        "--architecture",
        choices=tuple(ARCHITECTURES),
        default=defaults.architecture,
        help="; ".join(f"{name}: {traits.description}" for name, traits in ARCHITECTURES.items()),
    )
    model.add_argument(
        "--encoder-weights",
        metavar="FILE",
        help=(
            f"{owners('encoder_weights')}: the pretrained MobileNetV2 TFLite file its encoder starts from "
            "(../shared/pretrained/tf2_mobilenet_v2_1.0_224_ptq.tflite); without it the encoder starts random"
        ),
    )
    model.add_argument(
        "--global-view",
        type=int,
        default=defaults.global_view,
        metavar="SIDE",
        help=(
            f"{owners('global_view')}: the encoder also sees the whole image resized to SIDE x SIDE (224: the scale "
            "ImageNet taught it), and its verdict joins every position of the bottleneck; 0 = off (default: 0)"
        ),
    )
    model.add_argument(
        "--freeze-encoder",
        action="store_true",
        help=f"{owners('freeze_encoder')}: train the decoder only, the pretrained encoder kept as it is",
    )
    model.add_argument("--base-filters", type=int, help=f"width (default: {per_architecture('base_filters')})")
    model.add_argument(
        "--depth",
        type=int,
        help=f"levels of downsampling, or convolutions of a plain CNN (default: {per_architecture('depth')})",
    )
    model.add_argument(
        "--head",
        choices=("classes", "regression"),
        help="a chroma network's output: quantised a/b classes or a/b regression (default: classes)",
    )
    model.add_argument(
        "--class-rebalance",
        type=float,
        default=defaults.class_rebalance,
        metavar="LAMBDA",
        help=(
            "classes head: weight rare colours in the training loss, Zhang et al.'s lambda in [0, 1] (they use 0.5); "
            "0 = off"
        ),
    )
    model.add_argument(
        "--init-from",
        metavar="RUN",
        help=(
            "start from the weights of this run (name or folder) of the same architecture: fine-tuning; or from a "
            ".weights.npz of python -m colorkeras.portable_train (trained elsewhere, on any Keras backend), where "
            "--epochs 0 makes those weights a run as they are; an automatic run starts a --hints network"
        ),
    )
    model.add_argument(
        "--hints",
        action="store_true",
        help=(
            "a network that also takes user hints (colour points), trained with points simulated from the truth (Zhang "
            "et al. 2017); start it from an automatic run with --init-from"
        ),
    )
    model.add_argument(
        "--region-hints",
        type=float,
        default=defaults.region_hints,
        metavar="SHARE",
        help=(
            "with --hints: this share of the training samples has one region bounded by the photograph's edges "
            "recoloured in the target, with a hint in the new colour inside it, so the network learns to fill the "
            "region a hint is on and stop at its edges (a hint should not be a round glow); 0 = off (default: 0)"
        ),
    )
    model.add_argument(
        "--edge-stop",
        type=float,
        default=defaults.edge_stop,
        metavar="WEIGHT",
        help=(
            "with --hints: also run the network without hints, fade the hints' change where their reach ends as the "
            "exported graph does (hints that stop at edges), and add this weight x the squared a/b error of that "
            "result to the loss; about 1.8x the time per step; 0 = off (default: 0)"
        ),
    )
    model.add_argument(
        "--loss",
        choices=("crossentropy", "mse", "l1", "huber"),
        help=f"default: {per_architecture('loss')}; regression heads take mse, l1 or huber",
    )

    sense = parser.add_argument_group(
        "sense terms (a hint network with a classes head; colorization and truth both pass a frozen ImageNet "
        "MobileNetV2; 0 = off)"
    )
    for term, what in (
        ("perceptual", "matching the classifier's features of colorization and truth at strides 4 and 8"),
        ("semantic", "the KL between the classifier's class distributions of truth and colorization"),
        ("colourfulness", "|mean chroma - the truth's| / 10 per image, the counterweight that keeps the colour"),
    ):
        sense.add_argument(
            f"--{term}", type=float, default=getattr(defaults, term), metavar="WEIGHT", help=f"weight of {what}"
        )
    sense.add_argument(
        "--sense-classifier",
        metavar="FILE",
        help="the MobileNetV2 TFLite file the sense terms look through (default: ../shared/pretrained/"
        "tf2_mobilenet_v2_1.0_224_ptq.tflite, the file the pretrained encoder starts from)",
    )

    optimisation = parser.add_argument_group("optimisation")
    optimisation.add_argument(
        "--epochs",
        type=int,
        default=defaults.epochs,
        help="number of epochs (with --resume: the new total; 0 with a --init-from weights file: no training)",
    )
    optimisation.add_argument("--batch-size", type=int, default=defaults.batch_size, help="images per step")
    optimisation.add_argument(
        "--learning-rate", type=float, default=defaults.learning_rate, help="Adam's initial learning rate"
    )
    optimisation.add_argument(
        "--schedule", choices=("constant", "cosine"), default=defaults.schedule, help="learning rate over the epochs"
    )
    optimisation.add_argument(
        "--early-stopping",
        type=int,
        default=defaults.early_stopping,
        metavar="PATIENCE",
        help="stop after this many epochs without a better val_loss (0: off)",
    )
    optimisation.add_argument(
        "--precision",
        choices=("float32", "mixed_bfloat16"),
        default=defaults.precision,
        help=(
            "mixed_bfloat16 computes in bfloat16 (fast on CPUs with AVX-512 BF16 and on GPUs), "
            "keeping weights and the loss in float32"
        ),
    )
    optimisation.add_argument(
        "--train-only",
        default=defaults.train_only,
        metavar="PREFIX",
        help=(
            "train only the layers whose names start with PREFIX (or with one of several, comma-separated), every "
            "other weight kept as --init-from gave it (global_dense,global_fuse: the --global-view branch's new layers "
            "alone on a trained network)"
        ),
    )
    optimisation.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed of the weights, the validation split and the shuffling"
    )

    export = parser.add_argument_group("export (defaults of the SavedModel)")
    export.add_argument("--render-size", type=int, help="short side the chroma is predicted at (default: image size)")
    export.add_argument(
        "--saturation",
        type=float,
        help=f"HSV saturation factor after prediction, 1.0 = off (default: {per_architecture('saturation')})",
    )
    export.add_argument(
        "--temperature",
        type=float,
        help=f"classes head: annealed-mean temperature, 1.0 = mean (default: {per_architecture('temperature')})",
    )
    export.add_argument(
        "--prior-weight",
        type=float,
        default=defaults.prior_weight,
        help="classes head: decode-time class rebalancing in [0, 1] (more vivid, lower PSNR); 0 = off",
    )

    run = parser.add_argument_group("run")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--name", help="the run's name in saved_models/ (default: <architecture>-<date>-<time>)")
    where.add_argument("--run-dir", help="an explicit folder for the run instead of saved_models/<name>")
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run of this name/folder from its last completed epoch",
    )
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing run of the same name, or discard an interrupted one",
    )
    run.add_argument(
        "--distribute",
        choices=("none", "mirrored", "multiworker"),
        default=defaults.distribute,
        help=(
            "mirrored: tf.distribute.MirroredStrategy over local devices; "
            "multiworker: MultiWorkerMirroredStrategy configured by TF_CONFIG"
        ),
    )
    run.add_argument(
        "--evaluate-limit", type=cli.count, help="score at most this many test images at the end (default: all)"
    )
    run.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        help="Keras progress: 0 silent, 1 progress bar, 2 one line per epoch (default: 1 on a terminal, else 2)",
    )
    return parser


def config_from_args(args):
    """The parsed flags as a TrainConfig (resolved: the architecture's defaults filled and checked)."""
    values = {key: value for key, value in vars(args).items() if key in TrainConfig.__dataclass_fields__}
    # One source is stored as a plain string, as runs made before several sources were allowed.
    if isinstance(values.get("data"), list) and len(values["data"]) == 1:
        values["data"] = values["data"][0]
    return TrainConfig.from_dict(values).resolve()


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    parser = build_parser()
    args = parser.parse_args(argv)
    # The library loads TensorFlow: only after the flags are read, so --help and a
    # wrong flag answer at once.
    from colorkeras.data.pipeline import DatasetError
    from colorkeras.training.loop import UsageError, fit

    # --resume keeps the run's own settings but a new --epochs, given explicitly.
    words = list(sys.argv[1:] if argv is None else argv)
    epochs_given = any(word == "--epochs" or word.startswith("--epochs=") for word in words)

    try:
        fit(
            config_from_args(args),
            args.run_dir,
            name=args.name,
            resume=args.resume,
            resume_epochs=args.epochs if epochs_given else None,
            overwrite=args.overwrite,
            verbose=args.verbose,
        )
    except (UsageError, ValueError, DatasetError, store.RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: completed epochs are checkpointed (none if the first was not done); "
            "run the same command with --resume to continue",
            file=sys.stderr,
        )
        return 130
    except OSError as error:
        print(f"error: {error.strerror or error} ({error.filename or 'disk'})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    cli.run(main)
