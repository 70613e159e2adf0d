"""Training on any Keras 3 backend (JAX on a GPU machine): the data pack, the fit on a wall-clock budget, the weights
and their report.

The command line, its examples and what it does in detail: ``colorkeras/portable_train.py``
(``python -m colorkeras.portable_train``).
"""

import functools
import io
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from colorkeras.core import hints as hints_lib
from colorkeras.core import lab as cielab
from colorkeras.core.config import TrainConfig
from colorkeras.core.images import luma_gray

log = logging.getLogger(__name__)

PACK_FILE = "data.npz"


NETWORKS = {"auto": "auto.json", "hints": "hints.json"}


def pack(
    data,
    out,
    size=64,
    quality=85,
    base_filters=40,
    depth=3,
    bin_step=10.0,
    validation_fraction=0.1,
    seed=0,
    crop=None,
    architecture=None,
    options=None,
    precision="float32",
    image_format="JPEG",
):
    """Writes ``out/data.npz`` (training split as JPEG or WebP, tables) and the networks' JSON.

    The images are stored at ``size`` (the train pipeline's load size). With
    ``crop``, ``fit`` trains on random crops of ``crop`` pixels (a random square of
    ``crop`` to ``size`` resized to ``crop``, as ``data.pipeline`` does), not on the
    stored squares themselves: a pack of fixed crops is memorised within tens of
    epochs. ``architecture`` and ``options`` (the MobileNetV2 U-Net's
    ``freeze_encoder``) build the networks; ``precision`` is the Keras dtype
    policy their JSON records, which is the one they train under. ``image_format``
    is ``JPEG`` or ``WEBP`` (about a quarter smaller at the same ``quality``, for a
    pack that must travel); the pack's ``jpeg`` array holds the files' bytes either way.
    """
    import keras
    from PIL import Image

    from colorkeras.data import pipeline as data_lib
    from colorkeras.models import color
    from colorkeras.models.registry import build_colorizer

    architecture = architecture or TrainConfig.architecture
    if crop is not None and not 0 < crop <= size:
        raise ValueError(f"crop must be between 1 and size ({size}), received {crop}")
    splits = data_lib.load_splits(
        data, size, validation_fraction, seed
    )  # A missing dataset stops here, before any write.
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    blobs = []
    for image in splits.train:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, image_format, quality=quality)
        blobs.append(np.frombuffer(buffer.getvalue(), np.uint8))
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    partial = out / f".{PACK_FILE}.partial"  # An interrupted pack leaves no half-written data.npz.
    with open(partial, "wb") as file:
        np.savez(
            file,
            jpeg=np.concatenate(blobs),
            offsets=offsets,
            bin_centers=color.ab_bin_centers(bin_step),
            **colour_tables(),
        )
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        for hints, name in ((False, NETWORKS["auto"]), (True, NETWORKS["hints"])):
            network = build_colorizer(
                architecture, base_filters, depth, "classes", bin_step, hints=hints, **(options or {})
            )
            (out / name).write_text(network.to_json())
    finally:
        keras.mixed_precision.set_global_policy(previous)
    settings = {
        "data": [str(d) for d in data],
        "size": size,
        "crop": crop,
        "format": image_format,
        "quality": quality,
        "architecture": architecture,
        "options": options or {},
        "network_precision": precision,
        "base_filters": base_filters,
        "depth": depth,
        "bin_step": bin_step,
        "validation_fraction": validation_fraction,
        "seed": seed,
        "images": len(blobs),
    }
    (out / "pack.json").write_text(json.dumps(settings, indent=2))
    os.replace(partial, out / PACK_FILE)
    return settings, int(offsets[-1])


def colour_tables():
    """The uint8 lookup tables ``to_lightness_ab`` reads (a pack stores them, so
    ``fit`` needs no TensorFlow): gray level -> L, sRGB level -> linear."""
    from colorkeras.models import color

    return {"gray_lightness": color.uint8_gray_lightness_table(), "srgb_to_linear": color.srgb_to_linear_table()}


