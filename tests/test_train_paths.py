"""Training paths beyond a plain run: fine-tuning from a run (--init-from), a hint
network started from an automatic one (--hints), class rebalancing in the loss."""

import csv
import json

import keras
import numpy as np
import pytest
import skimage.data
from conftest import run_cli

from colorkeras.core import store
from colorkeras.models.registry import CUSTOM_OBJECTS
from colorkeras.serving.inference import Colorizer

pytestmark = pytest.mark.slow
TINY = (
    "--image-size",
    "16",
    "--load-size",
    "24",
    "--base-filters",
    "4",
    "--depth",
    "2",
    "--batch-size",
    "8",
    "--verbose",
    "0",
)


def weights_of(run):
    return keras.models.load_model(run / "model.keras", custom_objects=CUSTOM_OBJECTS, compile=False).get_weights()


def test_init_from_a_run_starts_from_its_weights(tmp_path, image_folder, trained_run):
    copy = tmp_path / "copy"
    result = run_cli(
        "colorkeras.train",
        "--data",
        image_folder,
        *TINY,
        "--init-from",
        trained_run,
        "--epochs",
        "0",
        "--run-dir",
        copy,
    )
    assert result.returncode == 0, result.stderr
    assert all(np.array_equal(a, b) for a, b in zip(weights_of(copy), weights_of(trained_run), strict=True))
    tuned = tmp_path / "tuned"
    result = run_cli(
        "colorkeras.train",
        "--data",
        image_folder,
        *TINY,
        "--init-from",
        trained_run,
        "--epochs",
        "1",
        "--run-dir",
        tuned,
    )
    assert result.returncode == 0, result.stderr
    assert not all(np.array_equal(a, b) for a, b in zip(weights_of(tuned), weights_of(trained_run), strict=True))
    assert json.loads((tuned / "config.json").read_text())["settings"]["init_from"] == store.portable_path(trained_run)


def test_a_hint_network_started_from_an_automatic_run_takes_hints(tmp_path, image_folder, trained_run):
    run = tmp_path / "hints"
    result = run_cli(
        "colorkeras.train",
        "--data",
        image_folder,
        *TINY,
        "--hints",
        "--init-from",
        trained_run,
        "--epochs",
        "2",
        "--learning-rate",
        "0.01",
        "--run-dir",
        run,
    )
    assert result.returncode == 0, result.stderr
    assert store.takes_hints(run) and json.loads((run / "config.json").read_text())["settings"]["hints"] is True
    photo = skimage.data.coffee()[:96, :128]
    colorizer = Colorizer(run)
    plain = colorizer.colorize(photo).astype(int)
    hinted = colorizer.colorize(photo, hints=[{"x": 64, "y": 48, "color": "#e61414"}]).astype(int)
    assert hinted.shape == plain.shape
    assert np.abs(hinted - plain).max() > 0  # The hint reaches the output.


def test_class_rebalancing_changes_the_training_loss(tmp_path, image_folder):
    losses = {}
    for strength in ("0", "0.5"):
        run = tmp_path / f"rebalance-{strength}"
        result = run_cli(
            "colorkeras.train",
            "--data",
            image_folder,
            *TINY,
            "--epochs",
            "1",
            "--class-rebalance",
            strength,
            "--run-dir",
            run,
        )
        assert result.returncode == 0, result.stderr
        with (run / "history.csv").open(newline="") as stream:
            losses[strength] = float(next(csv.DictReader(stream))["loss"])
        assert json.loads((run / "config.json").read_text())["settings"]["class_rebalance"] == float(strength)
    # Same seed, same data: only the loss's class weights differ.
    assert abs(losses["0"] - losses["0.5"]) > 1e-3, losses
