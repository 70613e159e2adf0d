"""The server's PNG writer (serving.png): files that other decoders read back exactly."""

import io

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from colorkeras.serving import png
from colorkeras.serving.png import encode_png


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (37, 53)])
def test_pillow_and_tensorflow_read_back_every_pixel(channels, shape):
    rng = np.random.default_rng(channels)
    image = rng.integers(0, 256, (*shape, channels), dtype=np.uint8)  # Noise: every byte difference wraps somewhere.
    data = encode_png(image)
    np.testing.assert_array_equal(tf.io.decode_png(data).numpy(), image)
    decoded = np.asarray(Image.open(io.BytesIO(data)))
    np.testing.assert_array_equal(decoded.reshape(image.shape), image)
    assert Image.open(io.BytesIO(data)).mode == {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]


def test_a_photograph_is_compressed_and_opencv_reads_it():
    rows, columns = np.mgrid[0:240, 0:320]
    image = np.stack([rows, columns, (rows + columns) // 2], axis=-1).astype(np.uint8)
    data = encode_png(image)
    assert len(data) < image.nbytes / 10  # Smooth gradients: the Up filter leaves small differences to deflate.
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1], image)
    np.testing.assert_array_equal(tf.io.decode_png(encode_png(image[..., 0])).numpy()[..., 0], image[..., 0])


def test_a_large_image_deflated_in_shares_on_threads_is_one_valid_stream():
    rng = np.random.default_rng(5)
    rows, columns = np.mgrid[0:700, 0:600]
    image = np.stack([rows, columns, rows ^ columns], axis=-1).astype(np.uint8)
    image[::7] = rng.integers(0, 256, image[::7].shape, dtype=np.uint8)  # Some rows of noise.
    assert image.nbytes >= png.PARALLEL_BYTES  # The threaded path, not the one-call one.
    data = encode_png(image)
    np.testing.assert_array_equal(tf.io.decode_png(data).numpy(), image)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), image)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 4, 3), np.float32),
        np.zeros((4, 4, 5), np.uint8),
        np.zeros((0, 4, 3), np.uint8),
        np.zeros(4, np.uint8),
    ],
)
def test_what_is_not_an_8_bit_image_is_refused(image):
    with pytest.raises(ValueError):
        encode_png(image)
