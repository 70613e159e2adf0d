"""Archive-grade outputs: the scan's bit depth and metadata kept, and the fact that a
model coloured it written into the file.

No TensorFlow here. The colorize CLI, bulk and the dashboard's downloads all write
through ``encode_result``:

- **Bit depth.** A 16-bit input (PNG, TIFF; gray or RGB) gives a 16-bit PNG or TIFF
  whose CIELAB lightness is the input's at 16-bit precision; the chroma (a/b) comes
  from the 8-bit network's result. JPEG and WebP are 8-bit containers.
- **Metadata.** EXIF (orientation reset to 1: the pixels are written upright), IPTC,
  XMP and the ICC profile of the input go into the output where its format holds
  them (WebP has no IPTC block; what a format cannot hold is named as dropped).
- **Provenance.** Every output records in XMP the IPTC digital source type
  ``compositeWithTrainedAlgorithmicMedia`` (IPTC's term for media composited from
  captured content and the output of a trained model: here the scan's own
  lightness and a network's colour; ``trainedAlgorithmicMedia`` would say the
  whole image was generated, ``algorithmicallyEnhanced`` a correction that leaves
  the content as it was), ``xmp:CreatorTool``, and the run and its serving
  settings in colorkeras' own namespace; EXIF ``Software`` names colorkeras.

Metadata is read and written with pyexiv2 (the Exiv2 library, bundled in its
wheel): one library that reads and writes EXIF, IPTC, XMP and ICC in PNG, TIFF,
JPEG and WebP alike, where Pillow writes IPTC in none of them.
"""

import hashlib
import io
import json
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

FORMATS = {"png": ".png", "tiff": ".tif", "jpeg": ".jpg", "webp": ".webp"}  # --format: the container, and its suffix.
EIGHT_BIT = ("jpeg", "webp")  # 8 bits per channel by nature.
MIME = {"png": "image/png", "tiff": "image/tiff", "jpeg": "image/jpeg", "webp": "image/webp"}
JPEG_QUALITY = 90  # As images.save_image writes .jpg files.
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
NAMESPACE, PREFIX = "http://ns.colorkeras.org/xmp/1.0/", "colorkeras"  # The run and its settings, in XMP.
# EXIF tags that describe a file's own layout, not the picture: never copied from the
# input (the output's encoder writes its own), nor the thumbnail of the old pixels.
LAYOUT_TAGS = {
    "ImageWidth",
    "ImageLength",
    "BitsPerSample",
    "Compression",
    "PhotometricInterpretation",
    "StripOffsets",
    "SamplesPerPixel",
    "RowsPerStrip",
    "StripByteCounts",
    "PlanarConfiguration",
    "TileWidth",
    "TileLength",
    "TileOffsets",
    "TileByteCounts",
    "SampleFormat",
    "ExtraSamples",
    "Predictor",
    "InterColorProfile",
    "XMLPacket",
    "IPTCNAA",
    "ImageResources",
    "NewSubfileType",
    "SubfileType",
    "JPEGInterchangeFormat",
    "JPEGInterchangeFormatLength",
    "Orientation",
    "Software",
    "PixelXDimension",
    "PixelYDimension",
    "ExifTag",
    "GPSTag",
    "InteroperabilityTag",
}


@dataclass
class Source:
    """What an output carries over from its input: the file's metadata and, for a
    16-bit input, its pixels at full precision (upright, as the colorizer saw them)."""

    exif: dict = field(default_factory=dict)
    iptc: dict = field(default_factory=dict)
    xmp: dict = field(default_factory=dict)
    icc: bytes = b""
    high: np.ndarray = None  # float64 [h, w] (gray) or [h, w, 3] (RGB) in [0, 1], or None for 8-bit inputs.

    @classmethod
    def of(cls, data, image=None):
        """The ``Source`` of encoded file ``data`` (``image``: its decoded PIL image, for
        the EXIF orientation the colorizer applied)."""
        source = cls()
        try:
            import pyexiv2

            with pyexiv2.ImageData(data) as metadata:
                source.exif = _quiet(metadata.read_exif)
                source.iptc = _quiet(metadata.read_iptc)
                source.xmp = _quiet(metadata.read_xmp)
                source.icc = _quiet(metadata.read_icc, b"")
        except (RuntimeError, ValueError, OSError):
            pass  # A file Exiv2 cannot parse carries nothing over; its pixels still decode.
        source.high = _sixteen_bit_pixels(data, image)
        return source


def _quiet(read, default=None):
    try:
        return read() or (default if default is not None else {})
    except (RuntimeError, ValueError, UnicodeDecodeError):
        return default if default is not None else {}


