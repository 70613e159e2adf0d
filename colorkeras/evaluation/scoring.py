"""Evaluation: score colorizers beside the baselines, ``python -m colorkeras.evaluate``.

(The library behind ``python -m colorkeras.evaluate``, whose flags ``colorkeras/evaluate.py`` parses.)

Every model colorizes the BT.601 gray copy of each colour image through the same
path users get (``inference.Colorizer``, the run's SavedModel); the gray copy
itself is scored as the first baseline.
"""

import csv
import dataclasses
import io
import logging
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from skimage import data

from colorkeras.core import cli, store
from colorkeras.core import hints as hints_lib
from colorkeras.core.constants import FILM_SUFFIXES
from colorkeras.core.images import luma_gray, save_image
from colorkeras.data import pipeline as data_lib
from colorkeras.data.degrade import archive_gray_copies
from colorkeras.evaluation import films
from colorkeras.evaluation.metrics import MetricAccumulator
from colorkeras.evaluation.options import EvaluateOptions, Report
from colorkeras.serving.inference import Colorizer, ImageError, open_image, to_uint8_rgb
from colorkeras.video import pipeline
from colorkeras.video.key_frames import KeyFrames

log = logging.getLogger(__name__)

GRAY_COPY = "gray copy"


def revealed_hints(truth, count, seed=0):
    """``count`` hint points per image revealed from ``truth`` uint8 [B, H, W, 3]
    (``hints.reveal``), drawn from a generator seeded by the image's own pixels, so
    every model, batch size and order sees the same points. (points, colors)."""

    pairs = [
        hints_lib.reveal(np.random.default_rng([seed, count, zlib.crc32(image.tobytes())]), image[None], count)
        for image in truth
    ]
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


