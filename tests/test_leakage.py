"""Hint leakage (evaluation.leakage): regions, the band, and containment."""

import json

import numpy as np
import pytest

from colorkeras.core import lab
from colorkeras.evaluation import leakage
from tests.conftest import run_cli, write_crops


def scene():
    """A 96x96 photograph: a blue sky over a green field, a red square in the field."""
    image = np.zeros((96, 96, 3), np.uint8)
    image[:40] = (70, 120, 200)
    image[40:] = (60, 140, 60)
    image[56:84, 30:58] = (200, 40, 40)
    return image


class PaintingColorizer:
    """Stands in for a hint run: the automatic result is gray; a hint paints its
    colour over ``spread(point)`` (a boolean mask), as a network would."""

    hint_saturation = 1.0

    def __init__(self, spread):
        self.spread = spread
        self.calls = []

    def colorize_batch(self, images, render_size=None, saturation=None, points=None, colors=None):
        self.calls.append(saturation)
        out = images.copy()
        if points is not None:
            for index, ((y, x),) in enumerate(points):
                out[index][self.spread(images[index], y, x)] = colors[index, 0]
        return out


def test_regions_are_the_segments_and_the_hint_goes_to_the_deepest_pixel():
    image = scene()
    masks, points = leakage.regions(image, per_image=3)
    square = np.zeros((96, 96), bool)
    square[56:84, 30:58] = True
    # The sky (42% of the image) and the field (49%) are too large; the square (8.5%) is the region.
    assert len(masks) == 1
    assert not (masks[0] & ~square).any() and masks[0].sum() >= 0.7 * square.sum()  # Its edge pixels blur (sigma 0.8).
    y, x = points[0]
    assert 68 <= y <= 71 and 42 <= x <= 45  # Its centre, 14 px from every edge.


def test_band_is_the_ring_just_outside_a_region():
    mask = np.zeros((40, 40), bool)
    mask[15:25, 15:25] = True
    ring = leakage.band_around(mask, 3, gap=0)
    assert not (ring & mask).any()
    assert ring[12, 20] and ring[20, 27] and not ring[11, 20] and not ring[20, 28]
    gapped = leakage.band_around(mask, 3, gap=2)  # Two pixels left out next to the edge.
    assert not gapped[13, 20] and gapped[12, 20] and gapped[10, 20] and not gapped[9, 20]


def test_hint_colour_is_far_from_the_automatic_result_at_the_pixel_lightness():
    color = leakage.hint_color(np.array([30.0, 20.0]), lightness=55.0)
    lightness, a, b = lab.rgb_to_lab(color / 255.0, np)
    assert lightness == pytest.approx(55.0, abs=3)  # Clipped into the sRGB gamut.
    assert np.hypot(a - 30.0, b - 20.0) > 60  # The opposite side of the a/b plane.


def test_a_hint_that_fills_its_region_is_contained_and_a_round_glow_is_not():
    image = scene()

    def region(gray, y, x):
        return np.all(gray == gray[y, x], axis=-1)  # The flat region the point is on.

    def disc(gray, y, x):
        yy, xx = np.mgrid[: gray.shape[0], : gray.shape[1]]
        return (yy - y) ** 2 + (xx - x) ** 2 <= 22**2  # Past the square's edges on every side.

    contained = PaintingColorizer(region)
    rows = leakage.measure_image(contained, image, band=5)
    assert len(rows) == 1 and rows[0]["inside"] > 40
    assert rows[0]["band"] < 0.03 * rows[0]["inside"]  # Only the square's corners reach past the gap.
    assert contained.calls == [1.0, 1.0]  # Automatic and hinted at the same (hint) saturation.

    glow = leakage.measure_image(PaintingColorizer(disc), image, band=5)
    summary = leakage.summarize("glow", glow)
    assert summary["regions"] == 1 and summary["band"] > 40
    assert summary["containment"] == pytest.approx(rows[0]["inside"] / summary["band"], rel=1e-6)
    assert summary["containment"] < 1.2
    assert leakage.summarize("contained", rows)["containment"] > 30


def test_default_band_is_five_percent_of_the_longer_side():
    assert leakage.default_band(321, 481) == 24 and leakage.default_band(128, 128) == 6


def test_cli_measures_a_hint_run_and_refuses_a_run_without_hints(tiny_hint_run, tiny_run, tmp_path):
    write_crops(tmp_path / "photos" / "train", 2, size=64)
    folder = write_crops(tmp_path / "photos" / "test", 4, size=64)
    report = tmp_path / "leak.json"
    result = run_cli(
        "colorkeras.evaluate", "--leakage", "--model", tiny_hint_run, "--data", folder.parent, "--output", report
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[:6] == list(leakage.FIELDS)
    rows = json.loads(report.read_text())["rows"]
    assert rows[0]["name"] == tiny_hint_run.name and rows[0]["regions"] >= 1
    assert report.with_suffix(".csv").read_text().startswith("name,regions,inside,band,containment")

    refused = run_cli("colorkeras.evaluate", "--leakage", "--model", tiny_run, "--data", folder.parent)
    assert refused.returncode == 2 and "takes no hints" in refused.stderr and "Traceback" not in refused.stderr
    bad = run_cli("colorkeras.evaluate", "--leakage", "--model", tiny_hint_run, "--data", folder.parent, "--band", "0")
    assert bad.returncode == 2 and "--band must be at least 1" in bad.stderr
