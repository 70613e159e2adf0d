"""The portable trainer (any Keras 3 backend): pack, fit, and its weights made a run
that records how they were trained, not the import's own settings."""

import json

import numpy as np
import pytest
from conftest import run_cli


@pytest.mark.slow
def test_portable_weights_become_a_run_that_records_the_training_done_elsewhere(tmp_path, image_folder):
    pack, weights, run = tmp_path / "pack", tmp_path / "weights", tmp_path / "run"
    packed = run_cli(
        "colorkeras.portable_train",
        "pack",
        "--data",
        image_folder,
        "--out",
        pack,
        "--size",
        "16",
        "--base-filters",
        "4",
        "--depth",
        "2",
    )
    assert packed.returncode == 0, packed.stderr
    settings = json.loads((pack / "pack.json").read_text())
    assert settings["size"] == 16 and settings["images"] > 0

    fitted = run_cli(
        "colorkeras.portable_train",
        "fit",
        pack,
        "--out",
        weights,
        "--seconds",
        "3",
        "--hint-seconds",
        "0",
        "--batch-size",
        "8",
        "--learning-rate",
        "1e-3",
        "--precision",
        "float32",
    )
    assert fitted.returncode == 0, fitted.stderr
    report = json.loads((weights / "report.json").read_text())
    assert report["batch_size"] == 8 and report["learning_rate"] == 1e-3 and report["auto"]["steps"] >= 1
    trained = [np.asarray(w) for w in np.load(weights / "auto.weights.npz").values()]

    made = run_cli(
        "colorkeras.train",
        "--data",
        image_folder,
        "--image-size",
        "16",
        "--load-size",
        "16",
        "--base-filters",
        "4",
        "--depth",
        "2",
        "--init-from",
        weights / "auto.weights.npz",
        "--epochs",
        "0",
        "--run-dir",
        run,
        "--verbose",
        "0",
    )
    assert made.returncode == 0, made.stderr
    record = json.loads((run / "config.json").read_text())
    elsewhere = record["trained_elsewhere"]
    assert elsewhere["backend"] == "tensorflow" and elsewhere["batch_size"] == 8 and elsewhere["learning_rate"] == 1e-3
    assert elsewhere["precision"] == "float32" and elsewhere["auto"]["steps"] == report["auto"]["steps"]
    assert record["settings"]["epochs"] == 0  # The import's own settings stay what they were.

    import keras

    from colorkeras.models.registry import CUSTOM_OBJECTS

    network = keras.models.load_model(run / "model.keras", custom_objects=CUSTOM_OBJECTS, compile=False)
    assert all(
        np.array_equal(a, b) for a, b in zip(network.get_weights(), trained, strict=True)
    )  # The run holds those weights.


def _photos(side):
    from conftest import sample_photos
    from PIL import Image

    return np.stack(
        [np.asarray(Image.fromarray(photo).resize((side, side), Image.Resampling.BICUBIC)) for photo in sample_photos()]
    )


def test_batches_are_random_crops_of_the_stored_squares_drawn_the_same_for_the_same_key():
    from colorkeras.training import portable

    images, tables = _photos(48), portable.colour_tables()
    portable.set_source(4, rgb=images, tables=tables, crop=32)
    lightness, ab = portable.draw_batch((0, 1), hints=False)
    assert lightness.shape == (4, 32, 32, 1) and ab.shape == (4, 32, 32, 2)
    assert lightness.dtype == np.float32 and 0 <= lightness.min() and lightness.max() <= 1
    again, _ = portable.draw_batch((0, 1), hints=False)
    other, _ = portable.draw_batch((0, 2), hints=False)
    assert np.array_equal(lightness, again) and not np.array_equal(lightness, other)
    # Each crop is a window of a stored square, not the square shrunk whole: over
    # many draws the crops of one photograph differ from each other.
    portable.set_source(1, rgb=images[:1], tables=tables, crop=32)
    crops = {portable.draw_batch((0, key), hints=False)[0].tobytes() for key in range(12)}
    assert len(crops) > 6
    # A crop as large as the stored square is the square itself (flipped or not).
    portable.set_source(1, rgb=images[:1], tables=tables, crop=48)
    whole, _ = portable.draw_batch((0, 3), hints=False)
    expected, _ = portable.to_lightness_ab(images[:1], tables)
    assert np.array_equal(whole, expected) or np.array_equal(whole, expected[:, :, ::-1])


