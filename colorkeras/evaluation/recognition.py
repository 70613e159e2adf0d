"""Recognition: does an ImageNet classifier see in our colour what it sees in the truth?

``python -m colorkeras.evaluate --recognition CLASSIFIER.tflite``: a TFLite ImageNet
classifier (run by the LiteRT interpreter, as a phone would) looks at each true
colour photograph, at its gray copy and at each run's colorization of that gray
copy, each squeezed to the classifier's input size. A picture *agrees* when the
classifier's top class for it is its top class for the true photograph (top-5:
when that class is among its five best). Issue 27 asks that our colour be
recognised more often than the gray copy: colour that is wrong (a copper tree, a
pink-brown parrot) misleads a classifier that gray alone would not.

With ``--true-classes`` (issue 48, Zhang et al.'s measure) the data folder holds
ImageNet photographs and a ``labels.txt`` of ``<file name>\\t<classifier index>``
lines: the true photo, its gray copy and each colorization are scored against
the photo's TRUE class (top-1 and top-5), each pre-processed as the classifier
was evaluated (short side 256, centre crop 224), beside the agreement columns.

The classifier should not share weights with the colorizer: for runs whose
encoder started from ``tf2_mobilenet_v2_1.0_224_ptq.tflite``, score with the
separately trained ``mobilenet_v2_1.0_224_quant.tflite``.
"""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from colorkeras.core import cli
from colorkeras.core.images import ImageError, find_images, luma_gray, open_image, to_uint8_rgb
from colorkeras.evaluation import scoring
from colorkeras.evaluation.options import EvaluateOptions, Report
from colorkeras.serving.inference import Colorizer

log = logging.getLogger(__name__)

FIELDS = ("name", "n", "top1_agreement", "top5_agreement")
TRUE_FIELDS = ("name", "n", "top1_true", "top5_true", "top1_agreement", "top5_agreement")
LABELS = "labels.txt"
TRUTH = "ground truth"
# --true-classes pre-processing, as the ImageNet classifiers were evaluated: the short
# side to 256 (bilinear), then the centre 224 x 224 (scaled alike for other input sizes).
CROP_SHORT_SIDE, CROP_SIZE = 256, 224
RESIZES = {"squeeze": "squeezed to the input size", "crop": "short side 256 (bilinear), centre crop 224"}


def centre_crop(rgb, size=(CROP_SIZE, CROP_SIZE)):
    """uint8 RGB of any size as the ImageNet classifiers were evaluated: resized
    (bilinear, aspect kept) so that its short side is 256 for a 224 crop, then its
    centre ``size`` (PIL's (width, height)) cut out."""
    height, width = rgb.shape[:2]
    scale = max(size[0] / width, size[1] / height) * CROP_SHORT_SIDE / CROP_SIZE
    resized = (max(size[0], round(width * scale)), max(size[1], round(height * scale)))
    pixels = np.asarray(Image.fromarray(rgb).resize(resized, Image.BILINEAR))
    left, top = (resized[0] - size[0]) // 2, (resized[1] - size[1]) // 2
    return pixels[top : top + size[1], left : left + size[0]]


