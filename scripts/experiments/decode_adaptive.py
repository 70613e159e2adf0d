"""Issue 14 decode experiment (validation split only): is a per-image boost toward a
target colourfulness better than one HSV factor for every image?

    python scripts/experiments/decode_adaptive.py /work/runs/photos-places-unet   # from the repository root

Colorizes each validation image once at saturation 1.0 (render 96) and applies
the boosts to that result: HSV as the SavedModel does it (the boosted colour's
a/b under the image's own L), a plain a/b scale, and per image a scale of
target / its colourfulness, clipped to [1, max]. Scores the most common image
size of each split (1,753 of photos' 1,756; all 1,400 scenes).
"""
import sys, numpy as np, tensorflow as tf
from colorkeras import evaluate, color
from colorkeras.inference import Colorizer
from colorkeras.images import luma_gray
from colorkeras.metrics import MetricAccumulator, colorfulness

model = sys.argv[1]
c = Colorizer(model, render_size=96, saturation=1.0)
def lab_np(rgb): return color.rgb_to_lab(rgb.astype(np.float32) / 255.0).numpy()
def to_uint8(lab): return color.lab_to_uint8(tf.constant(lab, tf.float32)).numpy()
def hsv(pred, lab, s):
    boosted = color.rgb_to_lab(color.boost_saturation(pred.astype(np.float32) / 255, s)).numpy()
    return to_uint8(np.concatenate([lab[..., :1], boosted[..., 1:]], -1))
for data in ["photos", "places"]:
    files = evaluate.find_split_files(f"../shared/datasets/{data}", "validation")
    images = evaluate._read_files(files)[0]
    from collections import Counter
    shape = Counter(i.shape for i in images).most_common(1)[0][0]
    truth = np.stack([i for i in images if i.shape == shape])
    print(data, len(images), "images; most common shape", shape, len(truth), flush=True)
    gray = luma_gray(truth)
    pred = np.concatenate([c.colorize_batch(gray[i:i+256]) for i in range(0, len(gray), 256)])
    lab = lab_np(pred)
    base_c = np.array([colorfulness(p) for p in pred])
    variants = {}
    for s in (1.0, 1.3, 1.5, 1.7):
        variants[f"hsv {s}"] = lambda s=s: hsv(pred, lab, s)
        variants[f"lab {s}"] = lambda s=s: to_uint8(np.concatenate([lab[..., :1], lab[..., 1:] * s], -1))
    for target in (30, 35, 40, 45):
        for smax in (2.0, 3.0):
            def f(target=target, smax=smax):
                scale = np.clip(target / np.maximum(base_c, 1e-3), 1.0, smax)[:, None, None, None]
                return to_uint8(np.concatenate([lab[..., :1], lab[..., 1:] * scale], -1))
            variants[f"adapt-lab {target} max {smax}"] = f
            def g(target=target, smax=smax):
                scale = np.clip(target / np.maximum(base_c, 1e-3), 1.0, smax)
                return np.concatenate([hsv(p[None], l[None], float(k)) for p, l, k in zip(pred, lab, scale)])
            variants[f"adapt-hsv {target} max {smax}"] = g
    for name, make in variants.items():
        out = make()
        acc = MetricAccumulator(name); acc.update_batch(out, truth); r = acc.result()
        print(f"{data:7s} {name:24s} psnr {r['psnr']:.2f} ssim {r['ssim']:.4f} colf {r['colorfulness']:.1f}", flush=True)
