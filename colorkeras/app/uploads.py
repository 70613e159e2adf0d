"""The dashboard's uploads: a photograph or a film colorized through the run's Colorizer, named, kept between reruns
and zipped for download."""

import io
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from colorkeras.core import archive
from colorkeras.core.constants import FILM_SUFFIXES
from colorkeras.core.images import check_colour, luma_gray
from colorkeras.serving.inference import ImageError, open_image, to_uint8_rgb
from colorkeras.video import pipeline
from colorkeras.video.key_frames import KeyFrames

UPLOAD_TYPES = ("png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp")


@dataclass
class ColorizedUpload:
    name: str
    gray: np.ndarray  # uint8 [h, w, 3], what the model saw.
    colour: np.ndarray  # uint8 [h, w, 3|4], the result.
    encoded: bytes  # The result as the file downloaded: in ``format``, with the upload's metadata and provenance.
    seconds: float
    format: str = "png"
    dropped: tuple = ()  # What the upload had that the format cannot hold.


def colorize_upload(colorizer, name, data, render_size=None, saturation=None, hints=None, fmt="png", reference=None):
    """Colorizes one uploaded file's bytes (with ``hints``, a list of points, or a
    ``reference``, the (name, bytes) of an uploaded colour photograph, where given)
    and encodes it for download in ``fmt`` as the colorize CLI writes it (16-bit
    where the upload was, its metadata, the provenance); raises ``ImageError``
    naming the file. With a reference, the run's own render size and saturation apply."""

    if not data:
        raise ImageError(f"{name}: empty file")
    image = open_image(io.BytesIO(data), colorizer.max_pixels, name=name)
    reference_image = reference_name = None
    if reference is not None:
        reference_name, reference_data = reference
        reference_image = open_reference(colorizer, reference_name, reference_data)
        render_size = saturation = hints = None
    started = time.perf_counter()
    colour = colorizer.colorize(
        image, render_size=render_size, saturation=saturation, hints=hints or None, reference=reference_image
    )
    seconds = time.perf_counter() - started
    gray = luma_gray(to_uint8_rgb(image, colorizer.max_pixels)[0])
    made = colorizer.provenance(render_size, saturation, hints, reference=reference_name)
    try:
        encoded, dropped = archive.encode_result(colour, fmt, archive.Source.of(data, image), made)
    except ValueError as error:
        raise ImageError(f"{name}: {error}") from None
    return ColorizedUpload(
        name=name, gray=gray, colour=colour, encoded=encoded, seconds=seconds, format=fmt, dropped=tuple(dropped)
    )


def open_reference(colorizer, name, data):
    """An uploaded reference photograph, checked to be in colour; ``ImageError`` naming it otherwise."""
    if not data:
        raise ImageError(f"reference {name}: empty file")
    image = open_image(io.BytesIO(data), colorizer.max_pixels, name=f"reference {name}")
    check_colour(to_uint8_rgb(image, colorizer.max_pixels)[0], name=f"reference {name}")
    return image


FILM_TYPES = tuple(suffix[1:] for suffix in FILM_SUFFIXES)


def colorize_film_upload(colorizer, name, data, stability, progress=None, key_frames=None):
    """Colorizes an uploaded film's bytes through ``pipeline.colorize_film`` in a
    temporary folder; returns (MP4 bytes, summary). ``key_frames``: (name, bytes) of
    uploaded colour images named by the frame they colour (``film --key-frames``).
    Raises ``pipeline.FilmError`` naming the upload."""

    if not data:
        raise pipeline.FilmError(f"{name}: empty file (0 bytes)")
    with tempfile.TemporaryDirectory(prefix="colorkeras-film-") as folder:
        source = Path(folder) / f"input{Path(name).suffix.lower() or '.mp4'}"
        source.write_bytes(data)
        output = Path(folder) / "colorized.mp4"
        try:
            keys = None
            if key_frames:
                keys_folder = Path(folder) / "keys"
                keys_folder.mkdir()
                for key_name, key_data in key_frames:
                    (keys_folder / Path(key_name).name).write_bytes(key_data)
                info = pipeline.film_info(source)
                keys = KeyFrames.read(keys_folder, info["width"], info["height"])
                colorizer.check_takes_reference()
                keys.find_shots(source)
            summary = pipeline.colorize_film(source, output, colorizer, stability, progress=progress, keys=keys)
        except pipeline.FilmError as error:
            message = str(error).replace(str(source), name).replace(str(Path(folder) / "keys") + "/", "")
            raise pipeline.FilmError(message) from None
        return output.read_bytes(), summary


def film_result_name(upload_name):
    return f"{Path(upload_name).stem}-colorized.mp4"


def open_upload(name, data, max_pixels):
    return open_image(io.BytesIO(data), max_pixels, name=name)


def keep_current(cache, results):
    """The entries of ``cache`` whose values are among ``results`` (the ones on show)."""
    shown = {id(result) for result in results}
    return {key: value for key, value in cache.items() if id(value) in shown}


def result_name(upload_name, fmt="png"):
    return f"{Path(upload_name).stem}-colorized{archive.FORMATS[fmt]}"


def zip_results(results):
    """One ZIP of every result's file, named after the uploads."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        used = set()
        for result in results:
            name = result_name(result.name, result.format)
            stem, suffix = name.rsplit(".", 1)
            count = 1
            while name in used:
                count += 1
                name = f"{stem}-{count}.{suffix}"
            used.add(name)
            bundle.writestr(name, result.encoded)
    return buffer.getvalue()
