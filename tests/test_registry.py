"""Adding an architecture is one module and its registration: a tiny one, registered
here and nowhere else, goes through train -> export -> colorize -> evaluate."""

import json

import keras
import numpy as np
import pytest
from conftest import run_cli
from keras import layers
from PIL import Image

from colorkeras.core.config import ARCHITECTURES, Architecture
from colorkeras.models import color, registry
from colorkeras.models.heads import apply_chroma_head


def build_tiny(base_filters, depth, head, bin_step, hints, **options):
    """One strided convolution and the shared chroma head: a/b at half resolution."""
    inputs = keras.Input(shape=(None, None, 1), name="lightness")
    x = layers.Conv2D(base_filters, 3, strides=2, padding="same", activation="relu", name="tiny_conv")(inputs)
    num_bins = len(color.ab_bin_centers(bin_step)) if head == "classes" else None
    return keras.Model(inputs, apply_chroma_head(x, head, num_bins), name="tiny_test")


TINY = Architecture(
    "tiny-test",
    dict(base_filters=4, depth=1, head="classes", loss="crossentropy", saturation=1.2, temperature=1.0),
    description="a test network",
)


@pytest.fixture()
def tiny_architecture():
    registry.register(TINY, build_tiny)
    yield TINY
    registry.unregister(TINY.name)


@pytest.mark.slow
def test_a_registered_architecture_trains_exports_colorizes_and_evaluates(tmp_path, image_folder, tiny_architecture):
    run = tmp_path / "tiny-test-run"
    trained = run_cli(
        "colorkeras.train",
        "--data",
        image_folder,
        "--architecture",
        "tiny-test",
        "--image-size",
        "16",
        "--load-size",
        "24",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--run-dir",
        run,
        "--verbose",
        "0",
    )
    assert trained.returncode == 0, trained.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["settings"]["architecture"] == "tiny-test" and config["settings"]["saturation"] == 1.2

    exported = tmp_path / "tiny-test-export"
    result = run_cli("colorkeras.export", "--model", run, "--run-dir", exported, "--saturation", "1.0")
    assert result.returncode == 0, result.stderr
    assert json.loads((exported / "config.json").read_text())["settings"]["saturation"] == 1.0

    photo = np.asarray(Image.open(sorted(image_folder.glob("*.png"))[0]).convert("RGB"))
    gray = np.repeat(np.round(photo @ [0.299, 0.587, 0.114]).clip(0, 255).astype(np.uint8)[..., None], 3, axis=-1)
    Image.fromarray(np.tile(gray, (2, 3, 1))).save(tmp_path / "gray.png")  # 48x72: not a multiple of anything
    out = tmp_path / "out"
    colorized = run_cli("colorkeras.colorize", tmp_path / "gray.png", "--out", out, "--model", exported)
    assert colorized.returncode == 0, colorized.stderr
    result_image = np.asarray(Image.open(next(out.rglob("*.png"))))
    assert result_image.shape == (48, 72, 3)
    assert (
        np.std(result_image.astype(int)[..., 0] - result_image[..., 2]) > 0
    )  # Chroma varies: a network ran, not a copy.

    report = tmp_path / "report.json"
    scored = run_cli(
        "colorkeras.evaluate", "--model", exported, "--data", image_folder, "--limit", "8", "--output", report
    )
    assert scored.returncode == 0, scored.stderr
    assert not report.exists()  # A --limit report is partial: written beside the name given, never as it.
    rows = {row["name"]: row for row in json.loads((tmp_path / "report.limit-8.json").read_text())["rows"]}
    assert rows["tiny-test-export"]["n"] == rows["gray copy"]["n"] > 0


def test_registering_a_taken_name_is_refused_and_nothing_is_left_behind(tiny_architecture):
    with pytest.raises(ValueError, match="already registered"):
        registry.register(TINY, build_tiny)
    registry.unregister(TINY.name)
    assert TINY.name not in ARCHITECTURES and TINY.name not in registry.BUILDERS
