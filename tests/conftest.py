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


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_dashboard(root, port, timeout=60, extra_env=None):
    """``streamlit run dashboard/app.py --server.port PORT`` as the README starts it (the
    repository's .streamlit/config.toml decides the address), once it accepts connections."""
    import socket
    import subprocess
    import time

    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port)],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, **(extra_env or {})),
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    return server


def headless_chrome(user_data_dir, *extra_flags):
    """Debian's Chromium under Selenium, with the flags this closed network needs."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={user_data_dir}", *extra_flags):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