def to_lightness_ab(rgb, tables):
    """uint8 sRGB [..., 3] -> (L / 100 [..., 1], a/b [..., 2]) float32, through the
    pack's tables and the one Lab conversion (``core.lab``), in numpy."""
    gray = luma_gray(rgb)[..., 0]
    lightness = tables["gray_lightness"][gray][..., None] / 100.0
    ab = cielab.linear_to_lab(tables["srgb_to_linear"][rgb], np)[..., 1:]
    return lightness.astype(np.float32), ab.astype(np.float32)


def decode_pack(path, threads=16, rgb=False):
    """data.npz -> (L / 100 float16 [N, s, s, 1], a/b float16 [N, s, s, 2], tables),
    or with ``rgb`` (uint8 sRGB [N, s, s, 3], tables) to crop from."""
    from PIL import Image

    tables = dict(np.load(path))
    jpeg, offsets = tables.pop("jpeg"), tables.pop("offsets")

    def one(index):
        blob = jpeg[offsets[index] : offsets[index + 1]].tobytes()
        image = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"), np.uint8)
        if rgb:
            return image
        return tuple(part.astype(np.float16) for part in to_lightness_ab(image, tables))

    with ThreadPoolExecutor(threads) as pool:
        decoded = list(pool.map(one, range(len(offsets) - 1)))
    if rgb:
        return np.stack(decoded), tables
    return np.stack([p[0] for p in decoded]), np.stack([p[1] for p in decoded]), tables


# What ``draw_batch`` draws from: set by ``set_source`` in the training process
# before its batch workers are forked, so they share the decoded images.
_SOURCE = {}


def set_source(batch_size, lightness=None, ab=None, rgb=None, tables=None, crop=None, region_share=0.0, labels=None):
    """Sets what ``draw_batch`` draws from: the decoded ``lightness`` and ``ab`` of a
    pack without crops, or its ``rgb`` images (with ``tables``) to crop ``crop``
    pixels from, and with them their segments' ``labels`` (``segment_pack``) if
    region hints are to be drawn from those rather than segmented crop by crop."""
    _SOURCE.clear()
    _SOURCE.update(
        batch_size=batch_size,
        lightness=lightness,
        ab=ab,
        rgb=rgb,
        tables=tables,
        crop=crop,
        region_share=region_share,
        labels=labels,
    )


def _segment_rows(rows):
    from colorkeras.data import regions  # scikit-image and SciPy: only for region hints.

    return [regions.segment_labels(_SOURCE["rgb"][row]) for row in rows]


def segment_pack(rgb, workers=0):
    """Felzenszwalb's segments of every image of ``rgb`` uint8 [N, s, s, 3], as label
    maps uint8 [N, s, s], segmented once in ``workers`` forked processes (0: here).

    Region hints segment the true colour of each recoloured crop: about 10 ms a crop,
    most of a batch's drawing. Segmenting the pack's squares once instead, and
    cropping their label maps with the images, makes the segments those of the
    square rather than of the crop (a segment the crop cuts keeps its pixels inside
    it), which the training signal, "this region and nothing past its edge", does not
    mind."""
    _SOURCE["rgb"] = rgb  # Where the forked processes read the images from.
    chunks = np.array_split(np.arange(len(rgb)), max(workers, 1) * 8)
    if workers > 0:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(workers, initializer=_one_thread_each) as pool:
            parts = pool.map(_segment_rows, chunks)
    else:
        parts = [_segment_rows(chunk) for chunk in chunks]
    labels = [label for part in parts for label in part]
    if max(int(label.max()) for label in labels) > 255:
        raise ValueError("A pack image has over 256 segments: its squares are too small to segment (under 100 pixels).")
    return np.stack(labels).astype(np.uint8)


def _random_crops(rng, images, crop, labels=None):
    """A random square of ``crop`` to the images' side from each, resized to ``crop``
    (box filter: an area average, as the tf.data pipeline's ``area`` resize). Returns
    (crops, the same squares of ``labels`` [N, s, s] at ``crop``, nearest neighbour,
    or None without them)."""
    from PIL import Image

    side_max = images.shape[1]
    crops, label_crops = [], []
    for index, image in enumerate(images):
        side = int(rng.integers(crop, side_max + 1))
        y, x = (int(v) for v in rng.integers(0, side_max - side + 1, 2))
        square = image[y : y + side, x : x + side]
        if side != crop:
            square = np.asarray(Image.fromarray(square).resize((crop, crop), Image.Resampling.BOX), np.uint8)
        crops.append(square)
        if labels is not None:
            nearest = y + (np.arange(crop) * side) // crop, x + (np.arange(crop) * side) // crop
            label_crops.append(labels[index][np.ix_(*nearest)])
    return np.stack(crops), (np.stack(label_crops) if labels is not None else None)