def label_hints(rows, count, sweep):
    """Rows of one step of a hint sweep, named ``RUN (N hints)`` when the sweep has several steps."""
    for row in rows:
        row["run"] = row["name"]
        if sweep != [0]:
            row["hints"] = count
            row["name"] = f"{row['name']} ({count} hint{'s' if count != 1 else ''})"
    return rows


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What every model is given for a colour image: its gray copy (with ``degrade``,
    with archive-scan defects seeded by the image: ``degrade.archive_gray_copies``)
    and ``hint_count`` points revealed from it."""

    hint_count: int = 0
    degrade: bool = False

    def given(self, truth):
        """(gray uint8 [B, H, W, 3], (points, colors) or None for no hints) for ``truth`` uint8 [B, H, W, 3]."""
        gray = luma_gray(truth)
        if self.degrade:
            gray = archive_gray_copies(gray)
        return gray, (revealed_hints(truth, self.hint_count) if self.hint_count else None)


CLEAN = Inputs()  # The plain gray copy, no hints.


def colorize_gray(colorizer, gray, hinted=None):
    """Colorizes ``gray`` with the ``hinted`` (points, colors) of ``Inputs.given``."""
    if hinted is None:
        return colorizer.colorize_batch(gray)
    return colorizer.colorize_batch(gray, points=hinted[0], colors=hinted[1])


def score_arrays(colorizer, images, name=None, batch_size=256, progress=None, inputs=CLEAN):
    """Scores ``colorizer`` on uint8 RGB images ``[n, h, w, 3]`` (one size); returns a row."""
    accumulator = MetricAccumulator(name or colorizer.name)
    for start in range(0, len(images), batch_size):
        truth = images[start : start + batch_size]
        accumulator.update_batch(colorize_gray(colorizer, *inputs.given(truth)), truth)
        if progress:
            progress(min(start + batch_size, len(images)), len(images))
    return accumulator.result()


def score_gray_copy(images, inputs=CLEAN):
    accumulator = MetricAccumulator(GRAY_COPY)
    accumulator.update_batch(inputs.given(images)[0], images)
    return accumulator.result()


def sample_grid(colorizer, images, scale=4):
    """A uint8 picture: one column per image, rows gray / colorized / truth."""
    gray = luma_gray(images)
    colour = colorizer.colorize_batch(gray)
    rows = [np.concatenate(list(row), axis=1) for row in (gray, colour, images)]
    grid = np.concatenate(rows, axis=0)
    return np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1) if scale > 1 else grid


def write_samples(colorizer, images, path):
    save_image(sample_grid(colorizer, images), path)


def contact_sheet(colorizers, images, tile=128, columns=6, inputs=CLEAN):
    """A uint8 picture of whole images at their own aspect: for each image a cell of
    gray copy, each colorizer's result, then the truth, side by side; cells in a grid.

    Every image is colorized at its full resolution and shown ``tile`` px high.
    """

    cells = []
    for image in images:
        image = image[..., :3]
        gray = inputs.given(image[None])[0][0]
        cells.append([gray, *[colorizer.colorize(gray) for colorizer in colorizers], image])
    return panel_sheet(cells, tile, columns)


def panel_sheet(cells, tile=128, columns=6):
    """Lays out ``cells`` (each a list of same-sized uint8 RGB panels) as a uint8
    picture: each cell's panels side by side, ``tile`` px high at their aspect;
    ``columns`` cells a row."""

    pictures = []
    for panels in cells:
        width = max(1, round(panels[0].shape[1] * tile / panels[0].shape[0]))
        resized = [
            np.asarray(Image.fromarray(panel[..., :3]).resize((width, tile), Image.Resampling.LANCZOS))
            for panel in panels
        ]
        gap = np.full((tile, 2, 3), 255, np.uint8)
        pictures.append(np.concatenate([part for panel in resized for part in (panel, gap)][:-1], axis=1))
    cell_width = max(picture.shape[1] for picture in pictures)
    padded = [
        np.pad(picture, ((0, 6), (0, cell_width - picture.shape[1] + 6), (0, 0)), constant_values=255)
        for picture in pictures
    ]
    while len(padded) % columns:
        padded.append(np.full_like(padded[0], 255))
    rows = [np.concatenate(padded[start : start + columns], axis=1) for start in range(0, len(padded), columns)]
    return np.concatenate(rows, axis=0)


def write_test_report(folder, test_images, name, data_source=None, samples=8, limit=None):
    """Scores a run's SavedModel on ``test_images`` and writes its metrics.json and
    samples.png; returns the metrics row.

    samples.png shows ``samples`` test images spread evenly over the split (so over
    the classes of a folder sorted by class); the metrics cover the first ``limit``
    test images (all by default).
    """

    run = store.Run(folder)
    scored = test_images[:limit] if limit else test_images
    log.info(f"Scoring {len(scored)} test images through the SavedModel (--evaluate-limit N scores fewer) ...")
    colorizer = Colorizer(folder)
    shown = cli.Progress(len(scored), "test image", "  scored ")
    row = score_arrays(colorizer, scored, name=name, progress=lambda done, total: shown.update(done))
    spread = np.linspace(0, len(test_images) - 1, min(samples, len(test_images))).round().astype(int)
    write_samples(colorizer, test_images[spread], run.samples)
    run.write_json(run.METRICS, {"split": "test", "data_source": data_source, **row})
    return row


def load_split_arrays(data, split="test", limit=None, load_size=32, validation_fraction=0.1, seed=0):
    """A dataset's ``split`` as uint8 squares ``[n, load_size, load_size, 3]``.

    ``validation`` is the part of the training images that training holds out
    with the same fraction and seed (the defaults of ``python -m colorkeras.train``),
    for choosing settings without looking at the test split.
    """

    if split == "all":
        raise data_lib.DatasetError("--split all is for image folders; use test, validation or train")
    splits = data_lib.load_splits(data, load_size=load_size, validation_fraction=validation_fraction, seed=seed)
    images = {"test": splits.test, "train": splits.train, "validation": splits.validation}[split]
    return images[:limit] if limit else images


def find_split_files(folder, split="test", limit=None, validation_fraction=0.1, seed=0):
    """Image files of ``split`` under an image folder, as training splits it.

    ``train``/``test`` subfolders where present, else the fixed 80:20 split of
    ``data.split_files``; ``all`` takes every image in the folder; ``validation``
    the training files that training with ``validation_fraction`` and ``seed``
    holds out.
    """

    folder = Path(folder)
    if split == "all":
        files = data_lib.find_images(folder)
    elif split == "validation":
        files = data_lib.validation_files(folder, validation_fraction, seed)
    else:
        train, test = data_lib.folder_split_paths(folder)
        files = test if split == "test" else train
    if not files:
        raise data_lib.DatasetError(f"no images found for split {split!r} in {folder}")
    return files[:limit] if limit else files


def read_files(paths):
    """Decodes ``paths``; returns (list of (path, uint8 RGB)), skipped count)."""

    images, skipped = [], 0
    for path in paths:
        try:
            images.append(to_uint8_rgb(open_image(path))[0])
        except ImageError:
            skipped += 1
    return images, skipped


def _score_images(colorizers, accumulators, gray_accumulator, images, batch_size, inputs=CLEAN):
    """Adds uint8 RGB images of any sizes: same-sized ones are colorized as one batch."""
    by_shape = {}
    for image in images:
        by_shape.setdefault(image.shape, []).append(image)
    for group in by_shape.values():
        for offset in range(0, len(group), batch_size):
            truth = np.stack(group[offset : offset + batch_size])
            gray, hinted = inputs.given(truth)
            gray_accumulator.update_batch(gray, truth)
            for colorizer, accumulator in zip(colorizers, accumulators, strict=False):
                accumulator.update_batch(colorize_gray(colorizer, gray, hinted), truth)


def score_files(colorizers, files, progress=None, chunk=256, batch_size=64, inputs=CLEAN):
    """Scores each colorizer on image files at their full resolution.

    Files are read a chunk at a time, so memory stays bounded. Unreadable files
    are skipped and counted. Returns (rows, gray-copy row, skipped).
    """
    accumulators = [MetricAccumulator(colorizer.name) for colorizer in colorizers]
    gray_accumulator = MetricAccumulator(GRAY_COPY)
    skipped = 0
    for start in range(0, len(files), chunk):
        images, bad = read_files(files[start : start + chunk])
        skipped += bad
        _score_images(colorizers, accumulators, gray_accumulator, images, batch_size, inputs)
        if progress:
            progress(min(start + chunk, len(files)), len(files))
    return [a.result() for a in accumulators], gray_accumulator.result(), skipped


SKIMAGE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
)


def skimage_photos():
    photos = []
    for name in SKIMAGE_PHOTOS:
        image = getattr(data, name)()
        photos.append(image[0] if isinstance(image, tuple) else image)
    return photos


def photographs(options: EvaluateOptions, colorizer, measure):
    """(uint8 RGB images, source) for a per-photograph measure (``--leakage``,
    ``--recognition``): scikit-image's photographs, or ``options.split`` of an image
    folder as ``colorizer``'s run split it, at most ``options.limit``."""
    if options.data == "skimage":
        return skimage_photos()[: options.limit], "scikit-image sample photographs"
    path = Path(options.data).expanduser()
    if not path.is_dir():
        raise ValueError(f"{measure} an image folder or 'skimage', not {options.data!r}")
    settings = colorizer.record.get("settings", {})
    files = find_split_files(
        path,
        options.split,
        options.limit,
        validation_fraction=settings.get("validation_fraction", 0.1),
        seed=settings.get("seed", 0),
    )
    return read_files(files)[0], str(path.resolve())


