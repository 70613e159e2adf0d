"""Issue 14's decode experiments, on the validation splits only.

    python scripts/experiments/decode_levers.py adaptive /work/runs/photos-places-unet
    python scripts/experiments/decode_levers.py capped /work/runs/photos-places-unet
    python scripts/experiments/decode_levers.py flips /work/runs/photos-places-unet photos-unet
    python scripts/experiments/decode_levers.py soft /work/runs/photos-places-unet
    python scripts/experiments/decode_levers.py sweep /work/runs/long/b40 photos-places-unet

(from the repository root, with ``../shared/datasets`` beside it). Each colorizes
every validation image of photos and places at saturation 1.0 (render 96) and
then boosts that result in numpy, which is quicker than one ``evaluate`` per
setting and gives the same figures for the uniform HSV boost:

- ``adaptive``: one HSV factor (and a plain a/b scale) for every image, against
  a per-image scale of ``target / the image's colourfulness`` clipped to [1, max]
  (dull results boosted more);
- ``capped``: one HSV factor against ``clip(cap / colourfulness, 1, factor)``
  (colourful results boosted less);
- ``soft``: one HSV factor against a boost that adds about the same chroma to
  every pixel (``soft_factor``): for a calibrated mean prediction mu, the
  expected squared error of ``mu + d`` is the variance plus ``|d|^2``, while
  colourfulness grows about linearly in ``|d|``, so a fixed colourfulness costs
  least when ``|d|`` is the same everywhere, whereas a factor puts most of it on
  the pixels that are already colourful. Softened by ``c`` near gray, where the
  direction of mu is noise; in HSV saturation (stays in gamut) and in a/b;
- ``sweep``: one HSV factor from 1.0 to 1.8 for each network given, on the same
  images (a quick way to set networks side by side before ``evaluate`` scores
  the chosen settings on the whole split);
- ``flips``: a/b averaged over the image and its mirror image, and over the
  networks given (an ensemble); averaging decoded means equals averaging the
  colour distributions (mean decoding, no prior weight).

The HSV boost is the SavedModel's: the boosted colour's a/b under the image's own
L. Scores the most common image size of each split (1,753 of photos' 1,756; all
1,400 scenes).
"""

import sys
from collections import Counter

import numpy as np
import tensorflow as tf

from colorkeras.core.images import luma_gray
from colorkeras.evaluation import scoring
from colorkeras.evaluation.metrics import MetricAccumulator, colorfulness
from colorkeras.models import color
from colorkeras.serving.inference import Colorizer


def validation(data):
    images = scoring._read_files(scoring.find_split_files(f"../shared/datasets/{data}", "validation"))[0]
    shape = Counter(image.shape for image in images).most_common(1)[0][0]
    truth = np.stack([image for image in images if image.shape == shape])
    print(data, len(images), "images; most common shape", shape, len(truth), flush=True)
    return truth, luma_gray(truth)


def colorize(colorizer, gray):
    return np.concatenate([colorizer.colorize_batch(gray[start : start + 256]) for start in range(0, len(gray), 256)])


def to_lab(rgb_uint8):
    return color.rgb_to_lab(rgb_uint8.astype(np.float32) / 255.0).numpy()


def to_uint8(lab):
    return color.lab_to_uint8(tf.constant(lab, tf.float32)).numpy()


def hsv(lab, factor, rgb_uint8=None):
    """The SavedModel's boost: HSV saturation x factor, its a/b under ``lab``'s own L."""
    if factor == 1.0:
        return to_uint8(lab)
    rgb = color.lab_to_rgb(tf.constant(lab, tf.float32)) if rgb_uint8 is None else rgb_uint8.astype(np.float32) / 255
    boosted = color.rgb_to_lab(color.boost_saturation(rgb, factor)).numpy()
    return to_uint8(np.concatenate([lab[..., :1], boosted[..., 1:]], -1))


def soft_factor(chroma, delta, soft):
    """Per-pixel factor that adds about ``delta`` to a chroma well above ``soft``
    and multiplies a chroma well below it by ``1 + delta / soft``."""
    return 1.0 + delta / tf.sqrt(tf.square(chroma) + soft**2)


def soft_hsv(lab, rgb_uint8, delta, soft):
    values = tf.image.rgb_to_hsv(tf.constant(rgb_uint8.astype(np.float32) / 255.0))
    hue, saturation, value = tf.unstack(values, axis=-1)
    saturation = tf.clip_by_value(saturation * soft_factor(saturation, delta, soft), 0.0, 1.0)
    boosted = color.rgb_to_lab(tf.image.hsv_to_rgb(tf.stack([hue, saturation, value], axis=-1))).numpy()
    return to_uint8(np.concatenate([lab[..., :1], boosted[..., 1:]], -1))


