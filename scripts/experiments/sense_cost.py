"""What the sense terms cost a training step on this machine (issue 48's research note).

    python scripts/experiments/sense_cost.py                         # cross-entropy only, float32
    python scripts/experiments/sense_cost.py --semantic 1 --colourfulness 1 --perceptual 1
    python scripts/experiments/sense_cost.py --precision mixed_bfloat16

The MobileNetV2 hint trainer (frozen encoder, 128-px crops) on random batches: 3 warm-up
steps, then the images per second of 10 timed steps. Needs ../shared/pretrained for the terms.
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

from colorkeras.core import hints as hints_lib
from colorkeras.core.config import TrainConfig
from colorkeras.training import loop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for term in ("perceptual", "semantic", "colourfulness"):
        parser.add_argument(f"--{term}", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16"))
    args = parser.parse_args()
    keras.mixed_precision.set_global_policy(args.precision)
    config = TrainConfig(
        architecture="mobilenet-unet",
        hints=True,
        freeze_encoder=True,
        image_size=128,
        batch_size=args.batch_size,
        learning_rate=5e-5,
        precision=args.precision,
        perceptual=args.perceptual,
        semantic=args.semantic,
        colourfulness=args.colourfulness,
    ).resolve()
    model, _ = loop.compile_model(config)
    rng = np.random.default_rng(0)
    batch, points = args.batch_size, hints_lib.TRAIN_MAX_POINTS
    inputs = (
        rng.random((batch, 128, 128, 1), np.float32),
        rng.normal(0, 20, (batch, 128, 128, 2)).astype(np.float32),
        rng.integers(0, 128, (batch, points, 2)).astype(np.int32),
        np.ones((batch, points), np.int32),
    )
    batches = tf.data.Dataset.from_tensors((inputs, inputs[1])).repeat()
    model.fit(batches, steps_per_epoch=3, epochs=1, verbose=0)
    started = time.time()
    model.fit(batches, steps_per_epoch=10, epochs=1, verbose=0)
    step = (time.time() - started) / 10
    print(f"{args.precision}, batch {batch}: {step:.2f} s a step, {batch / step:.1f} images/s")


if __name__ == "__main__":
    main()
