"""Colorize files and folders: ``python -m colorkeras.colorize INPUT... --out DIR``.

Examples::

    python -m colorkeras.colorize old_photo.jpg --out colour/
    python -m colorkeras.colorize scans/ --out colour/ --saturation 1.2 --compare
    python -m colorkeras.colorize scans/ --out colour/ --model cifar10-unet --render-size 64

Folders are searched recursively and their structure is mirrored under ``--out``.
Outputs are PNG files named after their inputs (``photo.jpg`` -> ``photo.png``);
an existing output is skipped unless ``--overwrite``, and an output never
replaces an input. A file that cannot be read is reported by name and skipped;
the exit status is 1 if any file failed, 2 for a usage error.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from colorkeras import store  # noqa: E402
from colorkeras.data import find_images  # noqa: E402
from colorkeras.inference import DEFAULT_MAX_PIXELS, ImageError  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m colorkeras.colorize",
        description="Colorize gray (or colour) photographs at their full resolution.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and/or folders (searched recursively)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the results (created if missing)")
    parser.add_argument("--model", default=None, metavar="RUN", help="run name in saved_models/ or a run folder (default: the default run)")
    parser.add_argument("--saturation", type=float, default=None, help="HSV saturation factor after prediction, 1.0 = off (default: the run's)")
    parser.add_argument("--render-size", type=int, default=None, help="short side in pixels the colour is predicted at (default: the run's)")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    parser.add_argument("--compare", action="store_true", help="also write NAME.compare.png: gray | colour side by side")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse images with more pixels than this")
    return parser


def plan_outputs(inputs, out_dir):
    """(input file, output file) pairs; folders are mirrored under ``out_dir``.

    Returns (pairs, errors) where errors are messages for inputs that do not exist.
    """
    pairs, errors = [], []
    for given in inputs:
        path = Path(given).expanduser()
        if path.is_dir():
            files = find_images(path)
            if not files:
                errors.append(f"{path}: no images found in this folder")
            pairs += [(file, out_dir / path.name / file.relative_to(path).with_suffix(".png")) for file in files]
        elif path.is_file():
            pairs.append((path, out_dir / path.with_suffix(".png").name))
        else:
            errors.append(f"{path}: no such file or folder")
    return pairs, errors


def save_png(array, path):
    """Writes a PNG through a temporary file, so no half-written output is left behind."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        Image.fromarray(array).save(temporary, format="PNG")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def side_by_side(gray, colour):
    import numpy as np

    colour_rgb = colour[..., :3]
    return np.concatenate([np.repeat(gray[..., :1], 3, axis=-1), colour_rgb], axis=1)


def run(args):
    from colorkeras.color import luma_gray
    from colorkeras.inference import Colorizer, open_image, to_uint8_rgb

    out_dir = Path(args.out).expanduser()
    pairs, errors = plan_outputs(args.inputs, out_dir)
    colorizer = Colorizer(args.model, render_size=args.render_size, saturation=args.saturation, max_pixels=args.max_pixels)
    inputs = {source.resolve() for source, _ in pairs}
    done = skipped = 0
    started = time.time()
    interactive = sys.stderr.isatty()
    print(f"Colorizing {len(pairs)} image(s) with {colorizer.name} into {out_dir}", file=sys.stderr)
    for index, (source, target) in enumerate(pairs, start=1):
        try:
            if target.resolve() in inputs:
                raise ImageError(f"{source}: its output {target} would replace an input; choose another --out")
            if target.exists() and not args.overwrite:
                skipped += 1
                continue
            image = open_image(source, args.max_pixels)
            colour = colorizer.colorize(image)
            save_png(colour, target)
            if args.compare:
                gray = luma_gray(to_uint8_rgb(image, args.max_pixels)[0])
                save_png(side_by_side(gray, colour), target.with_name(f"{target.stem}.compare.png"))
            done += 1
        except (ImageError, ValueError) as error:
            errors.append(str(error))
        except OSError as error:
            errors.append(f"{source}: cannot write {target} ({error.strerror or error})")
        rate = done / max(time.time() - started, 1e-9)
        line = f"[{index}/{len(pairs)}] {rate:.2f} images/s  {source.name}"
        print(f"\r{line[:100]:<100}" if interactive else line, end="" if interactive else "\n", file=sys.stderr)
    if interactive and pairs:
        print(file=sys.stderr)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    seconds = time.time() - started
    print(
        f"Done: {done} colorized, {skipped} skipped (already there; --overwrite replaces), "
        f"{len(errors)} failed, in {seconds:.1f} s",
        file=sys.stderr,
    )
    return 1 if errors else 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (store.RunError, ValueError, ImageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; finished outputs are complete, run again to do the rest", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
