import numpy as np
from skimage import color as skcolor
from skimage import data

from colorkeras.core.images import luma_gray
from colorkeras.models import color


def test_rgb_to_lab_matches_scikit_image():
    rgb = data.astronaut()[::4, ::4] / 255.0
    np.testing.assert_allclose(color.rgb_to_lab(rgb).numpy(), skcolor.rgb2lab(rgb), atol=1e-3)


def test_lab_round_trip():
    rgb = data.coffee()[::8, ::8] / 255.0
    np.testing.assert_allclose(color.lab_to_rgb(color.rgb_to_lab(rgb)).numpy(), rgb, atol=1e-4)


def test_lightness_of_gray_and_rgb_agree_with_full_conversion():
    rgb = data.chelsea()[::8, ::8] / 255.0
    lab = skcolor.rgb2lab(rgb)
    np.testing.assert_allclose(color.rgb_to_lightness(rgb).numpy()[..., 0], lab[..., 0], atol=1e-3)
    gray = np.linspace(0, 1, 256)[:, None]
    expected = skcolor.rgb2lab(np.repeat(gray[:, None], 3, axis=-1))[:, 0, 0]
    np.testing.assert_allclose(color.gray_to_lightness(gray).numpy()[:, 0], expected, atol=1e-3)


def test_luma_gray_is_bt601():
    pixel = np.array([[[200, 100, 50]]], np.uint8)
    expected = round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)
    assert luma_gray(pixel).tolist() == [[[expected] * 3]]


def test_saturation_boost_raises_saturation_and_keeps_hue():
    rgb = data.coffee()[::8, ::8] / 255.0
    boosted = color.boost_saturation(rgb, 1.5).numpy()
    before, after = skcolor.rgb2hsv(rgb), skcolor.rgb2hsv(boosted)
    coloured = before[..., 1] > 0.1
    assert after[..., 1][coloured].mean() > before[..., 1][coloured].mean() * 1.2
    hue_change = np.abs(after[..., 0] - before[..., 0])[coloured]
    assert np.minimum(hue_change, 1 - hue_change).max() < 1e-3
    np.testing.assert_allclose(color.boost_saturation(rgb, 1.0).numpy(), rgb, atol=1e-5)


def test_bin_centres_cover_the_gamut_on_a_grid():
    centers = color.ab_bin_centers(10.0)
    assert 200 < len(centers) < 350
    assert np.all(np.mod(centers, 10.0) == 0)
    # Every pixel of a real photograph lies within half a diagonal of some bin.
    ab = skcolor.rgb2lab(data.astronaut()[::4, ::4] / 255.0)[..., 1:].reshape(-1, 2)
    distance = np.sqrt(((ab[:, None, :] - centers[None]) ** 2).sum(-1)).min(axis=1)
    assert distance.max() <= 5 * np.sqrt(2) + 1e-3


def test_table_based_uint8_paths_match_the_exact_conversions():
    photo = data.coffee()
    exact = skcolor.rgb2lab(photo / 255.0)
    np.testing.assert_allclose(color.uint8_to_lightness(photo).numpy()[..., 0], exact[..., 0], atol=0.06)
    gray = photo[..., :1]
    np.testing.assert_allclose(
        color.uint8_to_lightness(gray).numpy(), color.gray_to_lightness(gray / 255.0).numpy(), atol=1e-4
    )
    lab = color.rgb_to_lab(photo / 255.0)
    rounded = np.round(color.lab_to_rgb(lab).numpy() * 255.0)
    assert np.abs(color.lab_to_uint8(lab).numpy().astype(int) - rounded).max() <= 1
