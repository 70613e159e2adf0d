"""Export: write a run's model files, and re-export a run with other serving defaults.

(The library behind ``python -m colorkeras.export``, whose flags ``colorkeras/export.py`` parses.)

``python -m colorkeras.export --model RUN --name NEW [--saturation 1.2 ...]`` writes a
new run from a run's ``model.keras``; the graph itself (signatures, preprocessing)
is in ``colorkeras.serving.graph``. TensorFlow loads only after the flags are read,
so ``--help`` answers at once.
"""
import datetime
import os
import shutil
import sys
from pathlib import Path

import keras

from colorkeras.core import store
from colorkeras.evaluation import scoring
from colorkeras.models.registry import CUSTOM_OBJECTS, count_parameters
from colorkeras.serving import tflite
from colorkeras.serving.graph import export_saved_model


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

    print("Exporting the SavedModel ...", flush=True)
    staging = Path(folder) / ".saved_model.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    export_saved_model(keras_model, serving_settings(record), staging, automatic)
    shutil.rmtree(store.Run(folder).saved_model, ignore_errors=True)
    os.replace(staging, store.Run(folder).saved_model)


def serving_settings(record):
    """What the SavedModel graph needs of a run's record."""
    return {**record["settings"], "bin_prior": record.get("bin_prior"), "hint_saturation": record.get("hint_saturation")}


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


def rebuild(source, partial, final, argv=None):
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
            if entry.name not in (store.Run.SAVED_MODEL, store.Run.CONFIG) and not entry.name.startswith(".") and entry.is_file():
                shutil.copy2(entry, partial / entry.name)
        record = dict(record, rebuilt=datetime.datetime.now().isoformat(timespec="seconds"),
                      rebuild_command="python -m colorkeras.export " + " ".join(sys.argv[1:] if argv is None else argv))
        write_saved_model(partial, model, record, automatic)
        store.Run(partial).write_config(record)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
