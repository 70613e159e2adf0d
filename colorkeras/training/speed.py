"""Training speed, for bench: images per second and FLOP share of a step, float32 against mixed bfloat16 on real
photographs."""

import statistics
import time

import keras
import numpy as np
import tensorflow as tf
from skimage import data as samples

from colorkeras.core.config import TrainConfig, architecture
from colorkeras.data import pipeline as data_lib
from colorkeras.evaluation.speed import forward_flops, median_seconds
from colorkeras.training.loop import compile_model


def training_throughput(settings, batch_size, steps, repeats, image_size=32):
    config = TrainConfig.from_dict(
        dict(settings, batch_size=batch_size, image_size=image_size, load_size=None)
    ).resolve()
    model = compile_model(config)[0]
    rng = np.random.default_rng(0)
    lightness = rng.random((batch_size * 4, image_size, image_size, 1), dtype=np.float32)
    channels = 2 if architecture(config.architecture).chroma else 3
    target = (rng.random((batch_size * 4, image_size, image_size, channels), dtype=np.float32) - 0.5) * 80
    dataset = tf.data.Dataset.from_tensor_slices((lightness, target)).batch(batch_size).cache().repeat()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)  # Warm-up: traces and allocates.
    seconds = median_seconds(
        lambda: model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False), repeats, warmup=0
    )
    flops = forward_flops(model, image_size)
    images_per_second = steps * batch_size / seconds
    return images_per_second, flops, config


def photo_batches(batch_size, image_size, count=4, seed=0):
    """(lightness, a/b) batches of random crops of scikit-image's photographs, as training builds them."""

    rng = np.random.default_rng(seed)
    photos = [getattr(samples, name)() for name in ("astronaut", "coffee", "chelsea", "rocket")]
    crops = []
    for index in range(batch_size * count):
        photo = photos[index % len(photos)]
        top, left = rng.integers(0, photo.shape[0] - image_size), rng.integers(0, photo.shape[1] - image_size)
        crops.append(photo[top : top + image_size, left : left + image_size, :3])
    lightness, target = data_lib.to_example(np.stack(crops), TrainConfig.architecture)
    return lightness.numpy(), target.numpy()


def precision_comparison(settings, batch_size, steps, repeats, image_size=64):
    """Training under float32 and mixed_bfloat16 from the same start on the same data.

    Returns ``{policy: (images/s, loss after the warm-up step and ``steps`` more)}``.
    """

    lightness, target = photo_batches(batch_size, image_size)
    dataset = tf.data.Dataset.from_tensor_slices((lightness, target)).batch(batch_size).cache().repeat()
    results = {}
    for policy in ("float32", "mixed_bfloat16"):
        keras.mixed_precision.set_global_policy(policy)
        try:
            keras.utils.set_random_seed(0)
            config = TrainConfig.from_dict(
                dict(settings, batch_size=batch_size, image_size=image_size, load_size=None, precision=policy)
            ).resolve()
            model = compile_model(config)[0]
            model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)  # Warm-up: traces and allocates.
            times, losses = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                history = model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
                times.append(time.perf_counter() - started)
                losses.append(history.history["loss"][-1])
            results[policy] = (steps * batch_size / statistics.median(times), float(losses[-1]))
        finally:
            keras.mixed_precision.set_global_policy("float32")
    return results
