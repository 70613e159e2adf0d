"""Diverse colour photographs to train on, built reproducibly from pinned public git snapshots (issue 48).

``build_training_folder`` reads the photographs of the ``PINNED`` training sources
(Caltech-101, ImageNet samples) straight out of their git objects (``git ls-tree``
and ``git cat-file --batch`` at a pinned commit: no work tree, nothing downloaded),
keeps the colour photographs, shrinks each to a short side of 160 px and writes
them as JPEG into ``OUT/train`` and ``OUT/test``, with ``OUT/SOURCES.md`` saying
where each came from, under what licence, and how many were kept and dropped.
The same snapshots give the same files.

``build_class_folder`` copies the recognition validation photographs (one per
ImageNet class, ``EliSchwartz/imagenet-sample-images``) byte for byte, with
``labels.txt``: these are never trained on, and the training folder leaves out
any photograph identical or nearly identical to one of them.

Both write into ``OUT.partial`` and rename it to ``OUT`` only when complete; an
error or Ctrl-C removes the partial folder.
"""

import io
import re
import shutil
import subprocess
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps

# === Settings ===
SHORT_SIDE = 160  # Short side of every written photograph, in pixels (never enlarged).
MIN_SHORT_SIDE = 128  # Photographs whose short side is below this are dropped.
GRAY_THUMBNAIL = 64  # Long side of the thumbnail the colourfulness is measured on.
GRAY_SPREAD = 6.0  # Mean over pixels of max(R, G, B) - min(R, G, B), 0-255, below which a photo counts as gray.
JPEG_QUALITY = 92
TEST_SHARE = 10  # A photograph goes to test/ when zlib.crc32(its file name) % TEST_SHARE == 0.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# Near-duplicate test against the validation photographs: a difference hash of
# HASH_SIDE x HASH_SIDE bits, equal within HASH_DISTANCE bits.
HASH_SIDE = 16
HASH_DISTANCE = 16  # Measured: the one copy in these snapshots is at 0, the nearest unrelated pair at 32.
# Caltech-101 classes that are drawings or not photographs (BACKGROUND_Google: web
# clutter; garfield, snoopy, yin_yang, brontosaurus, stegosaurus: cartoons, symbols,
# models and drawings) or a second copy of another class (Faces_easy: Faces, cropped).
DROPPED_CLASSES = frozenset(
    {"BACKGROUND_Google", "Faces_easy", "garfield", "snoopy", "yin_yang", "brontosaurus", "stegosaurus"}
)

TRAIN = "train"  # A source's photographs go into the training folder.
VALIDATION = "validation"  # The recognition validation set: the class folder; never in the training folder.

# Reasons a photograph is left out, in the order they are checked.
EXCLUDED_CLASS = "excluded class"
UNDECODABLE = "undecodable"
GRAY = "gray"
SMALL = "small"
VALIDATION_DUPLICATE = "validation duplicate"
REASONS = (EXCLUDED_CLASS, UNDECODABLE, GRAY, SMALL, VALIDATION_DUPLICATE)

CALTECH_TERMS = "CC BY 4.0 (Caltech-101: Fei-Fei Li, Marco Andreeto, Marc'Aurelio Ranzato, Pietro Perona)"
IMAGENET_TERMS = (
    "ImageNet photographs: copyright stays with their owners; use under ImageNet's terms of access "
    "(non-commercial research and education); the repository itself makes no copyright claim"
)


@dataclass(frozen=True)
class Source:
    """One pinned snapshot: ``repository`` ("owner/name" on GitHub) at ``commit`` (40 hex
    digits), the photographs under ``prefix`` ("" for the whole tree), their ``licence``,
    ``kind`` (``TRAIN`` or ``VALIDATION``) and the ``short_name`` that starts each written
    file name. ``expected`` (0: not checked) is how many photographs the snapshot must hold."""

    repository: str
    commit: str
    prefix: str
    licence: str
    kind: str
    short_name: str
    expected: int = 0

    @property
    def mirror_name(self) -> str:
        return self.repository.replace("/", "+")


