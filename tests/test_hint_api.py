"""Hints through every door: the SavedModel signatures, the Python API, the CLI and
the evaluator, on a hint network with random weights (``tiny_hint_run``)."""

import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # Each exports a network or scores a folder through one.


@pytest.fixture(scope="module")
def hint_colorizer(tiny_hint_run):
    from colorkeras.serving.inference import Colorizer

    return Colorizer(tiny_hint_run)


def test_hint_signature_without_points_is_serving_default(hint_colorizer):
    import tensorflow as tf

    signatures = hint_colorizer._loaded.signatures
    assert {"colorize_with_hints", "colorize_with_hints_and_options", "suggest_colors"} <= set(signatures)
    images = tf.constant(data.astronaut()[None, :48, :40])
    plain = signatures["serving_default"](images=images)["colorized"].numpy()
    empty = signatures["colorize_with_hints"](
        images=images, points=tf.zeros([1, 0, 2], tf.int32), colors=tf.zeros([1, 0, 3], tf.uint8)
    )["colorized"].numpy()
    padding = signatures["colorize_with_hints"](
        images=images,
        points=tf.constant([[[-1, -1], [-1, 5]]], tf.int32),
        colors=tf.constant([[[255, 0, 0]] * 2], tf.uint8),
    )["colorized"].numpy()
    np.testing.assert_array_equal(plain, empty)
    np.testing.assert_array_equal(plain, padding)
    hinted = signatures["colorize_with_hints"](
        images=images, points=tf.constant([[[20, 20]]], tf.int32), colors=tf.constant([[[255, 0, 0]]], tf.uint8)
    )["colorized"].numpy()
    assert hinted.shape == plain.shape and not np.array_equal(hinted, plain)
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the image"):
        signatures["colorize_with_hints"](
            images=images, points=tf.constant([[[48, 3]]], tf.int32), colors=tf.constant([[[255, 0, 0]]], tf.uint8)
        )


def test_python_api_takes_the_one_hint_format_and_suggests_five_colours(hint_colorizer):
    from colorkeras.core.hints import HintError

    image = data.camera()[:60, :80]
    plain = hint_colorizer.colorize(image)
    hinted = hint_colorizer.colorize(image, hints=[{"x": 70, "y": 10, "color": "#ff0000"}])
    assert hinted.shape == (60, 80, 3) and not np.array_equal(plain, hinted)
    with pytest.raises(HintError, match="outside the 80x60 image"):
        hint_colorizer.colorize(image, hints=[{"x": 80, "y": 10, "color": "#ff0000"}])
    suggestions = hint_colorizer.suggest_colors(image, x=40, y=30)
    assert len(suggestions) == 5
    probabilities = [s["probability"] for s in suggestions]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1.0001
    assert all(s["color"].startswith("#") and len(s["color"]) == 7 for s in suggestions)


def test_a_run_without_hints_says_so(tiny_run):
    from colorkeras.core.hints import HintError
    from colorkeras.serving.inference import Colorizer

    with pytest.raises(HintError, match="takes no hints"):
        Colorizer(tiny_run).colorize(data.camera()[:32, :32], hints=[{"x": 1, "y": 1, "color": "#ff0000"}])


def test_cli_hints_for_one_file_and_errors_write_nothing(tiny_hint_run, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(data.camera()[:50, :70]).save(photo)
    hints_file = tmp_path / "hints.json"
    hints_file.write_text(json.dumps([{"x": 60, "y": 5, "color": "#00ff00"}]))
    out = tmp_path / "out"
    result = run_cli("colorkeras.colorize", photo, "--hints", hints_file, "--out", out, "--model", tiny_hint_run)
    assert result.returncode == 0, result.stderr[-2000:]
    assert np.asarray(Image.open(out / "photo.png")).shape == (50, 70, 3)

    cases = {
        "outside": ([{"x": 70, "y": 5, "color": "#00ff00"}], "outside the 70x50 image"),
        "colour": ([{"x": 6, "y": 5, "color": "green"}], "is not a colour"),
        "missing image": (
            {"other.png": [{"x": 6, "y": 5, "color": "#00ff00"}]},
            "'other.png', which is not among the inputs",
        ),
    }
    for name, (content, message) in cases.items():
        bad = tmp_path / f"{name}.json"
        bad.write_text(json.dumps(content))
        fresh = tmp_path / f"out-{name.replace(' ', '-')}"
        result = run_cli("colorkeras.colorize", photo, "--hints", bad, "--out", fresh, "--model", tiny_hint_run)
        assert result.returncode == 2, (name, result.stderr[-2000:])
        assert message in result.stderr and "Traceback" not in result.stderr
        assert not fresh.exists()  # A command that refuses makes nothing, not even its --out folder.
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    result = run_cli(
        "colorkeras.colorize", photo, "--hints", broken, "--out", tmp_path / "o2", "--model", tiny_hint_run
    )
    assert result.returncode == 2 and "not valid JSON" in result.stderr


def test_cli_hints_without_a_model_go_to_the_default_run_only(tiny_run, tiny_hint_run, models_store, tmp_path):
    import shutil

    photo = tmp_path / "photo.png"
    Image.fromarray(data.camera()[:50, :70]).save(photo)
    hints_file = tmp_path / "hints.json"
    hints_file.write_text(json.dumps([{"x": 30, "y": 20, "color": "#ff0000"}]))
    shutil.copytree(tiny_run, models_store / "auto")
    shutil.copytree(tiny_hint_run, models_store / "with-hints")
    (models_store / "DEFAULT").write_text("auto\n")
    # The default takes no hints: one message, no other run chosen behind the user's back, no --out folder made.
    result = run_cli("colorkeras.colorize", photo, "--hints", hints_file, "--out", tmp_path / "none")
    assert result.returncode == 2 and "run auto takes no hints" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "none").exists()
    (models_store / "DEFAULT").write_text("with-hints\n")
    result = run_cli("colorkeras.colorize", photo, "--hints", hints_file, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "with with-hints" in result.stderr and (tmp_path / "out" / "photo.png").is_file()


def test_cli_hints_for_several_files_are_keyed_by_name(tiny_hint_run, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(data.camera()[:40, :40]).save(folder / "a.png")
    Image.fromarray(data.coffee()[:40, :50]).save(folder / "b.png")
    hints_file = tmp_path / "hints.json"
    hints_file.write_text(json.dumps({"b.png": [{"x": 10, "y": 10, "color": "#0000ff"}]}))
    out = tmp_path / "out"
    result = run_cli("colorkeras.colorize", folder, "--hints", hints_file, "--out", out, "--model", tiny_hint_run)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in (out / "in").iterdir()) == ["a.png", "b.png"]
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([{"x": 1, "y": 1, "color": "#0000ff"}]))
    result = run_cli(
        "colorkeras.colorize", folder, "--hints", listed, "--out", tmp_path / "o3", "--model", tiny_hint_run
    )
    assert result.returncode == 2 and "key the lists by file name" in result.stderr


def test_evaluate_reveals_points_and_refuses_runs_without_hints(tiny_hint_run, tiny_run, image_folder):
    result = run_cli("colorkeras.evaluate", "--model", tiny_hint_run, "--data", image_folder, "--hints", "5")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "tiny-hints" in result.stdout
    refused = run_cli("colorkeras.evaluate", "--model", tiny_run, "--data", image_folder, "--hints", "5")
    assert refused.returncode == 2 and "takes no hints" in refused.stderr