def _sixteen_bit_pixels(data, image):
    """float64 pixels in [0, 1] of a 16-bit PNG or TIFF (gray [h, w] or RGB [h, w, 3]),
    turned upright as EXIF says; None for any other file (8-bit, with alpha, ...)."""
    import cv2

    if not (data[:8] == b"\x89PNG\r\n\x1a\n" or data[:4] in (b"II*\x00", b"MM\x00*")):
        return None
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16 or (array.ndim == 3 and array.shape[-1] not in (1, 3)):
        return None  # 8-bit, or with alpha (written 8-bit, with its alpha).
    if array.ndim == 3 and array.shape[-1] == 3:
        array = array[..., ::-1]  # OpenCV's BGR.
    elif array.ndim == 3:
        array = array[..., 0]
    orientation = image.getexif().get(0x0112, 1) if image is not None else 1
    return _upright(array, orientation).astype(np.float64) / 65535.0


def _upright(array, orientation):
    """``array`` turned as ``PIL.ImageOps.exif_transpose`` turns an image of that EXIF orientation."""
    turns = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a[:, ::-1], 1),
        8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(turns.get(orientation, lambda a: a)(array))


def sixteen_bit(colour, high):
    """uint16 RGB [h, w, 3]: the a/b of the 8-bit result ``colour`` under the CIELAB
    lightness of the 16-bit input ``high`` (float in [0, 1]), not rounded to 8 bits.

    Where that colour falls outside sRGB at the new lightness (the 8-bit result sat
    on the gamut's edge), its chroma is reduced until it fits, hue kept: clipping
    the channels instead would move the lightness the output must keep."""
    from skimage import color
    from skimage.color.colorconv import rgb_from_xyz

    lab = color.rgb2lab(colour[..., :3].astype(np.float64) / 255.0)
    source = np.repeat(high[..., None], 3, axis=-1) if high.ndim == 2 else high
    lab[..., 0] = color.rgb2lab(source)[..., 0]

    def linear(lab_values):
        return color.lab2xyz(lab_values) @ rgb_from_xyz.T

    rgb = linear(lab)
    outside = ((rgb < 0) | (rgb > 1)).any(axis=-1)
    if outside.any():
        pixels = lab[outside]
        low, high_scale = np.zeros(len(pixels)), np.ones(len(pixels))
        for _ in range(12):  # Bisection on the chroma's scale: 1/4096 of it.
            middle = (low + high_scale) / 2
            trial = pixels.copy()
            trial[:, 1:] *= middle[:, None]
            rgb_trial = linear(trial)
            fits = ((rgb_trial >= 0) & (rgb_trial <= 1)).all(axis=-1)
            low, high_scale = np.where(fits, middle, low), np.where(fits, high_scale, middle)
        pixels[:, 1:] *= low[:, None]
        lab[outside] = pixels
        rgb = linear(lab)
    rgb = np.clip(rgb, 0.0, 1.0)
    srgb = np.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * np.power(rgb, 1 / 2.4) - 0.055)
    return np.clip(np.rint(srgb * 65535.0), 0, 65535).astype(np.uint16)


def encode_pixels(array, fmt):
    """uint8 or uint16 RGB(A) -> the encoded file, without metadata."""
    import cv2

    if fmt in EIGHT_BIT and array.dtype != np.uint8:
        raise ValueError(f"{fmt} holds 8 bits per channel, received {array.dtype}")
    if array.dtype == np.uint16:
        if fmt == "png":
            ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array[..., ::-1]))  # Pillow has no 16-bit RGB.
            if not ok:
                raise ValueError("OpenCV could not encode the 16-bit PNG")
            return encoded.tobytes()
        import tifffile

        buffer = io.BytesIO()
        tifffile.imwrite(buffer, array, photometric="rgb", compression="zlib", metadata=None)
        return buffer.getvalue()
    buffer = io.BytesIO()
    image = Image.fromarray(array)
    if fmt == "jpeg":
        image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    elif fmt == "webp":
        image.save(buffer, format="WEBP", quality=JPEG_QUALITY)
    elif fmt == "tiff":
        image.save(buffer, format="TIFF", compression="tiff_deflate")
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def provenance(run, render_size=None, saturation=None, hints=0, recipe=None, reference=None):
    """The settings an output records about how it was made; ``recipe`` (see
    ``recipe``) lets a later run tell whether it would make the same output;
    ``reference``: the name of the reference photograph its colour came from."""
    from colorkeras import __version__

    made = {
        "tool": f"colorkeras {__version__}",
        "run": str(run),
        "render_size": render_size,
        "saturation": saturation,
        "hints": int(hints),
    }
    if recipe:
        made["recipe"] = recipe
    if reference:
        made["reference"] = str(reference)
    return made