def test_region_hints_recolour_a_region_and_put_the_first_hint_inside_it():
    from colorkeras.training import portable

    images, tables = _photos(64), portable.colour_tables()
    portable.set_source(6, rgb=images, tables=tables, crop=64, region_share=0.0)
    (lightness, plain, points, _), target = portable.draw_batch((5, 0), hints=True)
    assert np.array_equal(plain, target) and points.shape == (6, 32, 2)
    portable.set_source(6, rgb=images, tables=tables, crop=64, region_share=1.0)
    (same_lightness, recoloured, moved, _), target = portable.draw_batch((5, 0), hints=True)
    assert np.array_equal(lightness, same_lightness) and np.array_equal(recoloured, target)
    changed = np.abs(recoloured - plain).max(axis=-1) > 1.0  # [B, H, W]: where the colour was moved
    samples = [index for index in range(6) if changed[index].any()]
    assert samples, "no sample had a region recoloured"
    for index in samples:
        y, x = moved[index, 0]
        assert changed[index, y, x]  # The first hint sits in the recoloured region.
        assert 0.01 < changed[index].mean() < 0.5  # One region, not the whole crop.


def test_a_segmented_pack_recolours_one_of_its_segments_and_segments_as_the_crops_would():
    from colorkeras.data import regions
    from colorkeras.training import portable

    images, tables = _photos(64), portable.colour_tables()
    labels = portable.segment_pack(images)
    assert labels.shape == (len(images), 64, 64) and labels.dtype == np.uint8
    assert np.array_equal(labels[2], regions.segment_labels(images[2]))  # Felzenszwalb's, as the crops were segmented.
    # A crop the size of the square: each sample is its photograph (the batch is all of them, in order), flipped or not.
    portable.set_source(len(images), rgb=images, tables=tables, crop=64, region_share=0.0, labels=labels)
    (_, plain, _, _), _ = portable.draw_batch((7, 0), hints=True)
    portable.set_source(len(images), rgb=images, tables=tables, crop=64, region_share=1.0, labels=labels)
    (_, recoloured, moved, _), _ = portable.draw_batch((7, 0), hints=True)
    changed = np.abs(recoloured - plain).max(axis=-1) > 1e-3
    samples = [index for index in range(len(images)) if changed[index].any()]
    assert len(samples) >= 3, "too few samples had a region recoloured"
    for index in samples:
        y, x = moved[index, 0]
        assert changed[index, y, x]
        # The recoloured pixels are exactly one segment of the pack's label map.
        segments = [labels[index] == label for label in np.unique(labels[index])]
        assert any(
            np.array_equal(changed[index], mask) or np.array_equal(changed[index], mask[:, ::-1]) for mask in segments
        )


