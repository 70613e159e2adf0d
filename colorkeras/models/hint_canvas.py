"""The hint canvas in ``keras.ops`` (any backend, and inside the exported graph): the square
patches of hint points, their mean colours, and the canvas (a, b, mask) a hint network takes.
Where the points come from and what they mean: ``core.hints`` (no TensorFlow)."""

from keras import ops

from colorkeras.core.constants import AB_SCALE


def valid_points(points):
    """bool ``[B, K]``: which points ``[B, K, 2]`` (y, x) are given, not padding (a negative coordinate)."""
    return ops.logical_and(points[..., 0] >= 0, points[..., 1] >= 0)


def patch_masks(points, radii, height, width):
    """float32 [B, K, H, W]: 1 inside each valid point's square patch.

    ``points`` int [B, K, 2] (y, x; a negative coordinate = padding), ``radii`` int
    [B, K] half-sides in pixels.
    """
    points = ops.cast(points, "int32")
    radii = ops.cast(radii, "int32")[..., None, None]
    valid = valid_points(points)[..., None, None]
    rows = ops.arange(height, dtype="int32")[None, None, :, None]
    cols = ops.arange(width, dtype="int32")[None, None, None, :]
    inside_y = ops.abs(rows - points[..., 0][..., None, None]) <= radii
    inside_x = ops.abs(cols - points[..., 1][..., None, None]) <= radii
    return ops.cast(ops.logical_and(ops.logical_and(inside_y, inside_x), valid), "float32")


def patch_means(masks, ab):
    """Mean a/b float32 [B, K, 2] of ``ab`` [B, H, W, 2] over each patch of ``masks``."""
    total = ops.einsum("bkhw,bhwc->bkc", masks, ab)
    area = ops.sum(masks, axis=(2, 3))[..., None]
    return total / ops.maximum(area, 1.0)


def paint(masks, point_ab):
    """The hint canvas float32 [B, H, W, 3]: a/AB_SCALE, b/AB_SCALE, mask.

    Where patches overlap, their colours are averaged.
    """
    count = ops.sum(masks, axis=1)[..., None]
    ab = ops.einsum("bkhw,bkc->bhwc", masks, ops.cast(point_ab, "float32")) / ops.maximum(count, 1.0)
    return ops.concatenate([ab / AB_SCALE, ops.cast(count > 0, "float32")], axis=-1)
