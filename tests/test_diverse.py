"""The diverse training folder and the class folder (issue 48), built from tiny git
repositories made here: what is kept and dropped, the split, the size, the labels,
and that nothing half-written is left behind. No network."""

import io
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorkeras.data import diverse

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

ROOT = Path(__file__).resolve().parents[1]
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
CLASS_FILES = ("n01440764_tench.JPEG", "n01443537_goldfish.JPEG", "n01484850_great_white_shark.JPEG")


def encode(pixels, format):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format)
    return buffer.getvalue()


def gradient(width, height, shift=0):
    """A colourful picture: red across, green down, blue fixed."""
    x, y = np.meshgrid(np.linspace(0, 255, width), np.linspace(0, 255, height))
    return np.stack([x, y, np.full_like(x, 40 + shift)], axis=-1).astype(np.uint8)


def blocks(seed, width=240, height=200):
    """A colourful picture of random blocks, one different picture per seed."""
    small = np.random.default_rng(seed).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.NEAREST))


def commit_repo(folder, files):
    """A git repository in ``folder`` holding ``files`` (path -> bytes), committed; its commit id."""
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    subprocess.run([*GIT, "init", "-q", str(folder)], check=True)
    subprocess.run([*GIT, "-C", str(folder), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(folder), "commit", "-q", "-m", "photos"], check=True)
    return subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def name_in_test_split():
    """A colour photograph's stem whose written name falls in test/ (CRC-32 % 10 == 0)."""
    index = 0
    while zlib.crc32(f"photos_birds_c{index}.jpg".encode()) % 10:
        index += 1
    return f"c{index}"


COLOUR_STEMS = ("a", "b", "c", "d", name_in_test_split())


@pytest.fixture
def mirrors(tmp_path):
    """A mirrors folder: owner+photos/repo/.git (training photographs) and the bare-style
    owner+classes/repo (validation photographs); the sources that point at them."""
    root = tmp_path / "mirrors"
    photos = {
        f"pics/birds/{stem}.png": encode(gradient(400, 300, shift=i), "PNG") for i, stem in enumerate(COLOUR_STEMS)
    }
    photos.update(
        {
            "pics/birds/upright.jpg": encode(gradient(150, 140), "JPEG"),  # Short side 140: kept, not enlarged.
            "pics/birds/gray.jpg": encode(np.repeat(gradient(300, 300)[..., :1], 3, axis=-1), "JPEG"),
            "pics/birds/small.png": encode(gradient(100, 80), "PNG"),
            "pics/garfield/cartoon.png": encode(gradient(200, 200), "PNG"),
            "pics/broken.jpg": b"not a JPEG at all",
            "pics/notes.txt": b"not a photograph",
            "pics/fish/tench-copy.jpg": encode(blocks(0, 360, 300), "JPEG"),  # The validation tench, resized.
            "outside/skipped.png": encode(gradient(300, 300), "PNG"),  # Not under the prefix.
        }
    )
    photos_commit = commit_repo(root / "owner+photos" / "repo", photos)
    classes = {name: encode(blocks(seed), "JPEG") for seed, name in enumerate(CLASS_FILES)}
    classes["README.md"] = b"# samples\n"
    work = tmp_path / "classes-work"
    classes_commit = commit_repo(work, classes)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(root / "owner+classes" / "repo")], check=True)
    sources = (
        diverse.Source("owner/photos", photos_commit, "pics/", "CC0 (test)", diverse.TRAIN, "photos"),
        diverse.Source("owner/classes", classes_commit, "", "CC0 (test)", diverse.VALIDATION, "samples", expected=3),
    )
    return root, sources, classes


