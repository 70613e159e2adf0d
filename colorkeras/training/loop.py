"""The training loop: settings from flags, the run folder, the network and its start, fit with checkpoints and resume,
the finished run.

``python -m colorkeras.train`` runs it (``colorkeras/train.py``: examples and details).
"""

import datetime
import logging
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy
import tensorflow as tf

from colorkeras.core import store
from colorkeras.core.config import TrainConfig, architecture, automatic_settings
from colorkeras.data import pipeline as data_lib
from colorkeras.models import heads, registry, sense
from colorkeras.models.heads import bin_prior, rebalancing_weights
from colorkeras.models.pretrained import file_record
from colorkeras.models.registry import CUSTOM_OBJECTS, count_parameters
from colorkeras.training import callbacks, distributed, exporter
from colorkeras.training.edge_stop import with_edge_stop
from colorkeras.training.portable import (
    hint_trainer,
    read_weights,
    same_shapes,
    simulated_hints_layer,
    start_hints_from,
    training_report,
)

log = logging.getLogger(__name__)

CHECKPOINT = store.Run.CHECKPOINT


STATE = store.Run.STATE


class UsageError(Exception):
    """A flag or a folder the user gave cannot be used; the message says why."""


def run_folder(config: TrainConfig, run_dir: str | os.PathLike[str] | None = None, name: str | None = None) -> Path:
    """The run's final folder: ``run_dir`` as given, else ``saved_models/<name>`` (by default the
    architecture and the time)."""
    if run_dir:
        return Path(run_dir).expanduser().absolute()
    name = name or f"{config.architecture}-{datetime.datetime.now():%Y%m%d-%H%M%S}"
    return store.run_path(name).absolute()


def build_network(config):
    options = {name: getattr(config, name) for name in architecture(config.architecture).options}  # Its own settings.
    return registry.build_colorizer(
        config.architecture,
        config.base_filters,
        config.depth,
        config.head,
        config.bin_step,
        hints=config.hints,
        **options,
    )


def compile_model(config, class_weights=None):
    """The model that trains: the network, or for --hints the network behind
    ``portable_train.hint_trainer`` (which paints simulated hints from the truth)."""

    model = network = build_network(config)
    if config.train_only:
        train_only(network, config.train_only)
    if config.hints:
        model = hint_trainer(network, config.image_size)
    if config.edge_stop:
        model = with_edge_stop(model, network, config.edge_stop, config.bin_step, config.temperature)
    if config.uses_sense:
        model = with_sense_terms(model, config)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=heads.build_loss(config.architecture, config.head, config.loss, config.bin_step, class_weights),
    )
    return model, network


def with_sense_terms(trainer, config):
    """The hint trainer with ``models.sense``'s terms added to its loss, weighted as ``config`` says."""
    path = Path(config.sense_classifier).expanduser()
    if not path.is_file():
        raise UsageError(f"--sense-classifier {path}: no such file (a MobileNetV2 TFLite classifier)")
    lightness, true_ab = trainer.inputs[0], trainer.inputs[1]
    terms = sense.SenseTerms(
        str(path),
        bin_step=config.bin_step,
        temperature=config.temperature,
        perceptual=config.perceptual,
        semantic=config.semantic,
        colourfulness=config.colourfulness,
        name="sense_terms",
    )
    return keras.Model(trainer.inputs, terms(lightness, true_ab, trainer.outputs[0]), name=f"{trainer.name}_and_sense")


def train_only(network, prefixes):
    """Leaves trainable only the layers of ``network`` whose names start with one
    of ``prefixes`` (comma-separated; the rest, batch normalisation included, runs
    as inference); UsageError for a prefix no layer has."""
    starts = tuple(prefix.strip() for prefix in prefixes.split(",") if prefix.strip())
    for prefix in starts or ("",):
        if not prefix or not any(layer.name.startswith(prefix) for layer in network.layers):
            raise UsageError(
                f"--train-only {prefixes}: no layer of {network.name} has a name that starts with {prefix!r}"
            )
    for layer in network.layers:
        layer.trainable = layer.name.startswith(starts)


