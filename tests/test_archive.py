"""Archive-grade outputs (colorkeras.core.archive): 16-bit depth kept, metadata carried,
provenance written, originals untouched; checked with exiftool, a reader no one
here wrote."""

import io
import json
import shutil
import subprocess

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms
from skimage import color, data, transform

from colorkeras.app import uploads
from colorkeras.core import archive, store
from colorkeras.serving.inference import Colorizer
from tests.conftest import run_cli

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="needs Debian's exiftool (libimage-exiftool-perl) to read the outputs' metadata"
)
CAPTION = {
    "Artist": "Ada Lovelace",
    "Copyright": "(c) Museum of Tests, accession 1950.12",
    "ImageDescription": "A man with a camera on a tripod",
    "Title": "Cameraman, 1950",
    "ObjectName": "Cameraman",
    "ProfileDescription": "sRGB built-in",
}


def read_tags(path):
    """Every tag exiftool reads in ``path``, by name."""
    result = subprocess.run([EXIFTOOL, "-j", "-a", "-G1", "-s", str(path)], capture_output=True, text=True, check=True)
    return {key.split(":", 1)[-1]: value for key, value in json.loads(result.stdout)[0].items()}


def captioned_jpeg(path, orientation=6):
    """A 200x120 JPEG with EXIF (artist, copyright, description, orientation), XMP
    title, IPTC object name and an ICC profile, written with Exiv2 (pyexiv2)."""
    import pyexiv2

    buffer = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(data.camera()[100:220, 100:300]).convert("RGB").save(
        buffer, format="JPEG", quality=92, icc_profile=icc
    )
    with pyexiv2.ImageData(buffer.getvalue()) as image:
        image.modify_exif(
            {
                "Exif.Image.Artist": CAPTION["Artist"],
                "Exif.Image.Copyright": CAPTION["Copyright"],
                "Exif.Image.ImageDescription": CAPTION["ImageDescription"],
                "Exif.Image.Orientation": str(orientation),
            }
        )
        image.modify_xmp({"Xmp.dc.title": {'lang="x-default"': CAPTION["Title"]}})
        image.modify_iptc({"Iptc.Application2.ObjectName": CAPTION["ObjectName"]})
        path.write_bytes(image.get_bytes())
    return path


def gray16_tiff(path, height=90, width=120):
    """A 16-bit gray TIFF scan whose levels use the 16 bits (a smooth photograph)."""
    gray = transform.resize(data.camera() / 255.0, (height, width), order=3)
    tifffile.imwrite(path, np.clip(np.rint(gray * 65535), 0, 65535).astype(np.uint16))
    return path


def lightness_of_gray16(array):
    return color.rgb2lab(np.repeat((array / 65535.0)[..., None], 3, axis=-1))[..., 0]


def fingerprint(path):
    return path.read_bytes(), path.stat().st_mtime_ns


def test_a_16_bit_scan_keeps_its_lightness_at_16_bits(tiny_run, tmp_path):
    scan = gray16_tiff(tmp_path / "scan.tif")
    raw = scan.read_bytes()
    image = Image.open(io.BytesIO(raw))
    colour = Colorizer(tiny_run).colorize(image)  # The 8-bit network's result.
    source = archive.Source.of(raw, image)
    assert source.high is not None and source.high.shape == (90, 120)
    truth = lightness_of_gray16(tifffile.imread(scan))
    eight_bit = np.abs(color.rgb2lab(colour / 255.0)[..., 0] - truth).mean()
    for fmt in ("tiff", "png"):
        encoded, dropped = archive.encode_result(colour, fmt, source)
        assert dropped == []
        out = (
            tifffile.imread(io.BytesIO(encoded))
            if fmt == "tiff"
            else cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
        )
        assert out.dtype == np.uint16 and out.shape == (90, 120, 3), fmt
        delta = np.abs(color.rgb2lab(out / 65535.0)[..., 0] - truth).mean()
        assert delta <= 0.02 < eight_bit, (fmt, delta, eight_bit)  # 8-bit rounding alone moves it about 0.1.
        # The colour is the network's: the chroma of the 16-bit output is that of the 8-bit result.
        assert np.abs(color.rgb2lab(out / 65535.0)[..., 1:] - color.rgb2lab(colour / 255.0)[..., 1:]).mean() < 1.0
    encoded, dropped = archive.encode_result(colour, "jpeg", source)
    assert dropped == ["16-bit depth (JPEG is 8-bit)"] and Image.open(io.BytesIO(encoded)).mode == "RGB"


