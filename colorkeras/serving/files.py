"""Colorize files and folders: outputs planned (mirrored folders, clashes, hints per file), written atomically.

Its command line is ``python -m colorkeras.colorize``, whose docstring (``colorkeras/colorize.py``) gives examples and
the details.
"""

import io
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from colorkeras.core import archive, cli, store
from colorkeras.core import hints as hints_lib
from colorkeras.core.hints import read_hints_file
from colorkeras.core.images import (
    DEFAULT_MAX_PIXELS,
    ImageError,
    check_colour,
    find_images,
    luma_gray,
    open_image,
    save_image,
    to_uint8_rgb,
)

log = logging.getLogger(__name__)


def plan_outputs(inputs, out_dir, suffix=".png"):
    """(input file, output file) pairs, each input with an output of its own.

    A file goes to ``out_dir/<stem>.png``; a folder is mirrored under
    ``out_dir/<folder name>/`` (``<name>-2`` for a second folder of the same name).
    Inputs whose outputs would clash (``a.jpg`` and ``a.png``) keep their extension
    in the name (``a_jpg.png``, ``a_png.png``); a clash that remains is an error
    naming both files. A file given twice is done once.

    Returns (pairs, errors, roots): errors are messages for inputs that cannot be
    done; roots maps each given folder to the folder its outputs go to.
    """
    pairs, errors, roots, seen = [], [], {}, set()
    used_roots = set()
    for given in inputs:
        path = Path(given).expanduser()
        if path.is_dir():
            files = find_images(path)
            if not files:
                errors.append(f"{path}: no images found in this folder")
            if path.resolve() in roots:
                continue
            name, count = path.resolve().name or "root", 1
            while (name if count == 1 else f"{name}-{count}") in used_roots:
                count += 1
            root_name = name if count == 1 else f"{name}-{count}"
            used_roots.add(root_name)
            roots[path.resolve()] = out_dir / root_name
            candidates = [(file, out_dir / root_name / file.relative_to(path)) for file in files]
        elif path.is_file():
            candidates = [(path, out_dir / path.name)]
        else:
            errors.append(f"{path}: no such file or folder")
            continue
        for source, named in candidates:
            if source.resolve() not in seen:
                seen.add(source.resolve())
                pairs.append((source, named))
    planned = [(source, named.with_suffix(suffix)) for source, named in pairs]
    clashing = _clashes(planned)
    planned = [
        (
            source,
            named.with_name(f"{named.stem}_{named.suffix.lstrip('.').lower()}{suffix}")
            if index in clashing
            else target,
        )
        for index, ((source, target), (_, named)) in enumerate(zip(planned, pairs, strict=False))
    ]
    remaining = _clashes(planned)
    for index in sorted(remaining):
        others = [str(planned[other][0]) for other in remaining[index]]
        errors.append(
            f"{planned[index][0]}: its output {planned[index][1]} would also be that of {', '.join(others)}; "
            "rename one of them"
        )
    return [pair for index, pair in enumerate(planned) if index not in remaining], errors, roots


def _clashes(planned):
    """{index: [indices of the other inputs with the same output]} for every clash."""
    by_target = {}
    for index, (_, target) in enumerate(planned):
        by_target.setdefault(target, []).append(index)
    return {
        index: [other for other in group if other != index]
        for group in by_target.values()
        if len(group) > 1
        for index in group
    }


def assign_hints(value, pairs, max_pixels=DEFAULT_MAX_PIXELS):
    """A hints file's content -> {input file: checked points}; every error up front.

    A list belongs to the one input; an object's keys name inputs by file name,
    path, or path relative to a given folder. A key that names no input, or
    several, and a point outside its image are errors naming them.
    """
    from colorkeras.core.images import open_image, to_uint8_rgb

    sources = [source for source, _ in pairs]
    if isinstance(value, list):
        if len(sources) != 1:
            raise hints_lib.HintError(
                f"the hints file holds one list of points but there are {len(sources)} inputs; "
                'key the lists by file name: {"photo.jpg": [...]}'
            )
        assigned = {sources[0]: value}
    else:
        assigned = {}
        for key, points in value.items():
            matches = [s for s in sources if key in (s.name, str(s)) or s.as_posix().endswith("/" + key.lstrip("/"))]
            if not matches:
                raise hints_lib.HintError(f"the hints file names {key!r}, which is not among the inputs")
            if len(matches) > 1:
                raise hints_lib.HintError(
                    f"the hints file's key {key!r} names several inputs ({', '.join(map(str, matches))}); "
                    "give a longer path"
                )
            if matches[0] in assigned:
                raise hints_lib.HintError(f"{matches[0]} is given hints twice in the hints file")
            assigned[matches[0]] = points
    for source, points in assigned.items():
        # Coordinates are those of the image as shown (EXIF rotation applied).
        height, width = to_uint8_rgb(open_image(source, max_pixels), max_pixels)[0].shape[:2]
        assigned[source] = hints_lib.parse_hints(points, width, height, where=f"hints for {source.name}")
    return assigned


def side_by_side(gray, colour):
    colour_rgb = colour[..., :3]
    return np.concatenate([np.repeat(gray[..., :1], 3, axis=-1), colour_rgb], axis=1)


@dataclass
class FilesOptions:
    """What ``colorize_files`` does: each field is ``python -m colorkeras.colorize``'s flag of that name."""

    inputs: list[str]  # Image files and folders (folders are mirrored under ``out``).
    out: str  # The folder the results go to (created if missing).
    model: str | None = None  # A run's name or folder; None: the default run.
    format: str = "png"  # One of ``archive.FORMATS``: png, tiff, jpeg, webp.
    hints: str | None = None  # A hints JSON file (one image's points, or points per file).
    reference: str | None = None  # A colour photograph every input takes its colour from (by correspondence).
    render_size: int | None = None  # None: the run's own.
    saturation: float | None = None  # None: the run's own.
    max_pixels: int = DEFAULT_MAX_PIXELS  # Larger images are refused.
    overwrite: bool = False  # Replace outputs not made from the same input, run and options.
    compare: bool = False  # Also write gray | colour side by side.


