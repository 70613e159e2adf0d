"""Hints: the one point format, simulated hints and the hint canvas (no training)."""

import json

import numpy as np
import pytest

from colorkeras.core import hints
from colorkeras.models import hint_canvas


def test_points_are_checked_and_normalised():
    points = hints.parse_hints(
        [{"x": 3.4, "y": 5, "color": "1F3A93"}, {"x": 0, "y": 0, "color": "#ff0000", "radius": 4}], 10, 8
    )
    assert points == [
        {"x": 3, "y": 5, "color": "#1f3a93", "radius": None},
        {"x": 0, "y": 0, "color": "#ff0000", "radius": 4},
    ]


@pytest.mark.parametrize(
    "bad, message",
    [
        ([{"x": 10, "y": 0, "color": "#ff0000"}], "outside the 10x8 image"),
        ([{"x": -1, "y": 0, "color": "#ff0000"}], "outside"),
        ([{"x": 1, "y": 1, "color": "red"}], "is not a colour"),
        ([{"x": 1, "y": 1, "color": "#ff00"}], "is not a colour"),
        ([{"x": 1, "color": "#ff0000"}], "missing 'y'"),
        ([{"x": "1", "y": 1, "color": "#ff0000"}], "x must be a number"),
        ([{"x": 1, "y": 1, "color": "#ff0000", "size": 3}], "unknown field"),
        ([{"x": 1, "y": 1, "color": "#ff0000", "radius": -2}], "radius must be"),
        ({"x": 1}, "expected a list"),
        ([{"x": 1, "y": 1, "color": "#ff0000"}] * 1001, "at most 1000"),
    ],
)
def test_bad_points_are_refused_with_what_is_wrong(bad, message):
    with pytest.raises(hints.HintError, match=message):
        hints.parse_hints(bad, 10, 8)


def test_hints_file_errors_name_the_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"x": 1, "y": 2, "color": "#ff0000"')
    with pytest.raises(hints.HintError, match="broken.json: not valid JSON"):
        hints.read_hints_file(broken)
    with pytest.raises(hints.HintError, match="no such hints file"):
        hints.read_hints_file(tmp_path / "missing.json")
    keyed = tmp_path / "keyed.json"
    keyed.write_text(json.dumps({"a.jpg": [{"x": 1, "y": 2, "color": "#zz0000"}]}))
    with pytest.raises(hints.HintError, match=r"keyed.json\['a.jpg'\]\[0\].color"):
        hints.read_hints_file(keyed)


def test_simulated_places_follow_zhang_et_al():
    rng = np.random.default_rng(0)
    points, radii = hints.sample_points(rng, 20_000, 64, 64, pad_to=hints.TRAIN_MAX_POINTS)
    counts = (points[..., 0] >= 0).sum(axis=1)
    assert points.shape == (20_000, hints.TRAIN_MAX_POINTS, 2)
    assert abs(np.mean(counts == 0) - 1 / 8) < 0.01  # None in one sample of eight.
    assert 6.3 < counts.mean() < 7.0  # About 7 (a little under: draws above 32 are cut).
    valid = points[points[..., 0] >= 0]
    assert valid.min() >= 0 and valid.max() <= 63
    # Centre-biased: the middle half of each side holds far more than half the points.
    middle = np.all((valid >= 16) & (valid < 48), axis=-1).mean()
    assert middle > 0.4  # Uniform places would give 0.25.
    assert set(np.unique(radii)) == {0, 1}


def test_canvas_paints_each_patch_with_its_colour_and_a_mask():
    points = np.array([[[1, 1], [5, 6], [-1, -1]]], np.int32)  # The third is padding.
    radii = np.array([[1, 0, 3]], np.int32)
    masks = np.asarray(hint_canvas.patch_masks(points, radii, 8, 8))
    assert masks.shape == (1, 3, 8, 8)
    assert masks[0, 0].sum() == 9 and masks[0, 0, 0:3, 0:3].all()
    assert masks[0, 1].sum() == 1 and masks[0, 1, 5, 6] == 1
    assert masks[0, 2].sum() == 0
    canvas = np.asarray(hint_canvas.paint(masks, np.array([[[55.0, -22.0], [0.0, 0.0], [9.0, 9.0]]], np.float32)))
    assert canvas.shape == (1, 8, 8, 3)
    np.testing.assert_allclose(canvas[0, 1, 1], [0.5, -0.2, 1.0], atol=1e-6)
    # A gray hint is not no hint: zero a/b but the mask says a hint is there.
    np.testing.assert_allclose(canvas[0, 5, 6], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(canvas[0, 7, 0], [0.0, 0.0, 0.0])


def test_patch_means_are_the_true_colour_under_each_patch():
    ab = np.zeros((1, 8, 8, 2), np.float32)
    ab[0, :4] = [40.0, 10.0]
    masks = hint_canvas.patch_masks(np.array([[[1, 1], [3, 1]]]), np.array([[1, 1]]), 8, 8)
    means = np.asarray(hint_canvas.patch_means(masks, ab))
    np.testing.assert_allclose(means[0, 0], [40.0, 10.0])
    np.testing.assert_allclose(means[0, 1], [40.0 * 2 / 3, 10.0 * 2 / 3], rtol=1e-6)  # Rows 2-4: one of three is not.


def test_revealed_hints_are_patch_means_and_reproducible():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 256, (2, 20, 30, 3), dtype=np.uint8)
    points, colors = hints.reveal(np.random.default_rng(1), truth, 5)
    again = hints.reveal(np.random.default_rng(1), truth, 5)
    assert points.shape == (2, 5, 2) and colors.shape == (2, 5, 3)
    np.testing.assert_array_equal(points, again[0])
    y, x = points[1, 2]
    patch = truth[1, max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].reshape(-1, 3)
    np.testing.assert_array_equal(colors[1, 2], np.rint(patch.mean(axis=0)))
    empty = hints.reveal(rng, truth, 0)
    assert empty[0].shape == (2, 0, 2)


def test_a_wide_radius_becomes_points_covering_its_square():
    yx, colors, radii = hints.to_arrays(
        [{"x": 50, "y": 40, "color": "#00ff00", "radius": 20}, {"x": 5, "y": 5, "color": "#ff0000"}], 100, 80
    )
    grid, grid_colors = hints.expand_radii(yx, colors, radii, scale=0.5, width=100, height=80)
    green = grid[(grid_colors == [0, 255, 0]).all(axis=1)]
    assert len(green) > 4 and green[:, 0].min() == 20 and green[:, 0].max() == 60 and green[:, 1].max() == 70
    assert len(grid) == len(green) + 1