def score_skimage(colorizers, inputs=CLEAN, limit=None):
    """Scores each colorizer on ``SKIMAGE_PHOTOS`` at full size (the first ``limit`` of them).

    Returns (rows, gray-copy row, per-photo rows); each per-photo row is named
    ``<photo>: <model>`` and covers one photograph.
    """
    photos = skimage_photos()[:limit]
    accumulators = [MetricAccumulator(colorizer.name) for colorizer in colorizers]
    gray_accumulator = MetricAccumulator(GRAY_COPY)
    per_photo = []
    for name, photo in zip(SKIMAGE_PHOTOS, photos, strict=False):
        single = [MetricAccumulator(f"{name}: {colorizer.name}") for colorizer in colorizers]
        single_gray = MetricAccumulator(f"{name}: {GRAY_COPY}")
        _score_images(colorizers, single, single_gray, [photo], batch_size=1, inputs=inputs)
        for accumulator, total in zip([single_gray, *single], [gray_accumulator, *accumulators], strict=False):
            total.merge(accumulator)
            per_photo.append(accumulator.result())
    return [a.result() for a in accumulators], gray_accumulator.result(), per_photo


def score_video(path, colorizers, options: EvaluateOptions) -> Report:
    """Scores each run on a colour film twice, per frame and stabilised, beside the
    gray copy and the truth (and writes ``options.output``); a film that cannot be read
    raises ValueError."""

    stability = pipeline.DEFAULT_STABILITY if options.stability is None else options.stability
    log.info(f"Scoring {path}: per-frame and stabilised ({stability:g}) colorization ...")
    try:
        keys, skip = None, ()
        if options.key_frames:
            info = pipeline.film_info(path)
            keys = KeyFrames.read(options.key_frames, info["width"], info["height"])
            keys.find_shots(path)
            skip = set(keys.frames)
        gray_row, truth_warping = films.score_film_baselines(path, skip)
        rows = []
        for colorizer in colorizers:
            rows.append(films.score_film(path, colorizer, 0.0, skip=skip))
            rows.append(films.score_film(path, colorizer, stability, options.every, skip=skip))
            if keys is not None and colorizer.takes_reference:
                rows.append(films.score_film(path, colorizer, stability, options.every, keys, skip))
    except pipeline.FilmError as error:
        raise ValueError(str(error)) from None
    truth = truth_row(gray_row)
    truth["warping_error"] = truth_warping
    report = Report([gray_row, *rows, truth], str(path.resolve()), columns=("warping_error",))
    if options.output:
        write_report(
            {
                "data": report.source,
                "split": "film",
                "stability": stability,
                "every": options.every,
                **({"key_frames": sorted(keys.frames), "frames_left_out": "the key frames'"} if keys else {}),
                "rows": report.rows,
            },
            options.output,
        )
        report.written += [Path(options.output), Path(options.output).with_suffix(".csv")]
    return report


