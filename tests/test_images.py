"""Decoding user files (colorkeras.core.images): no TensorFlow, no model."""

import io
import threading

import numpy as np
import pytest
from PIL import Image

from colorkeras.core import images
from colorkeras.core.images import ImageError, open_image


def png_bytes(width=40, height=30):
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 120, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_open_image_leaves_pillows_process_wide_limit_alone(monkeypatch):
    """A high max_pixels for one user must not lift the bomb guard for everyone else."""
    seen = []
    real_open = Image.open

    def watching_open(*args, **kwargs):
        seen.append(Image.MAX_IMAGE_PIXELS)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(images.Image, "open", watching_open)
    before = Image.MAX_IMAGE_PIXELS
    open_image(io.BytesIO(png_bytes()), max_pixels=10**12, name="big-allowance.png")
    assert seen == [before] and Image.MAX_IMAGE_PIXELS == before


def test_open_image_from_many_threads_at_once_keeps_the_limit():
    before = Image.MAX_IMAGE_PIXELS
    errors = []

    def work(max_pixels):
        try:
            for _ in range(20):
                open_image(io.BytesIO(png_bytes()), max_pixels=max_pixels, name="x.png")
        except ImageError as error:  # pragma: no cover - a failure shows in the assert
            errors.append(error)

    threads = [threading.Thread(target=work, args=(limit,)) for limit in (10**12, 100, 10**12, 10**6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Image.MAX_IMAGE_PIXELS == before
    # Only the 100-pixel allowance refuses the 1,200-pixel image.
    assert len(errors) == 1 and "over the limit" in str(errors[0])


def test_non_image_upload_is_named_without_python_internals():
    with pytest.raises(ImageError) as caught:
        open_image(io.BytesIO(b"just some notes"), name="notes.txt")
    message = str(caught.value)
    assert message.startswith("notes.txt: not an image we can read")
    assert "BytesIO" not in message and "0x" not in message


def test_save_image_writes_png_or_jpeg_by_name_and_leaves_no_temporary_file(tmp_path):
    from skimage import data

    picture = np.ascontiguousarray(data.astronaut()[::4, ::3])  # 128x171: a photograph, an odd width.
    images.save_image(picture, tmp_path / "sheet.png")
    images.save_image(picture, tmp_path / "deep" / "sheet.JPG")
    with Image.open(tmp_path / "sheet.png") as png, Image.open(tmp_path / "deep" / "sheet.JPG") as jpeg:
        assert (png.format, jpeg.format) == ("PNG", "JPEG")
        assert np.array_equal(np.asarray(png), picture)  # PNG is lossless.
        error = np.abs(np.asarray(jpeg).astype(int) - picture).mean()
    assert 0 < error < 6  # JPEG at quality 90: close (4.1 here), not exact.
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["sheet.JPG", "sheet.png"]
