import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from colorkeras import train
from colorkeras.core import store
from colorkeras.models import color
from colorkeras.training import loop
from tests.conftest import run_module, write_crops

TINY = [
    "--image-size",
    "16",
    "--load-size",
    "24",
    "--base-filters",
    "4",
    "--depth",
    "2",
    "--batch-size",
    "8",
    "--verbose",
    "0",
]
RUN_FILES = {"saved_model", "model.keras", "history.csv", "config.json", "metrics.json", "samples.png"}


@pytest.mark.slow
def test_training_writes_every_file_of_a_run(trained_run):
    assert RUN_FILES <= {path.name for path in trained_run.iterdir()}
    assert not store.partial_path(trained_run).exists()
    record = json.loads((trained_run / "config.json").read_text())
    assert record["settings"]["architecture"] == "unet" and record["settings"]["epochs"] == 1
    assert {"tensorflow", "keras", "numpy"} <= set(record["versions"])
    assert "image folder" in record["data_source"]
    with open(trained_run / "history.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["epoch"] for row in rows] == ["1"]
    assert set(rows[0]) == {"epoch", "loss", "val_loss", "learning_rate", "seconds"}
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["n"] > 0 and 0 < metrics["ssim"] <= 1


@pytest.mark.slow
def test_saved_model_colorizes_any_size_with_plain_tensorflow(trained_run):
    """Loaded without colorkeras: a 123x77 gray image -> 123x77x3 with the same L."""
    script = (
        "import numpy as np, tensorflow as tf, sys\n"
        f"serve = tf.saved_model.load({str(trained_run / 'saved_model')!r}).signatures['serving_default']\n"
        "gray = np.random.default_rng(0).integers(0, 256, (1, 77, 123, 1), dtype=np.uint8)\n"
        "one = serve(images=tf.constant(gray))['colorized'].numpy()\n"
        "three = serve(images=tf.constant(np.repeat(gray, 3, axis=-1)))['colorized'].numpy()\n"
        "np.save(sys.argv[1], np.stack([one, three]))\n"
    )
    output = trained_run.parent / "plain_tf.npy"
    env = dict(os.environ, PYTHONPATH="", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", script, str(output)], capture_output=True, text=True, env=env, cwd="/"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    one, three = np.load(output)
    assert one.shape == (1, 77, 123, 3) and one.dtype == np.uint8
    np.testing.assert_array_equal(one, three)
    gray = np.random.default_rng(0).integers(0, 256, (1, 77, 123, 1), dtype=np.uint8)
    lightness_in = color.gray_to_lightness(gray / 255.0).numpy()
    lightness_out = color.rgb_to_lightness(one / 255.0).numpy()
    assert np.abs(lightness_in - lightness_out).mean() < 3


@pytest.mark.slow
def test_keras_model_and_saved_model_give_the_same_colours(trained_run):
    import keras

    from colorkeras.models import heads

    settings = json.loads((trained_run / "config.json").read_text())["settings"]
    keras_model = keras.models.load_model(trained_run / "model.keras")
    image = np.random.default_rng(1).integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)
    lightness = color.rgb_to_lightness(image / 255.0)
    ab = heads.decode_chroma(
        keras_model(lightness / color.L_SCALE, training=False),
        "unet",
        "classes",
        color.ab_bin_centers(settings["bin_step"]),
        settings["temperature"],
    )
    ab = tf.image.resize(ab, (16, 16), method="bilinear")
    expected = np.round(color.lab_to_rgb(tf.concat([lightness, ab], axis=-1)).numpy() * 255)
    served = tf.saved_model.load(str(trained_run / "saved_model")).signatures["serving_default"]
    actual = served(images=tf.constant(image))["colorized"].numpy()
    assert np.abs(actual.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.slow
def test_plain_cnn_trains_and_exports(tmp_path, image_folder):
    run_dir = tmp_path / "plain"
    args = ["--data", image_folder, "--architecture", "plain-cnn", "--epochs", "1", "--run-dir", run_dir, *TINY]
    assert train.main(list(map(str, args))) == 0
    settings = json.loads((run_dir / "config.json").read_text())["settings"]
    assert settings["loss"] == "mse" and settings["saturation"] > 1.0 and settings["head"] == "rgb"
    assert store.is_complete(run_dir)


@pytest.mark.slow
@pytest.mark.parametrize("kind", [[], ["--hints"]], ids=["automatic", "hints"])
def test_kill_during_epoch_two_then_resume_finishes_epochs_two_and_three(tmp_path, kind):
    # The resumed process is a fresh interpreter: a hint training's checkpoint holds
    # the hint trainer's own input layer, which it must know before reading it.
    folder = write_crops(tmp_path / "images", 600, size=24)
    run_dir = tmp_path / "run"
    args = ["--data", folder, "--epochs", "3", "--run-dir", run_dir, "--limit", "500", *kind, *TINY]
    args[args.index("--batch-size") + 1] = "2"
    process = subprocess.Popen(
        [sys.executable, "-m", "colorkeras.train", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    state = store.partial_path(run_dir) / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if state.exists() and json.loads(state.read_text())["completed_epochs"] == 1:
            break
        time.sleep(0.02)
    assert process.poll() is None, "training ended before it could be killed in epoch 2"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not run_dir.exists() and json.loads(state.read_text())["completed_epochs"] == 1

    resumed = run_module("colorkeras.train", *args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming after epoch 1 of 3" in resumed.stdout
    with open(run_dir / "history.csv") as stream:
        assert [row["epoch"] for row in csv.DictReader(stream)] == ["1", "2", "3"]
    assert store.is_complete(run_dir) and not store.partial_path(run_dir).exists()


def test_interrupted_run_is_not_overwritten_without_asking(tmp_path, image_folder, capsys):
    run_dir = tmp_path / "run"
    partial = store.partial_path(run_dir)
    partial.mkdir()
    (partial / "state.json").write_text('{"completed_epochs": 1}')
    assert train.main(["--data", str(image_folder), "--run-dir", str(run_dir), *TINY]) == 2
    assert "--resume" in capsys.readouterr().err and (partial / "state.json").exists()


def test_a_run_folder_that_cannot_be_written_is_one_message(tmp_path, image_folder, capsys):
    (tmp_path / "a-file").write_text("mine")
    assert train.main(["--data", str(image_folder), "--run-dir", str(tmp_path / "a-file" / "run"), *TINY]) == 2
    assert "cannot write the run at" in capsys.readouterr().err and (tmp_path / "a-file").read_text() == "mine"


def test_existing_run_is_kept_unless_overwrite(tmp_path, image_folder, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "keep.txt").write_text("mine")
    assert train.main(["--data", str(image_folder), "--run-dir", str(run_dir), *TINY]) == 2
    assert "already exists" in capsys.readouterr().err and (run_dir / "keep.txt").exists()


def test_overwrite_refuses_a_folder_that_is_not_a_run_and_leaves_it_intact(tmp_path, image_folder, capsys):
    documents = tmp_path / "Documents"
    (documents / "letters").mkdir(parents=True)
    (documents / "letters" / "mum.txt").write_text("dear mum")
    (documents / "photo.jpg").write_bytes(b"jpeg bytes")
    before = sorted(str(path.relative_to(documents)) for path in documents.rglob("*"))
    assert train.main(["--data", str(image_folder), "--run-dir", str(documents), "--overwrite", *TINY]) == 2
    assert "not a colorkeras run" in capsys.readouterr().err
    assert sorted(str(path.relative_to(documents)) for path in documents.rglob("*")) == before
    assert (documents / "letters" / "mum.txt").read_text() == "dear mum"
    assert not store.partial_path(documents).exists()


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/b", "..", ".hidden"])
def test_run_names_cannot_escape_the_store(models_store, image_folder, capsys, name):
    assert train.main(["--data", str(image_folder), "--name", name, *TINY]) == 2
    assert "invalid run name" in capsys.readouterr().err
    assert list(models_store.iterdir()) == []


def test_symlinked_run_name_is_refused(models_store, tmp_path):
    (models_store / "link").symlink_to(tmp_path)
    with pytest.raises(store.RunError, match="outside"):
        store.run_path("link")


def test_missing_dataset_and_bad_flags_end_in_one_message(tmp_path, capsys):
    assert train.main(["--data", str(tmp_path / "nope"), "--run-dir", str(tmp_path / "r")]) == 2
    assert "dataset not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        train.main(["--architecture", "vgg"])
    assert stopped.value.code == 2 and "invalid choice" in capsys.readouterr().err
    for limit, said in (("0", "at least 1, received 0"), ("all", "a whole number, received 'all'")):
        with pytest.raises(SystemExit) as stopped:  # 0 once meant "score every test image".
            train.main(["--evaluate-limit", limit, "--run-dir", str(tmp_path / "r")])
        assert stopped.value.code == 2 and f"--evaluate-limit: must be {said}" in capsys.readouterr().err
    assert train.main(["--image-size", "20", "--run-dir", str(tmp_path / "r")]) == 2
    assert "multiple of 8" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_limit_shrinks_the_validation_split_in_proportion(tmp_path, image_folder, capsys, monkeypatch):
    """--limit 16 of 29 training images holds out about the same share (2 of 3) for val_loss."""

    def stop_after_loading(kind):
        raise loop.UsageError("stopped after loading the data")

    from colorkeras.training import distributed

    monkeypatch.setattr(distributed, "make_strategy", stop_after_loading)
    assert train.main(["--data", str(image_folder), "--limit", "16", "--run-dir", str(tmp_path / "r"), *TINY]) == 2
    out = capsys.readouterr().out
    assert "16 train, 2 validation" in out, out
    assert not store.partial_path(tmp_path / "r").exists()


def test_help_names_choices_and_defaults():
    text = train.build_parser().format_help()
    for expected in (
        "unet",
        "plain-cnn",
        "--resume",
        "--run-dir",
        "--distribute",
        "mirrored",
        "multiworker",
        "default: 10",
    ):
        assert expected in text


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(tmp_path, image_folder):
    run_dir = tmp_path / "mirrored"
    result = run_module(
        "colorkeras.train",
        "--data",
        image_folder,
        "--epochs",
        "1",
        "--run-dir",
        run_dir,
        "--distribute",
        "mirrored",
        *TINY,
        env={"COLORKERAS_LOGICAL_CPUS": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "over 2 replica(s)" in result.stdout
    assert store.is_complete(run_dir)


@pytest.mark.slow
def test_multiworker_two_processes_train_one_epoch_together(tmp_path, image_folder):
    from tests.conftest import free_port

    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    run_dir = tmp_path / "multiworker"
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        args = ["--data", image_folder, "--epochs", "1", "--run-dir", run_dir, "--distribute", "multiworker", *TINY]
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "colorkeras.train", *map(str, args)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [process.communicate(timeout=300) for process in processes]
    assert processes[0].returncode == 0, outputs[0][1][-3000:]
    assert "over 2 replica(s)" in outputs[0][0] and "over 2 replica(s)" in outputs[1][0]
    assert "Saved run to" in outputs[0][0] and "Saved run to" not in outputs[1][0]
    assert store.is_complete(run_dir)
    with open(run_dir / "history.csv") as stream:
        assert [row["epoch"] for row in csv.DictReader(stream)] == ["1"]


@pytest.mark.slow
def test_interrupted_export_leaves_no_run_and_resume_finishes_it(tmp_path, image_folder, monkeypatch):
    from colorkeras.training import exporter

    run_dir = tmp_path / "run"
    args = ["--data", str(image_folder), "--epochs", "1", "--run-dir", str(run_dir), *TINY]
    real = exporter.write_run_files

    def crash_half_way(folder, *rest, **kwargs):
        (folder / "saved_model").mkdir()  # Something half-written, as a kill would leave.
        raise KeyboardInterrupt

    monkeypatch.setattr(exporter, "write_run_files", crash_half_way)
    assert train.main(args) == 130
    assert not run_dir.exists() and store.partial_path(run_dir).is_dir()
    monkeypatch.setattr(exporter, "write_run_files", real)
    assert train.main([*args, "--resume"]) == 0
    assert store.is_complete(run_dir) and not store.partial_path(run_dir).exists()
    with open(run_dir / "history.csv") as stream:
        assert [row["epoch"] for row in csv.DictReader(stream)] == ["1"]


@pytest.mark.slow
def test_full_disk_is_one_message_and_changes_nothing(tmp_path, image_folder, monkeypatch, capsys):
    import errno

    run_dir = tmp_path / "run"

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path))

    monkeypatch.setattr(store, "atomic_write_json", no_space)
    assert train.main(["--data", str(image_folder), "--epochs", "1", "--run-dir", str(run_dir), *TINY]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert not run_dir.exists() and not store.partial_path(run_dir).exists()


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["during the SavedModel export", "while scoring and writing metrics"])
def test_kill_during_export_or_metrics_keeps_earlier_runs_and_resumes(tmp_path, image_folder, moment):
    earlier = tmp_path / "earlier"
    assert train.main(["--data", str(image_folder), "--epochs", "1", "--run-dir", str(earlier), *TINY]) == 0
    before = {path.name: path.read_bytes() for path in earlier.iterdir() if path.is_file()}
    run_dir = tmp_path / "run"
    args = ["--data", image_folder, "--epochs", "1", "--run-dir", run_dir, *TINY]
    partial = store.partial_path(run_dir)
    marker = partial / (".saved_model.tmp" if moment.startswith("during") else "saved_model")
    process = subprocess.Popen(
        [sys.executable, "-m", "colorkeras.train", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while not marker.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, "the run finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not run_dir.exists() and partial.is_dir()
    assert {path.name: path.read_bytes() for path in earlier.iterdir() if path.is_file()} == before
    resumed = run_module("colorkeras.train", *args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert store.is_complete(run_dir) and json.loads((run_dir / "metrics.json").read_text())["n"] > 0


@pytest.mark.slow
def test_resume_with_more_epochs_trains_only_the_new_ones(tmp_path, image_folder):
    run_dir = tmp_path / "run"
    partial = store.partial_path(run_dir)
    args = ["--data", str(image_folder), "--run-dir", str(run_dir), *TINY]
    real_publish = store.publish
    store.publish = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt())  # Stop before the rename.
    try:
        assert train.main([*args, "--epochs", "1"]) == 130
    finally:
        store.publish = real_publish
    assert json.loads((partial / "state.json").read_text())["completed_epochs"] == 1
    assert train.main(["--run-dir", str(run_dir), "--resume", "--epochs", "2", "--verbose", "0"]) == 0
    with open(run_dir / "history.csv") as stream:
        assert [row["epoch"] for row in csv.DictReader(stream)] == ["1", "2"]
    assert json.loads((run_dir / "config.json").read_text())["settings"]["epochs"] == 2


def test_train_only_moves_the_named_layers_and_nothing_else():
    from colorkeras.core.config import TrainConfig

    config = TrainConfig(
        base_filters=4, depth=2, image_size=16, train_only="up1_a, up1_b_conv", learning_rate=1e-2
    ).resolve()
    model, network = loop.compile_model(config)
    before = {layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in network.layers}
    rng = np.random.default_rng(0)
    lightness = rng.random((8, 16, 16, 1)).astype(np.float32)
    ab = rng.uniform(-40, 40, (8, 16, 16, 2)).astype(np.float32)  # The loss's target: a/b at full resolution.
    model.fit(lightness, ab, epochs=2, batch_size=4, verbose=0)
    moved = {
        layer.name
        for layer in network.layers
        if any(
            not np.array_equal(a, np.asarray(b)) for a, b in zip(before[layer.name], layer.get_weights(), strict=False)
        )
    }
    # up1_b_bn stays as it was, as does every other layer: not even a frozen batch norm's statistics move.
    assert moved == {"up1_a_conv", "up1_a_bn", "up1_b_conv"}
    for prefixes, missing in (("global_", "global_"), ("up1_a,global_fuse", "global_fuse"), (",", "")):
        with pytest.raises(
            loop.UsageError, match=f"--train-only {prefixes}: no layer of unet has a name that starts with '{missing}'"
        ):
            loop.compile_model(TrainConfig(base_filters=4, depth=2, image_size=16, train_only=prefixes).resolve())
