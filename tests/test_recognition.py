"""Recognition (evaluation.recognition): an ImageNet classifier's agreement with itself on the truth."""

import json
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from colorkeras.evaluation import recognition
from tests.conftest import Fixed, run_cli, write_crops

SHARED = Path(__file__).resolve().parents[2] / "shared" / "pretrained"


def hue_classifier_file(folder):
    """A TFLite classifier of four classes by mean colour: red, green, blue, and gray
    (a constant that wins where no channel stands out)."""
    import keras
    import tensorflow as tf

    inputs = keras.Input((32, 32, 3), batch_size=1)
    mean = keras.layers.GlobalAveragePooling2D()(inputs)  # x / 127.5 - 1 per channel.
    dense = keras.layers.Dense(4)
    scores = dense(mean)
    dense.set_weights(
        [
            np.array([[2, -1, -1, 0], [-1, 2, -1, 0], [-1, -1, 2, 0]], np.float32),
            np.array([0, 0, 0, 0.5], np.float32),
        ]
    )
    model = keras.Model(inputs, scores)
    path = Path(folder) / "hues.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def swatches():
    """Textured red, green and blue photographs of different sizes."""
    rng = np.random.default_rng(0)
    images = []
    for channel, (height, width) in zip(range(3), ((40, 60), (64, 48), (50, 50)), strict=False):
        image = rng.integers(20, 60, (height, width, 3)).astype(np.uint8)
        image[..., channel] = rng.integers(180, 230, (height, width))
        images.append(image)
    return images


def test_agreement_counts_the_truths_top_class_in_the_top1_and_top5():
    truth = np.array([0.1, 0.9, 0.3, 0.2, 0.0, 0.05, 0.4])
    assert recognition.agreement(truth, np.array([0.0, 1.0, 0.0, 0, 0, 0, 0])) == (True, True)
    # Class 1 is fifth of seven: not the top, still in the top five.
    assert recognition.agreement(truth, np.array([0.9, 0.65, 0.8, 0.7, 0.6, 0.1, 0.95])) == (False, True)
    assert recognition.agreement(truth, np.array([0.9, 0.1, 0.8, 0.7, 0.6, 0.5, 0.95])) == (False, False)


def test_the_true_colour_agrees_the_gray_copy_does_not_and_a_wrong_colour_agrees_once(tmp_path):
    classifier = recognition.Classifier(hue_classifier_file(tmp_path))
    images = swatches()
    assert [int(np.argmax(classifier.scores(image))) for image in images] == [0, 1, 2]
    assert int(np.argmax(classifier.scores(np.full((30, 30, 3), 128, np.uint8)))) == 3
    right = Fixed("right", lambda index, gray: images[index])
    blue = Fixed("all blue", lambda index, gray: np.concatenate([gray[..., :2] // 3, gray[..., 2:]], axis=-1))
    rows = {row["name"]: row for row in recognition.score_recognition(classifier, [right, blue], images)}
    assert list(rows) == ["gray copy", "right", "all blue"]
    assert rows["gray copy"]["top1_agreement"] == 0.0 and rows["gray copy"]["n"] == 3
    assert rows["right"]["top1_agreement"] == 1.0
    assert rows["all blue"]["top1_agreement"] == pytest.approx(1 / 3)
    assert rows["all blue"]["top5_agreement"] == 1.0  # Four classes: every one is in the top five.


def test_bad_classifier_files_and_flags_are_one_message(tmp_path):
    (tmp_path / "not.tflite").write_text("a text file")
    for extra, message in (
        (["--recognition", tmp_path / "missing.tflite"], "no such classifier file"),
        (["--recognition", tmp_path / "not.tflite"], "not a TFLite model"),
        (["--recognition", tmp_path / "not.tflite", "--leakage"], "different measures: give one"),
        (["--recognition", tmp_path / "not.tflite", "--hints", "5"], "--hints is for the scores"),
    ):
        result = run_cli("colorkeras.evaluate", "--data", "skimage", *extra)
        assert result.returncode == 2, result.stderr[-2000:]
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]


def test_cli_writes_its_table_once_and_keeps_it_without_overwrite(tiny_run, tmp_path):
    classifier = hue_classifier_file(tmp_path)
    write_crops(tmp_path / "photos" / "train", 2, size=40)
    folder = write_crops(tmp_path / "photos" / "test", 3, size=40)
    report = tmp_path / "out" / "recognition.json"
    common = ["colorkeras.evaluate", "--recognition", classifier, "--model", tiny_run, "--data", folder.parent]
    result = run_cli(*common, "--output", report)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(report.read_text())["rows"]
    assert [row["name"] for row in rows] == ["gray copy", tiny_run.name] and rows[0]["n"] == 3
    assert report.with_suffix(".csv").read_text().startswith(",".join(recognition.FIELDS))
    written = report.read_bytes()
    again = run_cli(*common, "--output", report)
    assert again.returncode == 2 and "--overwrite" in again.stderr and "Traceback" not in again.stderr, again.stderr[
        -2000:
    ]
    assert report.read_bytes() == written
    nothing = run_cli(*common, "--limit", "0")
    assert nothing.returncode == 2 and "--limit must be at least 1" in nothing.stderr, nothing.stderr[-2000:]


@pytest.mark.skipif(not (SHARED / "mobilenet_v2_1.0_224_quant.tflite").is_file(), reason="needs ../shared/pretrained")
def test_the_shared_classifier_names_the_cat_as_its_readme_says():
    classifier = recognition.Classifier(SHARED / "mobilenet_v2_1.0_224_quant.tflite")
    labels = (SHARED / "imagenet_labels.txt").read_text().splitlines()
    assert labels[int(np.argmax(classifier.scores(data.chelsea())))] == "Egyptian cat"
    assert labels[int(np.argmax(classifier.scores(data.coffee())))] == "espresso"
