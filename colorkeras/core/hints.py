"""User hints: colour points that steer the colorization (Zhang et al. 2017).

One format everywhere: a list of points ``{"x": 120, "y": 48, "color": "#1f3a93"}``
in the input image's pixel coordinates (x to the right, y down, origin top-left),
with an optional ``"radius"`` in input pixels. ``parse_hints`` checks such a list;
``to_arrays`` turns it into the ``points`` (y, x) and ``colors`` (sRGB uint8) that the
SavedModel's ``colorize_with_hints`` signature takes.

The hint network sees four channels: ``L / 100``, the hint canvas ``a / AB_SCALE``
and ``b / AB_SCALE`` (zero where there is no hint) and a mask (1 where a hint is),
so a gray hint differs from no hint. ``paint`` builds the canvas with ``keras.ops``
alone, so the same code runs in training on any backend (JAX on a GPU machine) and
inside the exported TensorFlow graph. This module imports neither TensorFlow nor
the modules that do.
"""

import json
import math
import re
from pathlib import Path

import numpy as np

MAX_POINTS = 1000  # More than this in one image is refused: nobody clicks so many.
DEFAULT_RADIUS = 1  # A hint covers (2 r + 1)^2 pixels at the network's resolution.
# Training draws the number of points from a geometric distribution (Zhang et al.
# 2017: p = 1/8, about 7 points on average, none in one sample of eight).
GEOMETRIC_P = 1.0 / 8.0
TRAIN_MAX_POINTS = 32  # Draws above this are cut (1.4% of samples).
HINT_CHANNELS = 3  # a, b, mask beside L.
_COLOR = re.compile(r"^#?([0-9a-fA-F]{6})$")


class HintError(ValueError):
    """A hint list or file that cannot be used; the message says what and where."""


# === The one format: parsing and checking ===


def parse_color(text, where="color"):
    """'#1f3a93' (or '1f3a93') -> (31, 58, 147)."""
    match = _COLOR.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise HintError(f"{where}: {text!r} is not a colour; write it as '#rrggbb', for example '#1f3a93'")
    value = match.group(1)
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))


