"""Shared fixtures: tiny image folders made from scikit-image's sample photographs,
a tiny run exported without training (``tiny_run``: the real export and scoring
path, random weights) for the tests of everything downstream of a model, and one
tiny trained run (``trained_run``, slow) for the tests of training itself.
Nothing here reads ../shared or the network."""

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


# A test that needs an exported or trained run pays for the export (seconds) and
# is therefore slow, whichever file it is in: ``-m "not slow"`` leaves it out.
RUN_FIXTURES = {"tiny_run", "tiny_hint_run", "trained_run"}


def pytest_collection_modifyitems(items):
    for item in items:
        if RUN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory):
    """A flat folder of 40 small colour PNG crops."""
    return write_crops(tmp_path_factory.mktemp("images"), 40)


@pytest.fixture(scope="session")
def default_colorizer():
    """The shipped default run's ``Colorizer``, loaded once (about 5 s) for the tests that only read it."""
    from colorkeras.serving.inference import Colorizer

    return Colorizer()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, image_folder):
    """A 16-px U-Net with seeded random weights, written as a complete run by the
    export path training uses (SavedModel, model.keras, config, metrics, samples).

    Colorizing, evaluating and the front ends need a run, not a trained one:
    this makes one in a few seconds without training.
    """
    return make_tiny_run(tmp_path_factory, image_folder)


@pytest.fixture(scope="session")
def tiny_hint_run(tmp_path_factory, image_folder):
    """As ``tiny_run``, for a network that takes hints (random weights)."""
    return make_tiny_run(tmp_path_factory, image_folder, hints=True)


def make_tiny_run(tmp_path_factory, image_folder, hints=False):
    import keras

    from colorkeras.core.config import TrainConfig
    from colorkeras.data import pipeline as data_lib
    from colorkeras.models.heads import bin_prior
    from colorkeras.models.registry import build_colorizer
    from colorkeras.training import exporter

    config = TrainConfig(
        data=str(image_folder), image_size=16, load_size=24, base_filters=4, depth=2, epochs=1, hints=hints
    ).resolve()
    splits = data_lib.load_splits(config.data, config.load_size, config.validation_fraction, config.seed)
    keras.utils.set_random_seed(0)
    model = build_colorizer(
        config.architecture, config.base_filters, config.depth, config.head, config.bin_step, hints=hints
    )
    record = {
        "settings": config.to_dict(),
        "data_source": splits.source,
        "bin_prior": bin_prior(splits.train, config.bin_step).tolist(),
        "train_seconds": 0.0,
    }
    run_dir = tmp_path_factory.mktemp("runs") / ("tiny-hints" if hints else "tiny-unet")
    run_dir.mkdir()
    exporter.write_run_files(run_dir, model, record, splits.test, run_dir.name)
    (run_dir / "history.csv").write_text("epoch,loss,val_loss,learning_rate,seconds\n1,5.5,5.4,0.001,1.0\n")
    return run_dir


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, image_folder):
    """A tiny U-Net trained for one epoch and written with the training CLI."""
    from colorkeras import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny-unet"
    code = train.main(
        [
            "--data",
            str(image_folder),
            "--image-size",
            "16",
            "--load-size",
            "24",
            "--base-filters",
            "4",
            "--depth",
            "2",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--run-dir",
            str(run_dir),
            "--verbose",
            "0",
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


def run_cli(module, *args):
    """Runs ``python -m module args`` in this process: its ``main(argv)``, with
    stdout and stderr captured and SystemExit taken as the exit status.

    A CLI's behaviour without paying a new process's TensorFlow import (seconds);
    ``run_module`` is for what only a real process shows (start-up output, signals).
    """
    import contextlib
    import importlib
    import io
    import subprocess

    main = importlib.import_module(module).main
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main([str(arg) for arg in args])
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
    return subprocess.CompletedProcess([module, *map(str, args)], code, stdout.getvalue(), stderr.getvalue())


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
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, **(extra_env or {})),
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    return server


def browser_missing():
    """Why the browser tests cannot run here (None where they can): Debian's chromium
    and chromium-driver, both on the PATH."""
    import shutil

    missing = [name for name in ("chromium", "chromedriver") if not shutil.which(name)]
    return f"needs Debian's chromium and chromium-driver ({', '.join(missing)} not found)" if missing else None


# The one check every browser test takes: skipped, with the reason, where the browser is missing.
needs_browser = pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")


def headless_chrome(user_data_dir, *extra_flags):
    """Debian's Chromium under Selenium, with the flags this closed network needs
    (the test is skipped where they are missing)."""
    import shutil

    if browser_missing():
        pytest.skip(browser_missing())
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={user_data_dir}",
        *extra_flags,
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


class Fixed:
    """Stands in for a run in the recognition tests: colorizes the gray copy by ``paint(index, gray)``."""

    def __init__(self, name, paint):
        self.name, self.paint, self.calls = name, paint, 0

    def colorize_batch(self, images):
        picture = self.paint(self.calls, images[0])
        self.calls += 1
        return picture[None]