class Classifier:
    """A TFLite image classifier: uint8 RGB of any size -> its class scores.

    Takes files with a uint8 input (the quantized ImageNet classifiers: the file's
    own input quantization maps 0-255) or a float32 one (fed x / 127.5 - 1, as
    MobileNetV2 was trained). ``resize``: "squeeze" (the whole picture squeezed to
    the input size, the agreement mode's) or "crop" (``centre_crop``, --true-classes)."""

    def __init__(self, path, resize="squeeze"):
        if resize not in RESIZES:
            raise ValueError(f"Classifier resize must be one of {', '.join(RESIZES)}, not {resize!r}")
        path = Path(path).expanduser()
        if not path.is_file():
            raise ValueError(
                f"--recognition {path}: no such classifier file (a TFLite ImageNet classifier, e.g. "
                "../shared/pretrained/mobilenet_v2_1.0_224_quant.tflite)"
            )
        try:  # The LiteRT interpreter where installed (the test extra), else TensorFlow's own.
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            from tensorflow.lite import Interpreter
        try:
            self.interpreter = Interpreter(model_path=str(path))
        except (ValueError, RuntimeError) as error:
            raise ValueError(f"--recognition {path}: not a TFLite model ({error})") from None
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        shape = tuple(self.input["shape"])
        if len(shape) != 4 or shape[-1] != 3 or self.input["dtype"] not in (np.uint8, np.float32):
            raise ValueError(
                f"--recognition {path}: not an RGB image classifier (input {shape}, "
                f"{np.dtype(self.input['dtype']).name})"
            )
        self.size = (int(shape[2]), int(shape[1]))  # PIL's (width, height).
        self.classes = int(self.output["shape"][-1])
        self.path, self.resize = path, resize

    def fit(self, rgb):
        """``rgb`` uint8 at the classifier's input size, by its ``resize``."""
        if self.resize == "crop":
            return centre_crop(rgb, self.size)
        return np.asarray(Image.fromarray(rgb).resize(self.size, Image.BILINEAR))

    def scores(self, rgb):
        """Class scores (as stored: the order is what matters) of one uint8 RGB image."""
        pixels = self.fit(rgb)[None]
        if self.input["dtype"] == np.float32:
            pixels = pixels.astype(np.float32) / 127.5 - 1.0
        self.interpreter.set_tensor(self.input["index"], pixels)
        self.interpreter.invoke()
        return np.asarray(self.interpreter.get_tensor(self.output["index"])[0], np.float32)


def agreement(truth_scores, scores):
    """(top-1 agrees, top-5 holds the truth's top-1) for one picture's class scores."""
    truth_class = int(np.argmax(truth_scores))
    top5 = np.argsort(-scores, kind="stable")[:5]
    return int(np.argmax(scores)) == truth_class, truth_class in top5


def score_recognition(classifier, colorizers, images):
    """Rows (gray copy first, then each colorizer): the share of ``images`` (uint8
    RGB truths) whose picture the classifier puts in the truth's top class."""
    counts = {name: [0, 0] for name in [scoring.GRAY_COPY, *(colorizer.name for colorizer in colorizers)]}
    for truth in images:
        truth_scores = classifier.scores(truth)
        gray = luma_gray(truth)
        pictures = {scoring.GRAY_COPY: gray}
        for colorizer in colorizers:
            pictures[colorizer.name] = colorizer.colorize_batch(gray[None])[0]
        for name, picture in pictures.items():
            top1, top5 = agreement(truth_scores, classifier.scores(picture))
            counts[name][0] += top1
            counts[name][1] += top5
    return [
        {"name": name, "n": len(images), "top1_agreement": top1 / len(images), "top5_agreement": top5 / len(images)}
        for name, (top1, top5) in counts.items()
    ]


def score_true_classes(classifier, colorizers, photos, progress=None):
    """Rows (gray copy, each colorizer, then the truth): the share of ``photos``
    (an iterable of (uint8 RGB truth, true class index)) whose picture the
    classifier puts in its true class (``top1_true``: its top class;
    ``top5_true``: among its five best), with the agreement columns of
    ``score_recognition`` (the truth agrees with itself). ``progress(done)`` after
    each photograph."""
    names = [scoring.GRAY_COPY, *(colorizer.name for colorizer in colorizers), TRUTH]
    counts = {name: np.zeros(4, np.int64) for name in names}  # top1_true, top5_true, top1 and top5 agreement.
    total = 0
    for truth, label in photos:
        truth_scores = classifier.scores(truth)
        if not 0 <= label < len(truth_scores):
            raise ValueError(f"class index {label} is outside the classifier's {len(truth_scores)} classes")
        gray = luma_gray(truth)
        pictures = {scoring.GRAY_COPY: gray}
        for colorizer in colorizers:
            pictures[colorizer.name] = colorizer.colorize_batch(gray[None])[0]
        for name in names:
            scores = truth_scores if name == TRUTH else classifier.scores(pictures[name])
            top5 = np.argsort(-scores, kind="stable")[:5]
            counts[name] += (int(np.argmax(scores)) == label, label in top5, *agreement(truth_scores, scores))
        total += 1
        if progress:
            progress(total)
    return [
        {
            "name": name,
            "n": total,
            **{field: count / max(total, 1) for field, count in zip(TRUE_FIELDS[2:], row, strict=True)},
        }
        for name, row in counts.items()
    ]


