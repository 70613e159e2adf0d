"""Training on any Keras 3 backend (JAX on a GPU machine): the data pack, the fit on a wall-clock budget, the weights and their report.

The command line, its examples and what it does in detail: ``colorkeras/portable_train.py``
(``python -m colorkeras.portable_train``).
"""

import functools
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from colorkeras.core import hints as hints_lib
from colorkeras.core import lab as cielab
from colorkeras.core.config import TrainConfig
from colorkeras.core.images import luma_gray

PACK_FILE = "data.npz"


NETWORKS = {"auto": "auto.json", "hints": "hints.json"}


def pack(data, out, size=64, quality=85, base_filters=40, depth=3, bin_step=10.0, validation_fraction=0.1, seed=0):
    """Writes ``out/data.npz`` (training split as JPEG, tables) and the networks' JSON."""
    from PIL import Image

    from colorkeras.data import pipeline as data_lib
    from colorkeras.models import color
    from colorkeras.models.registry import build_colorizer

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    splits = data_lib.load_splits(data, size, validation_fraction, seed)
    blobs = []
    for image in splits.train:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality)
        blobs.append(np.frombuffer(buffer.getvalue(), np.uint8))
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    np.savez(
        out / PACK_FILE,
        jpeg=np.concatenate(blobs),
        offsets=offsets,
        bin_centers=color.ab_bin_centers(bin_step),
        gray_lightness=color.uint8_gray_lightness_table(),
        srgb_to_linear=color._srgb_to_linear_table(),
    )
    for hints, name in ((False, NETWORKS["auto"]), (True, NETWORKS["hints"])):
        network = build_colorizer(TrainConfig.architecture, base_filters, depth, "classes", bin_step, hints=hints)
        (out / name).write_text(network.to_json())
    settings = {"data": [str(d) for d in data], "size": size, "quality": quality, "base_filters": base_filters,
                "depth": depth, "bin_step": bin_step, "validation_fraction": validation_fraction, "seed": seed,
                "images": len(blobs)}
    (out / "pack.json").write_text(json.dumps(settings, indent=2))
    return settings, int(offsets[-1])


def decode_pack(path, threads=16):
    """data.npz -> (L / 100 float16 [N, s, s, 1], a/b float16 [N, s, s, 2], tables)."""
    from PIL import Image

    tables = dict(np.load(path))
    jpeg, offsets = tables.pop("jpeg"), tables.pop("offsets")

    def one(index):
        blob = jpeg[offsets[index] : offsets[index + 1]].tobytes()
        rgb = np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"), np.uint8)
        gray = luma_gray(rgb)[..., 0]
        lightness = tables["gray_lightness"][gray][..., None] / 100.0
        ab = cielab.linear_to_lab(tables["srgb_to_linear"][rgb], np)[..., 1:]  # The one Lab conversion, in numpy.
        return lightness.astype(np.float16), ab.astype(np.float16)

    with ThreadPoolExecutor(threads) as pool:
        pairs = list(pool.map(one, range(len(offsets) - 1)))
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]), tables


def make_batches(lightness, ab, batch_size, hints, seed):
    """An endless keras.utils.PyDataset of random batches, flipped at random.

    With ``hints``, each batch also carries simulated hint places (``sample_points``);
    their colours are taken from the true a/b inside the network's step.
    """
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=4)
            self.calls = 0

        def __len__(self):
            return 1_000_000

        def __getitem__(self, index):
            self.calls += 1  # Each call its own stream: the workers are threads.
            rng = np.random.default_rng((seed, self.calls, index))
            rows = np.sort(rng.choice(len(lightness), batch_size, replace=False))
            x, y = lightness[rows].astype(np.float32), ab[rows].astype(np.float32)
            flip = rng.random(batch_size) < 0.5
            x[flip], y[flip] = x[flip, :, ::-1], y[flip, :, ::-1]
            if not hints:
                return x, y
            size = x.shape[1]
            points, radii = hints_lib.sample_points(rng, batch_size, size, size, pad_to=hints_lib.TRAIN_MAX_POINTS)
            return (x, y, points, radii), y

    return Batches()