def draw_batch(key, hints):
    """One random training batch from ``_SOURCE``, its stream seeded by ``key``:
    (L, a/b) without ``hints``; with them ((L, a/b, points, radii), a/b), the places
    drawn by ``hints.sample_points`` and, for the source's ``region_share`` of the
    samples, one edge-bounded region recoloured with a hint inside it
    (``regions.recolour_regions``, as ``train --region-hints`` does). Flipped at random."""
    source = _SOURCE
    rng = np.random.default_rng(key)
    batch_size = source["batch_size"]
    total = len(source["rgb"]) if source["rgb"] is not None else len(source["lightness"])
    rows = np.sort(rng.choice(total, batch_size, replace=False))
    labels = source.get("labels")
    labels = labels[rows] if labels is not None and hints else None
    if source["rgb"] is not None:
        images = source["rgb"][rows]
        if source["crop"]:
            images, labels = _random_crops(rng, images, source["crop"], labels)
        x, y = to_lightness_ab(images, source["tables"])
    else:
        x, y = source["lightness"][rows].astype(np.float32), source["ab"][rows].astype(np.float32)
    flip = rng.random(batch_size) < 0.5
    x[flip], y[flip] = x[flip, :, ::-1], y[flip, :, ::-1]
    if labels is not None:
        labels[flip] = labels[flip, :, ::-1]
    if not hints:
        return x, y
    size = x.shape[1]
    points, radii = hints_lib.sample_points(rng, batch_size, size, size, pad_to=hints_lib.TRAIN_MAX_POINTS)
    if source["region_share"] > 0:
        from colorkeras.data import regions  # scikit-image and SciPy: only for region hints.

        y, points, radii = regions.recolour_regions(rng, x, y, points, radii, source["region_share"], labels)
    return (x, y, points, radii), y


def start_workers(workers):
    """A pool of ``workers`` processes forked now (they share ``_SOURCE``), or None for 0.

    Call it before importing Keras: a process forked from one whose JAX or
    TensorFlow runtime has started its threads can hang."""
    if workers <= 0:
        return None
    import multiprocessing

    return multiprocessing.get_context("fork").Pool(workers, initializer=_one_thread_each)


def _one_thread_each():
    """A batch worker's native libraries (BLAS, OpenMP) run on one thread: N
    workers, each with a pool as wide as the machine, would oversubscribe its cores
    N times. (Not yet measured: the H200 machine's 15 workers drew 306 region-hint
    images a second, a third of 15 times one process here, 74; this is the first
    suspect.) threadpoolctl is a scikit-learn and SciPy companion; without it the
    workers keep the default."""
    global _THREAD_LIMITS
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    _THREAD_LIMITS = threadpool_limits(1)  # Kept for the worker's life (a direct call holds until restored).


_THREAD_LIMITS = None


def make_batches(hints, seed, pool=None, ahead=2):
    """An endless keras.utils.PyDataset of ``draw_batch`` batches.

    With a ``pool`` (``start_workers``), ``ahead`` batches are drawn in its
    processes ahead of use (region hints recolour segments crop by crop, which one
    Python thread cannot keep up with); without one, in Keras' own worker threads.
    Its ``waited`` counts the seconds spent waiting for the pool's batches.
    """
    import collections
    import itertools
    import threading

    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1 if pool is not None else 4)
            self.calls = itertools.count()
            self.lock = threading.Lock()
            self.waited = (
                0.0  # Seconds spent waiting for the workers' batches: near the run's length, they set the pace.
            )
            self.pending = collections.deque()
            if pool is not None:
                for _ in range(ahead):
                    self.pending.append(pool.apply_async(draw_batch, ((seed, next(self.calls)), hints)))

        def __len__(self):
            return 1_000_000

        def __getitem__(self, index):
            with self.lock:  # Each call its own stream: Keras' workers are threads.
                key = (seed, next(self.calls), index)
                if pool is None:
                    waiting = None
                else:
                    waiting = self.pending.popleft()
                    self.pending.append(pool.apply_async(draw_batch, (key[:2], hints)))
            if waiting is None:
                return draw_batch(key, hints)
            started = time.time()
            batch = waiting.get()
            self.waited += time.time() - started
            return batch

    return Batches()