def read_labels(folder):
    """``{file name: class index}`` from ``folder``'s labels.txt (``<file name>\\t<index>`` lines)."""
    path = Path(folder) / LABELS
    if not path.is_file():
        raise ValueError(
            f"--true-classes: no {LABELS} in {folder} (one '<file name>\\t<classifier index>' line per photograph)"
        )
    labels = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        name, tab, index = line.rpartition("\t")
        try:
            label = int(index)
        except ValueError:
            label = None
        if not tab or not name or label is None:
            raise ValueError(f"{path} line {number}: not '<file name>\\t<classifier index>': {line!r}")
        if labels.setdefault(name, label) != label:
            raise ValueError(f"{path} line {number}: {name} is listed twice, as {labels[name]} and {label}")
    if not labels:
        raise ValueError(f"{path} lists no photographs ('<file name>\\t<classifier index>' lines)")
    return labels


def labelled_files(folder, classes, limit=None):
    """[(image file, true class index)] for every image of ``folder`` (sorted, the
    first ``limit``), each named in its labels.txt (by its path under ``folder``) with
    an index below ``classes``: else one ValueError, before anything is classified."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--true-classes scores an image folder with a {LABELS}, not {str(folder)!r}")
    labels = read_labels(folder)
    files = find_images(folder)
    if not files:
        raise ValueError(f"no images to score in {folder}")
    names = [file.relative_to(folder).as_posix() for file in files]
    missing = [name for name in names if name not in labels]
    if missing:
        raise ValueError(
            f"{folder / LABELS} does not list {len(missing)} of the folder's {len(names)} images "
            f"(first: {', '.join(missing[:3])})"
        )
    outside = [(name, labels[name]) for name in names if not 0 <= labels[name] < classes]
    if outside:
        name, label = outside[0]
        raise ValueError(
            f"{folder / LABELS}: {len(outside)} image(s) have a class index outside the classifier's {classes} "
            f"classes (0-{classes - 1}; first: {name}, {label})"
        )
    pairs = [(file, labels[name]) for file, name in zip(files, names, strict=True)]
    return pairs[:limit] if limit else pairs


def format_table(rows):
    return pd.DataFrame(rows, columns=FIELDS).to_string(
        index=False, formatters={"top1_agreement": "{:.1%}".format, "top5_agreement": "{:.1%}".format}
    )


def format_true_table(rows):
    """The --true-classes table, with each row's top-1 and top-5 minus the gray copy's, in points."""
    gray = next(row for row in rows if row["name"] == scoring.GRAY_COPY)
    frame = pd.DataFrame(rows, columns=TRUE_FIELDS)
    for field in ("top1_true", "top5_true"):
        frame.insert(frame.columns.get_loc(field) + 1, f"{field[:4]} vs gray", 100 * (frame[field] - gray[field]))
    percent = "{:.1%}".format
    points = "{:+.1f} pt".format
    return frame.to_string(
        index=False,
        formatters={
            **{field: percent for field in TRUE_FIELDS[2:]},
            "top1 vs gray": points,
            "top5 vs gray": points,
        },
    )


def evaluate_true_classes(options: EvaluateOptions, output) -> Report:
    """``--recognition FILE --true-classes``: every image of the folder ``options.data``
    (sorted, the first ``options.limit``) against its true class in its labels.txt;
    prints the table and writes ``output`` (JSON, and CSV beside it)."""
    if getattr(options, "split_given", False) and options.split != "all":
        raise ValueError(
            f"--true-classes scores every image of the folder (its {LABELS} names them all), not a split: "
            f"leave --split {options.split} out"
        )
    if options.data in ("skimage", "cifar10", "historical") or not Path(options.data).expanduser().is_dir():
        raise ValueError(f"--true-classes scores an image folder with a {LABELS}, not {options.data!r}")
    folder = Path(options.data).expanduser()
    read_labels(folder)  # A missing or malformed labels.txt before the classifier loads.
    classifier = Classifier(options.recognition, resize="crop")
    pairs = labelled_files(folder, classifier.classes, options.limit)
    colorizers = [
        Colorizer(name, render_size=options.render_size, saturation=options.saturation)
        for name in (options.model or [None])
    ]
    log.info(
        f"Classifying {len(pairs)} photographs of {folder}, their gray copies and {len(colorizers)} colorization(s) "
        "each against their true classes ..."
    )
    skipped = []

    def photos():
        for path, label in pairs:
            try:
                yield to_uint8_rgb(open_image(path))[0], label
            except ImageError:
                skipped.append(path.name)

    bar = cli.Progress(len(pairs), "photograph", "Classified ")
    rows = score_true_classes(classifier, colorizers, photos(), progress=lambda done: bar.update(done + len(skipped)))
    if not rows[0]["n"]:
        raise ValueError(f"no readable images to score in {folder}")
    if skipped:
        log.info(f"({len(skipped)} unreadable file(s) skipped: {', '.join(skipped[:5])})")
    if output:
        record = {
            "data": str(folder.resolve()),
            "split": None,
            "true_classes": True,
            "limit": options.limit,
            "skipped": len(skipped),
            "classifier": classifier.path.name,
            "preprocessing": RESIZES[classifier.resize],
            "rows": rows,
        }
        scoring.write_table(output, record, TRUE_FIELDS)
    return Report(rows, str(folder.resolve()), text=format_true_table(rows), written=scoring.written(output))


def evaluate_recognition(options: EvaluateOptions) -> Report:
    """``python -m colorkeras.evaluate --recognition FILE``: for each run named
    (default: the default run), how often the classifier in FILE gives its
    colorization of each image of ``options.data`` (an image folder's ``options.split``,
    or ``skimage``) the top class it gives the true photograph, beside the gray
    copy; prints the table and writes ``options.output`` (JSON, and CSV beside it).
    Returns the exit status; a bad setting, file, run or data set raises before
    anything is written. With ``options.true_classes``: ``evaluate_true_classes``."""
    scoring.check_limit(options.limit)
    if any(options.hints):
        raise ValueError("--recognition scores automatic results; --hints is for the scores")
    output = scoring.table_output(options)
    if getattr(options, "true_classes", False):
        return evaluate_true_classes(options, output)
    classifier = Classifier(options.recognition)
    colorizers = [
        Colorizer(name, render_size=options.render_size, saturation=options.saturation)
        for name in (options.model or [None])
    ]
    images, source = scoring.photographs(options, colorizers[0], "--recognition scores")
    if not images:
        raise ValueError(f"no images to score in {options.data}")
    log.info(f"Classifying {len(images)} images, their gray copies and {len(colorizers)} colorization(s) each ...")
    rows = score_recognition(classifier, colorizers, images)
    if output:
        record = {
            "data": source,
            "split": None if options.data == "skimage" else options.split,
            "limit": options.limit,
            "classifier": classifier.path.name,
            "rows": rows,
        }
        scoring.write_table(output, record, FIELDS)
    return Report(rows, source, text=format_table(rows), written=scoring.written(output))
