"""Issue 14 decode experiment (validation split only): a/b averaged over the image
and its mirror image (test-time flips), and over two networks (an ensemble).

    python scripts/experiments/decode_tta.py /work/runs/photos-places-unet photos-unet   # from the repository root

Averaging decoded means equals averaging the colour distributions (mean decoding,
no prior weight); the HSV boost comes after, as in the SavedModel.
"""
import sys, numpy as np, tensorflow as tf
from collections import Counter
from colorkeras import evaluate, color
from colorkeras.inference import Colorizer
from colorkeras.images import luma_gray
from colorkeras.metrics import MetricAccumulator

models = sys.argv[1:]
cs = [Colorizer(m, render_size=96, saturation=1.0) for m in models]
def lab_np(rgb): return color.rgb_to_lab(rgb.astype(np.float32) / 255.0).numpy()
def to_uint8(lab): return color.lab_to_uint8(tf.constant(lab, tf.float32)).numpy()
def hsv(lab, s):
    if s == 1.0: return to_uint8(lab)
    rgb = color.lab_to_rgb(tf.constant(lab, tf.float32))
    boosted = color.rgb_to_lab(color.boost_saturation(rgb, s)).numpy()
    return to_uint8(np.concatenate([lab[..., :1], boosted[..., 1:]], -1))
for data in ["photos", "places"]:
    files = evaluate.find_split_files(f"../shared/datasets/{data}", "validation")
    images = evaluate._read_files(files)[0]
    shape = Counter(i.shape for i in images).most_common(1)[0][0]
    truth = np.stack([i for i in images if i.shape == shape])
    gray = luma_gray(truth)
    def run(c, g): return np.concatenate([c.colorize_batch(g[i:i+256]) for i in range(0, len(g), 256)])
    labs = {}
    for m, c in zip(models, cs):
        labs[m] = lab_np(run(c, gray))
        labs[m + "+flip"] = lab_np(run(c, gray[:, :, ::-1])[:, :, ::-1])
    L = lab_np(gray)[..., :1]
    combos = {m: [m] for m in models}
    combos.update({m + " tta": [m, m + "+flip"] for m in models})
    if len(models) > 1:
        combos["ensemble"] = models
        combos["ensemble tta"] = [k for m in models for k in (m, m + "+flip")]
    for name, keys in combos.items():
        ab = np.mean([labs[k][..., 1:] for k in keys], axis=0)
        lab = np.concatenate([L, ab], -1)
        for s in (1.0, 1.5, 1.7):
            acc = MetricAccumulator(name); acc.update_batch(hsv(lab, s), truth); r = acc.result()
            print(f"{data:7s} {name[-40:]:40s} sat {s} psnr {r['psnr']:.2f} ssim {r['ssim']:.4f} colf {r['colorfulness']:.1f}", flush=True)
