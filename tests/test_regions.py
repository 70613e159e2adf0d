"""Edge-bounded regions (data.regions) and the recoloured-region training hints."""

import numpy as np

from colorkeras.core import hints as hints_lib
from colorkeras.core import lab
from colorkeras.data import pipeline as data_lib
from colorkeras.data import regions

# Four object-sized patches on a gray ground, each a distinct colour and brightness:
# the segments a recoloured region can be.
PATCHES = [
    (slice(4, 20), slice(4, 20), (200, 40, 40)),
    (slice(4, 20), slice(40, 60), (40, 160, 60)),
    (slice(36, 60), slice(6, 22), (50, 80, 200)),
    (slice(40, 58), slice(36, 58), (220, 200, 60)),
]


def patches_image():
    image = np.full((64, 64, 3), 128, np.uint8)
    for rows, cols, colour in PATCHES:
        image[rows, cols] = colour
    return image


def patch_masks():
    masks = []
    for rows, cols, _ in PATCHES:
        mask = np.zeros((64, 64), bool)
        mask[rows, cols] = True
        masks.append(mask)
    return masks


def lab_batch(count):
    truth = lab.rgb_to_lab(patches_image().astype(np.float64) / 255.0, np)
    batch = np.repeat(truth[None], count, axis=0).astype(np.float32)
    return batch[..., :1] / 100.0, batch[..., 1:]


def test_every_chosen_sample_gets_one_segment_a_new_colour_and_its_first_hint_inside_it():
    lightness, ab = lab_batch(12)
    rng = np.random.default_rng(3)
    points, radii = hints_lib.sample_points(rng, 12, 64, 64, pad_to=hints_lib.TRAIN_MAX_POINTS)
    before = ab.copy(), points.copy(), radii.copy()
    new_ab, new_points, new_radii = regions.recolour_regions(rng, lightness, ab, points, radii, share=1.0)
    assert (ab == before[0]).all() and (points == before[1]).all() and (radii == before[2]).all()  # Inputs kept.
    segments = [mask for mask, _ in regions.segment_depths(patches_image())]
    masks, chosen = patch_masks(), set()
    for index in range(12):
        changed = np.abs(new_ab[index] - ab[index]).max(axis=-1) > 1e-3
        # Exactly one segment changed: the inside of one patch (the segmentation's
        # smoothing leaves its 1-px rim a segment of its own, too thin for a hint).
        assert any((changed == segment).all() for segment in segments)
        overlaps = [(changed & mask).sum() / mask.sum() for mask in masks]
        patch = int(np.argmax(overlaps))
        chosen.add(patch)
        assert overlaps[patch] > 0.5 and not (changed & ~masks[patch]).any()
        # Its mean is the new colour, its chroma in range; its own variation is kept.
        mean = new_ab[index][changed].mean(axis=0)
        assert regions.RECOLOUR_CHROMA[0] - 0.5 <= np.linalg.norm(mean) <= regions.RECOLOUR_CHROMA[1] + 0.5
        assert np.linalg.norm(mean - ab[index][changed].mean(axis=0)) > 1.0
        # The first hint lies inside, its whole patch too; the other places are the drawn ones.
        (y, x), radius = new_points[index, 0], new_radii[index, 0]
        assert changed[y - radius : y + radius + 1, x - radius : x + radius + 1].all()
        assert (new_points[index, 1:] == points[index, 1:]).all()
    assert len(chosen) >= 3  # The segment is drawn at random, not always the same one.


def test_share_zero_keeps_everything_and_a_flat_image_has_no_region():
    lightness, ab = lab_batch(4)
    rng = np.random.default_rng(0)
    points, radii = hints_lib.sample_points(rng, 4, 64, 64, pad_to=8)
    same = regions.recolour_regions(rng, lightness, ab, points, radii, share=0.0)
    assert all((a == b).all() for a, b in zip(same, (ab, points, radii), strict=True))
    flat_l, flat_ab = np.full_like(lightness, 0.5), np.zeros_like(ab)
    flat = regions.recolour_regions(rng, flat_l, flat_ab, points, radii, share=1.0)
    assert all((a == b).all() for a, b in zip(flat, (flat_ab, points, radii), strict=True))


def test_the_hint_pipeline_paints_from_the_recoloured_target():
    """The trainer's a/b input (what hints are painted from) and the target are the
    same recoloured a/b, and the first hint of a recoloured sample is in its region."""
    images = np.repeat(patches_image()[None], 8, axis=0)
    dataset = data_lib.make_dataset(images, 64, 8, "unet", False, hints=True, region_share=1.0)
    (lightness, ab, points, radii), target = next(iter(dataset))
    assert np.array_equal(ab.numpy(), target.numpy())
    _, original = lab_batch(8)
    moved = np.abs(target.numpy() - original).max(axis=-1) > 1e-3
    for index in range(8):
        y, x = points.numpy()[index, 0]
        assert moved[index].mean() >= regions.MIN_AREA and moved[index, y, x]
    plain = data_lib.make_dataset(images, 64, 8, "unet", False, hints=True)
    (_, plain_ab, _, _), plain_target = next(iter(plain))
    np.testing.assert_allclose(plain_target.numpy(), original, atol=0.05)