def test_label_maps_are_cropped_with_their_images():
    from colorkeras.training import portable

    # Squares whose every pixel shows its own label (blocks 16 high, 12 wide, so a
    # transposed or shifted crop of the labels would not match its image).
    ys, xs = np.mgrid[0:96, 0:96]
    labels = np.stack([(ys // 16) * 10 + (xs // 12) + 7 * index for index in range(3)]).astype(np.uint8)
    images = np.repeat(labels[..., None], 3, axis=-1)
    crops, label_crops = portable._random_crops(np.random.default_rng(3), images, 64, labels)
    assert crops.shape == (3, 64, 64, 3) and label_crops.shape == (3, 64, 64)
    # The images are box-resized, the labels taken nearest: they differ only near block edges.
    assert (crops[..., 0] == label_crops).mean() > 0.75
    assert portable._random_crops(np.random.default_rng(3), images, 64)[1] is None


def test_the_portable_trainer_and_the_mobilenet_layers_need_no_tensorflow():
    import ast
    import subprocess
    import sys
    from pathlib import Path

    blocked = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'tensorflow':\n"
        "            raise ImportError('tensorflow imported by ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import colorkeras.portable_train, colorkeras.training.portable, colorkeras.data.regions\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked], check=False, capture_output=True, text=True, cwd=Path(__file__).parents[1]
    )
    assert done.returncode == 0, done.stderr
    # The layers the networks' JSON names: importable where Keras runs on JAX alone
    # (Keras itself imports TensorFlow under this test's backend, so read the imports).
    source = Path(__file__).parents[1] / "colorkeras" / "models" / "mobilenet_layers.py"
    imported = {
        alias.name
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module for node in ast.walk(ast.parse(source.read_text())) if isinstance(node, ast.ImportFrom)}
    assert imported == {"keras"}


@pytest.mark.parametrize("args", [("--crop", "0"), ("--crop", "40")])
def test_pack_refuses_a_crop_outside_the_stored_size(tmp_path, args):
    done = run_cli(
        "colorkeras.portable_train", "pack", "--data", tmp_path, "--out", tmp_path / "pack", "--size", "32", *args
    )
    assert done.returncode == 2 and "--crop must be between 1 and --size (32)" in done.stderr
    assert not (tmp_path / "pack").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--region-share", "1.5"), "--region-share must be between 0 and 1"),
        (("--workers", "-1"), "--workers must be 0 or more"),
        ((), "data.npz not found; write a pack"),
        (("--init-hints", "missing.weights.npz"), "--init-hints missing.weights.npz: no such weights file"),
    ],
)
def test_fit_refuses_bad_flags_and_missing_files_in_one_line(tmp_path, args, message):
    if "data.npz" not in message:
        np.savez(tmp_path / "data.npz", jpeg=np.zeros(1, np.uint8))
    done = run_cli("colorkeras.portable_train", "fit", tmp_path, "--out", tmp_path / "w", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "w").exists()


@pytest.mark.slow
def test_a_cropped_webp_pack_trains_the_hint_network_with_region_hints_in_worker_processes(tmp_path, image_folder):
    pack, first, second = tmp_path / "pack", tmp_path / "first", tmp_path / "second"
    packed = run_cli(
        "colorkeras.portable_train",
        "pack",
        "--data",
        image_folder,
        "--out",
        pack,
        "--size",
        "24",
        "--crop",
        "16",
        "--format",
        "webp",
        "--base-filters",
        "4",
        "--depth",
        "2",
    )
    assert packed.returncode == 0, packed.stderr
    settings = json.loads((pack / "pack.json").read_text())
    assert settings["size"] == 24 and settings["crop"] == 16 and settings["format"] == "WEBP"
    fitted = run_cli(
        "colorkeras.portable_train",
        "fit",
        pack,
        "--out",
        first,
        "--seconds",
        "2",
        "--hint-seconds",
        "2",
        "--batch-size",
        "4",
        "--region-share",
        "1",
        "--workers",
        "2",
        "--precision",
        "float32",
    )
    assert fitted.returncode == 0, fitted.stderr
    report = json.loads((first / "report.json").read_text())
    assert report["crop"] == 16 and report["load_size"] == 24 and report["region_share"] == 1
    assert report["auto"]["steps"] >= 1 and report["hints"]["steps"] >= 1
    assert report["regions"] == "segmented once per pack square" and 0 <= report["hints"]["batch_wait_share"] <= 1.5
    # The hint network goes on from its own weights, not from the automatic network's.
    again = run_cli(
        "colorkeras.portable_train",
        "fit",
        pack,
        "--out",
        second,
        "--seconds",
        "0",
        "--hint-seconds",
        "1",
        "--batch-size",
        "4",
        "--learning-rate",
        "1e-9",
        "--init-hints",
        first / "hints.weights.npz",
        "--precision",
        "float32",
    )
    assert again.returncode == 0, again.stderr
    assert json.loads((second / "report.json").read_text())["init_hints"] == "hints.weights.npz"
    before = [np.asarray(w) for w in np.load(first / "hints.weights.npz").values()]
    after = [np.asarray(w) for w in np.load(second / "hints.weights.npz").values()]
    # A learning rate of 1e-9 moves no kernel (batch normalisation's moving statistics still move).
    kernels = [(a, b) for a, b in zip(before, after, strict=False) if a.ndim == 4]
    assert kernels and max(float(np.abs(a - b).max()) for a, b in kernels) < 1e-6