# The snapshots the folders are built from: Source(repository, commit, prefix, licence, kind, short_name[, expected]).
# fmt: off
PINNED = (
    Source("MachineLearning2020/Homework2-Caltech101", "836044dd000296b2bb74d0aa4b4e462e459b01d7",
           "101_ObjectCategories/", CALTECH_TERMS, TRAIN, "caltech101"),
    Source("ajschumacher/imagen", "2e8718956e3bb046db9a8e488c2254fd9846b6c5",
           "imagen/", IMAGENET_TERMS, TRAIN, "imagen"),
    Source("VeriSilicon/acuity-dataset", "aded2e9f22cd8fe0745aa57356c68cb95457aad9",
           "ILSVRC2012_VAL_SET/data/", IMAGENET_TERMS, TRAIN, "ilsvrc2012val"),
    Source("EliSchwartz/imagenet-sample-images", "bc69043e2862758a1906c6a24a792bb28c6bb2ff",
           "", IMAGENET_TERMS, VALIDATION, "imagenet-sample", expected=1000),
)
# fmt: on


@dataclass
class SourceCounts:
    """What became of one source's photographs."""

    source: Source
    train: int = 0
    test: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> photographs
    other_files: int = 0  # Files under the prefix that are not images by name (README, BUILD, ...).

    @property
    def kept(self) -> int:
        return self.train + self.test


@dataclass
class TrainingSummary:
    out: Path
    counts: list[SourceCounts]
    seconds: float
    checked_against: list[Source] = field(default_factory=list)  # The validation sources left out of it.

    @property
    def train(self) -> int:
        return sum(each.train for each in self.counts)

    @property
    def test(self) -> int:
        return sum(each.test for each in self.counts)

    @property
    def dropped(self) -> Counter:
        return sum((each.dropped for each in self.counts), Counter())


@dataclass
class ClassSummary:
    out: Path
    source: Source
    files: int
    seconds: float


# === Snapshots ===


def find_snapshot(mirrors, source: Source) -> Path:
    """The git directory of ``source`` under ``mirrors`` (``<mirrors>/<owner>+<name>/repo/.git``
    or the bare-style ``<mirrors>/<owner>+<name>/repo``), checked to hold the pinned commit.
    Raises ValueError when either is missing."""
    base = Path(mirrors).expanduser() / source.mirror_name / "repo"
    for git_dir in (base / ".git", base):
        if (git_dir / "HEAD").is_file() and (git_dir / "objects").is_dir():
            break
    else:
        raise ValueError(f"no snapshot of {source.repository} in {base}; fetch github:{source.repository}")
    found = _git(git_dir, "cat-file", "-t", f"{source.commit}^{{commit}}", check=False)
    if found.returncode != 0:
        raise ValueError(
            f"{git_dir} lacks commit {source.commit} of {source.repository}; fetch github:{source.repository}"
        )
    return git_dir


def _git(git_dir, *arguments, check=True):
    try:
        done = subprocess.run(["git", "--git-dir", str(git_dir), *arguments], capture_output=True)
    except FileNotFoundError:
        raise ValueError("git is not installed (it reads the snapshots)") from None
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ValueError(f"git {arguments[0]} in {git_dir} failed: {message[-1] if message else done.returncode}")
    return done


def list_files(git_dir, source: Source) -> list[tuple[str, str]]:
    """(path, blob id) of every file under ``source.prefix`` at the pinned commit, sorted by path."""
    listing = _git(git_dir, "ls-tree", "-r", "-z", "--full-tree", source.commit, "--", source.prefix or ".").stdout
    files = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        _mode, kind, blob = meta.split()
        if kind == b"blob":
            files.append((path.decode("utf-8", "surrogateescape"), blob.decode()))
    return sorted(files)