ROW_FIELDS = (
    "name",
    "n",
    "mse",
    "psnr",
    "psnr_mean",
    "ssim",
    "colorfulness",
    "colorfulness_gap",
    "truth_colorfulness",
    "auc",
)


def truth_row(gray_row):
    return {
        "name": "ground truth",
        "n": gray_row["n"],
        "mse": 0.0,
        "psnr": float("inf"),
        "psnr_mean": float("inf"),
        "ssim": 1.0,
        "colorfulness": gray_row["truth_colorfulness"],
        "colorfulness_gap": 0.0,
        "truth_colorfulness": gray_row["truth_colorfulness"],
        "auc": 1.0,
    }


def text_table(rows, fields, decimals):
    """``rows`` as a text table of the columns ``fields``; ``decimals`` maps a column to its format
    (``"{:.2f}"``, ``"{:+.2f}"``); the others as they are."""
    formatters = {name: form.format for name, form in decimals.items()}
    return pd.DataFrame(rows, columns=list(fields)).to_string(index=False, formatters=formatters)


def format_table(rows, extra=()):
    frame = pd.DataFrame(rows, columns=[*ROW_FIELDS, *extra])
    return frame.to_string(
        index=False,
        formatters={
            "mse": "{:.2f}".format,
            "psnr": "{:.2f}".format,
            "psnr_mean": "{:.2f}".format,
            "ssim": "{:.4f}".format,
            "colorfulness": "{:.1f}".format,
            "colorfulness_gap": "{:+.1f}".format,
            "truth_colorfulness": "{:.1f}".format,
            "auc": "{:.4f}".format,
            "warping_error": lambda value: "-" if value is None or value != value else f"{value:.4f}",
        },
    )


def write_report(report, path):
    """Writes ``report`` as JSON to ``path`` and its rows as CSV beside it (``.csv``)."""

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = store.portable(report)  # Data and film paths as the README names them, no machine's.
    store.atomic_write_json(path, report)
    buffer = io.StringIO()
    fields = [*ROW_FIELDS, *(["warping_error"] if any("warping_error" in row for row in report["rows"]) else [])]
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(report["rows"])
    store.atomic_write_text(path.with_suffix(".csv"), buffer.getvalue())
    if report.get("per_image"):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(report["per_image"])
        store.atomic_write_text(path.with_suffix(".per-image.csv"), buffer.getvalue())


