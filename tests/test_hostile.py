"""A corpus of hostile files, made here, through every entry point: the Python
API, the colorize CLI, the evaluator's folder loader, the training folder loader
and the dashboard upload. Each file is colorized correctly or refused with one
clear message; never a traceback, never a partial output file."""

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from skimage import data

from colorkeras.app import uploads
from colorkeras.data import pipeline as data_lib
from colorkeras.evaluation import scoring
from colorkeras.serving.inference import Colorizer, ImageError, open_image, to_uint8_rgb
from tests.conftest import run_cli
from tests.test_inference import png_bomb

GOOD = {
    "cmyk.jpg": lambda p: Image.fromarray(data.coffee()[:64, :80]).convert("CMYK").save(p),
    "sixteen bit.png": lambda p: Image.fromarray(data.camera()[:60, :70].astype(np.uint16) * 257).save(p),
    "rgba.png": lambda p: Image.fromarray(data.coffee()[:50, :60]).convert("RGBA").save(p),
    "palette.png": lambda p: Image.fromarray(data.coffee()[:50, :60]).convert("P").save(p),
    "animated.gif": lambda p: Image.fromarray(data.coffee()[:40, :40]).save(
        p, save_all=True, append_images=[Image.fromarray(data.astronaut()[:40, :40])], duration=100
    ),
    "one pixel.png": lambda p: Image.new("RGB", (1, 1), (200, 30, 40)).save(p),
    "ünïcödé naïve.jpg": lambda p: Image.fromarray(data.chelsea()[:48, :64]).save(p),
}
BAD = {
    "zero.png": lambda p: p.write_bytes(b""),
    "truncated.png": lambda p: p.write_bytes(_png_bytes()[:200]),
    "truncated.jpg": lambda p: p.write_bytes(_jpeg_bytes()[:300]),
    "text.jpg": lambda p: p.write_text("this is not a picture"),
    "bomb.png": lambda p: p.write_bytes(png_bomb(30000, 30000)),
}


def _png_bytes():
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()[:64, :64]).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes():
    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()[:64, :64]).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile") / "scans with spaces é"
    folder.mkdir()
    for name, make in {**GOOD, **BAD}.items():
        make(folder / name)
    return folder


def test_python_api(tiny_run, corpus):
    colorizer = Colorizer(tiny_run)
    for name in GOOD:
        image = open_image(corpus / name)
        result = colorizer.colorize(image)
        assert result.shape[:2] == image.size[::-1]
    for name in BAD:
        with pytest.raises(ImageError, match=name.split(".")[0]):
            colorizer.colorize_file(corpus / name)


def test_sixteen_bit_keeps_its_tones(corpus):
    rgb, _ = to_uint8_rgb(open_image(corpus / "sixteen bit.png"))
    np.testing.assert_allclose(rgb[..., 0].astype(int), data.camera()[:60, :70], atol=1)


def test_colorize_cli(tiny_run, corpus, tmp_path):
    out = tmp_path / "out"
    result = run_cli("colorkeras.colorize", corpus, "--out", out, "--model", tiny_run)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    written = sorted(path.name for path in out.rglob("*") if path.is_file())
    assert written == sorted(name.rsplit(".", 1)[0] + ".png" for name in GOOD)
    for name in BAD:
        assert f"{name}: " in result.stderr
    assert "over the limit" in result.stderr


def test_evaluator_folder_loader(tiny_run, corpus):
    files = scoring.find_split_files(corpus, split="all")
    rows, gray_row, skipped = scoring.score_files([Colorizer(tiny_run)], files)
    assert skipped == len(BAD) and rows[0]["n"] == gray_row["n"] == len(GOOD)


def test_training_folder_loader(corpus):
    with pytest.warns(UserWarning, match=f"skipped {len(BAD)} unreadable"):
        train, test, skipped = data_lib.load_folder(corpus, 16)
    assert skipped == len(BAD) and len(train) + len(test) == len(GOOD)
    assert train.shape[1:] == (16, 16, 3) and train.dtype == np.uint8


def test_dashboard_upload(tiny_run, corpus):
    colorizer = Colorizer(tiny_run)
    for name in GOOD:
        result = uploads.colorize_upload(colorizer, name, (corpus / name).read_bytes())
        assert result.colour.dtype == np.uint8
    for name in BAD:
        with pytest.raises(ImageError, match=name):
            uploads.colorize_upload(colorizer, name, (corpus / name).read_bytes())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_decode_or_refuse(payload):
    try:
        image = open_image(io.BytesIO(payload), name="random")
    except ImageError as error:
        assert str(error).startswith("random: ")
        return
    rgb, _ = to_uint8_rgb(image)
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


def test_damaged_real_files_decode_or_refuse_with_their_name(corpus):
    """Random bytes never pass a file signature, so the test above only ever sees
    refusals; real PNG, JPEG and TIFF files cut short or with bytes overwritten
    reach the decoders too. Both outcomes must occur, and each is clean."""
    rng = np.random.default_rng(0)
    outcomes = set()
    for name in sorted(GOOD):
        original = (corpus / name).read_bytes()
        for trial in range(12):
            damaged = bytearray(original)
            if trial % 2:
                damaged = damaged[: int(rng.integers(8, len(damaged)))]
            else:
                for at in rng.integers(0, len(damaged), 4):
                    damaged[at] = int(rng.integers(0, 256))
            try:
                rgb, _ = to_uint8_rgb(open_image(io.BytesIO(bytes(damaged)), name="damaged"))
            except ImageError as error:
                assert str(error).startswith("damaged: ")
                outcomes.add("refused")
                continue
            assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
            outcomes.add("decoded")
    assert outcomes == {"decoded", "refused"}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=0, max_size=4),
    st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int32, np.bool_]),
)
def test_random_array_shapes_convert_or_refuse(shape, dtype):
    array = np.ones(shape, dtype=dtype)
    try:
        rgb, alpha = to_uint8_rgb(array)
    except ImageError:
        return
    assert rgb.dtype == np.uint8 and rgb.shape[:2] == array.shape[:2] and rgb.shape[2] == 3
    assert alpha is None or alpha.shape == rgb.shape[:2]