def parse_hints(hints, width=None, height=None, where="hints"):
    """Checks a list of hint points and returns it normalised.

    Each point becomes ``{"x": int, "y": int, "color": "#rrggbb", "radius": int}``
    (radius ``None`` where not given). With ``width`` and ``height``, a point outside
    the image is an error naming it.
    """
    if hints is None:
        return []
    if not isinstance(hints, list):
        raise HintError(f'{where}: expected a list of points like {{"x": 120, "y": 48, "color": "#1f3a93"}}')
    if len(hints) > MAX_POINTS:
        raise HintError(f"{where}: {len(hints)} points; at most {MAX_POINTS} are allowed")
    points = []
    for index, point in enumerate(hints):
        name = f"{where}[{index}]"
        if not isinstance(point, dict):
            raise HintError(f"{name}: expected an object with x, y and color, received {point!r}")
        unknown = set(point) - {"x", "y", "color", "radius"}
        if unknown:
            raise HintError(
                f"{name}: unknown field(s) {', '.join(sorted(unknown))}; a point has x, y, color and radius"
            )
        for key in ("x", "y", "color"):
            if key not in point:
                raise HintError(f"{name}: missing {key!r}")
        coords = {}
        for key in ("x", "y"):
            value = point[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise HintError(f"{name}: {key} must be a number of pixels, received {value!r}")
            coords[key] = int(round(value))
        radius = point.get("radius")
        if radius is not None:
            if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not 0 <= radius <= 10_000:
                raise HintError(f"{name}: radius must be a number of pixels >= 0, received {radius!r}")
            radius = int(round(radius))
        rgb = parse_color(point["color"], f"{name}.color")
        if width is not None and not (0 <= coords["x"] < width and 0 <= coords["y"] < height):
            raise HintError(f"{name}: point (x={coords['x']}, y={coords['y']}) lies outside the {width}x{height} image")
        points.append(
            {"x": coords["x"], "y": coords["y"], "color": "#{:02x}{:02x}{:02x}".format(*rgb), "radius": radius}
        )
    return points


def read_hints_file(path):
    """A hints JSON file: a list of points, or an object of such lists keyed by file name."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HintError(f"{path}: no such hints file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise HintError(f"{path}: cannot read it ({error})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise HintError(f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
    if isinstance(value, list):
        parse_hints(value, where=path.name)
        return value
    if isinstance(value, dict):
        for key, points in value.items():
            parse_hints(points, where=f"{path.name}[{key!r}]")
        return value
    raise HintError(f"{path}: expected a list of points, or an object of lists keyed by file name")


def to_arrays(hints, width, height):
    """Checked hints -> ``points`` int32 [K, 2] (y, x), ``colors`` uint8 [K, 3], ``radii`` int32 [K].

    ``radii`` are in input pixels, -1 where a point has none (the default).
    """
    points = parse_hints(hints, width, height)
    yx = np.array([[p["y"], p["x"]] for p in points], np.int32).reshape(-1, 2)
    colors = np.array([parse_color(p["color"]) for p in points], np.uint8).reshape(-1, 3)
    radii = np.array([-1 if p["radius"] is None else p["radius"] for p in points], np.int32)
    return yx, colors, radii


def expand_radii(yx, colors, radii, scale, width, height):
    """Points with a radius (input pixels) wider than one hint patch at the network's
    resolution (``scale`` = network pixels per input pixel) -> a grid of points, one
    patch apart, covering the radius's square. Returns (yx [K', 2], colors [K', 3])."""
    out_yx, out_colors = [], []
    step = (2 * DEFAULT_RADIUS + 1) / max(scale, 1e-9)  # One patch, in input pixels.
    for (y, x), rgb, radius in zip(yx, colors, radii, strict=False):
        if radius <= step / 2:
            out_yx.append((y, x))
            out_colors.append(rgb)
            continue
        count = int(np.ceil(2 * radius / step)) + 1
        offsets = np.linspace(-radius, radius, min(count, 64))
        for dy in offsets:
            for dx in offsets:
                out_yx.append((int(np.clip(round(y + dy), 0, height - 1)), int(np.clip(round(x + dx), 0, width - 1))))
                out_colors.append(rgb)
    if len(out_yx) > 4 * MAX_POINTS:
        raise HintError(f"the hints' radii cover {len(out_yx)} hint patches; use smaller radii")
    return np.array(out_yx, np.int32).reshape(-1, 2), np.array(out_colors, np.uint8).reshape(-1, 3)


def reveal(rng, truth, count, radius=1):
    """``count`` hints per image revealed from the truth, for evaluation (Zhang et al. 2017).

    ``truth`` uint8 RGB [B, H, W, 3]. Places as in training (centre-biased); each
    colour is the mean sRGB over the (2 ``radius`` + 1)^2 patch around its place.
    Returns ``points`` int32 [B, count, 2] (y, x) and ``colors`` uint8 [B, count, 3].
    """
    batch, height, width = truth.shape[:3]
    if count == 0:
        return np.zeros((batch, 0, 2), np.int32), np.zeros((batch, 0, 3), np.uint8)
    points, _ = sample_points(rng, batch, height, width, count=count, max_radius=0)
    colors = np.zeros((batch, count, 3), np.uint8)
    for b in range(batch):
        for k, (y, x) in enumerate(points[b]):
            patch = truth[b, max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1, :3]
            colors[b, k] = np.rint(patch.reshape(-1, 3).mean(axis=0))
    return points, colors


# === Simulated hints (training and evaluation) ===


def sample_points(rng, batch, height, width, count=None, max_points=TRAIN_MAX_POINTS, max_radius=1, pad_to=None):
    """Random hint places as in Zhang et al. (2017): numpy, for a batch of images.

    ``count`` None draws each image's number of points from the geometric
    distribution (p = 1/8, cut at ``max_points``); an int gives every image that
    many. Places are centre-biased: normal around the centre with a quarter of the
    side as deviation, clipped to the image. Each point's patch radius is uniform in
    0..``max_radius`` (1x1 to 3x3 pixels at 64x64 by default: Zhang's 1x1 to 9x9 at
    256x256, scaled). Returns ``points`` int32 [batch, K, 2] (y, x; -1 = padding)
    and ``radii`` int32 [batch, K]; ``pad_to`` fixes K (one compiled training step).
    """
    if count is None:
        counts = np.minimum(rng.geometric(GEOMETRIC_P, size=batch) - 1, max_points)
    else:
        counts = np.full(batch, int(count))
    k = pad_to or max(int(counts.max()) if batch else 0, 1)
    y = np.clip(np.rint(rng.normal(height / 2 - 0.5, height / 4, (batch, k))), 0, height - 1)
    x = np.clip(np.rint(rng.normal(width / 2 - 0.5, width / 4, (batch, k))), 0, width - 1)
    points = np.stack([y, x], axis=-1).astype(np.int32)
    points[np.arange(k)[None, :] >= counts[:, None]] = -1
    radii = rng.integers(0, max_radius + 1, (batch, k)).astype(np.int32)
    return points, radii