def test_training_folder_keeps_colour_photographs_at_160_and_counts_the_rest(mirrors, tmp_path):
    root, sources, _ = mirrors
    seen = []
    summary = diverse.build_training_folder(
        tmp_path / "diverse", root, sources=sources, progress=lambda done, total: seen.append((done, total))
    )
    (tally,) = summary.counts
    assert dict(tally.dropped) == {
        diverse.EXCLUDED_CLASS: 1,
        diverse.UNDECODABLE: 1,
        diverse.GRAY: 1,
        diverse.SMALL: 1,
        diverse.VALIDATION_DUPLICATE: 1,
    }
    assert tally.other_files == 1 and (tally.train, tally.test) == (5, 1)
    assert seen[-1] == (11, 11)
    out = tmp_path / "diverse"
    written = {path.relative_to(out).as_posix() for path in out.rglob("*.jpg")}
    expected = {f"photos_birds_{stem}.jpg" for stem in (*COLOUR_STEMS, "upright")}
    assert written == {f"{diverse.split_of(name)}/{name}" for name in expected}
    assert f"test/photos_birds_{COLOUR_STEMS[-1]}.jpg" in written
    for path in written:
        with Image.open(out / path) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert image.size == ((150, 140) if "upright" in path else (213, 160))
    text = (out / "SOURCES.md").read_text()
    assert sources[0].commit in text and "gray 1" in text and "validation duplicate 1" in text
    assert "python -m colorkeras.diverse" in text and "CC0 (test)" in text and sources[1].commit in text
    # The same snapshots give the same bytes.
    diverse.build_training_folder(tmp_path / "again", root, sources=sources)
    for path in written:
        assert (tmp_path / "again" / path).read_bytes() == (out / path).read_bytes()


def test_an_existing_folder_is_refused_and_an_error_leaves_nothing(mirrors, tmp_path, monkeypatch):
    root, sources, _ = mirrors
    out = tmp_path / "diverse"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="already exists"):
        diverse.build_training_folder(out, root, sources=sources)
    assert (out / "mine.txt").exists()

    calls = []

    def fail_on_third(*arguments):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*arguments)

    real = diverse._write_photo
    monkeypatch.setattr(diverse, "_write_photo", fail_on_third)
    with pytest.raises(KeyboardInterrupt):
        diverse.build_training_folder(out, root, overwrite=True, sources=sources)
    assert (out / "mine.txt").exists() and not (tmp_path / "diverse.partial").exists()
    monkeypatch.setattr(diverse, "_write_photo", real)

    summary = diverse.build_training_folder(out, root, overwrite=True, sources=sources)
    assert not (out / "mine.txt").exists() and summary.train + summary.test == 6
    assert sorted(path.name for path in tmp_path.iterdir()) == ["classes-work", "diverse", "mirrors"]


def test_class_folder_copies_the_validation_photographs_with_classifier_indices(mirrors, tmp_path):
    root, sources, classes = mirrors
    summary = diverse.build_class_folder(tmp_path / "classes", root, sources=sources)
    out = tmp_path / "classes"
    assert summary.files == 3
    assert sorted(path.name for path in out.iterdir()) == sorted([*CLASS_FILES, "labels.txt", "SOURCES.md"])
    for name in CLASS_FILES:
        assert (out / name).read_bytes() == classes[name]
    assert (out / "labels.txt").read_text().splitlines() == [
        "n01440764_tench.JPEG\t1",
        "n01443537_goldfish.JPEG\t2",
        "n01484850_great_white_shark.JPEG\t3",
    ]
    assert sources[1].commit in (out / "SOURCES.md").read_text()
    with pytest.raises(ValueError, match="already exists"):
        diverse.build_class_folder(out, root, sources=sources)


def test_a_missing_snapshot_or_commit_says_what_to_fetch(mirrors, tmp_path):
    root, sources, _ = mirrors
    with pytest.raises(ValueError, match="fetch github:owner/photos"):
        diverse.find_snapshot(tmp_path / "nowhere", sources[0])
    unknown = diverse.Source("owner/photos", "0" * 40, "pics/", "CC0", diverse.TRAIN, "photos")
    with pytest.raises(ValueError, match="lacks commit 0{40}.*fetch github:owner/photos"):
        diverse.build_training_folder(tmp_path / "out", root, sources=(unknown,))
    assert not list(tmp_path.glob("out*"))


def test_the_command_line_says_a_missing_mirror_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "colorkeras.diverse", str(tmp_path / "out"), "--mirrors", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "fetch github:" in lines[0]
    assert not list(tmp_path.glob("out*"))
