"""The portable trainer (any Keras 3 backend): pack, fit, and its weights made a run
that records how they were trained, not the import's own settings."""

import json

import numpy as np
import pytest
from conftest import run_cli


@pytest.mark.slow
def test_portable_weights_become_a_run_that_records_the_training_done_elsewhere(tmp_path, image_folder):
    pack, weights, run = tmp_path / "pack", tmp_path / "weights", tmp_path / "run"
    packed = run_cli("colorkeras.portable_train", "pack", "--data", image_folder, "--out", pack, "--size", "16", "--base-filters", "4", "--depth", "2")
    assert packed.returncode == 0, packed.stderr
    settings = json.loads((pack / "pack.json").read_text())
    assert settings["size"] == 16 and settings["images"] > 0

    fitted = run_cli(
        "colorkeras.portable_train", "fit", pack, "--out", weights, "--seconds", "3", "--hint-seconds", "0",
        "--batch-size", "8", "--learning-rate", "1e-3", "--precision", "float32",
    )
    assert fitted.returncode == 0, fitted.stderr
    report = json.loads((weights / "report.json").read_text())
    assert report["batch_size"] == 8 and report["learning_rate"] == 1e-3 and report["auto"]["steps"] >= 1
    trained = [np.asarray(w) for w in np.load(weights / "auto.weights.npz").values()]

    made = run_cli(
        "colorkeras.train", "--data", image_folder, "--image-size", "16", "--load-size", "16", "--base-filters", "4", "--depth", "2",
        "--init-from", weights / "auto.weights.npz", "--epochs", "0", "--run-dir", run, "--verbose", "0",
    )
    assert made.returncode == 0, made.stderr
    record = json.loads((run / "config.json").read_text())
    elsewhere = record["trained_elsewhere"]
    assert elsewhere["backend"] == "tensorflow" and elsewhere["batch_size"] == 8 and elsewhere["learning_rate"] == 1e-3
    assert elsewhere["precision"] == "float32" and elsewhere["auto"]["steps"] == report["auto"]["steps"]
    assert record["settings"]["epochs"] == 0  # The import's own settings stay what they were.

    import keras

    from colorkeras.models.registry import CUSTOM_OBJECTS

    network = keras.models.load_model(run / "model.keras", custom_objects=CUSTOM_OBJECTS, compile=False)
    assert all(np.array_equal(a, b) for a, b in zip(network.get_weights(), trained))  # The run holds those weights.
