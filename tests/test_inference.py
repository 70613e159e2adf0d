import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from skimage import color as skcolor
from skimage import data

from colorkeras.serving import inference
from colorkeras.serving.inference import Colorizer, ImageError


@pytest.fixture(scope="module")
def colorizer(tiny_run):
    return Colorizer(tiny_run)


def lightness(rgb):
    return skcolor.rgb2lab(np.asarray(rgb)[..., :3] / 255.0)[..., 0]


def png_bomb(width, height):
    """A valid PNG header claiming width x height, with almost no data behind it."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_photo_keeps_size_and_luminance(colorizer):
    photo = data.astronaut()
    result = colorizer.colorize(photo)
    assert result.shape == photo.shape and result.dtype == np.uint8
    assert np.abs(lightness(result) - lightness(photo)).mean() < 1.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image.fromarray(data.camera()),  # Gray (L).
        lambda: Image.fromarray(data.coffee()),  # RGB.
        lambda: Image.fromarray(data.coffee()).convert("RGBA"),
        lambda: Image.fromarray(data.coffee()).convert("P"),  # Palette.
        lambda: Image.fromarray(data.coffee()).convert("CMYK"),
        lambda: Image.fromarray(data.camera().astype(np.uint16) * 257),  # 16-bit gray (I;16).
        lambda: data.camera(),  # 2-D uint8 array.
        lambda: data.camera()[..., None].astype(np.uint16) * 257,  # 16-bit array.
        lambda: data.coffee() / 255.0,  # float array in [0, 1].
        lambda: np.dstack([data.coffee(), np.full(data.coffee().shape[:2], 128, np.uint8)]),  # RGBA array.
    ],
    ids=["gray", "rgb", "rgba", "palette", "cmyk", "16-bit", "array-2d", "array-16-bit", "array-float", "array-rgba"],
)
def test_every_input_kind_gives_rgb_of_the_same_size(colorizer, make):
    image = make()
    size = image.size[::-1] if isinstance(image, Image.Image) else np.asarray(image).shape[:2]
    reference, alpha = inference.to_uint8_rgb(image)
    result = colorizer.colorize(image)
    assert result.shape[:2] == tuple(size) and result.dtype == np.uint8
    assert result.shape[2] == (4 if alpha is not None else 3)
    if alpha is not None:
        np.testing.assert_array_equal(result[..., 3], alpha)
    assert np.abs(lightness(result) - lightness(reference)).mean() < 1.5


def test_exif_orientation_is_honoured(colorizer, tmp_path):
    photo = Image.fromarray(data.chelsea())  # 451 wide, 300 high.
    exif = Image.Exif()
    exif[0x0112] = 6  # Rotate 90 degrees clockwise to display.
    path = tmp_path / "rotated.jpg"
    photo.save(path, exif=exif)
    result = colorizer.colorize_file(path)
    assert result.shape[:2] == (451, 300)


def test_saturation_rises_and_hue_stays(tiny_run):
    plain = Colorizer(tiny_run, saturation=1.0).colorize(data.coffee())
    vivid = Colorizer(tiny_run, saturation=2.0).colorize(data.coffee())
    before, after = skcolor.rgb2hsv(plain), skcolor.rgb2hsv(vivid)
    coloured = (before[..., 1] > 0.15) & (before[..., 2] > 0.15)
    assert after[..., 1][coloured].mean() > before[..., 1][coloured].mean() * 1.2
    difference = np.abs(after[..., 0] - before[..., 0])[coloured]
    assert np.median(np.minimum(difference, 1 - difference)) < 0.02


def test_batches_match_single_images(colorizer):
    crops = [data.astronaut()[i * 40 : i * 40 + 64, :96] for i in range(3)] + [data.coffee()[:50, :70]]
    many = colorizer.colorize_many(crops, batch_size=2)
    for crop, result in zip(crops, many, strict=False):
        np.testing.assert_array_equal(result, colorizer.colorize(crop))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):  # It looped for ever.
        colorizer.colorize_many(crops, batch_size=0)


def test_render_size_changes_the_working_resolution_only(tiny_run):
    small = Colorizer(tiny_run, render_size=16).colorize(data.astronaut())
    large = Colorizer(tiny_run, render_size=64).colorize(data.astronaut())
    assert small.shape == large.shape == data.astronaut().shape
    assert not np.array_equal(small, large)


def test_bad_inputs_are_refused_with_a_message(colorizer, tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    (tmp_path / "bomb.png").write_bytes(png_bomb(30000, 30000))
    with pytest.raises(ImageError, match="empty file"):
        colorizer.colorize_file(tmp_path / "empty.png")
    with pytest.raises(ImageError, match="text.jpg"):
        colorizer.colorize_file(tmp_path / "text.jpg")
    with pytest.raises(ImageError, match="bomb.png: image is over the limit of 80 megapixels"):
        colorizer.colorize_file(tmp_path / "bomb.png")
    with pytest.raises(ImageError, match="shape"):
        colorizer.colorize(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ImageError, match="over the limit"):
        Colorizer(colorizer.path, max_pixels=1000).colorize(data.camera())


def test_unknown_run_lists_the_known_ones(models_store):
    from colorkeras.core.store import RunError

    with pytest.raises(RunError, match="no trained run"):
        Colorizer()
    with pytest.raises(RunError, match="no complete run named 'nope'"):
        Colorizer("nope")


def test_zero_or_negative_saturation_is_refused_not_taken_as_the_default(colorizer):
    photo = data.coffee()[:64, :64]
    for value in (0, 0.0, -1.5):
        with pytest.raises(ValueError, match="saturation must be positive"):
            colorizer.colorize(photo, saturation=value)
    with pytest.raises(ValueError, match="render size must be at least 8"):
        colorizer.colorize(photo, render_size=0)


def test_a_damaged_config_is_an_error_not_the_defaults(tiny_run, tmp_path):
    import shutil

    from colorkeras.core.store import RunError

    damaged = tmp_path / "damaged"
    shutil.copytree(tiny_run, damaged)
    (damaged / "config.json").write_text('{"settings": {"render_size": 16,')
    with pytest.raises(RunError, match="config.json is damaged"):
        Colorizer(damaged)
    (damaged / "config.json").write_text("{}")
    with pytest.raises(RunError, match="holds no run settings"):
        Colorizer(damaged)


@pytest.mark.slow
def test_the_python_api_is_as_quiet_as_the_command_lines(tiny_run):
    import subprocess
    import sys

    code = (
        "from colorkeras import Colorizer; import numpy as np; "
        f"print(Colorizer({str(tiny_run)!r}).colorize(np.zeros((20, 20), np.uint8)).shape)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "(20, 20, 3)", result.stderr[-2000:]
    for noise in ("To enable the following instructions", "oneDNN", "absl", "I0000"):
        assert noise not in result.stderr, result.stderr


def test_the_graph_path_gives_what_the_cpu_path_gives_with_and_without_hints(default_colorizer):
    """``colorize_batch`` without the ``chroma`` signatures (runs exported before them) joins L and chroma in the
    SavedModel's ``colorize`` graph: the same colours within a code value or two, a batch that mixes a hinted
    and an unhinted photo included."""
    import copy

    graph_only = copy.copy(default_colorizer)
    graph_only._chroma = None
    rgb = np.asarray(Image.fromarray(data.astronaut()).resize((96, 80)))
    images = np.stack([rgb, rgb[::-1]])
    points = np.array([[[20, 30], [40, 60]], [[-1, -1], [-1, -1]]], np.int32)  # Hints on the first photo only.
    colors = np.array([[[220, 30, 30], [30, 30, 220]], [[0, 0, 0], [0, 0, 0]]], np.uint8)
    for arguments in ({}, {"points": points, "colors": colors}):
        expected = default_colorizer.colorize_batch(images, **arguments).astype(int)
        got = graph_only.colorize_batch(images, **arguments).astype(int)
        assert got.shape == expected.shape == (2, 80, 96, 3)
        assert np.abs(got - expected).max() <= 2, np.abs(got - expected).max()
    hinted = graph_only.colorize_batch(images, points=points, colors=colors)
    plain = graph_only.colorize_batch(images)
    assert np.array_equal(hinted[1], plain[1])  # No valid point: the automatic colour, at the run's saturation.
    assert np.abs(hinted[0].astype(int) - plain[0]).max() > 30  # The hints moved the first photo's colour.