def initial_weights(config, network):
    """Copies the weights of ``config.init_from`` into ``network``: a run of the same
    network, a ``.weights.npz`` of ``portable_train``, or (for a hint network) an
    automatic run or weights file, whose stem gets zero weights for the hint channels."""

    if str(config.init_from).endswith(".npz"):
        path = Path(config.init_from).expanduser()
        if not path.is_file():
            raise UsageError(f"--init-from {path}: no such weights file")
        try:
            weights = read_weights(path)
        except (OSError, ValueError, KeyError) as error:
            raise UsageError(f"--init-from {path}: not a weights file of portable_train ({error})") from None
        described = str(path)
    else:
        source_folder = store.resolve_run(config.init_from)
        source = keras.models.load_model(
            store.Run(source_folder).keras_model, custom_objects=CUSTOM_OBJECTS, compile=False
        )
        weights, described = source.get_weights(), str(source_folder)
    if same_shapes(network, weights):
        network.set_weights(weights)
    else:
        # Start a network from one it extends: the hint network from an automatic
        # one of the same width, a network with a global view from one without.
        source = next(
            (candidate for candidate in map(build_network, smaller_configs(config)) if same_shapes(candidate, weights)),
            None,
        )
        if source is None:
            check_shapes(config, network, weights)
        source.set_weights(weights)
        start_hints_from(source, network)
    log.info(f"Starting from the weights of {described}")


def smaller_configs(config):
    """The configurations a network of ``config`` can start from, by name
    (``start_hints_from``): without the global view, without hints, without both."""
    settings = config.to_dict()
    smaller = []
    if config.global_view:
        smaller.append({**settings, "global_view": 0})
    if config.hints:
        smaller.append(automatic_settings(settings))
    if config.global_view and config.hints:
        smaller.append({**automatic_settings(settings), "global_view": 0})
    return [TrainConfig.from_dict(values) for values in smaller]


def check_shapes(config, network, weights):
    if not same_shapes(network, weights):
        raise UsageError(
            f"--init-from {config.init_from}: its network differs from this one "
            f"({len(weights)} weight tensors against {len(network.weights)}, or other shapes); "
            "give the same --architecture, --base-filters, --depth and --head (a network with --global-view or --hints "
            "can start from one without)"
        )


def package_versions():
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }


def prepare_folder(final, resume, overwrite):
    """Creates (or, with ``resume``, reopens) the partial folder; returns (partial, completed epochs)."""
    partial = store.partial_path(final)
    if resume:
        state = store.read_json(partial / STATE)
        if not partial.is_dir() or state is None or not (partial / CHECKPOINT).is_file():
            if store.is_complete(final):
                raise UsageError(f"{final} is already complete; nothing to resume")
            raise UsageError(f"no interrupted run to resume at {final} (looked for {partial}/{STATE})")
        return partial, int(state["completed_epochs"])
    if store.is_complete(final) or (final.exists() and any(final.iterdir())):
        if not overwrite:
            raise UsageError(f"{final} already exists; choose another --name/--run-dir or pass --overwrite")
        # Checked before a minute of training, not only when the run is published.
        store.check_replaceable(final)
    if partial.exists():
        if not overwrite:
            raise UsageError(
                f"an interrupted run is waiting at {partial}; pass --resume to continue it or --overwrite to discard it"
            )
        shutil.rmtree(partial)
    try:
        partial.mkdir(parents=True)
    except OSError as error:
        raise UsageError(f"cannot write the run at {final}: {error.strerror or error}") from None
    return partial, 0


def load_resumed_config(partial, epochs=None):
    """The interrupted run's own settings; only the number of epochs may change on resume."""
    saved = store.Run(partial).read_config()
    if saved is None:
        raise UsageError(f"{partial}/config.json is missing; cannot resume")
    config = TrainConfig.from_record(saved["settings"])
    if epochs is not None:
        config.epochs = epochs
    return config.resolve()


def fit(
    config: TrainConfig,
    run_dir: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    resume: bool = False,
    resume_epochs: int | None = None,
    overwrite: bool = False,
    verbose: int | None = None,
) -> store.Run | None:
    """Trains the network ``config`` describes and writes it as a run; returns the finished run.

    The run goes to ``run_dir`` or ``saved_models/<name>``, through a partial folder that
    holds a checkpoint after every epoch. ``resume`` goes on from an interrupted run's last
    checkpoint with that run's own settings (``config`` only names the folder), for
    ``resume_epochs`` epochs in all where given. ``overwrite`` replaces a finished run or
    an interrupted one. ``verbose`` is Keras's progress (0 silent, 1 bar, 2 a line per
    epoch; default 1 on a terminal). Raises ``UsageError`` (or ``ValueError``,
    ``DatasetError``) for settings, folders or data that cannot be used. Returns None on a
    worker other than the chief of a multi-worker run.
    """
    config = config.resolve()
    final = run_folder(config, run_dir, name)
    chief = distributed.is_chief_worker() if config.distribute == "multiworker" else True
    if chief:
        partial, completed = prepare_folder(final, resume, overwrite)
        if resume:
            config = load_resumed_config(partial, resume_epochs)
    else:
        # Workers other than the chief write only to a scratch folder of their own.
        partial, completed = Path(os.environ.get("TMPDIR", "/tmp")) / f"colorkeras-worker-{os.getpid()}", 0
        partial.mkdir(parents=True, exist_ok=True)
    try:
        folder = fit_and_write_run(config, final, partial, completed, chief, overwrite, verbose)
    except BaseException:
        # A run that failed before its first checkpoint has nothing to resume:
        # leave no trace of it. Later failures keep the partial folder for --resume.
        if not (partial / STATE).exists():
            shutil.rmtree(partial, ignore_errors=True)
        raise
    return None if folder is None else store.Run(folder)


