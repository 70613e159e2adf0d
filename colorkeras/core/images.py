"""Decoding and size checks of user images: files, PIL images and arrays.

No TensorFlow here: the colorize path, the training data loader, the dashboard
and the front ends all decode through these functions, so a file reads the same
way everywhere.
"""

import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

DEFAULT_MAX_PIXELS = 80_000_000  # 80 megapixels: far above a 12 MP scan, far below a bomb.


# ITU-R BT.601 luma weights of R, G and B: how gray copies are made here.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def luma_gray(rgb_uint8):
    """ITU-R BT.601 luma of uint8 RGB [..., 3], as uint8 [..., 3] with R = G = B.

    This is the "gray copy" baseline, and the gray image that the evaluator feeds
    to every model.
    """
    rgb = np.asarray(rgb_uint8, dtype=np.float32)
    luma = rgb @ np.asarray(LUMA_WEIGHTS, np.float32)
    gray = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def find_images(folder):
    """All image files under ``folder``, recursively, in a stable (sorted) order."""
    folder = Path(folder)
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file())


class ImageError(Exception):
    """An input that is not a usable image; the message says why."""


def to_uint8_rgb(image, max_pixels=DEFAULT_MAX_PIXELS, keep_gray=False):
    """A PIL image or numpy array of any common kind -> (uint8 [h, w, 3], alpha or None).

    Accepts gray, gray+alpha, RGB, RGBA, 16-bit, float, palette and CMYK; applies
    EXIF orientation to PIL images. Raises ``ImageError`` for anything else, or for
    images over ``max_pixels``. ``keep_gray``: a gray image (without alpha) comes back
    as uint8 ``[h, w, 1]``, not copied into three equal channels.
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
            return to_uint8_rgb(np.clip(array / scale, 0, 1), max_pixels, keep_gray)
        if image.mode == "F":
            return to_uint8_rgb(np.asarray(image, dtype=np.float64), max_pixels, keep_gray)
        if keep_gray and image.mode == "L":
            return np.asarray(image)[..., None], None
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
    if colour.shape[-1] == 1 and not keep_gray:
        colour = np.repeat(colour, 3, axis=-1)
    return np.ascontiguousarray(colour), alpha


REFERENCE_MIN_CHROMA = 1.5  # Mean |a, b| (Lab units) below which a reference holds no colour to give.


def check_colour(rgb_uint8, name="the reference"):
    """Raises ``ImageError`` unless uint8 RGB ``[h, w, 3]`` is a colour photograph (a reference's colour is what
    it gives; a gray or sepia-faint image has none)."""
    rgb = np.asarray(rgb_uint8, np.float32) / 255.0
    # The chroma of Rec. 601 YCbCr, in about Lab units (cheap, and TensorFlow-free).
    cb = -0.168736 * rgb[..., 0] - 0.331264 * rgb[..., 1] + 0.5 * rgb[..., 2]
    cr = 0.5 * rgb[..., 0] - 0.418688 * rgb[..., 1] - 0.081312 * rgb[..., 2]
    chroma = float(np.mean(np.hypot(cb, cr))) * 200.0
    if chroma < REFERENCE_MIN_CHROMA:
        raise ImageError(f"{name} is not a colour photograph (its mean chroma is {chroma:.1f}); give one in colour")


def _check_size(width, height, max_pixels):
    if max_pixels and width * height > max_pixels:
        raise ImageError(
            f"image of {width}x{height} = {width * height / 1e6:.0f} megapixels is over the limit of "
            f"{max_pixels / 1e6:.0f} megapixels (raise it with max_pixels / --max-pixels)"
        )


def open_image(source, max_pixels=DEFAULT_MAX_PIXELS, name=None):
    """Opens and fully decodes an image file (a path or a binary file object).

    Raises ``ImageError`` whose message starts with ``name`` (default: the path).
    Only the first frame of an animation is used. The size is checked from the
    header, before any pixel is decoded, and Pillow's process-wide
    ``Image.MAX_IMAGE_PIXELS`` is left as it is, so several users can open images
    at once; Pillow's own refusal (above twice that limit) still stands.
    """
    label = name or str(source)
    try:
        with Image.open(source) as image:
            _check_size(*image.size, max_pixels)
            image.load()
            return image.copy()
    except ImageError as error:
        raise ImageError(f"{label}: {error}") from None
    except Image.DecompressionBombError:
        limit = min(max_pixels or float("inf"), 2 * (Image.MAX_IMAGE_PIXELS or 0) or float("inf"))
        raise ImageError(
            f"{label}: image is over the limit of {limit / 1e6:.0f} megapixels (a decompression bomb?)"
        ) from None
    except FileNotFoundError:
        raise ImageError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{label}: is a folder") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageError(f"{label}: not an image we can read ({_reason(source, error)})") from None


def _reason(source, error):
    """Why a file did not decode, in words for its owner (no Python object names)."""
    if hasattr(source, "getbuffer"):
        empty = source.getbuffer().nbytes == 0
    else:
        empty = Path(source).is_file() and Path(source).stat().st_size == 0
    if empty:
        return "empty file"
    if isinstance(error, Image.UnidentifiedImageError):
        return "not a known image format"
    text = re.sub(r"\s*<[^>]*object at 0x[0-9a-f]+>", "", str(error)).strip(" :")
    return text or type(error).__name__


def save_image(array, path):
    """Writes uint8 ``array`` at ``path`` (folders made as needed), through a
    temporary file and a rename, so no half-written picture is ever left behind:
    a JPEG (quality 90) where the name ends in .jpg or .jpeg, else a PNG."""
    import io

    from colorkeras.core import store

    path = Path(path)
    buffer = io.BytesIO()
    if path.suffix.lower() in (".jpg", ".jpeg"):
        Image.fromarray(array).convert("RGB").save(buffer, format="JPEG", quality=90)
    else:
        Image.fromarray(array).save(buffer, format="PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    store.atomic_write_bytes(path, buffer.getvalue())