def soft_lab(lab, delta, soft):
    ab = tf.constant(lab[..., 1:])
    factor = soft_factor(tf.norm(ab, axis=-1, keepdims=True), delta, soft)
    return to_uint8(np.concatenate([lab[..., :1], (ab * factor).numpy()], -1))


def per_image_hsv(pred, lab, factors):
    return np.concatenate(
        [hsv(one_lab[None], float(factor), one[None]) for one, one_lab, factor in zip(pred, lab, factors, strict=False)]
    )


def score(data, name, out, truth):
    accumulator = MetricAccumulator(name)
    accumulator.update_batch(out, truth)
    row = accumulator.result()
    print(
        f"{data:7s} {name[-40:]:40s} psnr {row['psnr']:.2f} ssim {row['ssim']:.4f} colf {row['colorfulness']:.1f}",
        flush=True,
    )


def boosts(kind, pred, lab):
    """{name: function giving the boosted images} for ``adaptive``, ``capped`` or ``soft``."""
    base = np.array([colorfulness(image) for image in pred])
    variants = {}
    if kind == "adaptive":
        for factor in (1.0, 1.3, 1.5, 1.7):
            variants[f"hsv {factor}"] = lambda factor=factor: hsv(lab, factor, pred)
            variants[f"lab {factor}"] = lambda factor=factor: to_uint8(
                np.concatenate([lab[..., :1], lab[..., 1:] * factor], -1)
            )
        for target in (30, 35, 40, 45):
            for most in (2.0, 3.0):
                scale = np.clip(target / np.maximum(base, 1e-3), 1.0, most)
                variants[f"adapt-lab {target} max {most}"] = lambda scale=scale: to_uint8(
                    np.concatenate([lab[..., :1], lab[..., 1:] * scale[:, None, None, None]], -1)
                )
                variants[f"adapt-hsv {target} max {most}"] = lambda scale=scale: per_image_hsv(pred, lab, scale)
    elif kind == "soft":
        for factor in (1.3, 1.5, 1.7):
            variants[f"hsv {factor}"] = lambda factor=factor: hsv(lab, factor, pred)
        for soft in (0.05, 0.15):
            for delta in (0.05, 0.1, 0.15):
                variants[f"soft-hsv {delta} c {soft}"] = lambda delta=delta, soft=soft: soft_hsv(lab, pred, delta, soft)
        for soft in (5.0, 15.0):
            for delta in (4.0, 8.0):
                variants[f"soft-lab {delta} c {soft}"] = lambda delta=delta, soft=soft: soft_lab(lab, delta, soft)
    else:
        for factor in (1.5, 1.7, 1.9):
            variants[f"hsv {factor}"] = lambda factor=factor: hsv(lab, factor, pred)
        for factor in (1.5, 1.7, 1.9):
            for cap in (35, 40, 45):
                scale = np.clip(cap / np.maximum(base, 1e-3), 1.0, factor)
                variants[f"capped-hsv {factor} cap {cap}"] = lambda scale=scale: per_image_hsv(pred, lab, scale)
    return variants


def main(kind, models):
    colorizers = [Colorizer(model, render_size=96, saturation=1.0) for model in models]
    for data in ("photos", "places"):
        truth, gray = validation(data)
        if kind == "sweep":
            for model, colorizer in zip(models, colorizers, strict=False):
                pred = colorize(colorizer, gray)
                lab = to_lab(pred)
                for factor in (1.0, 1.3, 1.5, 1.6, 1.7, 1.8):
                    score(data, f"{model} sat {factor}", hsv(lab, factor, pred), truth)
            continue
        if kind in ("adaptive", "capped", "soft"):
            pred = colorize(colorizers[0], gray)
            for name, make in boosts(kind, pred, to_lab(pred)).items():
                score(data, name, make(), truth)
            continue
        labs = {}
        for model, colorizer in zip(models, colorizers, strict=False):
            labs[model] = to_lab(colorize(colorizer, gray))
            labs[model + "+flip"] = to_lab(colorize(colorizer, gray[:, :, ::-1])[:, :, ::-1])
        lightness = to_lab(gray)[..., :1]
        combos = {model: [model] for model in models}
        combos.update({model + " tta": [model, model + "+flip"] for model in models})
        if len(models) > 1:
            combos["ensemble"] = list(models)
            combos["ensemble tta"] = [key for model in models for key in (model, model + "+flip")]
        for name, keys in combos.items():
            lab = np.concatenate([lightness, np.mean([labs[key][..., 1:] for key in keys], axis=0)], -1)
            for factor in (1.0, 1.5, 1.7):
                score(data, f"{name} sat {factor}", hsv(lab, factor), truth)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("adaptive", "capped", "soft", "sweep", "flips"):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
