"""Issue 14 decode experiment (validation split only): does capping the boost of
images that are already colourful (scale = clip(cap / colourfulness, 1, s))
keep more PSNR per unit of colour than one HSV factor for every image?

    python scripts/experiments/decode_capped.py /work/runs/photos-places-unet   # from the repository root

Same procedure as decode_adaptive.py.
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
    for s in (1.5, 1.7, 1.9):
        variants[f"hsv {s}"] = lambda s=s: hsv(pred, lab, s)
    for s_ in (1.5, 1.7, 1.9):
        for cap in (35, 40, 45):
            def g(s_=s_, cap=cap):
                scale = np.clip(cap / np.maximum(base_c, 1e-3), 1.0, s_)
                return np.concatenate([hsv(p[None], l[None], float(k)) for p, l, k in zip(pred, lab, scale)])
            variants[f"capped-hsv {s_} cap {cap}"] = g
    for name, make in variants.items():
        out = make()
        acc = MetricAccumulator(name); acc.update_batch(out, truth); r = acc.result()
        print(f"{data:7s} {name:24s} psnr {r['psnr']:.2f} ssim {r['ssim']:.4f} colf {r['colorfulness']:.1f}", flush=True)
