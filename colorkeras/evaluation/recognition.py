"""Recognition: does an ImageNet classifier see in our colour what it sees in the truth?

``python -m colorkeras.evaluate --recognition CLASSIFIER.tflite``: a TFLite ImageNet
classifier (run by the LiteRT interpreter, as a phone would) looks at each true
colour photograph, at its gray copy and at each run's colorization of that gray
copy, each squeezed to the classifier's input size. A picture *agrees* when the
classifier's top class for it is its top class for the true photograph (top-5:
when that class is among its five best). Issue 27 asks that our colour be
recognised more often than the gray copy: colour that is wrong (a copper tree, a
pink-brown parrot) misleads a classifier that gray alone would not.

The classifier should not share weights with the colorizer: for runs whose
encoder started from ``tf2_mobilenet_v2_1.0_224_ptq.tflite``, score with the
separately trained ``mobilenet_v2_1.0_224_quant.tflite``.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from colorkeras.core.images import luma_gray
from colorkeras.evaluation import scoring
from colorkeras.serving.inference import Colorizer

FIELDS = ("name", "n", "top1_agreement", "top5_agreement")


class Classifier:
    """A TFLite image classifier: uint8 RGB of any size -> its class scores.

    Takes files with a uint8 input (the quantized ImageNet classifiers: the file's
    own input quantization maps 0-255) or a float32 one (fed x / 127.5 - 1, as
    MobileNetV2 was trained)."""

    def __init__(self, path):
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
        self.path = path

    def scores(self, rgb):
        """Class scores (as stored: the order is what matters) of one uint8 RGB image."""
        pixels = np.asarray(Image.fromarray(rgb).resize(self.size, Image.BILINEAR))[None]
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


def format_table(rows):
    return pd.DataFrame(rows, columns=FIELDS).to_string(
        index=False, formatters={"top1_agreement": "{:.1%}".format, "top5_agreement": "{:.1%}".format}
    )


def evaluate_recognition(args):
    """``python -m colorkeras.evaluate --recognition FILE``: for each run named
    (default: the default run), how often the classifier in FILE gives its
    colorization of each image of ``args.data`` (an image folder's ``args.split``,
    or ``skimage``) the top class it gives the true photograph, beside the gray
    copy; prints the table and writes ``args.output`` (JSON, and CSV beside it).
    Returns the exit status; a bad setting, file, run or data set raises before
    anything is written."""
    scoring.check_limit(args.limit)
    if any(args.hints):
        raise ValueError("--recognition scores automatic results; --hints is for the scores")
    output = scoring.table_output(args)
    classifier = Classifier(args.recognition)
    colorizers = [
        Colorizer(name, render_size=args.render_size, saturation=args.saturation) for name in (args.model or [None])
    ]
    images, source = scoring.photographs(args, colorizers[0], "--recognition scores")
    if not images:
        raise ValueError(f"no images to score in {args.data}")
    print(
        f"Classifying {len(images)} images, their gray copies and {len(colorizers)} colorization(s) each ...",
        file=sys.stderr,
    )
    rows = score_recognition(classifier, colorizers, images)
    print(format_table(rows))
    if output:
        report = {
            "data": source,
            "split": None if args.data == "skimage" else args.split,
            "limit": args.limit,
            "classifier": classifier.path.name,
            "rows": rows,
        }
        scoring.write_table(output, report, FIELDS)
    return 0