def read_blobs(git_dir, blobs: Iterable[str]) -> Iterator[bytes | None]:
    """The bytes of each blob in turn (None where the snapshot lacks it), through one ``git cat-file --batch``."""
    try:
        process = subprocess.Popen(
            ["git", "--git-dir", str(git_dir), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
    except FileNotFoundError:
        raise ValueError("git is not installed (it reads the snapshots)") from None
    try:
        for blob in blobs:
            process.stdin.write(f"{blob}\n".encode())
            process.stdin.flush()
            header = process.stdout.readline().split()
            if len(header) == 2 and header[1] == b"missing":
                yield None
                continue
            if len(header) != 3:
                raise ValueError(f"git cat-file in {git_dir} answered {b' '.join(header)!r} for {blob}")
            data = process.stdout.read(int(header[2]) + 1)[:-1]
            yield data
    finally:
        process.stdin.close()
        process.stdout.close()
        process.kill()
        process.wait()


def is_image_name(path: str) -> bool:
    return path.lower().endswith(IMAGE_SUFFIXES)


# === Photographs ===


def decode(data: bytes | None) -> Image.Image | None:
    """An RGB image (sRGB where the file carries a colour profile, turned upright by its
    EXIF orientation), or None where Pillow cannot read ``data``."""
    if data is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as opened:
                image = ImageOps.exif_transpose(opened)
                image.load()
            return to_srgb(image)
    except Exception:  # Pillow raises many kinds on foreign bytes; every one means "cannot read this".
        return None


SRGB = ImageCms.createProfile("sRGB")


def to_srgb(image: Image.Image) -> Image.Image:
    """RGB, with the colours of an embedded ICC profile (Adobe RGB, a camera's) brought into sRGB."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(image, source, SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # A broken profile: take the numbers as sRGB.
    return image.convert("RGB")


def color_spread(image: Image.Image) -> float:
    """Mean over the pixels of a 64-px thumbnail of max(R, G, B) - min(R, G, B), in 0-255."""
    thumbnail = image.copy()
    thumbnail.thumbnail((GRAY_THUMBNAIL, GRAY_THUMBNAIL), Image.Resampling.BOX)
    pixels = np.asarray(thumbnail, dtype=np.int16)
    return float((pixels.max(axis=-1) - pixels.min(axis=-1)).mean())


def shrink(image: Image.Image, short_side: int = SHORT_SIDE) -> Image.Image:
    """``image`` with its short side ``short_side`` (Lanczos), or as it is where that is smaller."""
    width, height = image.size
    if min(width, height) <= short_side:
        return image
    if width <= height:
        size = (short_side, max(1, round(height * short_side / width)))
    else:
        size = (max(1, round(width * short_side / height)), short_side)
    return image.resize(size, Image.Resampling.LANCZOS)


def difference_hash(image: Image.Image) -> np.ndarray:
    """HASH_SIDE * HASH_SIDE bits: whether each pixel of a gray thumbnail is brighter than its
    right-hand neighbour. The whole picture, squeezed: a copy resized to another shape still matches."""
    gray = image.convert("L").resize((HASH_SIDE + 1, HASH_SIDE), Image.Resampling.BOX)
    pixels = np.asarray(gray, dtype=np.int16)
    return (pixels[:, 1:] > pixels[:, :-1]).ravel()


def safe_name(text: str) -> str:
    """``text`` with every character other than letters, digits, '.', '-' and '_' as '-'."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", text).strip(".") or "-"


def split_of(name: str) -> str:
    return "test" if zlib.crc32(name.encode("utf-8")) % TEST_SHARE == 0 else "train"


def output_name(source: Source, path: str) -> tuple[str, str]:
    """(class, file name) of the photograph at ``path``: ``<short name>_<class>_<stem>.jpg`` where
    the photograph sits in a class folder under the prefix (Caltech-101), else ``<short name>_<stem>.jpg``."""
    relative = Path(path[len(source.prefix) :])
    label = relative.parent.name if relative.parent != Path(".") else ""
    parts = [source.short_name, *([label] if label else []), relative.stem]
    return label, safe_name("_".join(parts)) + ".jpg"


class ValidationGuard:
    """The validation photographs' blob ids and difference hashes: a training photograph
    that matches one (the same bytes, or the same picture resized or recompressed) is left out."""

    def __init__(self):
        self.blobs: set[str] = set()
        self.hashes = np.zeros((0, HASH_SIDE * HASH_SIDE), dtype=bool)

    def add_source(self, git_dir, source: Source):
        files = [(path, blob) for path, blob in list_files(git_dir, source) if is_image_name(path)]
        self.blobs.update(blob for _, blob in files)
        hashes = [
            difference_hash(image)
            for image in map(decode, read_blobs(git_dir, [blob for _, blob in files]))
            if image is not None
        ]
        if hashes:
            self.hashes = np.concatenate([self.hashes, np.stack(hashes)])

    def matches(self, blob: str, image: Image.Image) -> bool:
        if blob in self.blobs:
            return True
        if not len(self.hashes):
            return False
        distances = (self.hashes != difference_hash(image)[None]).sum(axis=1)
        return bool(distances.min() <= HASH_DISTANCE)


# === Folders ===


class _Partial:
    """``OUT.partial``, renamed to ``OUT`` when the block ends normally and removed on
    any error or Ctrl-C. A ``.partial`` left by a killed earlier build is removed first."""

    def __init__(self, out: Path, overwrite: bool):
        self.out, self.overwrite = out, overwrite
        self.path = out.with_name(out.name + ".partial")

    def __enter__(self) -> Path:
        refuse_existing(self.out, self.overwrite)
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        return self.path

    def __exit__(self, kind, error, trace):
        if kind is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            return False
        try:
            old = self.out.with_name(self.out.name + ".old")
            if self.out.exists():  # --overwrite: the old folder goes only once the new one is whole.
                if old.exists():
                    shutil.rmtree(old)
                self.out.rename(old)
            self.path.rename(self.out)
            if old.exists():
                shutil.rmtree(old)
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise
        return False


def refuse_existing(out: Path, overwrite: bool):
    if out.exists() and not overwrite:
        raise ValueError(f"{out} already exists; choose another folder or pass --overwrite")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")


def build_training_folder(
    out,
    mirrors,
    overwrite: bool = False,
    sources: tuple[Source, ...] = PINNED,
    progress: Callable[[int, int], None] | None = None,
    command: str | None = None,
) -> TrainingSummary:
    """Writes the colour photographs of the ``TRAIN`` sources, each JPEG with a short side of
    ``SHORT_SIDE`` px, into ``out/train`` and ``out/test``, and ``out/SOURCES.md``.

    Left out, counted by reason: files in ``DROPPED_CLASSES`` folders, files Pillow cannot
    read, gray photographs (``color_spread`` below ``GRAY_SPREAD``), photographs with a short
    side under ``MIN_SHORT_SIDE`` and copies of a ``VALIDATION`` source's photographs.
    ``progress(done, total)`` is called after each photograph; ``command`` is the command line
    SOURCES.md gives for a rebuild. Raises ValueError (one line) for a missing snapshot or an
    existing ``out`` without ``overwrite``."""
    started = time.monotonic()
    out = Path(out).expanduser()
    refuse_existing(out, overwrite)
    training = [source for source in sources if source.kind == TRAIN]
    if not training:
        raise ValueError("no training sources given")
    git_dirs = {source: find_snapshot(mirrors, source) for source in sources}  # All checked before any work.
    listings = {source: list_files(git_dirs[source], source) for source in training}
    total = sum(is_image_name(path) for files in listings.values() for path, _ in files)
    done = 0
    counts = []
    with _Partial(out, overwrite) as partial:
        guard = ValidationGuard()
        for source in sources:
            if source.kind == VALIDATION:
                guard.add_source(git_dirs[source], source)
        for split in ("train", "test"):
            (partial / split).mkdir()
        for source in training:
            tally = SourceCounts(source)
            counts.append(tally)
            images = []
            for path, blob in listings[source]:
                if not is_image_name(path):
                    tally.other_files += 1
                elif output_name(source, path)[0] in DROPPED_CLASSES:
                    tally.dropped[EXCLUDED_CLASS] += 1
                    done += 1
                else:
                    images.append((path, blob))
            if progress and done:
                progress(done, total)
            for (path, blob), data in zip(images, read_blobs(git_dirs[source], [b for _, b in images]), strict=True):
                reason = _write_photo(partial, source, path, blob, data, guard, tally)
                if reason:
                    tally.dropped[reason] += 1
                done += 1
                if progress:
                    progress(done, total)
        seconds = time.monotonic() - started
        checked = [source for source in sources if source.kind == VALIDATION]
        summary = TrainingSummary(out, counts, seconds, checked)
        (partial / "SOURCES.md").write_text(
            training_sources_text(summary, command or f"python -m colorkeras.diverse {out}"), encoding="utf-8"
        )
    return summary


def _write_photo(partial, source, path, blob, data, guard, tally) -> str | None:
    """Writes one photograph into ``partial``; the reason it is left out, or None."""
    image = decode(data)
    if image is None:
        return UNDECODABLE
    if color_spread(image) < GRAY_SPREAD:
        return GRAY
    if min(image.size) < MIN_SHORT_SIDE:
        return SMALL
    if guard.matches(blob, image):
        return VALIDATION_DUPLICATE
    _, name = output_name(source, path)
    split = split_of(name)
    target = partial / split / name
    if target.exists():  # Two paths that differ only in characters safe_name replaces.
        target = target.with_name(f"{target.stem}-{blob[:8]}.jpg")
        split = target.parent.name
    buffer = io.BytesIO()
    shrink(image).save(buffer, "JPEG", quality=JPEG_QUALITY)
    target.write_bytes(buffer.getvalue())
    if split == "test":
        tally.test += 1
    else:
        tally.train += 1
    return None


def build_class_folder(
    out, mirrors, overwrite: bool = False, sources: tuple[Source, ...] = PINNED, command: str | None = None
) -> ClassSummary:
    """Copies the ``VALIDATION`` source's photographs byte for byte into ``out`` under their
    own names, with ``out/labels.txt`` ("<file name>\\t<classifier index>" per line, index = 1
    + the file's position in name order: the classifier's 0 is background, and the files
    sorted by name, "n01440764_tench.JPEG" first, are in ImageNet class order) and
    ``out/SOURCES.md``."""
    started = time.monotonic()
    out = Path(out).expanduser()
    refuse_existing(out, overwrite)
    chosen = [source for source in sources if source.kind == VALIDATION]
    if len(chosen) != 1:
        raise ValueError(f"one validation source is needed, received {len(chosen)}")
    source = chosen[0]
    git_dir = find_snapshot(mirrors, source)
    files = [(path, blob) for path, blob in list_files(git_dir, source) if is_image_name(path)]
    names = [Path(path).name for path, _ in files]
    files = [file for _, file in sorted(zip(names, files, strict=True))]
    names = sorted(names)
    if len(set(names)) != len(names):
        raise ValueError(f"{source.repository}: two photographs share a file name; the labels would be ambiguous")
    wnids = [name.split("_", 1)[0] for name in names]
    if any(not re.fullmatch(r"n\d{8}", wnid) for wnid in wnids) or len(set(wnids)) != len(wnids):
        raise ValueError(f"{source.repository}: file names are not one '<WordNet id>_<name>' per class")
    if source.expected and len(files) != source.expected:
        raise ValueError(f"{source.repository}: {len(files)} photographs, expected {source.expected}")
    with _Partial(out, overwrite) as partial:
        for name, data in zip(names, read_blobs(git_dir, [blob for _, blob in files]), strict=True):
            if data is None:
                raise ValueError(f"{git_dir} lacks the bytes of {name}; fetch github:{source.repository} again")
            (partial / name).write_bytes(data)
        (partial / "labels.txt").write_text(
            "".join(f"{name}\t{index}\n" for index, name in enumerate(names, start=1)), encoding="utf-8"
        )
        summary = ClassSummary(out, source, len(names), time.monotonic() - started)
        (partial / "SOURCES.md").write_text(
            class_sources_text(summary, command or f"python -m colorkeras.diverse {out} --classes"), encoding="utf-8"
        )
    return summary


# === SOURCES.md ===


def _source_lines(source: Source) -> list[str]:
    return [
        f"- repository: https://github.com/{source.repository}",
        f"- commit: `{source.commit}`",
        f"- path: `{source.prefix or '/'}`",
        f"- licence: {source.licence}",
    ]


def training_sources_text(summary: TrainingSummary, command: str) -> str:
    lines = [
        "# Diverse colour photographs for training (issue 48)",
        "",
        f"{summary.train:,} in train/, {summary.test:,} in test/. Rebuild, from the same snapshots, "
        "with the same files as a result:",
        "",
        f"    {command}",
        "",
        "Each source is read from its git objects at the commit below (a snapshot in "
        "`<mirrors>/<owner>+<name>/repo`, e.g. `git clone https://github.com/<owner>/<name> "
        "<mirrors>/<owner>+<name>/repo`).",
        f"Each photograph is decoded with Pillow {Image.__version__} and turned to sRGB (an embedded "
        "colour profile converted, EXIF orientation applied); left out, in this order: Caltech-101 classes "
        f"that are drawings or duplicates ({', '.join(sorted(DROPPED_CLASSES))}), files that cannot be decoded, "
        f"gray photographs (mean max(R,G,B) - min(R,G,B) below {GRAY_SPREAD:g} on a {GRAY_THUMBNAIL}-px "
        f"thumbnail), photographs with a short side under {MIN_SHORT_SIDE} px, and copies of the recognition "
        "validation photographs (the same bytes, or a difference hash within "
        f"{HASH_DISTANCE} of {HASH_SIDE * HASH_SIDE} bits). The rest are resized to a short side of "
        f"{SHORT_SIDE} px (Lanczos; never enlarged) and saved as JPEG quality {JPEG_QUALITY} as "
        "`<source>_<class>_<stem>.jpg` (`<source>_<stem>.jpg` without class folders); "
        f"test/ holds those whose name's CRC-32 is 0 modulo {TEST_SHARE}.",
        "",
    ]
    for tally in summary.counts:
        source = tally.source
        dropped = ", ".join(f"{reason} {tally.dropped[reason]:,}" for reason in REASONS if tally.dropped[reason])
        lines += [f"## {source.short_name}", "", *_source_lines(source)]
        lines += [
            f"- kept: {tally.kept:,} ({tally.train:,} train, {tally.test:,} test)",
            f"- dropped: {dropped or 'none'}",
        ]
        if tally.other_files:
            lines.append(f"- other files under the path (not images): {tally.other_files:,}")
        lines.append("")
    for source in summary.checked_against:
        lines += [
            f"## Left out: copies of {source.short_name} (the recognition validation photographs)",
            "",
            *_source_lines(source),
            "",
        ]
    return "\n".join(lines)


def class_sources_text(summary: ClassSummary, command: str) -> str:
    return "\n".join(
        [
            "# Recognition validation photographs: one per ImageNet class",
            "",
            f"{summary.files:,} photographs, copied byte for byte under their own names. Never train on them: "
            "the training folder leaves out any photograph identical or nearly identical to one of these. "
            "Rebuild with:",
            "",
            f"    {command}",
            "",
            "`labels.txt`: `<file name>\\t<classifier index>`, index = 1 + the file's position in name order "
            "(a 1001-class classifier's 0 is background; by name, the files are in ImageNet class order).",
            "",
            f"## {summary.source.short_name}",
            "",
            *_source_lines(summary.source),
            "",
        ]
    )