@functools.cache  # A Keras class is registered once.
def simulated_hints_layer():
    """The hint trainer's input layer, defined (and registered with Keras) on first
    call: loading a hint training's checkpoint needs it registered first."""
    import keras
    from keras import ops

    from colorkeras.models import hint_canvas

    @keras.saving.register_keras_serializable(package="colorkeras")
    class SimulatedHints(keras.layers.Layer):
        """(L, true a/b, points, radii) -> L and the hint canvas of those points, in their true colours."""

        def call(self, lightness, ab, points, radii):
            size = lightness.shape[1]
            masks = hint_canvas.patch_masks(points, radii, size, size)
            canvas = hint_canvas.paint(masks, hint_canvas.patch_means(masks, ab))
            return ops.concatenate([lightness, canvas], axis=-1)

    return SimulatedHints


def hint_trainer(network, size):
    """Wraps the hint network: (L, true a/b, points, radii) -> logits, hints painted inside."""
    import keras

    SimulatedHints = simulated_hints_layer()
    lightness = keras.Input((size, size, 1), name="lightness")
    ab = keras.Input((size, size, 2), name="true_ab")
    points = keras.Input((hints_lib.TRAIN_MAX_POINTS, 2), dtype="int32", name="points")
    radii = keras.Input((hints_lib.TRAIN_MAX_POINTS,), dtype="int32", name="radii")
    inputs = SimulatedHints(dtype="float32")(lightness, ab, points, radii)
    return keras.Model([lightness, ab, points, radii], network(inputs), name=f"{network.name}_with_simulated_hints")


def start_hints_from(auto, network):
    """Copies the automatic network into the hint network, layer by layer by name.
    Where the hint network's kernel takes more input channels (the U-Net's stem:
    L then the hint canvas; the MobileNetV2 U-Net's decoder: the encoder's
    features then the hint branch's), the automatic weights fill the first ones
    and the hint channels keep their random initial weights: started at zero, a
    trained network never learned to use them (the stem's hint weights stayed
    under a tenth of the lightness's after 31 epochs, and 10 hints moved nothing),
    while random ones are used within a few hundred steps. Layers the automatic
    network lacks (the hint branch) start random."""
    names = {layer.name for layer in auto.layers}
    for layer in network.layers:
        if layer.name not in names or not layer.weights:
            continue
        values = auto.get_layer(layer.name).get_weights()
        current = layer.get_weights()
        if values and current[0].ndim == 4 and current[0].shape[2] > values[0].shape[2]:
            kernel = np.array(current[0], np.float32)
            kernel[:, :, : values[0].shape[2]] = values[0]
            values = [kernel] + values[1:]
        layer.set_weights(values)