@pytest.mark.slow
@needs_exiftool
def test_the_cli_carries_every_caption_and_records_the_run_in_every_format(tiny_run, tmp_path):
    (tmp_path / "in").mkdir()
    photo = captioned_jpeg(tmp_path / "in" / "photo.jpg")
    scan = gray16_tiff(tmp_path / "in" / "scan.tif")
    originals = {path: fingerprint(path) for path in (photo, scan)}
    for fmt, suffix in archive.FORMATS.items():
        out = tmp_path / f"out-{fmt}"
        result = run_cli(
            "colorkeras.colorize",
            photo,
            scan,
            "--out",
            out,
            "--model",
            tiny_run,
            "--format",
            fmt,
            "--saturation",
            "1.2",
        )
        assert result.returncode == 0, result.stderr[-2000:]
        tags = read_tags(out / f"photo{suffix}")
        for name, value in CAPTION.items():
            if fmt == "webp" and name == "ObjectName":
                continue  # WebP has no IPTC block: said in the summary.
            assert tags.get(name) == value, (fmt, name, tags.get(name))
        assert tags["DigitalSourceType"] == archive.DIGITAL_SOURCE_TYPE
        assert tags["Software"].startswith("colorkeras ") and tiny_run.name in tags["Software"]
        assert tags["CreatorTool"].startswith("colorkeras ")
        assert tags["Run"] == tiny_run.name and float(tags["Saturation"]) == 1.2 and tags["Hints"] in (0, "0")
        # The pixels were turned upright (EXIF orientation 6: 90 degrees clockwise), so the file says 1.
        assert tags["Orientation"] == "Horizontal (normal)" and Image.open(out / f"photo{suffix}").size == (120, 200)
        scan_tags = read_tags(out / f"scan{suffix}")
        assert scan_tags["DigitalSourceType"] == archive.DIGITAL_SOURCE_TYPE
        depth = str(scan_tags.get("BitsPerSample", scan_tags.get("BitDepth", "8")))  # exiftool gives WebP none: 8 bits.
        assert depth.startswith("16") if fmt in ("png", "tiff") else depth.startswith("8"), (fmt, depth)
        if fmt == "webp":
            assert (
                "WebP has no IPTC block" in result.stderr and result.stderr.count("cannot hold") == 2
            )  # IPTC, 16 bits.
        if fmt == "jpeg":
            assert "16-bit depth (JPEG is 8-bit)" in result.stderr
        assert {path.stat().st_mode & 0o777 for path in out.iterdir()} == {0o666 & ~store.current_umask()}
    assert {path: fingerprint(path) for path in originals} == originals  # Originals byte-identical, mtimes unchanged.


@needs_exiftool
def test_dashboard_downloads_carry_the_metadata_too(tiny_run, tmp_path):
    photo = captioned_jpeg(tmp_path / "photo.jpg")
    colorizer = Colorizer(tiny_run)
    for fmt in ("png", "tiff", "jpeg"):
        result = uploads.colorize_upload(colorizer, "photo.jpg", photo.read_bytes(), saturation=1.1, fmt=fmt)
        path = tmp_path / uploads.result_name("photo.jpg", fmt)
        path.write_bytes(result.encoded)
        tags = read_tags(path)
        assert all(tags.get(name) == value for name, value in CAPTION.items()), (fmt, tags)
        assert tags["DigitalSourceType"] == archive.DIGITAL_SOURCE_TYPE and tags["Run"] == tiny_run.name
    assert path.name == "photo-colorized.jpg"


@pytest.mark.slow
@needs_exiftool
def test_bulk_outputs_carry_the_metadata_and_leave_the_originals_alone(tiny_run, tmp_path):
    pytest.importorskip("apache_beam")
    folder = tmp_path / "scans"
    folder.mkdir()
    photo, scan = captioned_jpeg(folder / "photo.jpg"), gray16_tiff(folder / "scan.tif")
    originals = {path: fingerprint(path) for path in (photo, scan)}
    result = run_cli(
        "colorkeras.bulk",
        "--input",
        folder,
        "--output",
        tmp_path / "out",
        "--model",
        tiny_run,
        "--format",
        "tiff",
        "--runner",
        "DirectRunner",
    )
    assert result.returncode == 0 and "Done: 2 colorized" in result.stdout, result.stderr[-3000:]
    tags = read_tags(tmp_path / "out" / "scans" / "photo.tif")
    assert all(tags.get(name) == value for name, value in CAPTION.items()), tags
    assert tags["DigitalSourceType"] == archive.DIGITAL_SOURCE_TYPE and tags["Run"] == tiny_run.name
    assert str(read_tags(tmp_path / "out" / "scans" / "scan.tif")["BitsPerSample"]).startswith("16")
    assert {path: fingerprint(path) for path in originals} == originals
