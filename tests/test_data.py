import pickle
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from colorkeras.core.images import luma_gray
from colorkeras.data import pipeline as data_lib
from tests.conftest import write_crops


def make_cifar_batches(folder, per_batch=6):
    """Synthetic files in the official CIFAR-10 python format."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8), b"labels": [0] * per_batch}
        (folder / name).write_bytes(pickle.dumps(entry))
    return folder


def test_cifar_batches_folder_and_tarball(tmp_path):
    folder = make_cifar_batches(tmp_path / "cifar-10-batches-py")
    splits = data_lib.load_splits(str(folder), validation_fraction=0.1)
    assert splits.train.shape[1:] == (32, 32, 3) and splits.train.dtype == np.uint8
    assert len(splits.train) + len(splits.validation) == 30 and len(splits.test) == 6
    # The channel-first rows of the official format become height x width x RGB.
    raw = pickle.loads((folder / "test_batch").read_bytes())[b"data"][0]
    np.testing.assert_array_equal(splits.test[0][..., 0].ravel(), raw[:1024])
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    from_tar = data_lib.load_splits(str(archive))
    np.testing.assert_array_equal(from_tar.test, splits.test)


def test_cifar10_download_failure_names_the_real_error_and_how_to_point_at_a_copy(monkeypatch, tmp_path):
    import keras

    def refuse():
        raise PermissionError("[Errno 13] Permission denied: '/root/.keras/datasets'")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", refuse)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv(data_lib.CIFAR10_ENV, raising=False)
    with pytest.raises(data_lib.DatasetError) as caught:
        data_lib.load_splits("cifar10")
    message = str(caught.value)
    # The cause is said as it is (a disk permission here, not "no network?").
    assert "PermissionError: [Errno 13] Permission denied" in message and "no network" not in message
    assert "--data at a local copy" in message


def test_cifar10_keyword_finds_local_copy(monkeypatch, tmp_path):
    folder = make_cifar_batches(tmp_path / "copy")
    monkeypatch.setenv(data_lib.CIFAR10_ENV, str(folder))
    monkeypatch.setattr(data_lib, "load_cifar10_official", lambda: pytest.fail("must not download"))
    assert len(data_lib.load_splits("cifar10").test) == 6


def test_flat_folder_split_is_80_20_and_deterministic(tmp_path):
    folder = write_crops(tmp_path / "flat", 100)
    first = data_lib.split_files(data_lib.find_images(folder))
    second = data_lib.split_files(data_lib.find_images(folder))
    assert first == second
    assert 12 <= len(first[1]) <= 28 and len(first[0]) + len(first[1]) == 100
    assert not set(first[0]) & set(first[1])


def test_train_and_test_subfolders_are_used(tmp_path):
    write_crops(tmp_path / "ds" / "train" / "a", 12)
    write_crops(tmp_path / "ds" / "test" / "b", 5, seed=1)
    splits = data_lib.load_splits(str(tmp_path / "ds"), load_size=16, validation_fraction=0.25)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (9, 3, 5)
    assert splits.train.shape[1:] == (16, 16, 3)


def test_unreadable_files_are_skipped_and_counted_with_one_warning(tmp_path):
    folder = write_crops(tmp_path / "mixed", 10)
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.jpg").write_text("not an image")
    good = (folder / "crop_0000.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    with pytest.warns(UserWarning, match="skipped 3 unreadable") as caught:
        splits = data_lib.load_splits(str(folder), load_size=16)
    assert splits.skipped == 3 and len(caught) == 1
    assert len(splits.train) + len(splits.validation) + len(splits.test) == 10


@pytest.mark.parametrize("path", ["missing-folder", "empty"])
def test_missing_or_empty_dataset_names_the_path(tmp_path, path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(data_lib.DatasetError, match=str(tmp_path / path)):
        data_lib.load_splits(str(tmp_path / path))


@pytest.mark.parametrize("architecture, channels", [("unet", 2), ("plain-cnn", 3)])
def test_pipeline_builds_gray_input_and_colour_target(architecture, channels):
    images = np.random.default_rng(0).integers(0, 256, (10, 24, 24, 3), dtype=np.uint8)
    dataset = data_lib.make_dataset(images, 16, 4, architecture, training=True, seed=1)
    lightness, target = next(iter(dataset))
    assert lightness.shape == (4, 16, 16, 1) and target.shape == (4, 16, 16, channels)
    assert 0.0 <= float(tf.reduce_min(lightness)) and float(tf.reduce_max(lightness)) <= 1.0
    evaluation = data_lib.make_dataset(images, 16, 4, architecture, training=False)
    first = [batch[0].numpy() for batch in evaluation]
    second = [batch[0].numpy() for batch in evaluation]
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(second))
    assert sum(len(batch) for batch in first) == 10


def test_cifar_batches_cannot_run_code(tmp_path):
    import os

    folder = make_cifar_batches(tmp_path / "cifar-10-batches-py")

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(data_lib.DatasetError, match="refusing to load"):
        data_lib.load_splits(str(folder))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("layout", ["flat", "train-test"])
def test_validation_files_are_the_images_training_holds_out(tmp_path, layout):
    from PIL import Image

    if layout == "flat":
        folder = write_crops(tmp_path / "flat", 30, size=16)
    else:
        folder = tmp_path / "ds"
        write_crops(folder / "train" / "a", 20, size=16, seed=1)
        write_crops(folder / "test" / "a", 5, size=16, seed=2)
    splits = data_lib.load_splits(str(folder), load_size=16, validation_fraction=0.2, seed=3)
    files = data_lib.validation_files(folder, 0.2, 3)
    assert len(files) == len(splits.validation) > 0
    held_out = np.stack([np.asarray(Image.open(path).convert("RGB")) for path in files])

    # The same images, in any order: none of them is a training image.
    def as_set(images):
        return sorted(image.tobytes() for image in images)

    assert as_set(held_out) == as_set(splits.validation)
    assert not set(as_set(held_out)) & set(as_set(splits.train))


def test_split_of_100000_paths_is_linear_and_disjoint():
    import time
    from pathlib import Path

    paths = [Path(f"folder/image_{index:06d}.jpg") for index in range(100_000)]
    started = time.perf_counter()
    train, test = data_lib.split_files(paths)
    assert time.perf_counter() - started < 1.0
    assert len(train) + len(test) == len(paths) and not set(train) & set(test)
    assert 0.17 < len(test) / len(paths) < 0.23


def test_several_sources_are_joined_each_holding_out_its_own_validation(tmp_path):
    first = write_crops(tmp_path / "first", 20, seed=1)
    second = write_crops(tmp_path / "second", 30, seed=2)
    alone = [data_lib.load_splits(str(folder), load_size=16, validation_fraction=0.2) for folder in (first, second)]
    joined = data_lib.load_splits([str(first), str(second)], load_size=16, validation_fraction=0.2)
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(joined, split), np.concatenate([getattr(part, split) for part in alone]))
    assert " + " in joined.source


def test_training_lightness_is_that_of_the_luma_gray_copy_users_give():
    """Pure red: CIELAB L of the colour is 53, of its BT.601 gray copy 32; training uses the latter."""
    from colorkeras.models import color

    red = np.zeros((1, 4, 4, 3), np.uint8)
    red[..., 0] = 255
    lightness, _ = data_lib.to_example(red, "unet")
    assert abs(float(lightness[0, 0, 0, 0]) * color.L_SCALE - 32.6) < 0.5
    # Exactly what the exported graph computes from the gray copy a user would hand it.
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    served = color.uint8_to_lightness(luma_gray(images)[..., :1], gray=True).numpy()
    trained = data_lib.to_example(images, "unet")[0].numpy() * color.L_SCALE
    np.testing.assert_allclose(trained, served, atol=0.01)