def train_for(trainer, batches, seconds, peak, save, chunk_seconds=60.0):
    """Trains ``trainer`` for about ``seconds`` of wall clock; returns (steps, last loss).

    A short run at a tenth of the rate measures the step time (compilation
    included); the rest is one cosine schedule (3% warm-up, down to 2% of ``peak``)
    over the steps that fit, in chunks of about ``chunk_seconds`` after each of which
    the weights are saved (what the machine has done survives its time running out).
    """
    import keras

    started = time.time()
    trainer.compile(optimizer=keras.optimizers.Adam(peak * 0.1), loss=trainer.colorkeras_loss)

    class StepClock(keras.callbacks.Callback):
        # Steps 20 to 100 of one fit: the start of a fit (its data workers) is slow.
        marks = {}

        def on_train_batch_end(self, batch, logs=None):
            if batch in (19, 99):
                self.marks[batch] = time.time()

    clock = StepClock()
    trainer.fit(batches, epochs=1, steps_per_epoch=100, verbose=0, callbacks=[clock])
    step_time = (clock.marks[99] - clock.marks[19]) / 80
    compile_time = clock.marks[19] - started - 20 * step_time
    # The schedule below compiles the step once more.
    steps = max(int((seconds - (time.time() - started) - compile_time) / step_time), 1)
    schedule = keras.optimizers.schedules.CosineDecay(
        peak * 0.1, decay_steps=max(steps - steps // 33, 1), alpha=0.02, warmup_target=peak, warmup_steps=steps // 33
    )
    trainer.compile(optimizer=keras.optimizers.Adam(schedule), loss=trainer.colorkeras_loss)
    per_chunk = min(max(int(chunk_seconds / step_time), 1), steps)
    chunks = max(steps // per_chunk, 1)
    log.info(f"  {step_time * 1000:.1f} ms a step: {chunks} x {per_chunk} steps")

    class SaveEachChunk(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            save()
            log.info(
                f"  {time.time() - started:6.0f} s, chunk {epoch + 1}/{chunks}, loss "
                f"{logs.get('loss', float('nan')):.4f}"
            )
            if time.time() - started > seconds * 1.05:  # Slower than measured: stop, the weights are saved.
                self.model.stop_training = True

    history = trainer.fit(batches, epochs=chunks, steps_per_epoch=per_chunk, callbacks=[SaveEachChunk()], verbose=0)
    losses = history.history.get("loss") or [float("nan")]
    return 100 + len(losses) * per_chunk, float(losses[-1])


def read_weights(path):
    """A ``.weights.npz`` of ``fit`` -> the list for ``model.set_weights``."""
    with np.load(path) as weights:
        return [weights[f"arr_{index}"] for index in range(len(weights.files))]


def same_shapes(network, weights):
    """Whether ``weights`` (a list of arrays) fit ``network`` one by one."""
    return [tuple(weight.shape) for weight in network.weights] == [tuple(weight.shape) for weight in weights]


class WeightsMismatch(ValueError):
    """A weights file made for another network than the one it is set into."""


def load_weights(network, path, flag):
    """Sets the ``.weights.npz`` at ``path`` into ``network``, or raises
    WeightsMismatch (naming ``flag``) when its arrays do not fit it one by one."""
    weights = read_weights(path)
    if not same_shapes(network, weights):
        found, expected = [tuple(w.shape) for w in weights], [tuple(w.shape) for w in network.weights]
        at = next(
            (i for i, (a, b) in enumerate(zip(found, expected, strict=False)) if a != b), min(len(found), len(expected))
        )
        raise WeightsMismatch(
            f"{flag} {path} does not fit the pack's {network.name} ({len(found)} arrays for its {len(expected)}; "
            f"array {at} differs): it holds another network's weights (a pack made with --global-view takes a "
            "start file made with it; checkpoints/README.md shows how)"
        )
    network.set_weights(weights)


def training_report(weights_file):
    """What ``fit`` recorded for ``weights_file`` (``auto{tag}.weights.npz`` or
    ``hints{tag}.weights.npz``): the ``report{tag}.json`` beside it (backend, batch,
    learning rate, precision, images, and per network its seconds, steps, epochs and
    last loss) plus the pack's settings where its ``pack.json`` is given; ``None``
    without a report."""
    path = Path(weights_file)
    for prefix in ("auto", "hints"):
        if path.name.startswith(prefix) and path.name.endswith(".weights.npz"):
            tag = path.name[len(prefix) : -len(".weights.npz")]
            report_file = path.with_name(f"report{tag}.json")
            if report_file.is_file():
                report = json.loads(report_file.read_text())
                return {
                    "trainer": "python -m colorkeras.portable_train fit",
                    "network": prefix,
                    "weights": path.name,
                    **report,
                }
    return None


def fit(
    pack_dir,
    out,
    seconds,
    hint_seconds,
    batch_size=128,
    learning_rate=2e-3,
    init=None,
    seed=0,
    precision="mixed_bfloat16",
    networks=None,
    tag="",
    init_hints=None,
    region_share=0.0,
    workers=0,
):
    """Trains from the pack in ``pack_dir``; writes ``{auto,hints}{tag}.weights.npz``
    and ``report{tag}.json`` (every setting that shaped the training) to ``out``.

    ``init`` starts the automatic network from a weights file, ``init_hints`` the
    hint network (else it starts from the automatic one, ``start_hints_from``).
    ``region_share`` of the hint samples get one region recoloured with a hint
    inside it; ``workers`` processes draw the batches (0: Keras' threads).
    """
    pack_dir, out = Path(pack_dir), Path(out)
    started = time.time()
    settings = json.loads((pack_dir / "pack.json").read_text()) if (pack_dir / "pack.json").is_file() else {}
    crop = settings.get("crop")
    labels = None
    if crop:
        rgb, tables = decode_pack(pack_dir / PACK_FILE, rgb=True)
        decoded_in = time.time() - started
        if region_share > 0 and hint_seconds > 0:
            segmenting = time.time()
            labels = segment_pack(rgb, workers)
            log.info(f"Segmented {len(rgb)} images in {time.time() - segmenting:.0f} s")
        set_source(batch_size, rgb=rgb, tables=tables, crop=crop, region_share=region_share, labels=labels)
        count, size = len(rgb), crop
    else:
        lightness, ab, tables = decode_pack(pack_dir / PACK_FILE)
        decoded_in = time.time() - started
        set_source(batch_size, lightness=lightness, ab=ab, region_share=region_share)
        count, size = len(lightness), lightness.shape[1]
    pool = start_workers(workers)  # Before Keras starts its backend's threads.

    import keras

    from colorkeras.models import mobilenet_layers  # noqa: F401  (registers its layers for the networks' JSON)
    from colorkeras.models.soft_encoding import soft_encoded_crossentropy

    log.info(f"Decoded {count} images in {decoded_in:.0f} s; backend {keras.backend.backend()}")
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(precision)

    def loss(y_true, y_pred):  # The Keras trainer's loss (heads.SoftEncodedCrossEntropy), per pixel.
        return soft_encoded_crossentropy(y_true, y_pred, tables["bin_centers"])

    report = {
        "backend": keras.backend.backend(),
        "images": count,
        "batch_size": batch_size,
        "precision": precision,
        "learning_rate": learning_rate,
        "crop": crop,
        "load_size": settings.get("size"),
        "region_share": region_share,
        "regions": ("segmented once per pack square" if labels is not None else "per sample") if region_share else None,
        "init": Path(init).name if init else None,
        "init_hints": Path(init_hints).name if init_hints else None,
    }

    def save_as(network, name):
        # The network's weights alone, in layer order (no optimizer state: a third
        # of the size); train --init-from reads them.
        def save():
            temporary = out / f".{name}"
            with open(temporary, "wb") as file:
                np.savez(file, *[np.asarray(w, np.float32) for w in network.get_weights()])
            os.replace(temporary, out / name)

        return save

    networks = {**{k: pack_dir / v for k, v in NETWORKS.items()}, **(networks or {})}
    try:
        # Both start files are checked before anything is written to ``out``.
        auto = keras.models.model_from_json(Path(networks["auto"]).read_text())
        if init:
            load_weights(auto, init, "--init")
        hint_network = None
        if hint_seconds > 0:
            hint_network = keras.models.model_from_json(Path(networks["hints"]).read_text())
            if init_hints:
                load_weights(hint_network, init_hints, "--init-hints")
        out.mkdir(parents=True, exist_ok=True)
        (out / f"report{tag}.json").write_text(
            json.dumps(report, indent=2)
        )  # The settings, should the machine go first.
        for name, budget in (("auto", seconds), ("hints", hint_seconds)):
            if budget <= 0:
                continue
            if name == "hints":
                network = hint_network
                if not init_hints:
                    start_hints_from(auto, network)
                trainer = hint_trainer(network, size)
            else:
                network = trainer = auto
            trainer.colorkeras_loss = loss
            phase_start = time.time()
            batches = make_batches(name == "hints", seed, pool, ahead=2 * workers)
            rate = learning_rate if name == "auto" else learning_rate / 2  # The hint network starts trained.
            steps, last_loss = train_for(trainer, batches, budget, rate, save_as(network, f"{name}{tag}.weights.npz"))
            elapsed = time.time() - phase_start
            report[name] = {
                "seconds": round(elapsed, 1),
                "steps": steps,
                "images_per_second": round(steps * batch_size / elapsed, 1),
                "batch_wait_share": round(batches.waited / elapsed, 3) if pool is not None else None,
                "epochs": round(steps * batch_size / count, 2),
                "final_loss": last_loss,
            }
            log.info(f"{name}: {json.dumps(report[name])}")
            (out / f"report{tag}.json").write_text(json.dumps(report, indent=2))
    finally:
        if pool is not None:
            pool.terminate()
    return report
