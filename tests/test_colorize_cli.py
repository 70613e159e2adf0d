import numpy as np
import pytest
from PIL import Image
from skimage import data

from tests.conftest import run_cli, run_module


def make_inputs(folder):
    (folder / "nested dir é").mkdir(parents=True)
    Image.fromarray(data.astronaut()[:120, :160]).save(folder / "a.png")
    Image.fromarray(data.coffee()[:90, :100]).convert("L").save(folder / "nested dir é" / "b.jpg")
    Image.fromarray(data.chelsea()[:64, :64]).save(folder / "c.webp")
    (folder / "zero.png").write_bytes(b"")
    good = (folder / "a.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 3])
    (folder / "text.jpg").write_text("not a picture")
    return folder


def test_folder_with_bad_files_gives_outputs_named_errors_and_exit_1(tiny_run, tmp_path):
    inputs = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    result = run_cli("colorkeras.colorize", inputs, "--out", out, "--model", tiny_run, "--compare")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    outputs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png") if ".compare" not in p.name)
    assert outputs == ["in/a.png", "in/c.png", "in/nested dir é/b.png"]
    for name in ("zero.png", "truncated.png", "text.jpg"):
        assert f"{name}: not an image we can read" in result.stderr
    assert "3 colorized, 0 skipped" in result.stderr and "3 failed" in result.stderr
    colour = np.asarray(Image.open(out / "in" / "a.png"))
    assert colour.shape == (120, 160, 3)
    assert np.asarray(Image.open(out / "in" / "a.compare.png")).shape == (120, 320, 3)
    assert not list(out.rglob(".*.tmp"))


def test_an_existing_output_is_skipped_only_when_the_same_input_and_options_made_it(tiny_run, tmp_path):
    Image.fromarray(data.coffee()[:40, :40]).save(tmp_path / "x.jpg")
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.png").write_bytes(b"mine")
    # A file that is not this result is the user's: refused, kept, and --overwrite named.
    result = run_cli("colorkeras.colorize", tmp_path / "x.jpg", "--out", out, "--model", tiny_run)
    assert result.returncode == 1 and "--overwrite" in result.stderr and "0 skipped" in result.stderr
    assert (out / "x.png").read_bytes() == b"mine"
    result = run_cli("colorkeras.colorize", tmp_path / "x.jpg", "--out", out, "--model", tiny_run, "--overwrite")
    assert result.returncode == 0 and np.asarray(Image.open(out / "x.png")).shape == (40, 40, 3)
    made = (out / "x.png").read_bytes()
    # The same input, run and options again: skipped, the file untouched.
    result = run_cli("colorkeras.colorize", tmp_path / "x.jpg", "--out", out, "--model", tiny_run)
    assert result.returncode == 0 and "1 skipped" in result.stderr and (out / "x.png").read_bytes() == made
    # New options (or hints, or another input of the same name) are not silently skipped.
    result = run_cli(
        "colorkeras.colorize", tmp_path / "x.jpg", "--out", out, "--model", tiny_run, "--saturation", "1.7"
    )
    assert result.returncode == 1 and "--overwrite" in result.stderr and (out / "x.png").read_bytes() == made


def test_a_missing_input_is_refused_at_once_without_tensorflow(tmp_path):
    # A process of its own: this one has TensorFlow loaded already. Its own check
    # says whether TensorFlow was imported, so the test does not depend on timing.
    probe = (
        "import runpy, sys; sys.argv[1:] = sys.argv[2:]; code = 0\n"
        "try: runpy.run_module('colorkeras.colorize', run_name='__main__')\n"
        "except SystemExit as done: code = done.code\n"
        "print('tensorflow' in sys.modules, file=sys.stderr); sys.exit(code)"
    )
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", probe, "x", str(tmp_path / "nothing.jpg"), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and lines[-1] == "False", result.stderr[-2000:]
    assert len(lines) == 2 and "no such file" in lines[0]
    assert not (tmp_path / "out").exists()


def test_an_output_never_replaces_an_input(tiny_run, tmp_path):
    source = tmp_path / "photo.png"
    Image.fromarray(data.coffee()[:40, :40]).convert("L").save(source)
    before = source.read_bytes()
    result = run_cli("colorkeras.colorize", source, "--out", tmp_path, "--model", tiny_run, "--overwrite")
    assert result.returncode == 1 and "would replace an input" in result.stderr
    assert source.read_bytes() == before


def test_usage_errors_are_one_message(tmp_path):
    result = run_cli("colorkeras.colorize", tmp_path, "--out", tmp_path / "o", "--model", "no-such-run")
    assert result.returncode == 2 and "no complete run named" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("colorkeras.colorize", tmp_path / "missing.jpg")
    assert result.returncode == 2 and "--out" in result.stderr


def test_inputs_with_the_same_stem_or_folder_name_each_get_their_own_output(tmp_path):
    from colorkeras.serving.files import plan_outputs

    for folder in ("x/photos", "y/photos"):
        (tmp_path / folder).mkdir(parents=True)
        Image.fromarray(data.coffee()[:20, :20]).save(tmp_path / folder / "a.png")
    Image.fromarray(data.coffee()[:20, :20]).save(tmp_path / "a.jpg")
    Image.fromarray(data.coffee()[:20, :20]).save(tmp_path / "a.png")
    out = tmp_path / "out"
    inputs = [tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "x/photos", tmp_path / "y/photos", tmp_path / "a.png"]
    pairs, errors, roots = plan_outputs(inputs, out)
    assert errors == []
    targets = {source.relative_to(tmp_path).as_posix(): target.relative_to(out).as_posix() for source, target in pairs}
    assert targets == {
        "a.jpg": "a_jpg.png",
        "a.png": "a_png.png",
        "x/photos/a.png": "photos/a.png",
        "y/photos/a.png": "photos-2/a.png",
    }
    assert roots == {
        (tmp_path / "x/photos").resolve(): out / "photos",
        (tmp_path / "y/photos").resolve(): out / "photos-2",
    }


def test_a_clash_that_cannot_be_resolved_names_both_files(tmp_path):
    from colorkeras.serving.files import plan_outputs

    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    Image.fromarray(data.coffee()[:20, :20]).save(tmp_path / "one" / "a.png")
    Image.fromarray(data.coffee()[:20, :20]).save(tmp_path / "one" / "a_png.png")
    Image.fromarray(data.coffee()[:20, :20]).save(tmp_path / "one" / "a.jpg")
    pairs, errors, _ = plan_outputs([tmp_path / "one"], tmp_path / "out")
    # a.png and a.jpg become a_png.png and a_jpg.png; a_png.png claims a_png.png too.
    assert len(errors) == 2 and all("rename one of them" in message for message in errors)
    assert any(
        str(tmp_path / "one" / "a.png") in message and str(tmp_path / "one" / "a_png.png") in message
        for message in errors
    )
    assert [source.name for source, _ in pairs] == ["a.jpg"]


@pytest.mark.slow
def test_cli_is_quiet_and_help_is_fast(tiny_run, tmp_path):
    import time

    Image.fromarray(data.coffee()[:40, :40]).save(tmp_path / "a.png")
    result = run_module(
        "colorkeras.colorize",
        tmp_path / "a.png",
        tmp_path / "missing.png",
        "--out",
        tmp_path / "out",
        "--model",
        tiny_run,
    )
    # TensorFlow's native start-up lines are gone; our own messages are all there.
    assert "absl::InitializeLog" not in result.stderr and "oneDNN" not in result.stderr, result.stderr
    assert "missing.png: no such file or folder" in result.stderr and "1 colorized" in result.stderr
    assert f"results in {tmp_path / 'out'}" in result.stderr
    for module in ("colorkeras.colorize", "colorkeras.evaluate", "colorkeras.train", "colorkeras.export"):
        started = time.perf_counter()
        result = run_module(module, "--help")
        assert result.returncode == 0 and time.perf_counter() - started < 2.5, module
        assert "(default: None)" not in result.stdout and "(default: all) (default" not in result.stdout
        assert "tensorflow" not in result.stderr.lower()


def test_an_output_folder_that_cannot_be_written_is_said_before_any_work(tmp_path, capsys):
    from colorkeras import colorize

    Image.fromarray(data.coffee()[:40, :40]).save(tmp_path / "x.jpg")
    (tmp_path / "a-file").write_text("mine")
    assert (
        colorize.main([str(tmp_path / "x.jpg"), "--out", str(tmp_path / "a-file" / "out"), "--model", "no-such-run"])
        == 2
    )
    error = capsys.readouterr().err
    assert "cannot write into" in error and "a-file" in error  # Said before the model is even looked up.
    assert (tmp_path / "a-file").read_text() == "mine"


def test_tensorflow_notices_are_filtered_and_our_lines_kept():
    from colorkeras.core.cli import NATIVE_LOG

    noise = [
        "I0000 00:00:1796125793.997026    4133 port.cc:153] oneDNN custom operations are on.",
        (
            "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other operations, "
            "rebuild TensorFlow with the appropriate compiler flags."
        ),
        "WARNING:absl:Please consider providing the trackable_obj argument in the from_concrete_functions.",
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    ]
    kept = [
        "error: photo.png: not an image",
        "Wrote colorizer.tflite (0.3 MB)",
        "Serving photos-unet on http://127.0.0.1:8502",
        "WARNING: your disk is full",
    ]
    assert all(NATIVE_LOG.match(line) for line in noise)
    assert not any(NATIVE_LOG.match(line) for line in kept)