def test_a_hint_run_with_an_automatic_partner_answers_without_hints_exactly_as_it(
    tiny_hint_run, tiny_run, models_store, image_folder
):
    from colorkeras.serving.inference import Colorizer

    result = run_cli(
        "colorkeras.export",
        "--model",
        tiny_hint_run,
        "--automatic",
        tiny_run,
        "--name",
        "both",
        "--data",
        image_folder,
        "--evaluate-limit",
        "4",
        "--saturation",
        "1.4",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Without hints: the automatic run at the exported saturation; hinted: the hint saturation (1.0).
    both, automatic = Colorizer("both"), Colorizer(tiny_run, saturation=1.4)
    assert (models_store / "both" / "automatic.keras").is_file()
    image = data.astronaut()[:64, :48]
    np.testing.assert_array_equal(both.colorize(image), automatic.colorize(image))
    hinted = both.colorize(image, hints=[{"x": 10, "y": 10, "color": "#ff0000"}])
    assert not np.array_equal(hinted, automatic.colorize(image))
    # In one batch, the image without hints still gets the automatic result.
    batch = np.stack([image, image])
    points = np.array([[[10, 10]], [[-1, -1]]], np.int32)
    colors = np.array([[[255, 0, 0]], [[0, 0, 0]]], np.uint8)
    mixed = both.colorize_batch(batch, points=points, colors=colors)
    np.testing.assert_array_equal(mixed[1], automatic.colorize(image))
    np.testing.assert_array_equal(mixed[0], hinted)
    import tensorflow as tf

    served = both._loaded.signatures["colorize_with_hints"](
        images=tf.constant(batch), points=tf.constant(points), colors=tf.constant(colors)
    )
    # The Python API and the SavedModel agree (the API joins L and chroma on the CPU: within one code value).
    assert np.abs(mixed.astype(int) - served["colorized"].numpy().astype(int)).max() <= 1
    refused = run_cli(
        "colorkeras.export", "--model", tiny_run, "--automatic", tiny_run, "--name", "x", "--data", image_folder
    )
    assert refused.returncode == 2 and "takes no hints" in refused.stderr


def test_the_python_api_gives_the_graphs_own_result_within_one_code_value(hint_colorizer):
    """Colorizer joins lightness and chroma on the CPU (serving.pixels); TensorFlow Serving runs the
    graph's own join. Both must give one picture: colour and gray inputs, hints, and a batch mixing
    images with and without a point (each of those gets the automatic result, as colorize_with_hints
    gives it)."""
    import tensorflow as tf

    signatures = hint_colorizer._loaded.signatures
    photo = data.astronaut()[:90, :120]
    gray = np.asarray(Image.fromarray(photo).convert("L"))[..., None]
    points = np.array([[[20, 30], [60, 100]], [[-1, -1], [-1, -1]]], np.int32)
    colors = np.array([[[220, 30, 30], [30, 200, 40]], [[0, 0, 0], [0, 0, 0]]], np.uint8)

    def close(got, expected):
        difference = np.abs(got.astype(int) - expected.astype(int))
        assert got.shape == expected.shape and difference.max() <= 1 and difference.mean() < 0.05

    for images in (photo[None], gray[None], np.stack([photo, photo])):
        expected = signatures["serving_default"](images=tf.constant(images))["colorized"].numpy()
        close(hint_colorizer.colorize_batch(images), expected)
    images = np.stack([photo, photo])
    expected = signatures["colorize_with_hints"](
        images=tf.constant(images), points=tf.constant(points), colors=tf.constant(colors)
    )["colorized"].numpy()
    close(hint_colorizer.colorize_batch(images, points=points, colors=colors), expected)
    expected = signatures["colorize_with_hints_and_options"](
        images=tf.constant(images[:1]),
        points=tf.constant(points[:1]),
        colors=tf.constant(colors[:1]),
        render_size=tf.constant(48),
        saturation=tf.constant(1.5),
        temperature=tf.constant(hint_colorizer.temperature),
        prior_weight=tf.constant(0.0),
    )["colorized"].numpy()
    close(hint_colorizer.colorize_batch(images[:1], 48, 1.5, points[:1], colors[:1]), expected)