@functools.lru_cache(maxsize=None)  # A Keras class is registered once.
def simulated_hints_layer():
    """The hint trainer's input layer, defined (and registered with Keras) on first
    call: loading a hint training's checkpoint needs it registered first."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="colorkeras")
    class SimulatedHints(keras.layers.Layer):
        """(L, true a/b, points, radii) -> L and the hint canvas of those points, in their true colours."""

        def call(self, lightness, ab, points, radii):
            size = lightness.shape[1]
            masks = hints_lib.patch_masks(points, radii, size, size)
            canvas = hints_lib.paint(masks, hints_lib.patch_means(masks, ab))
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
    print(f"  {step_time * 1000:.1f} ms a step: {chunks} x {per_chunk} steps", flush=True)

    class SaveEachChunk(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            save()
            print(f"  {time.time() - started:6.0f} s, chunk {epoch + 1}/{chunks}, loss {logs.get('loss', float('nan')):.4f}", flush=True)
            if time.time() - started > seconds * 1.05:  # Slower than measured: stop, the weights are saved.
                self.model.stop_training = True

    history = trainer.fit(batches, epochs=chunks, steps_per_epoch=per_chunk, callbacks=[SaveEachChunk()], verbose=0)
    losses = history.history.get("loss") or [float("nan")]
    return 100 + len(losses) * per_chunk, float(losses[-1])


def read_weights(path):
    """A ``.weights.npz`` of ``fit`` -> the list for ``model.set_weights``."""
    with np.load(path) as weights:
        return [weights[f"arr_{index}"] for index in range(len(weights.files))]


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
                return {"trainer": "python -m colorkeras.portable_train fit", "network": prefix, "weights": path.name, **report}
    return None


def fit(pack_dir, out, seconds, hint_seconds, batch_size=128, learning_rate=2e-3, init=None, seed=0, precision="mixed_bfloat16",
        networks=None, tag=""):
    import keras

    from colorkeras.models.soft_encoding import soft_encoded_crossentropy

    pack_dir, out = Path(pack_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    lightness, ab, tables = decode_pack(pack_dir / PACK_FILE)
    size = lightness.shape[1]
    print(f"Decoded {len(lightness)} images in {time.time() - started:.0f} s; backend {keras.backend.backend()}", flush=True)
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(precision)

    def loss(y_true, y_pred):  # The Keras trainer's loss (heads.SoftEncodedCrossEntropy), per pixel.
        return soft_encoded_crossentropy(y_true, y_pred, tables["bin_centers"])

    report = {"backend": keras.backend.backend(), "images": len(lightness), "batch_size": batch_size,
              "precision": precision, "learning_rate": learning_rate}

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
    auto = keras.models.model_from_json(Path(networks["auto"]).read_text())
    if init:
        auto.set_weights(read_weights(init))
    for name, budget in (("auto", seconds), ("hints", hint_seconds)):
        if budget <= 0:
            continue
        if name == "hints":
            network = keras.models.model_from_json(Path(networks["hints"]).read_text())
            start_hints_from(auto, network)
            trainer = hint_trainer(network, size)
        else:
            network = trainer = auto
        trainer.colorkeras_loss = loss
        phase_start = time.time()
        batches = make_batches(lightness, ab, batch_size, name == "hints", seed)
        rate = learning_rate if name == "auto" else learning_rate / 2  # The hint network starts trained.
        steps, last_loss = train_for(trainer, batches, budget, rate, save_as(network, f"{name}{tag}.weights.npz"))
        elapsed = time.time() - phase_start
        report[name] = {"seconds": round(elapsed, 1), "steps": steps,
                        "images_per_second": round(steps * batch_size / elapsed, 1),
                        "epochs": round(steps * batch_size / len(lightness), 2), "final_loss": last_loss}
        print(f"{name}: {json.dumps(report[name])}", flush=True)
        (out / f"report{tag}.json").write_text(json.dumps(report, indent=2))
    return report