def check_limit(limit):
    """``--limit``, shared by every evaluate mode (0 would read as "none" to a user but as "no limit" to a slice)."""
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, received {limit}")


def table_output(options: EvaluateOptions):
    """``--output`` as a path (None without it), after checking that it and the CSV
    beside it may be written: before the measuring, not after it."""
    if not options.output:
        return None
    output = Path(options.output).expanduser()
    for target in (output, output.with_suffix(".csv")):
        store.check_writable(target, overwrite=options.overwrite)
    return output


def written(output):
    """The files ``write_table(output, ...)`` writes (none without an output)."""
    return [Path(output), Path(output).with_suffix(".csv")] if output else []


def write_table(output, report, fields):
    """Writes ``report`` (its paths as the README names them) as JSON to ``output``
    and its ``rows`` as CSV (columns ``fields``) beside it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    store.atomic_write_json(output, store.portable(report))
    store.atomic_write_text(
        output.with_suffix(".csv"), pd.DataFrame(report["rows"], columns=fields).to_csv(index=False)
    )


def report_files(options: EvaluateOptions):
    """The files a run of ``evaluate`` would write: --output's JSON, its CSV (and the
    per-image CSV with --per-image), and the --contact-sheet."""
    files = []
    if options.output:
        output = Path(options.output).expanduser()
        files += [output, output.with_suffix(".csv")]
        if options.per_image and options.data == "skimage":
            files.append(output.with_suffix(".per-image.csv"))
    if options.contact_sheet:
        files.append(Path(options.contact_sheet).expanduser())
    return files


# === The evaluate command ===


def score(options: EvaluateOptions | None = None, **fields: Any) -> Report:
    """``colorkeras.score``: scores runs beside the gray copy and the truth and returns the Report.

    ``options`` (or its fields as keywords: ``score(model=["my-run"], data="photos/",
    split="test", limit=100)``) says what; see ``EvaluateOptions``. The films, PSNR and
    hint-sweep measures; leakage and recognition have their own functions.
    """
    if options is None:
        options = EvaluateOptions(**fields)
    elif fields:
        options = dataclasses.replace(options, **fields)
    return evaluate(options)


def evaluate(options: EvaluateOptions) -> Report:
    """Scores every run named in ``options`` (default: every run in the store) on
    ``options.data`` beside the gray copy and writes the contact sheet and the report
    asked for; returns the Report (``format_table(report.rows)`` is the printed table).
    A bad setting, image, data set or run raises ``ValueError``, ``ImageError``,
    ``DatasetError`` or ``RunError`` before anything is written."""
    check_limit(options.limit)
    if not all(0 <= count <= 1000 for count in options.hints):
        raise ValueError(f"--hints must be between 0 and 1000, received {options.hints}")
    sweep = sorted(set(options.hints))
    for target in report_files(options):
        store.check_writable(target, overwrite=options.overwrite)  # Before the scoring, not after it.
    names = options.model or store.list_runs()
    if not names:
        raise store.RunError("no runs to evaluate: train one or pass --model")
    colorizers = [
        Colorizer(
            name,
            render_size=options.render_size,
            saturation=options.saturation,
            temperature=options.temperature,
            prior_weight=options.prior_weight,
        )
        for name in names
    ]
    if any(sweep):
        for colorizer in colorizers:
            colorizer.check_takes_hints()
        if options.data == "skimage":
            raise ValueError("--hints scores image folders and CIFAR-10; not --data skimage")

    bar = {"target": 0, "offset": 0, "widget": None}

    def progress(done, total):
        # The table owns standard output, so progress goes to stderr, with the time left.
        if bar["widget"] is None:
            bar["widget"] = cli.Progress(bar["target"], "image", "Scored ")
        bar["widget"].update(bar["offset"] + done)

    path = Path(options.data).expanduser()
    if path.suffix.lower() in FILM_SUFFIXES:
        if options.degrade:
            raise ValueError("--degrade scores photographs, not films")
        return score_video(path, colorizers, options)
    if options.key_frames:
        raise ValueError("--key-frames scores films (give a colour film as --data)")
    is_folder = options.data not in ("cifar10", "skimage") and path.is_dir() and not data_lib.is_cifar_batches(path)
    skipped, per_photo = 0, []
    # The validation split is the one the first model's run held out.
    settings = colorizers[0].record.get("settings", {})
    held_out = dict(validation_fraction=settings.get("validation_fraction", 0.1), seed=settings.get("seed", 0))
    if options.data == "skimage":
        log.info(
            f"Scoring scikit-image's colour photographs at full size: {', '.join(SKIMAGE_PHOTOS[: options.limit])}"
        )
        rows, gray_row, per_photo = score_skimage(colorizers, Inputs(degrade=options.degrade), options.limit)
        sheet_images = skimage_photos()[: options.limit]
        source = "scikit-image sample photographs (" + ", ".join(SKIMAGE_PHOTOS[: options.limit]) + ")"
    elif is_folder:
        files = find_split_files(path, options.split, options.limit, **held_out)
        log.info(f"Scoring {len(files)} images of {path} at full resolution ...")
        rows = []
        bar["target"] = len(files) * len(sweep)
        for step, count in enumerate(sweep):
            bar["offset"] = step * len(files)
            scored, gray_row, skipped = score_files(colorizers, files, progress, inputs=Inputs(count, options.degrade))
            rows.extend(label_hints(scored, count, sweep))
        if options.contact_sheet:
            chosen = [
                files[index]
                for index in np.linspace(0, len(files) - 1, min(options.sheet_count, len(files))).round().astype(int)
            ]
            sheet_images = read_files(chosen)[0]
        source = str(path.resolve())
    else:
        images = load_split_arrays(
            options.data,
            options.split,
            options.limit,
            load_size=settings.get("load_size") or settings.get("image_size") or 32,
            **held_out,
        )
        log.info(f"Scoring {len(images)} images ...")
        gray_row = score_gray_copy(images, Inputs(degrade=options.degrade))
        rows = []
        bar["target"] = len(images) * len(colorizers) * len(sweep)
        for step, count in enumerate(sweep):
            for index, colorizer in enumerate(colorizers):
                bar["offset"] = (step * len(colorizers) + index) * len(images)
                scored = score_arrays(
                    colorizer, images, colorizer.name, options.batch_size, progress, Inputs(count, options.degrade)
                )
                rows.extend(label_hints([scored], count, sweep))
        source = options.data if options.data == "cifar10" else str(path.resolve())
        sheet_images = list(
            images[np.linspace(0, len(images) - 1, min(options.sheet_count, len(images))).round().astype(int)]
        )
    by_name = {colorizer.name: colorizer for colorizer in colorizers}
    for row in rows:
        colorizer = by_name[row.pop("run", row["name"])]
        row.update(
            render_size=colorizer.render_size,
            saturation=colorizer.hint_saturation if row.get("hints") else colorizer.saturation,
            temperature=colorizer.temperature,
            prior_weight=colorizer.prior_weight,
        )
    all_rows = [gray_row, *rows, truth_row(gray_row)]
    report = Report(all_rows, source, per_image=per_photo if options.per_image else [])
    if skipped:
        log.info(f"({skipped} unreadable file(s) skipped)")
    if options.contact_sheet:
        save_image(
            contact_sheet(colorizers, sheet_images, inputs=Inputs(degrade=options.degrade)), options.contact_sheet
        )
        report.written.append(Path(options.contact_sheet))
    if options.output:
        record = {
            "data": source,
            "dataset": data_lib.describe(options.data, options.split),
            "split": options.split,
            "limit": options.limit,
            "skipped": skipped,
            "hints": sweep,
            "degrade": options.degrade,
            "rows": all_rows,
        }
        if options.per_image and per_photo:
            record["per_image"] = per_photo
        write_report(record, options.output)
        report.written += [Path(options.output), Path(options.output).with_suffix(".csv")]
    return report
