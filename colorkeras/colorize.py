"""Colorize files and folders: ``python -m colorkeras.colorize INPUT... --out DIR``.

Examples::

    python -m colorkeras.colorize old_photo.jpg --out colour/
    python -m colorkeras.colorize scans/ --out colour/ --saturation 1.2 --compare
    python -m colorkeras.colorize scans/ --out colour/ --model cifar10-unet --render-size 64
    python -m colorkeras.colorize photo.jpg --hints hints.json --out colour/
    python -m colorkeras.colorize photo.jpg --reference colour-photo.jpg --out colour/

``--hints FILE`` gives colour points (``[{"x": 120, "y": 48, "color": "#1f3a93"}]``,
input pixels): for one input a list; for several an object of lists keyed by
file name (or path). They are all checked before anything is written. Without
``--model``, hints go to the default run if it takes them, else to the shipped
hint run (said on the terminal).

Folders are searched recursively and their structure is mirrored under ``--out``.
Outputs are PNG files (``--format tiff|jpeg|webp`` for others) named after their
inputs (``photo.jpg`` -> ``photo.png``), at 16 bits where a 16-bit input's format
allows, with the input's EXIF, IPTC, XMP and ICC profile and a record of the run
that coloured them (``colorkeras.core.archive``);
an existing output is skipped unless ``--overwrite``, and an output never
replaces an input. A file that cannot be read is reported by name and skipped;
the exit status is 1 if any file failed, 2 for a usage error.
"""

import sys

from colorkeras.core import cli, store
from colorkeras.core.images import ImageError


def build_parser():
    parser = cli.command_parser("colorize", "Colorize gray (or colour) photographs at their full resolution.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders (searched recursively)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the results (created if missing)")
    cli.add_model_flag(parser)
    parser.add_argument(
        "--saturation", type=float, help="HSV saturation factor after prediction, 1.0 = off (default: the run's)"
    )
    parser.add_argument(
        "--render-size", type=int, help="short side in pixels the colour is predicted at (default: the run's)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    parser.add_argument(
        "--compare", action="store_true", help="also write NAME.compare.png: gray | colour side by side"
    )
    parser.add_argument(
        "--hints",
        metavar="FILE",
        help=(
            "JSON hint points (x, y, color, optional radius) for a run trained with --hints: a list for one input, or "
            "an object of lists keyed by file name"
        ),
    )
    parser.add_argument(
        "--reference",
        metavar="PHOTO",
        help=(
            "a colour photograph of the same or a similar scene: each input takes its colour from it where the two "
            "correspond, and the run's automatic colour elsewhere (runs with the pretrained encoder and hints)"
        ),
    )
    cli.add_output_flags(parser)
    return parser


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    args = build_parser().parse_args(argv)
    # The library loads TensorFlow: only after the flags are read, so --help and a
    # wrong flag answer at once.
    from colorkeras.serving.files import FilesOptions, colorize_files

    try:
        return colorize_files(cli.options_from(FilesOptions, args))
    except (store.RunError, ValueError, ImageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; finished outputs are complete, run again to do the rest", file=sys.stderr)
        return 130


if __name__ == "__main__":
    cli.run(main)
