"""How far one hint's colour leaks past the thing it is put on (issue 27).

A hint should colour the region it is put on, not a disc around it. For each
true colour photograph: regions bounded by its colour and brightness edges
(Felzenszwalb's graph segmentation of the photograph, a stand-in for human-drawn
outlines), and for each region one hint at its most interior pixel, in a colour
far from what the automatic result has there. The chroma change it causes
(Euclidean a/b distance between the hinted and the automatic colorization, both
at the hint saturation) is averaged over the region and over a band just outside
it; ``containment`` = inside / band (1 = a round glow that ignores the edge;
issue 27 asks for >= 3).
"""

import logging

import numpy as np
from scipy import ndimage

from colorkeras.core import lab, store
from colorkeras.core.images import luma_gray
from colorkeras.data.regions import SEGMENT_SCALE, regions
from colorkeras.evaluation import scoring
from colorkeras.evaluation.options import EvaluateOptions, Report
from colorkeras.serving.inference import Colorizer

log = logging.getLogger(__name__)

# Hint colours: six hues at chroma 45 around the a/b plane; each region's hint takes
# the one farthest from the automatic result's mean colour there.
HINT_CHROMA = 45.0
HINT_HUES = np.deg2rad(np.arange(0, 360, 60) + 30.0)
BAND_SHARE = 0.05  # Default band: 5% of the longer side (24 px on a 481-px BSDS photograph).
# The band starts this far outside a region: a segment's edge can sit a pixel or two
# inside the object's (the segmentation smooths first), so the object's own rim is
# not counted as leakage.
GAP = 2


def default_band(height, width):
    return max(1, round(BAND_SHARE * max(height, width)))


def band_around(mask, band, gap=GAP):
    """Pixels outside ``mask`` more than ``gap`` and at most ``gap + band`` pixels from it."""
    distance = ndimage.distance_transform_edt(~mask)
    return (distance > gap) & (distance <= gap + band)


def ab_of(rgb_uint8):
    return lab.rgb_to_lab(rgb_uint8.astype(np.float64) / 255.0, np)[..., 1:]


def hint_color(automatic_ab, lightness):
    """sRGB uint8 of the hue at ``HINT_CHROMA`` farthest from ``automatic_ab`` (the
    automatic result's mean a/b in the region), at ``lightness`` (L*)."""
    candidates = HINT_CHROMA * np.stack([np.cos(HINT_HUES), np.sin(HINT_HUES)], axis=-1)
    a, b = candidates[int(np.linalg.norm(candidates - automatic_ab, axis=-1).argmax())]
    rgb = lab.linear_to_srgb(lab.lab_to_linear(np.array([lightness, a, b]), np), np)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def measure_image(colorizer, truth, per_image=3, band=None, render_size=None):
    """Per-region rows for one photograph ``truth`` uint8 RGB [H, W, 3]: ``inside``
    and ``band`` mean a/b change, the region's ``share`` of the image."""
    height, width = truth.shape[:2]
    band = default_band(height, width) if band is None else band
    masks, points = regions(truth, per_image)
    if not masks:
        return []
    gray = luma_gray(truth)
    saturation = colorizer.hint_saturation
    automatic = colorizer.colorize_batch(gray[None], render_size=render_size, saturation=saturation)[0]
    automatic_ab = ab_of(automatic)
    lightness = lab.rgb_to_lab(truth.astype(np.float64) / 255.0, np)[..., 0]
    colors = np.stack(
        [
            hint_color(automatic_ab[mask].mean(axis=0), lightness[y, x])
            for mask, (y, x) in zip(masks, points, strict=False)
        ]
    )
    hinted = colorizer.colorize_batch(
        np.repeat(gray[None], len(masks), axis=0),
        render_size=render_size,
        saturation=saturation,
        points=np.array(points, np.int32)[:, None, :],
        colors=colors[:, None, :],
    )
    rows = []
    for mask, out in zip(masks, hinted, strict=False):
        change = np.linalg.norm(ab_of(out) - automatic_ab, axis=-1)
        ring = band_around(mask, band)
        rows.append(
            {"inside": float(change[mask].mean()), "band": float(change[ring].mean()), "share": float(mask.mean())}
        )
    return rows


def summarize(name, rows):
    """One table row from per-region rows: mean change inside and in the band,
    ``containment`` (inside / band of the means) and its median over regions."""
    inside = np.array([row["inside"] for row in rows])
    outside = np.array([row["band"] for row in rows])
    return {
        "name": name,
        "regions": len(rows),
        "inside": float(inside.mean()),
        "band": float(outside.mean()),
        "containment": float(inside.mean() / max(outside.mean(), 1e-9)),
        "containment_median": float(np.median(inside / np.maximum(outside, 1e-9))),
    }


FIELDS = ("name", "regions", "inside", "band", "containment", "containment_median")


def format_table(rows):
    return scoring.text_table(rows, FIELDS, {name: "{:.2f}" for name in FIELDS[2:]})


def evaluate_leakage(options: EvaluateOptions) -> Report:
    """``python -m colorkeras.evaluate --leakage``: for each run named (each must
    take hints), one hint on each of up to ``options.regions`` regions of every image
    of ``options.data`` (an image folder's ``options.split``, or ``skimage``); prints the
    table and writes ``options.output`` (JSON, and CSV beside it). Returns the exit
    status; a bad setting, run or data set raises before anything is written."""
    scoring.check_limit(options.limit)
    if options.band is not None and options.band < 1:
        raise ValueError(f"--band must be at least 1 pixel, received {options.band}")
    if options.regions < 1:
        raise ValueError(f"--regions must be at least 1, received {options.regions}")
    output = scoring.table_output(options)
    names = options.model or [store.resolve_run().name]  # The default run; it must take hints, as any named run.
    colorizers = [Colorizer(name, render_size=options.render_size, saturation=options.saturation) for name in names]
    for colorizer in colorizers:
        colorizer.check_takes_hints()
    images, source = scoring.photographs(options, colorizers[0], "--leakage measures")
    log.info(f"Measuring hint leakage on {len(images)} images, up to {options.regions} region(s) each ...")
    rows = []
    for colorizer in colorizers:
        regions_rows = []
        for image in images:
            regions_rows += measure_image(colorizer, image, options.regions, options.band, options.render_size)
        if not regions_rows:
            raise ValueError("no region large enough to hint in these images")
        rows.append(summarize(colorizer.name, regions_rows))
    if output:
        record = {
            "data": source,
            "split": None if options.data == "skimage" else options.split,
            "limit": options.limit,
            "band": options.band,
            "band_default": f"{BAND_SHARE:.0%} of each image's longer side",
            "regions_per_image": options.regions,
            "segment_scale": SEGMENT_SCALE,
            "hint_chroma": HINT_CHROMA,
            "rows": rows,
        }
        scoring.write_table(output, record, FIELDS)
    return Report(rows, source, text=format_table(rows), written=scoring.written(output))
