"""The one colorize path: load a run's SavedModel, colorize arrays, PIL images and files.

Every front end (the colorize CLI, the dashboard, the evaluator) goes through
``Colorizer``, which calls the SavedModel's own graph, so they all give the same
result as TensorFlow Serving would.

    from colorkeras.inference import Colorizer
    colorizer = Colorizer()                      # the default run in saved_models/
    rgb = colorizer.colorize(pil_or_array)       # uint8 RGB, same size as the input
"""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from colorkeras import store  # noqa: E402

DEFAULT_MAX_PIXELS = 80_000_000  # 80 megapixels: far above a 12 MP scan, far below a bomb.


class ImageError(Exception):
    """An input that is not a usable image; the message says why."""


def to_uint8_rgb(image, max_pixels=DEFAULT_MAX_PIXELS):
    """A PIL image or numpy array of any common kind -> (uint8 [h, w, 3], alpha or None).

    Accepts gray, gray+alpha, RGB, RGBA, 16-bit, float, palette and CMYK; applies
    EXIF orientation to PIL images. Raises ``ImageError`` for anything else, or for
    images over ``max_pixels``.
    """
    if isinstance(image, Image.Image):
        width, height = image.size
        _check_size(width, height, max_pixels)
        image = ImageOps.exif_transpose(image)
        alpha = None
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            alpha = np.asarray(rgba)[..., 3]
            return np.asarray(rgba.convert("RGB")), alpha
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(image, dtype=np.float64)
            scale = 65535.0 if array.max(initial=0) > 255 or image.mode.startswith("I;16") else 255.0
            return to_uint8_rgb(np.clip(array / scale, 0, 1), max_pixels)
        if image.mode == "F":
            return to_uint8_rgb(np.asarray(image, dtype=np.float64), max_pixels)
        return np.asarray(image.convert("RGB")), None
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4) or 0 in array.shape:
        raise ImageError(f"expected an image array [h, w] or [h, w, 1|2|3|4], received shape {array.shape}")
    _check_size(array.shape[1], array.shape[0], max_pixels)
    if array.dtype == np.uint16:
        array = (array.astype(np.float64) / 65535.0 * 255.0).round().astype(np.uint8)
    elif array.dtype.kind == "f":
        array = (np.clip(np.nan_to_num(array), 0.0, 1.0) * 255.0).round().astype(np.uint8)
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        raise ImageError(f"unsupported array dtype {array.dtype}; use uint8, uint16 or float in [0, 1]")
    alpha = array[..., -1] if array.shape[-1] in (2, 4) else None
    colour = array[..., :1] if array.shape[-1] <= 2 else array[..., :3]
    if colour.shape[-1] == 1:
        colour = np.repeat(colour, 3, axis=-1)
    return np.ascontiguousarray(colour), alpha


def _check_size(width, height, max_pixels):
    if max_pixels and width * height > max_pixels:
        raise ImageError(
            f"image of {width}x{height} = {width * height / 1e6:.0f} megapixels is over the limit of "
            f"{max_pixels / 1e6:.0f} megapixels (raise it with max_pixels / --max-pixels)"
        )


def open_image(source, max_pixels=DEFAULT_MAX_PIXELS, name=None):
    """Opens and fully decodes an image file (a path or a binary file object).

    Raises ``ImageError`` whose message starts with ``name`` (default: the path).
    Only the first frame of an animation is used.
    """
    label = name or str(source)
    # Pillow refuses images over twice its own limit when it opens them. Within that
    # limit our check below decides; only a user who raises max_pixels above it
    # needs Pillow's limit lifted for the call (a rare, command-line case).
    previous = Image.MAX_IMAGE_PIXELS
    lift = previous is not None and max_pixels and max_pixels > 2 * previous
    if lift:
        Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(source) as image:
            _check_size(*image.size, max_pixels)
            image.load()
            return image.copy()
    except ImageError as error:
        raise ImageError(f"{label}: {error}") from None
    except Image.DecompressionBombError:
        limit = max_pixels or 2 * previous
        raise ImageError(
            f"{label}: image is over the limit of {limit / 1e6:.0f} megapixels (a decompression bomb?)"
        ) from None
    except FileNotFoundError:
        raise ImageError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{label}: is a folder") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageError(f"{label}: not a readable image ({_reason(source, error)})") from None
    finally:
        if lift:
            Image.MAX_IMAGE_PIXELS = previous


