"""Recognition against the true class (evaluate --recognition --true-classes, issue 48):
the top-1/top-5 counting, the classifier's centre crop and the labels file. A fake
classifier and fake runs stand in for the TFLite file and the SavedModels."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from colorkeras.evaluation import recognition
from tests.conftest import Fixed, run_cli

CLASSES = 10
# The fake classifier's top class by an image's mean colour; its next four follow it.
RED, GREEN, BLUE, GRAY = 3, 5, 7, 9


class Hues:
    """Stands in for ``recognition.Classifier``: scores whose top class is the mean
    colour's (RED, GREEN, BLUE, else GRAY), the next four classes after it
    descending, every other class 0."""

    classes = CLASSES
    resize = "crop"

    def __init__(self, path="hues.tflite", resize="crop"):
        from pathlib import Path

        self.path, self.resize, self.seen = Path(path), resize, 0

    def scores(self, rgb):
        self.seen += 1
        mean = rgb.reshape(-1, 3).astype(float).mean(axis=0)
        top = GRAY if mean.max() - mean.min() < 30 else (RED, GREEN, BLUE)[int(np.argmax(mean))]
        scores = np.zeros(CLASSES, np.float32)
        for rank in range(5):
            scores[(top + rank) % CLASSES] = 5 - rank
        return scores


def swatch(channel, size=(40, 30)):
    """A textured photograph where ``channel`` (0 red, 1 green, 2 blue) stands out."""
    rng = np.random.default_rng(channel)
    image = rng.integers(20, 60, (*size, 3)).astype(np.uint8)
    image[..., channel] = rng.integers(180, 230, size)
    return image


def tinted(gray, channel):
    picture = gray.copy()
    picture[..., channel] = 220
    return picture


def test_true_classes_count_the_top1_and_top5_against_the_labels():
    # Four photographs: red labelled RED, green labelled GREEN, blue labelled BLUE + 1
    # (the classifier's second choice for blue), red labelled 1 (not in RED's top five, 3-7).
    photos = [(swatch(0), RED), (swatch(1), GREEN), (swatch(2), BLUE + 1), (swatch(0), 1)]
    right = Fixed("right", lambda index, gray: photos[index][0])
    blue = Fixed("all blue", lambda index, gray: tinted(gray, 2))
    classifier = Hues()
    done = []
    rows = recognition.score_true_classes(classifier, [right, blue], iter(photos), progress=done.append)
    assert done == [1, 2, 3, 4]
    assert classifier.seen == 4 * 4  # Truth, gray copy, two runs; the truth row reuses the truth's scores.
    rows = {row["name"]: row for row in rows}
    assert list(rows) == ["gray copy", "right", "all blue", "ground truth"]
    assert all(row["n"] == 4 for row in rows.values())
    truth = rows["ground truth"]
    # Top-1: photos 1 and 2. Top-5: also photo 3; photo 4's class 1 is not in 3-7.
    assert (truth["top1_true"], truth["top5_true"]) == (0.5, 0.75)
    assert (truth["top1_agreement"], truth["top5_agreement"]) == (1.0, 1.0)
    assert rows["right"] == {**truth, "name": "right"}
    # The gray copy is GRAY (9): top five 9, 0, 1, 2, 3 hold RED (3) and photo 4's class 1.
    gray = rows["gray copy"]
    assert (gray["top1_true"], gray["top5_true"]) == (0.0, 0.5)
    assert (gray["top1_agreement"], gray["top5_agreement"]) == (0.0, 0.5)
    # All blue: BLUE (7), top five 7, 8, 9, 0, 1: photo 3 (8) and photo 4 (1).
    assert (rows["all blue"]["top1_true"], rows["all blue"]["top5_true"]) == (0.0, 0.5)
    assert rows["all blue"]["top1_agreement"] == 0.25  # Photo 3's top class is BLUE.
    table = recognition.format_true_table(list(rows.values()))
    assert "+50.0 pt" in table and "+25.0 pt" in table  # Truth's top-1 and top-5 over the gray copy.


def test_a_class_outside_the_classifier_is_one_message():
    with pytest.raises(ValueError, match="outside the classifier's 10 classes"):
        recognition.score_true_classes(Hues(), [], iter([(swatch(0), CLASSES)]))


@pytest.mark.parametrize("size", [(512, 300), (300, 512)])
def test_centre_crop_takes_the_short_side_to_256_and_cuts_the_middle_224(size):
    width, height = size
    # Each pixel holds its own (x, y) as fractions of the picture, in red and green.
    x = np.linspace(0, 255, width)[None, :].repeat(height, axis=0)
    y = np.linspace(0, 255, height)[:, None].repeat(width, axis=1)
    image = np.stack([x, y, np.zeros_like(x)], axis=-1).round().astype(np.uint8)
    crop = recognition.centre_crop(image)
    assert crop.shape == (224, 224, 3)
    # The crop's middle is the picture's middle, and it spans 224/256 of the short side.
    assert abs(crop[112, 112, 0].astype(int) - 128) <= 2 and abs(crop[112, 112, 1].astype(int) - 128) <= 2
    short, across = (1, 0) if height < width else (0, 1)  # Channel along the short side, the long one.
    spans = crop[..., short].astype(int), crop[..., across].astype(int)
    assert abs(spans[0].max() - spans[0].min() - 255 * 224 / 256) <= 3
    long_side = max(size) * 256 / min(size)
    assert abs(spans[1].max() - spans[1].min() - 255 * 224 / long_side) <= 3


def write_photos(folder, labels=None, names=("b.png", "a.png", "c.jpg")):
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        Image.fromarray(swatch(index % 3)).save(folder / name)
    if labels is not None:
        (folder / "labels.txt").write_text(labels)
    return folder


def test_labels_files_are_read_and_every_fault_is_one_message(tmp_path):
    folder = write_photos(tmp_path / "photos", "a.png\t3\nb.png\t5\n\nc.jpg\t9\n")
    pairs = recognition.labelled_files(folder, CLASSES)
    assert [(path.name, label) for path, label in pairs] == [("a.png", 3), ("b.png", 5), ("c.jpg", 9)]
    assert [path.name for path, _ in recognition.labelled_files(folder, CLASSES, limit=2)] == ["a.png", "b.png"]
    for labels, message in (
        (None, "no labels.txt in"),
        ("a.png\t3\nb.png\t5\n", "does not list 1 of the folder's 3 images (first: c.jpg)"),
        ("a.png\t3\nb.png\t5\nc.jpg\t10\n", "outside the classifier's 10 classes (0-9; first: c.jpg, 10)"),
        ("a.png\t3\nb.png\t-1\nc.jpg\t1\n", "first: b.png, -1"),
        ("a.png 3\n", "line 1: not '<file name>"),
        ("a.png\tthree\n", "line 1: not '<file name>"),
        ("a.png\t3\na.png\t4\n", "line 2: a.png is listed twice"),
        ("\n", "lists no photographs"),
    ):
        broken = write_photos(tmp_path / f"broken{len(message)}{len(labels or '')}", labels)
        with pytest.raises(ValueError, match=re.escape(message)):
            recognition.labelled_files(broken, CLASSES)


@pytest.fixture
def fakes(monkeypatch):
    """The evaluate command with ``Hues`` for the classifier file and a run that paints the truth."""
    made = {}

    def classifier(path, resize="squeeze"):
        made["classifier"] = Hues(path, resize)
        return made["classifier"]

    def colorizer(name, **settings):
        return Fixed(name or "default", lambda index, gray: tinted(gray, 0))

    monkeypatch.setattr(recognition, "Classifier", classifier)
    monkeypatch.setattr(recognition, "Colorizer", colorizer)
    return made


def test_cli_scores_the_whole_folder_and_marks_a_limited_report_partial(fakes, tmp_path):
    # b.png is red, a.png green, c.jpg blue (write_photos), each labelled with its colour's class.
    folder = write_photos(tmp_path / "photos", f"a.png\t{GREEN}\nb.png\t{RED}\nc.jpg\t{BLUE}\n")
    report = tmp_path / "out" / "classes.json"
    common = ["colorkeras.evaluate", "--recognition", tmp_path / "hues.tflite", "--true-classes", "--data", folder]
    result = run_cli(*common, "--output", report)
    assert result.returncode == 0, result.stderr[-2000:]
    assert fakes["classifier"].resize == "crop"
    written = json.loads(report.read_text())
    assert written["true_classes"] is True and written["limit"] is None and written["split"] is None
    rows = {row["name"]: row for row in written["rows"]}
    assert list(rows) == ["gray copy", "default", "ground truth"] and rows["gray copy"]["n"] == 3
    assert rows["ground truth"]["top1_true"] == 1.0 and rows["gray copy"]["top1_true"] == 0.0
    assert rows["default"]["top1_true"] == pytest.approx(1 / 3)  # Painted red: right for b.png only.
    assert report.with_suffix(".csv").read_text().startswith(",".join(recognition.TRUE_FIELDS))
    assert "top1 vs gray" in result.stdout and "+100.0 pt" in result.stdout

    limited = run_cli(*common, "--output", report, "--limit", "2")
    assert limited.returncode == 0, limited.stderr[-2000:]
    partial = report.with_name("classes.limit-2.json")
    assert "a partial report" in limited.stderr and json.loads(partial.read_text())["limit"] == 2
    assert [row["n"] for row in json.loads(partial.read_text())["rows"]] == [2, 2, 2]
    assert json.loads(report.read_text()) == written  # The full report stays.

    assert run_cli(*common, "--split", "all").returncode == 0
    for extra, message in (
        (["--split", "test"], "leave --split test out"),
        (["--limit", "0"], "--limit must be at least 1"),
    ):
        result = run_cli(*common, *extra)
        assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
        assert "Traceback" not in result.stderr


def test_cli_faults_are_one_line(fakes, tmp_path):
    unlabelled = write_photos(tmp_path / "unlabelled")
    for argv, message in (
        (["--data", unlabelled], "no labels.txt in"),
        (["--data", "skimage"], "not 'skimage'"),
        ([], "not 'cifar10'"),
    ):
        result = run_cli("colorkeras.evaluate", "--recognition", tmp_path / "x.tflite", "--true-classes", *argv)
        assert result.returncode == 2 and message in result.stderr, result.stderr[-2000:]
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    alone = run_cli("colorkeras.evaluate", "--true-classes", "--data", unlabelled)
    assert alone.returncode == 2 and "--true-classes goes with --recognition" in alone.stderr
