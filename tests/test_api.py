"""The Python API under the command lines: ``colorkeras.fit`` trains a tiny run and
``colorkeras.score`` scores it, in this process (no subprocess, no argparse)."""

import pytest

import colorkeras
from colorkeras.training.loop import UsageError


@pytest.mark.slow
def test_fit_then_score_a_tiny_run_in_process(tmp_path, image_folder):
    config = colorkeras.TrainConfig(
        data=str(image_folder), architecture="unet", image_size=16, base_filters=4, depth=2, epochs=1, batch_size=8
    )
    run = colorkeras.fit(config, tmp_path / "tiny", verbose=0)
    assert run.path == (tmp_path / "tiny").absolute()
    assert run.read_config()["settings"]["epochs"] == 1
    assert len(run.read_history()) == 1

    report = colorkeras.score(model=[str(run.path)], data=str(image_folder), split="test", limit=4)
    assert isinstance(report, colorkeras.Report)
    assert [row["name"] for row in report.rows] == ["gray copy", "tiny", "ground truth"]
    assert report.row("tiny")["n"] == 4
    assert 5.0 < report.row("tiny")["psnr"] < 60.0
    assert report.row("ground truth")["psnr"] > report.row("gray copy")["psnr"]

    # An existing run is never replaced unless asked.
    with pytest.raises(UsageError, match="already exists"):
        colorkeras.fit(config, tmp_path / "tiny", verbose=0)


def test_score_takes_options_or_their_fields():
    options = colorkeras.EvaluateOptions(data="skimage", limit=2)
    assert options.hints == [0] and options.split == "test"
    with pytest.raises(ValueError, match="--limit must be at least 1"):
        colorkeras.score(options, limit=0)


def test_one_console_command_runs_every_command_line():
    import subprocess
    import sys

    listed = subprocess.run([sys.executable, "-m", "colorkeras", "--help"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "colorize" in listed.stdout and "evaluate" in listed.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "colorkeras", "colourise"], capture_output=True, text=True, timeout=60
    )
    assert wrong.returncode == 2 and "no command 'colourise'" in wrong.stderr and "Traceback" not in wrong.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "colorkeras", "colorize", "--help"], capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0 and "--out" in helped.stdout