def _reason(source, error):
    if hasattr(source, "getbuffer"):
        empty = source.getbuffer().nbytes == 0
    else:
        empty = Path(source).is_file() and Path(source).stat().st_size == 0
    return "empty file" if empty else str(error) or type(error).__name__


class Colorizer:
    """A run's SavedModel, ready to colorize.

    ``model``: a run name in ``saved_models/``, a run folder, or None for the
    default run. ``render_size`` (short side the chroma is predicted at),
    ``saturation`` (HSV factor, 1.0 = off) and ``temperature`` default to the run's.
    """

    def __init__(
        self, model=None, render_size=None, saturation=None, temperature=None, prior_weight=None, max_pixels=DEFAULT_MAX_PIXELS
    ):
        import tensorflow as tf

        self.path = store.resolve_run(model)
        self.name = self.path.name
        self.record = store.read_json(self.path / "config.json", {})
        settings = self.record.get("settings", {})
        self.render_size = int(render_size or settings.get("render_size", 32))
        self.saturation = float(saturation if saturation is not None else settings.get("saturation", 1.0))
        self.temperature = float(temperature if temperature is not None else settings.get("temperature", 1.0))
        self.prior_weight = float(prior_weight if prior_weight is not None else settings.get("prior_weight") or 0.0)
        if self.prior_weight and not self.record.get("bin_prior"):
            raise ValueError(f"run {self.name} has no colour prior, so prior weight must be 0 (re-export it with python -m colorkeras.export)")
        self.max_pixels = max_pixels
        if self.render_size < 8:
            raise ValueError(f"render size must be at least 8, received {self.render_size}")
        if self.saturation <= 0:
            raise ValueError(f"saturation must be positive, received {self.saturation}")
        self._tf = tf
        self._loaded = tf.saved_model.load(str(self.path / "saved_model"))
        self._signature = self._loaded.signatures["colorize"]
        # Runs exported before the prior weight existed take one input fewer.
        self._takes_prior_weight = "prior_weight" in self._signature.structured_input_signature[1]

    def colorize_batch(self, images, render_size=None, saturation=None):
        """uint8 ``[batch, h, w, 1|3]`` (all one size) -> uint8 RGB ``[batch, h, w, 3]``.

        ``render_size`` and ``saturation`` override the colorizer's own for this call.
        """
        tf = self._tf
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ImageError(f"expected uint8 [batch, h, w, 1|3], received {images.dtype} {images.shape}")
        options = dict(
            render_size=tf.constant(int(render_size or self.render_size), tf.int32),
            saturation=tf.constant(float(saturation or self.saturation), tf.float32),
            temperature=tf.constant(self.temperature, tf.float32),
        )
        if self._takes_prior_weight:
            options["prior_weight"] = tf.constant(self.prior_weight, tf.float32)
        outputs = self._signature(images=tf.constant(images), **options)
        return outputs["colorized"].numpy()

    def colorize(self, image, render_size=None, saturation=None):
        """A PIL image or array of any kind and size -> uint8 RGB (RGBA if it had alpha), same size."""
        rgb, alpha = to_uint8_rgb(image, self.max_pixels)
        result = self.colorize_batch(rgb[None], render_size, saturation)[0]
        if alpha is not None:
            result = np.concatenate([result, alpha[..., None]], axis=-1)
        return result

    def colorize_many(self, images, batch_size=64):
        """Colorizes a list of images; same-sized neighbours are sent as one batch."""
        converted = [to_uint8_rgb(image, self.max_pixels) for image in images]
        results = [None] * len(converted)
        start = 0
        while start < len(converted):
            shape = converted[start][0].shape
            end = start
            while end < len(converted) and end - start < batch_size and converted[end][0].shape == shape:
                end += 1
            batch = self.colorize_batch(np.stack([rgb for rgb, _ in converted[start:end]]))
            for offset, colour in enumerate(batch):
                alpha = converted[start + offset][1]
                results[start + offset] = colour if alpha is None else np.dstack([colour, alpha])
            start = end
        return results

    def colorize_file(self, path, render_size=None, saturation=None):
        """Opens ``path`` and colorizes it; raises ``ImageError`` naming the file if it can't."""
        return self.colorize(open_image(path, self.max_pixels), render_size, saturation)
