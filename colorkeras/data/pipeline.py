"""Data: CIFAR-10 and image folders as tf.data pipelines of (gray input, colour target).

Sources (``--data``):

- ``cifar10``: the official CIFAR-10 through ``keras.datasets.cifar10`` when online,
  else a local copy found at ``$COLORKERAS_CIFAR10`` or under ``~/.keras/datasets``.
- a path to ``cifar-10-python.tar.gz``, to its extracted ``cifar-10-batches-py/``,
  or to any folder of images (PNG, JPEG, WebP, BMP, TIFF, found recursively; its
  ``train/`` and ``test/`` subfolders are used where present, else a deterministic
  80:20 split).

Images are decoded once into memory as uint8 ``[n, load_size, load_size, 3]``
(short side resized to ``load_size``, centre crop). The training pipeline crops a
random square (side between ``image_size`` and ``load_size``), resizes it to
``image_size`` and flips it; the evaluation pipelines take the centre.

Each element is ``(lightness, target)``: lightness float32 ``[h, w, 1]`` = L / 100
in [0, 1]; target float32 a/b ``[h, w, 2]`` in Lab units for the U-Net, or sRGB
``[h, w, 3]`` in [0, 1] for the plain CNN.
"""

import hashlib
import io
import os
import pickle
import tarfile
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps

from colorkeras.core import hints as hints_lib
from colorkeras.core.config import architecture as architecture_of
from colorkeras.core.images import IMAGE_EXTENSIONS, LUMA_WEIGHTS, ImageError, find_images, to_uint8_rgb
from colorkeras.data import degrade, regions
from colorkeras.models import color

CIFAR10_ENV = "COLORKERAS_CIFAR10"
FOLDER_TEST_FRACTION = 0.2  # The 80:20 split of the original report.


class DatasetError(Exception):
    """A dataset is missing, empty or unreadable; the message says which and how to fix it."""


@dataclass
class Splits:
    """uint8 RGB arrays ``[n, size, size, 3]`` for each split, and where they came from."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    source: str
    skipped: int = 0


# === Finding and decoding files ===


def load_square(path, size):
    """Decodes one file to uint8 RGB ``[size, size, 3]`` (short side resized, centre crop).

    Decoding goes through the colorize path's own converter, so training sees
    16-bit, palette, CMYK and EXIF-rotated files exactly as colorizing does.
    Raises ``ImageError`` for a file that is not a readable image.
    """
    with Image.open(path) as image:
        image.draft("RGB", (size, size))  # Lets JPEG decode at a reduced scale.
        rgb, _ = to_uint8_rgb(image)
    fitted = ImageOps.fit(Image.fromarray(rgb), (size, size), method=Image.Resampling.BICUBIC)
    return np.asarray(fitted, dtype=np.uint8)


def _try_load(path, size):
    try:
        return load_square(path, size)
    except (ImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None


def load_images(paths, size, label):
    """Decodes ``paths`` in parallel; unreadable files are skipped and counted.

    Returns (uint8 array ``[n, size, size, 3]``, number skipped).
    """
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        decoded = list(pool.map(lambda path: _try_load(path, size), paths))
    good = [image for image in decoded if image is not None]
    skipped = len(decoded) - len(good)
    if not good:
        raise DatasetError(f"no readable images in {label} ({len(paths)} files tried)")
    return np.stack(good), skipped


# === CIFAR-10 ===


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10 batches and nothing else.

    The official files hold dicts, lists, bytes and numpy arrays; any other class
    in a file handed to us is refused, so a crafted "batch" cannot run code.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise DatasetError(f"refusing to load {module}.{name} from a CIFAR-10 batch file")
        return super().find_class(module, name)


def _unpickle_batch(payload):
    try:
        return _CifarUnpickler(io.BytesIO(payload), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise DatasetError(f"not a CIFAR-10 batch file ({error})") from None


def _read_cifar_batches(read_member):
    """CIFAR-10 python batches -> (train, test) uint8 [n, 32, 32, 3]."""

    def batch(name):
        entry = _unpickle_batch(read_member(name))
        return np.asarray(entry[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)

    train = np.concatenate([batch(f"data_batch_{index}") for index in range(1, 6)])
    return train, batch("test_batch")


def load_cifar10_batches(path):
    """Reads the official ``cifar-10-python.tar.gz`` or its extracted folder."""
    path = Path(path)
    if path.is_dir():
        return _read_cifar_batches(lambda name: (path / name).read_bytes())
    with tarfile.open(path, "r:gz") as archive:
        return _read_cifar_batches(lambda name: archive.extractfile(f"cifar-10-batches-py/{name}").read())


def is_cifar_batches(path):
    path = Path(path)
    return (path.is_dir() and (path / "data_batch_1").is_file()) or path.name.endswith("cifar-10-python.tar.gz")


def find_local_cifar10():
    """A local CIFAR-10 copy, or None: ``$COLORKERAS_CIFAR10``, then Keras's cache."""
    candidates = []
    if os.environ.get(CIFAR10_ENV):
        candidates.append(Path(os.environ[CIFAR10_ENV]))
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    candidates += [keras_home / "cifar-10-batches-py", keras_home / "cifar-10-python.tar.gz"]
    return next((path for path in candidates if path.exists()), None)