def test_pack_keeps_an_existing_pack_and_stops_cleanly_on_a_missing_dataset(tmp_path):
    existing = tmp_path / "pack"
    existing.mkdir()
    (existing / "data.npz").write_bytes(b"the user's pack")
    done = run_cli("colorkeras.portable_train", "pack", "--data", tmp_path, "--out", existing)
    assert done.returncode == 2 and "already exists; choose another --out or pass --overwrite" in done.stderr
    assert (existing / "data.npz").read_bytes() == b"the user's pack"
    missing = run_cli("colorkeras.portable_train", "pack", "--data", tmp_path / "nowhere", "--out", tmp_path / "new")
    assert missing.returncode == 2 and "dataset not found" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "new").exists()


def test_fit_keeps_an_earlier_fits_weights_unless_told(tmp_path):
    np.savez(tmp_path / "data.npz", jpeg=np.zeros(1, np.uint8))
    out = tmp_path / "w"
    out.mkdir()
    (out / "report.json").write_text("{}")
    done = run_cli("colorkeras.portable_train", "fit", tmp_path, "--out", out)
    assert done.returncode == 2 and "report.json already exists (an earlier fit)" in done.stderr
    assert (out / "report.json").read_text() == "{}"


@pytest.mark.slow
def test_fit_refuses_start_weights_made_for_another_network_before_writing_anything(tmp_path, image_folder):
    import keras

    pack = tmp_path / "pack"
    packed = run_cli(
        "colorkeras.portable_train",
        "pack",
        "--data",
        image_folder,
        "--out",
        pack,
        "--size",
        "16",
        "--base-filters",
        "4",
        "--depth",
        "2",
    )
    assert packed.returncode == 0, packed.stderr
    weights = keras.models.model_from_json((pack / "hints.json").read_text()).get_weights()
    at = next(i for i, w in enumerate(weights) if w.ndim == 4 and w.shape[2] != w.shape[3])
    transposed = [
        *weights[:at],
        weights[at].transpose(0, 1, 3, 2),
        *weights[at + 1 :],
    ]  # Same count, one shape swapped.
    np.savez(tmp_path / "transposed.weights.npz", *transposed)
    np.savez(tmp_path / "short.weights.npz", *weights[:-1])
    np.savez(tmp_path / "right.weights.npz", *weights)
    for flag, file, also in (
        ("--init-hints", "transposed", ()),
        ("--init-hints", "short", ()),
        ("--init", "short", ("--seconds", "1")),
    ):
        out = tmp_path / f"w-{file}{flag}"
        done = run_cli(
            "colorkeras.portable_train",
            "fit",
            pack,
            "--out",
            out,
            "--hint-seconds",
            "1",
            "--seconds",
            "0",
            *also,
            f"{flag}",
            tmp_path / f"{file}.weights.npz",
            "--batch-size",
            "4",
            "--precision",
            "float32",
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert f"{flag} {tmp_path / file}.weights.npz does not fit the pack's" in done.stderr
        assert not out.exists()
    # The hint network's own shapes are taken, and it trains from them.
    fine = run_cli(
        "colorkeras.portable_train",
        "fit",
        pack,
        "--out",
        tmp_path / "w-right",
        "--seconds",
        "0",
        "--hint-seconds",
        "1",
        "--init-hints",
        tmp_path / "right.weights.npz",
        "--batch-size",
        "4",
        "--precision",
        "float32",
    )
    assert fine.returncode == 0, fine.stderr
    assert json.loads((tmp_path / "w-right" / "report.json").read_text())["hints"]["steps"] >= 1