def read_reference(options: FilesOptions) -> tuple[Any, bytes]:
    """(the reference photograph, its file's bytes), checked to be a colour photograph; refused with the options
    it cannot go with."""
    if options.hints:
        raise ValueError("give --hints or --reference, not both")
    if options.render_size is not None or options.saturation is not None:
        raise ValueError("--reference colours at the run's own render size and saturation; leave out those flags")
    path = Path(options.reference).expanduser()
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"reference {path}: cannot read it ({error.strerror or error})") from None
    image = open_image(io.BytesIO(data), options.max_pixels, name=f"reference {path}")
    check_colour(to_uint8_rgb(image, options.max_pixels)[0], name=f"reference {path}")
    return image, data


def colorize_files(options: FilesOptions) -> int:
    """Colorizes ``options.inputs`` into ``options.out`` (see ``FilesOptions``); every result is
    written atomically with its metadata and provenance. Returns 0, or 1 where some input
    failed (each said on stderr). Refusals that make nothing raise ``ValueError``,
    ``ImageError`` or ``RunError`` first."""

    out_dir = Path(options.out).expanduser()
    # The cheap checks first, before TensorFlow loads, and nothing is made: where the
    # results go, the run, then whether there is anything to do.
    store.check_writable(out_dir, folder=True, create=False)
    store.resolve_run(options.model)
    pairs, errors, roots = plan_outputs(options.inputs, out_dir, archive.FORMATS[options.format])
    if not pairs:
        raise ImageError("; ".join(errors) or "no inputs given")
    hint_file = read_hints_file(options.hints) if options.hints else None
    reference, reference_bytes = read_reference(options) if options.reference else (None, None)
    from colorkeras.serving.inference import Colorizer  # TensorFlow loads here, after the cheap checks.

    model = options.model
    colorizer = Colorizer(
        model, render_size=options.render_size, saturation=options.saturation, max_pixels=options.max_pixels
    )
    hints = {}
    if hint_file is not None:
        colorizer.check_takes_hints()
        hints = assign_hints(hint_file, pairs, options.max_pixels)
    if reference is not None:
        colorizer.check_takes_reference()
    # After every refusal (nothing is made for a command that refuses), before the first image.
    store.check_writable(out_dir, folder=True)
    inputs = {source.resolve() for source, _ in pairs}
    fingerprint = store.run_fingerprint(colorizer.path)
    done = skipped = 0
    dropped = {}  # What the output format could not hold: said once, in the summary.
    started = time.time()
    log.info(f"Colorizing {len(pairs)} image(s) with {colorizer.name} into {out_dir}")
    for folder, target in roots.items():
        log.info(f"  {folder}/ -> {target}/")
    # Progress for a folder; one image's outcome is the summary's (a refusal is not "1/1 colorized").
    progress = cli.Progress(len(pairs), "image", "Done with ", every=5.0) if len(pairs) > 1 else None
    for index, (source, target) in enumerate(pairs, start=1):
        if progress:
            progress.update(index - 1)
        try:
            if target.resolve() in inputs:
                raise ImageError(f"{source}: its output {target} would replace an input; choose another --out")
            try:
                data = source.read_bytes()
            except OSError as error:
                raise ImageError(f"{source}: cannot read it ({error.strerror or error})") from None
            recipe = archive.recipe(
                data,
                fingerprint,
                options.format,
                options.render_size,
                options.saturation,
                hints.get(source),
                reference_bytes,
            )
            if target.exists() and not options.overwrite:
                # Skipped only where this very input, run and options made it; anything
                # else there is the user's, or another result, and is not replaced unasked.
                if archive.read_recipe(target) == recipe:
                    skipped += 1
                    continue
                raise ImageError(
                    f"{source}: {target} already exists and was not made from this input with this run and these "
                    "options; pass --overwrite to replace it, or choose another --out"
                )
            image = open_image(io.BytesIO(data), options.max_pixels, name=str(source))
            colour = colorizer.colorize(image, hints=hints.get(source), reference=reference)
            made = colorizer.provenance(
                options.render_size,
                options.saturation,
                hints.get(source),
                recipe,
                Path(options.reference).name if reference is not None else None,
            )
            encoded, lost = archive.encode_result(colour, options.format, archive.Source.of(data, image), made)
            target.parent.mkdir(parents=True, exist_ok=True)
            store.atomic_write_bytes(target, encoded)
            for item in lost:
                dropped[item] = dropped.get(item, 0) + 1
            if options.compare:
                gray = luma_gray(to_uint8_rgb(image, options.max_pixels)[0])
                save_image(side_by_side(gray, colour), target.with_name(f"{target.stem}.compare.png"))
            done += 1
        except (ImageError, ValueError) as error:
            errors.append(str(error))
        except OSError as error:
            errors.append(f"{source}: cannot write {target} ({error.strerror or error})")
    if progress:
        progress.update(len(pairs))
    for message in errors:
        log.warning(f"error: {message}")
    for item, count in dropped.items():
        log.info(f"note: {options.format} cannot hold the input's {item}: not kept in {count} output(s)")
    seconds = time.time() - started
    log.info(
        f"Done: {done} colorized, {skipped} skipped (made before from the same input and options), "
        f"{len(errors)} failed, in {seconds:.1f} s; results in {out_dir}"
    )
    return 1 if errors else 0