def load_cifar10_official():
    """The official download through Keras -> (train, test); raises ``DatasetError`` saying why not."""

    try:
        (train, _), (test, _) = keras.datasets.cifar10.load_data()
    except Exception as error:  # Keras raises many kinds: URL, HTTP, archive, disk errors.
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        raise DatasetError(
            f"CIFAR-10 could not be downloaded ({type(error).__name__}{': ' + reason if reason else ''}) "
            "and no local copy was found. Point --data at a local copy: the official "
            "cifar-10-python.tar.gz, its extracted cifar-10-batches-py/ folder, or an image folder "
            f"with train/ and test/ subfolders (or set {CIFAR10_ENV} to one of these)."
        ) from None
    return train, test


# === Building the splits ===


def validation_indices(total, fraction, seed):
    """Which of ``total`` training items are held out: (kept indices, held-out indices)."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation fraction must be in [0, 1), received {fraction}")
    order = np.random.default_rng(seed).permutation(total)
    count = int(round(total * fraction))
    if fraction > 0 and count == 0 and total > 1:
        count = 1
    return order[count:], order[:count]


def split_validation(images, fraction, seed):
    """Holds ``fraction`` of ``images`` out, chosen by ``seed``; returns (train, validation)."""
    kept, held_out = validation_indices(len(images), fraction, seed)
    return images[kept], images[held_out]


def validation_files(folder, fraction, seed):
    """The training files that training holds out for val_loss, at their own resolution.

    Training holds out ``fraction`` of the decoded training images with ``seed``; when
    every training file decodes (a run's ``config.json`` counts the skipped ones),
    these are exactly the files behind that validation split.
    """
    paths = folder_split_paths(folder)[0]
    return [paths[index] for index in sorted(validation_indices(len(paths), fraction, seed)[1])]


def split_files(paths):
    """Deterministic 80:20 split of a flat folder, by a hash of each relative name."""

    is_test = [zlib.crc32(path.name.encode()) % 100 < FOLDER_TEST_FRACTION * 100 for path in paths]
    if all(is_test) or not any(is_test):  # Tiny folders: fall back to every fifth file.
        is_test = [index % 5 == 0 for index in range(len(paths))]
    # One pass, so 100,000 files split in well under a second.
    train = [path for path, test in zip(paths, is_test, strict=False) if not test]
    test = [path for path, test in zip(paths, is_test, strict=False) if test]
    return train, test


def _has_split_subfolders(folder):
    return (folder / "train").is_dir() and (folder / "test").is_dir()


def folder_split_paths(folder):
    """(train files, test files) of an image folder, the one place that decides them.

    ``train/`` and ``test/`` subfolders where both exist, else the fixed 80:20 split
    of ``split_files`` (nothing for a folder of fewer than 2 images).
    """
    folder = Path(folder)
    if _has_split_subfolders(folder):
        return find_images(folder / "train"), find_images(folder / "test")
    paths = find_images(folder)
    return split_files(paths) if len(paths) > 1 else ([], [])


def load_folder(folder, load_size):
    """An image folder -> (train, test, skipped), uint8 squares of ``load_size``."""
    folder = Path(folder)
    train_paths, test_paths = folder_split_paths(folder)
    if _has_split_subfolders(folder):
        if not train_paths:
            raise DatasetError(f"no images found in {folder / 'train'}")
        if not test_paths:
            raise DatasetError(f"no images found in {folder / 'test'}")
    elif not train_paths:  # The 80:20 split leaves both sides non-empty from 2 images up.
        raise DatasetError(
            f"{folder} holds {len(find_images(folder))} image(s); at least 2 are needed "
            f"(extensions: {', '.join(IMAGE_EXTENSIONS)})"
        )
    train, skipped_train = load_images(train_paths, load_size, f"{folder} (train)")
    test, skipped_test = load_images(test_paths, load_size, f"{folder} (test)")
    skipped = skipped_train + skipped_test
    if skipped:
        warnings.warn(f"skipped {skipped} unreadable file(s) in {folder}", stacklevel=2)
    return train, test, skipped


def _resize_square(images, size):
    if images.shape[1] == size and images.shape[2] == size:
        return images
    resized = tf.image.resize(images, (size, size), method="area", antialias=True)
    return np.clip(np.rint(resized.numpy()), 0, 255).astype(np.uint8)


def load_splits(data, load_size=32, validation_fraction=0.1, seed=0):
    """Resolves ``data`` into train, validation and test arrays.

    ``data`` is ``"cifar10"``, a path, or a list of these: several sources are
    loaded at ``load_size`` and joined, each holding out its own validation share
    (so ``validation_files`` still names a folder's held-out files).
    """
    sources = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    if not sources:
        raise DatasetError("no data given; name at least one dataset")
    if len(sources) == 1:
        return _load_one(str(sources[0]), load_size, validation_fraction, seed)
    parts = [_load_one(str(source), load_size, validation_fraction, seed) for source in sources]
    return Splits(
        train=np.concatenate([part.train for part in parts]),
        validation=np.concatenate([part.validation for part in parts]),
        test=np.concatenate([part.test for part in parts]),
        source=" + ".join(part.source for part in parts),
        skipped=sum(part.skipped for part in parts),
    )


def _load_one(data, load_size, validation_fraction, seed):
    """One source (``"cifar10"`` or a path) -> Splits."""
    if data == "cifar10":
        local = find_local_cifar10()
        if local is not None:
            return _load_one(str(local), load_size, validation_fraction, seed)
        train, test = load_cifar10_official()
        source, skipped = "cifar10 (keras.datasets download)", 0
    else:
        path = Path(data).expanduser()
        if not path.exists():
            raise DatasetError(f"dataset not found: {path}")
        if is_cifar_batches(path):
            train, test = load_cifar10_batches(path)
            source, skipped = f"cifar10 batches at {path.resolve()}", 0
        elif path.is_dir():
            train, test, skipped = load_folder(path, load_size)
            source = f"image folder {path.resolve()}"
        else:
            raise DatasetError(f"{path} is neither an image folder nor a CIFAR-10 archive (cifar-10-python.tar.gz)")
    train, test = _resize_square(train, load_size), _resize_square(test, load_size)
    train, validation = split_validation(train, validation_fraction, seed)
    return Splits(train=train, validation=validation, test=test, source=source, skipped=skipped)


# === Describing a dataset ===


def describe(data, split=None):
    """What ``--data`` names, as a descriptor stored in config.json and evaluation reports.

    Returns a dict: ``kind`` ("image-folder", "cifar10", "cifar10-batches",
    "skimage" or "several"), ``name`` (short: the folder's name), ``path`` (resolved,
    where there is one), ``split`` (when scored) and ``fingerprint`` (a hash of the
    files' relative names and sizes, so two machines' copies of one data set match
    while their paths differ). Several sources give ``parts``. The Metrics page
    groups by name and fingerprint, not by one machine's absolute path.
    """

    if not isinstance(data, (str, os.PathLike)):
        parts = [describe(source) for source in data]
        if len(parts) == 1:
            parts[0]["split"] = split
            return parts[0]
        digest = hashlib.sha1("|".join(part["fingerprint"] for part in parts).encode()).hexdigest()[:16]
        return {
            "kind": "several",
            "name": " + ".join(part["name"] for part in parts),
            "parts": parts,
            "split": split,
            "fingerprint": digest,
        }
    data = str(data)
    if data == "skimage":
        return {"kind": "skimage", "name": "scikit-image", "path": None, "split": split, "fingerprint": "skimage"}
    if data == "cifar10":
        local = find_local_cifar10()
        if local is None:
            return {"kind": "cifar10", "name": "cifar10", "path": None, "split": split, "fingerprint": "cifar10"}
        data = str(local)
    path = Path(data).expanduser().resolve()
    if is_cifar_batches(path):
        # The official CIFAR-10 files: the same data set whatever the copy is called.
        return {
            "kind": "cifar10-batches",
            "name": "cifar10",
            "path": str(path),
            "split": split,
            "fingerprint": "cifar10",
        }
    digest = hashlib.sha1()
    for file in find_images(path) if path.is_dir() else []:
        digest.update(f"{file.relative_to(path).as_posix()}:{file.stat().st_size}\n".encode())
    return {
        "kind": "image-folder",
        "name": path.name,
        "path": str(path),
        "split": split,
        "fingerprint": digest.hexdigest()[:16],
    }


# === tf.data pipelines ===


def luma_lightness(rgb_uint8):
    """uint8 RGB ``[..., 3]`` -> L float32 ``[..., 1]`` in [0, 100] of its BT.601 luma gray.

    This is the lightness the network sees in use: users hand it gray scans (and
    the evaluator hands it the luma gray copy), whose L differs from the colour
    image's own CIELAB L for saturated colours (pure red: 53 against 32). Training
    on the gray copy's L removes that mismatch between training and use.
    """
    return color.gray_to_lightness(luma_gray(rgb_uint8) / 255.0)


def luma_gray(rgb_uint8):
    """uint8 RGB ``[..., 3]`` -> its BT.601 luma gray copy, float32 ``[..., 1]`` of whole values in [0, 255]."""
    rgb = tf.cast(rgb_uint8, tf.float32)
    luma = tf.round(tf.tensordot(rgb, tf.constant(LUMA_WEIGHTS, tf.float32), axes=1))[..., None]
    return tf.clip_by_value(luma, 0.0, 255.0)


def to_example(rgb_uint8, architecture, gray=None):
    """uint8 RGB ``[..., h, w, 3]`` -> (L / 100 of the luma gray copy, target), built in the pipeline.

    ``gray`` (``[..., h, w, 1]``, 0-255) replaces the gray copy as the input: an
    archive-like one from ``degrade``, while the target stays the clean colours.
    """
    rgb = tf.cast(rgb_uint8, tf.float32) / 255.0
    if gray is None:
        lightness = luma_lightness(rgb_uint8) / color.L_SCALE
    else:
        lightness = color.gray_to_lightness(tf.cast(gray, tf.float32) / 255.0) / color.L_SCALE
    target = color.rgb_to_lab(rgb)[..., 1:] if architecture_of(architecture).chroma else rgb
    return lightness, target


def _random_crop(image, image_size, seed_stream):
    load_size = tf.shape(image)[0]
    side = tf.random.uniform((), image_size, load_size + 1, dtype=tf.int32, seed=seed_stream)
    crop = tf.image.random_crop(image, tf.stack([side, side, 3]), seed=seed_stream)
    crop = tf.image.resize(crop, (image_size, image_size), method="area", antialias=True)
    return tf.image.random_flip_left_right(crop, seed=seed_stream)


def _maybe_archive_gray(image, share, seed):
    """(image, its gray copy), the gray copy given archive defects for ``share`` of the images."""
    gray = tf.cast(luma_gray(image), tf.uint8)
    image_seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int64, seed=seed)
    degraded = tf.random.uniform((), seed=seed) < share
    gray = tf.cond(degraded, lambda: degrade.archive_gray(gray, image_seed), lambda: gray)
    return image, gray


def make_dataset(
    images,
    image_size,
    batch_size,
    architecture,
    training,
    seed=0,
    drop_remainder=False,
    hints=False,
    degrade_share=0.0,
    region_share=0.0,
):
    """uint8 images -> batched (lightness, target) tf.data pipeline.

    With ``degrade_share`` (training only), that share of the inputs are gray copies
    with archive-scan defects (``degrade.archive_gray``); targets stay clean.

    With ``hints``, each batch is ``((lightness, ab, points, radii), ab)``: hint
    places drawn by ``hints.sample_points`` (seeded), for ``portable_train.hint_trainer``,
    which paints their true colours in the graph; ``region_share`` of the samples
    have one region recoloured with a hint inside it (``with_simulated_hints``).

    Training pipelines crop randomly, flip and shuffle; the others take the centre,
    in order, so that every evaluation sees the same pixels. ``drop_remainder``
    keeps every batch full, which distributed training needs to split batches
    evenly across replicas.
    """
    if len(images) == 0:
        raise DatasetError("a split is empty; add images or lower the validation fraction")
    dataset = tf.data.Dataset.from_tensor_slices(images).cache()
    if training:
        dataset = dataset.shuffle(min(len(images), 20_000), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.map(lambda image: _random_crop(image, image_size, seed), num_parallel_calls=tf.data.AUTOTUNE)
    elif images.shape[1] != image_size:
        offset = (images.shape[1] - image_size) // 2
        dataset = dataset.map(
            lambda image: tf.image.crop_to_bounding_box(image, offset, offset, image_size, image_size),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if training and degrade_share > 0:
        dataset = dataset.map(
            lambda image: _maybe_archive_gray(image, degrade_share, seed), num_parallel_calls=tf.data.AUTOTUNE
        )
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        dataset = dataset.map(
            lambda batch, gray: to_example(batch, architecture, gray), num_parallel_calls=tf.data.AUTOTUNE
        )
    else:
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
        dataset = dataset.map(lambda batch: to_example(batch, architecture), num_parallel_calls=tf.data.AUTOTUNE)
    if hints:
        dataset = with_simulated_hints(dataset, image_size, seed, region_share)
    return dataset.prefetch(tf.data.AUTOTUNE)


def with_simulated_hints(dataset, image_size, seed, region_share=0.0):
    """(L, ab) batches -> ((L, ab, points, radii), ab), places drawn per batch.

    With ``region_share``, that share of the samples has one edge-bounded region of
    its target recoloured and its first hint inside it (``regions.recolour_regions``);
    the recoloured a/b is both what the hints are painted from and the target.
    """

    rng = np.random.default_rng(seed)
    k = hints_lib.TRAIN_MAX_POINTS

    def draw(lightness, ab):
        points, radii = hints_lib.sample_points(rng, len(lightness), image_size, image_size, pad_to=k)
        if region_share > 0:
            ab, points, radii = regions.recolour_regions(rng, lightness, ab, points, radii, region_share)
        return np.asarray(ab, np.float32), points, radii

    def attach(lightness, ab):
        ab, points, radii = tf.numpy_function(draw, [lightness, ab], [tf.float32, tf.int32, tf.int32], stateful=True)
        ab.set_shape([None, image_size, image_size, 2])
        points.set_shape([None, k, 2])
        radii.set_shape([None, k])
        return (lightness, ab, points, radii), ab

    return dataset.map(attach)
