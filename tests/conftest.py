"""Shared fixtures: tiny image folders made from scikit-image's sample photographs,
and one tiny trained run (16 px, a few filters) reused by every test that needs a
model. Nothing here reads ../shared or the network."""

import os
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina")


def sample_photos():
    from skimage import data

    return [getattr(data, name)() for name in PHOTOS]


def write_crops(folder, count, size=24, seed=0):
    """Writes ``count`` random colour crops of the sample photographs as PNG files."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    photos = sample_photos()
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        photo = photos[index % len(photos)]
        height, width = photo.shape[:2]
        top, left = rng.integers(0, height - size), rng.integers(0, width - size)
        Image.fromarray(photo[top : top + size, left : left + size]).save(folder / f"crop_{index:04d}.png")
    return folder


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    """A flat folder of 40 small colour PNG crops."""
    return write_crops(tmp_path_factory.mktemp("images"), 40)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, image_folder):
    """A tiny U-Net trained for one epoch and written with the training CLI."""
    from colorkeras import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny-unet"
    code = train.main(
        [
            "--data", str(image_folder), "--image-size", "16", "--load-size", "24",
            "--base-filters", "4", "--depth", "2", "--epochs", "1", "--batch-size", "8",
            "--run-dir", str(run_dir), "--verbose", "0",
        ]
    )
    assert code == 0
    return run_dir


@pytest.fixture()
def models_store(tmp_path, monkeypatch):
    """An empty run store for one test."""
    root = tmp_path / "saved_models"
    root.mkdir()
    monkeypatch.setenv("COLORKERAS_MODELS", str(root))
    return root


def run_module(module, *args, timeout=300, env=None):
    """Runs ``python -m module args`` and returns the CompletedProcess."""
    import subprocess

    environment = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )
