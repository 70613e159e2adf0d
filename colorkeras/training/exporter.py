"""Export: write a run's model files, re-export a run with other serving defaults
(``export_run``), rebuild its graph, write it for TensorFlow Serving or as TFLite.

The library behind ``python -m colorkeras.export``, whose flags ``colorkeras/export.py``
parses; the graph itself (signatures, preprocessing) is ``colorkeras.serving.graph``.
"""

import datetime
import logging
import os
import shutil
from pathlib import Path

import keras

from colorkeras.core import store
from colorkeras.core.config import TrainConfig, architecture
from colorkeras.data import pipeline as data_lib
from colorkeras.evaluation import scoring
from colorkeras.models.heads import bin_prior
from colorkeras.models.registry import CUSTOM_OBJECTS, count_parameters
from colorkeras.serving import tflite
from colorkeras.serving.graph import export_saved_model

log = logging.getLogger(__name__)


def write_model_files(folder, keras_model, record, automatic=None):
    """Writes a run's saved_model/, model.keras and config.json into ``folder``,
    each through a temporary name. ``keras_model`` should carry no optimizer state.
    ``automatic``: a hint network's automatic partner (automatic.keras), which
    answers every call without hints."""

    run = store.Run(folder)
    write_saved_model(folder, keras_model, record, automatic)
    for network, target in ((keras_model, run.keras_model), (automatic, run.automatic_model)):
        if network is not None:
            model_path = Path(folder) / f".{target.name}.tmp.keras"
            network.save(model_path)
            os.replace(model_path, target)
    record["parameters"] = count_parameters(keras_model)
    run.write_config(record)


def write_saved_model(folder, keras_model, record, automatic=None):
    """Writes ``folder/saved_model/`` (through a temporary folder) from the networks
    and the run's ``record``."""

    log.info("Exporting the SavedModel ...")
    staging = Path(folder) / ".saved_model.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    export_saved_model(keras_model, serving_settings(record), staging, automatic)
    shutil.rmtree(store.Run(folder).saved_model, ignore_errors=True)
    os.replace(staging, store.Run(folder).saved_model)


def serving_settings(record):
    """What the SavedModel graph needs of a run's record."""
    return {
        **record["settings"],
        "bin_prior": record.get("bin_prior"),
        "hint_saturation": record.get("hint_saturation"),
    }


def load_networks(run):
    """(model.keras, automatic.keras or None) of a run."""

    model = keras.models.load_model(run.keras_model, custom_objects=CUSTOM_OBJECTS, compile=False)
    automatic = None
    if run.automatic_model.is_file():
        automatic = keras.models.load_model(run.automatic_model, custom_objects=CUSTOM_OBJECTS, compile=False)
    return model, automatic


def write_run_files(folder, keras_model, record, test_images, name, samples=8, evaluate_limit=None, automatic=None):
    """The whole run: the model files (``write_model_files``), then its test
    metrics and samples, scored through the SavedModel just written
    (``scoring.write_test_report``). Returns the test metrics row."""

    write_model_files(folder, keras_model, record, automatic)
    return scoring.write_test_report(folder, test_images, name, record.get("data_source"), samples, evaluate_limit)


def write_serving_dir(source, serving_dir, model_name=None):
    """Writes run ``source``'s SavedModel, exported afresh from its model.keras with its
    own settings (so it has every current signature), as ``serving_dir/<name>/<N>/``:
    version 1, or one above the highest already there. Returns that folder."""

    run = store.Run(source)
    record = run.read_config()
    name = store.validate_run_name(model_name or run.name)
    models = Path(serving_dir).expanduser() / name
    models.mkdir(parents=True, exist_ok=True)
    versions = [int(entry.name) for entry in models.iterdir() if entry.name.isdigit()]
    version = models / str(max(versions, default=0) + 1)
    staging = models / f".{version.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model, automatic = load_networks(run)
        export_saved_model(model, serving_settings(record), staging, automatic)
        os.replace(staging, version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return version


def write_tflite(source, path, overwrite=False):
    """Writes run ``source``'s TFLite model to ``path`` (through a temporary name)."""

    path = Path(path).expanduser()
    store.check_writable(path, overwrite=overwrite)  # Before the conversion, not after it.
    run = store.Run(source)
    record = run.read_config()
    model, automatic = load_networks(run)
    # serving_default's interface has no hints: a hint run converts its automatic network.
    settings = serving_settings(record)
    if automatic is not None:
        model, settings = automatic, dict(settings, hints=False)
    flatbuffer = tflite.convert(model, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    store.atomic_write_bytes(path, flatbuffer)
    return path


def rebuild(source, partial, final, command=""):
    """Writes run ``source`` again into ``partial`` (to be published as ``final``):
    the SavedModel exported afresh from its model.keras with its own settings, so it
    gains every signature its kind supports; every other file (test report,
    samples, history, card) copied as it is. Needs no data: nothing it scores changes."""

    run = store.Run(source)
    record = run.read_config()
    model, automatic = load_networks(run)
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        for entry in run.path.iterdir():
            if (
                entry.name not in (store.Run.SAVED_MODEL, store.Run.CONFIG)
                and not entry.name.startswith(".")
                and entry.is_file()
            ):
                shutil.copy2(entry, partial / entry.name)
        record = dict(record, rebuilt=datetime.datetime.now().isoformat(timespec="seconds"), rebuild_command=command)
        write_saved_model(partial, model, record, automatic)
        store.Run(partial).write_config(record)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def export_run(
    model,
    final,
    overrides,
    data=None,
    automatic=None,
    hint_saturation=None,
    evaluate_limit=None,
    overwrite=False,
    command="",
):
    """Writes run ``model`` (a name or folder) again as the run ``final`` (a folder),
    with other serving defaults; the source run is not changed.

    ``overrides``: temperature, prior_weight, saturation, render_size (None keeps the
    source's). ``data``: sources to score on and count colours from (default: the
    source's). ``automatic``: for a hint run, the automatic run that answers calls
    without hints; its serving defaults become the new run's. With nothing that
    changes a result, the serving graph is rebuilt and the test report kept.
    Returns ``(source folder, test metrics row)``, the row None for a rebuild.
    Raises ``store.RunError``, ``ValueError``, ``DatasetError`` or ``OSError``;
    nothing is left at ``final`` or beside it then."""

    source = store.resolve_run(model)
    record = store.Run(source).read_config()
    final = Path(final)
    if final.exists() and not overwrite:
        raise store.RunError(f"{final} already exists; choose another name or pass --overwrite")
    store.check_replaceable(final)
    partial = store.partial_path(final)
    if (
        data is None
        and automatic is None
        and hint_saturation is None
        and all(value is None for value in overrides.values())
    ):
        rebuild(source, partial, final, command=command)
        store.publish(partial, final, overwrite=overwrite)
        return source, None
    made = False  # Whether the partial folder is this call's to remove on failure.
    try:
        record, automatic_network = _with_automatic(record, source, automatic)
        if hint_saturation is not None:
            if hint_saturation <= 0:
                raise ValueError(f"hint saturation must be positive, received {hint_saturation}")
            record = dict(record, hint_saturation=hint_saturation)
        settings = dict(record["settings"], **{key: value for key, value in overrides.items() if value is not None})
        config = TrainConfig.from_record(settings).resolve()
        data = (data[0] if len(data) == 1 else data) if data else config.data
        splits = data_lib.load_splits(data, config.load_size, config.validation_fraction, config.seed)
        record = dict(record, settings=config.to_dict(), data_source=splits.source, dataset=data_lib.describe(data))
        if architecture(config.architecture).chroma and config.head == "classes" and not record.get("bin_prior"):
            record["bin_prior"] = bin_prior(splits.train, config.bin_step, seed=config.seed).tolist()
        record["exported_from"] = str(source)
        record["exported"] = datetime.datetime.now().isoformat(timespec="seconds")
        record["export_command"] = command
        network = load_networks(store.Run(source))[0]
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        made = True
        if store.Run(source).history.is_file():
            shutil.copy2(store.Run(source).history, store.Run(partial).history)
        row = write_run_files(
            partial, network, record, splits.test, final.name, config.samples, evaluate_limit, automatic_network
        )
        store.publish(partial, final, overwrite=overwrite)
    except BaseException:
        if made:
            shutil.rmtree(partial, ignore_errors=True)
        raise
    return source, row


def _with_automatic(record, source, automatic):
    """(record, automatic network or None): a hint run's record joined with the
    automatic run ``automatic`` names (its serving defaults, bins and prior), or
    the automatic network the source run carries."""

    if automatic is None:
        return record, (load_networks(store.Run(source))[1] if store.Run(source).automatic_model.is_file() else None)
    automatic_run = store.Run(store.resolve_run(automatic))
    automatic_record = automatic_run.read_config()
    if not record["settings"].get("hints"):
        raise store.RunError(f"--automatic goes with a hint run; {source.name} takes no hints")
    if automatic_record["settings"].get("hints"):
        raise store.RunError(f"--automatic {automatic}: that run takes hints; name an automatic run")
    for key in ("architecture", "head", "bin_step"):
        if automatic_record["settings"].get(key) != record["settings"].get(key):
            raise store.RunError(f"--automatic {automatic}: its {key} differs from {source.name}'s")
    network = load_networks(automatic_run)[0]
    serving = ("render_size", "saturation", "temperature", "prior_weight")
    record = dict(
        record,
        automatic={
            "from": str(automatic_run.path),
            "parameters": count_parameters(network),
            "settings": automatic_record["settings"],
        },
    )
    record["settings"] = dict(record["settings"], **{key: automatic_record["settings"][key] for key in serving})
    record["hint_saturation"] = record.get("hint_saturation") or 1.0
    if automatic_record.get("bin_prior"):
        record["bin_prior"] = automatic_record["bin_prior"]
    return record, network