def fit_and_write_run(config, final, partial, completed, chief, overwrite=False, verbose=None):
    """Loads the data, trains from epoch ``completed`` and writes the run."""

    distributed.configure_devices()
    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy(config.precision)
    sources = [config.data] if isinstance(config.data, str) else config.data
    if chief:
        callbacks.write_phase(partial, "reading data", config)
    log.info(f"Loading data from {', '.join(sources)} ...")
    splits = data_lib.load_splits(config.data, config.load_size, config.validation_fraction, config.seed)
    train_images = splits.train[: config.limit] if config.limit else splits.train
    if config.limit and len(train_images) < len(splits.train):
        # A quick experiment on a share of the data holds out the same share for val_loss.
        keep = max(1, round(len(splits.validation) * len(train_images) / len(splits.train)))
        splits.validation = splits.validation[:keep]
    log.info(
        f"  {len(train_images)} train, {len(splits.validation)} validation, {len(splits.test)} test images"
        + (f"; {splits.skipped} unreadable file(s) skipped" if splits.skipped else "")
    )
    record = {
        "settings": config.to_dict(),
        "data_source": splits.source,
        "dataset": data_lib.describe(config.data),
        "images": {
            "train": len(train_images),
            "validation": len(splits.validation),
            "test": len(splits.test),
            "skipped": splits.skipped,
        },
        "versions": package_versions(),
        "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()},
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    if config.init_from and str(config.init_from).endswith(".npz"):
        # Weights trained elsewhere (the portable trainer, on JAX): its real settings
        # travel with the run, not only this import's (epochs 0, float32).
        record["trained_elsewhere"] = training_report(config.init_from)
    if config.encoder_weights:
        record["encoder_weights"] = file_record(config.encoder_weights)  # Name, size, sha256, source and licence.
    if chief and completed:
        record["started"] = store.Run(partial).read_config({}).get("started", record["started"])
    if chief:
        store.Run(partial).write_config(record)

    if chief:
        callbacks.write_phase(partial, "building the model", config)
    strategy = distributed.make_strategy(config.distribute)
    replicas = strategy.num_replicas_in_sync
    if config.distribute != "none":
        log.info(f"Distributing over {replicas} replica(s) with {type(strategy).__name__}")
    # Replicas need batches that split evenly, so distributed runs drop the last
    # partial batch (and shrink the validation batch to fit a small split).
    is_distributed = config.distribute != "none"
    train_data = data_lib.make_dataset(
        train_images,
        config.image_size,
        config.batch_size,
        config.architecture,
        True,
        config.seed,
        drop_remainder=is_distributed,
        hints=config.hints,
        degrade_share=config.degrade,
        region_share=config.region_hints,
    )
    validation_data = None
    if len(splits.validation):
        validation_batch = config.batch_size
        if is_distributed:
            validation_batch = min(config.batch_size, len(splits.validation) // replicas * replicas)
        if validation_batch > 0:
            validation_data = data_lib.make_dataset(
                splits.validation,
                config.image_size,
                validation_batch,
                config.architecture,
                False,
                drop_remainder=is_distributed,
                hints=config.hints,
                region_share=config.region_hints,
            )

    with strategy.scope():
        if completed:
            if config.hints:
                simulated_hints_layer()  # The checkpoint holds the hint trainer, whose first layer Keras must know.
            model = keras.models.load_model(partial / CHECKPOINT, custom_objects=CUSTOM_OBJECTS)
            log.info(f"Resuming after epoch {completed} of {config.epochs}")
        else:
            class_weights = None
            if config.class_rebalance > 0 and config.head == "classes":
                prior = bin_prior(train_images, config.bin_step, seed=config.seed)
                class_weights = rebalancing_weights(prior, config.class_rebalance)
            model, network = compile_model(config, class_weights)
            if config.init_from:
                initial_weights(config, network)

    log.info(f"Model {model.name}: {count_parameters(model):,} parameters")
    history_rows = store.Run(partial).read_history()[:completed] if chief else []
    verbose = verbose if verbose is not None else (1 if sys.stdout.isatty() else 2)
    started = time.time()
    if completed < config.epochs:
        epoch_callbacks = callbacks.make_callbacks(partial, config, chief, history_rows)
        if config.distribute == "multiworker":
            distributed.fit_multiworker(
                strategy, model, train_data, validation_data, config, completed, epoch_callbacks, verbose
            )
        else:
            model.fit(
                train_data,
                validation_data=validation_data,
                epochs=config.epochs,
                initial_epoch=completed,
                callbacks=epoch_callbacks,
                verbose=verbose,
                shuffle=False,  # The pipeline shuffles already.
            )
    if not chief:
        shutil.rmtree(partial, ignore_errors=True)
        return None
    finish_run(model, config, record, partial, final, splits, history_rows, overwrite, time.time() - started)
    return final


def finish_run(model, config, record, partial, final, splits, history_rows, overwrite, seconds):
    """Export, samples, metrics and config into the partial folder, then publish it."""

    # Whatever precision trained it, the run serves in float32: exact on every
    # machine, and the bfloat16 speed-up is a training matter.
    keras.mixed_precision.set_global_policy("float32")
    # The exported graph and the shipped model.keras leave out the optimizer state
    # (two more copies of the weights): enough to serve and to fine-tune, and it
    # keeps a run small enough to commit.
    bare = build_network(config)
    # A hint trainer's only weights are its network's, in the same order; with sense terms or the edge stop the network
    # is one of its layers (the classifier the sense terms look through is not the run's).
    wrapped = config.uses_sense or config.edge_stop
    bare.set_weights((model.get_layer(bare.name) if wrapped else model).get_weights())
    if architecture(config.architecture).chroma and config.head == "classes":
        record["bin_prior"] = bin_prior(splits.train, config.bin_step, seed=config.seed).tolist()
    record["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    record["epochs_completed"] = len(history_rows)
    record["train_seconds"] = round(sum(float(r["seconds"]) for r in history_rows), 1)
    row = exporter.write_run_files(
        partial, bare, record, splits.test, final.name, config.samples, config.evaluate_limit
    )
    # The checkpoint goes only after the rename: until then the partial folder
    # must stay resumable.
    store.Run(partial).publish(final, overwrite=overwrite)
    log.info(
        f"Saved run to {final}\n  test PSNR {row['psnr']:.2f} dB, SSIM {row['ssim']:.4f}, "
        f"colourfulness {row['colorfulness']:.1f} (truth {row['truth_colorfulness']:.1f}), AuC {row['auc']:.3f}"
    )