def recipe(input_bytes, run_fingerprint, fmt, render_size=None, saturation=None, hints=None, reference=None):
    """A digest of everything an output is made from: the input file's bytes, the run
    (``store.run_fingerprint``), the output format and the settings given (None: the
    run's own), hints and the reference photograph's bytes. The colorize command and
    bulk record and compare the same."""
    options = {"render_size": render_size, "saturation": saturation, "hints": hints, "format": fmt}
    if reference is not None:  # Left out otherwise, so outputs made before references existed are still known.
        options["reference"] = hashlib.sha256(reference).hexdigest()
    digest = hashlib.sha256(input_bytes)
    digest.update(run_fingerprint.encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def read_recipe(output):
    """The recipe an output records (``with_metadata``): ``output`` a path or the
    file's bytes. None when it records none or cannot be read."""
    import pyexiv2

    _register_namespace(pyexiv2)
    try:
        opened = pyexiv2.ImageData(output) if isinstance(output, bytes) else pyexiv2.Image(str(output))
        with opened as image:
            return image.read_xmp().get(f"Xmp.{PREFIX}.Recipe")
    except Exception:  # Any unreadable or foreign file: not ours to skip.
        return None


def with_metadata(data, fmt, source, made):
    """``data`` (an encoded output) with the input's metadata and the provenance
    ``made`` written in. Returns (bytes, [what the format could not hold])."""
    import pyexiv2

    _register_namespace(pyexiv2)
    dropped = []
    exif = {
        key: value
        for key, value in source.exif.items()
        if key.split(".")[1] not in ("Thumbnail", "Thumbnail2")
        and key.split(".")[-1] not in LAYOUT_TAGS
        and not (key == "Exif.Image.ImageDescription" and str(value).startswith('{"shape"'))
    }  # tifffile's own, not a caption.
    exif.update({"Exif.Image.Orientation": "1", "Exif.Image.Software": f"{made['tool']} (run {made['run']})"})
    xmp = dict(source.xmp)
    for key in [key for key in xmp if key.startswith(f"Xmp.{PREFIX}.")]:
        del xmp[key]  # A result colorized again records this run, not the last one.
    xmp.update(
        {
            "Xmp.iptcExt.DigitalSourceType": DIGITAL_SOURCE_TYPE,
            "Xmp.xmp.CreatorTool": made["tool"],
            f"Xmp.{PREFIX}.Run": made["run"],
            f"Xmp.{PREFIX}.Hints": str(made["hints"]),
        }
    )
    if made.get("recipe"):
        xmp[f"Xmp.{PREFIX}.Recipe"] = made["recipe"]
    if made.get("reference"):
        xmp[f"Xmp.{PREFIX}.Reference"] = made["reference"]
    for name, key in (("render_size", "RenderSize"), ("saturation", "Saturation")):
        if made.get(name) is not None:
            xmp[f"Xmp.{PREFIX}.{key}"] = f"{made[name]:g}" if isinstance(made[name], float) else str(made[name])
    try:
        return _write_metadata(pyexiv2, data, fmt, source, exif, xmp, dropped)
    except RuntimeError as error:  # Exiv2's own errors: a value it cannot write.
        raise ValueError(f"cannot write the metadata into the {fmt} output ({error})") from None


def _write_metadata(pyexiv2, data, fmt, source, exif, xmp, dropped):
    with pyexiv2.ImageData(data) as image:
        image.modify_exif(exif)
        image.modify_xmp(xmp)
        if source.icc:
            image.modify_icc(source.icc)
        if source.iptc:
            if fmt == "webp":
                dropped.append("IPTC (WebP has no IPTC block; the XMP is kept)")
            else:
                image.modify_iptc(source.iptc)
        return image.get_bytes(), dropped


def _register_namespace(pyexiv2):
    try:
        pyexiv2.registerNs(NAMESPACE, PREFIX)
    except (RuntimeError, ValueError):
        pass  # Registered already in this process.


def encode_result(colour, fmt="png", source=None, made=None):
    """The file an output is: ``colour`` (the colorizer's uint8 RGB or RGBA) in
    ``fmt``, at 16 bits where the input had them and the format holds them, with
    the input's metadata and the provenance ``made``. Returns (bytes, dropped):
    dropped names what the input had that the output cannot hold."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    source = source or Source()
    dropped = []
    pixels = colour
    if (
        source.high is not None
        and colour.ndim == 3
        and colour.shape[-1] == 3
        and source.high.shape[:2] == colour.shape[:2]
    ):
        if fmt in EIGHT_BIT:
            dropped.append(f"16-bit depth ({fmt.upper()} is 8-bit)")
        else:
            pixels = sixteen_bit(colour, source.high)
    if fmt == "jpeg" and colour.ndim == 3 and colour.shape[-1] == 4:
        dropped.append("transparency (JPEG has none)")
    data = encode_pixels(pixels, fmt)
    if made is None:
        return data, dropped
    data, more = with_metadata(data, fmt, source, made)
    return data, dropped + more
