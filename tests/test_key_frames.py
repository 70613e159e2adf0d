"""Key frames for a film (``film --key-frames``): the folder's checks, the shots, and colour that follows
the key frame through its shot and never crosses a cut."""

import numpy as np
import pytest
from PIL import Image

from colorkeras.data.film_clips import make_clip
from colorkeras.evaluation.references import psnr
from colorkeras.video.key_frames import KeyFrames
from colorkeras.video.pipeline import FilmError, read_frames
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def two_shots(tmp_path_factory):
    """A 160x120 film: a 10-frame pan, a cut, a 10-frame zoom; and its key frames folder (each shot's first frame)."""
    folder = tmp_path_factory.mktemp("clip")
    keys = folder / "keys"
    keys.mkdir()
    make_clip(folder / "clip.mp4", 160, 120, frames_per_shot=10, audio=False, keys=keys)
    return folder / "clip.mp4", keys


def test_the_folder_names_each_key_frame_by_its_frame(two_shots, tmp_path):
    keys = KeyFrames.read(two_shots[1], 160, 120)
    assert sorted(keys.frames) == [0, 10]
    assert keys.frames[10].shape == (120, 160, 3)
    keys.find_shots(two_shots[0])
    assert keys.starts == [0, 10]
    assert keys.for_frame(7).index == 0 and keys.for_frame(12).index == 10


@pytest.mark.parametrize(
    ("name", "image", "message"),
    [
        ("first.png", np.full((120, 160, 3), (200, 30, 30), np.uint8), "named by the 0-based index"),
        ("3.png", np.full((120, 160), 90, np.uint8), "not a colour photograph"),
        ("3.png", np.full((100, 100, 3), (200, 30, 30), np.uint8), "a key frame has the film's shape"),
    ],
)
def test_a_bad_key_frame_is_refused_by_name(tmp_path, name, image, message):
    Image.fromarray(image).save(tmp_path / name)
    with pytest.raises(FilmError, match=message):
        KeyFrames.read(tmp_path, 160, 120)


def test_a_key_frame_past_the_films_last_frame_is_refused_by_name_once_the_frames_are_counted(two_shots, tmp_path):
    for name in ("19.png", "20.png"):
        Image.fromarray(np.full((120, 160, 3), (200, 30, 30), np.uint8)).save(tmp_path / name)
    keys = KeyFrames.read(tmp_path, 160, 120)  # Container frame counts can be estimates: the file is read first.
    with pytest.raises(FilmError, match=r"20\.png: the film has 20 frames \(0 to 19\)"):
        keys.find_shots(two_shots[0])
    (tmp_path / "20.png").unlink()
    keys = KeyFrames.read(tmp_path, 160, 120)
    keys.find_shots(two_shots[0])  # The last frame is a frame.
    assert keys.for_frame(19).index == 19


def test_an_empty_or_missing_folder_is_refused(tmp_path):
    with pytest.raises(FilmError, match="holds no key frames"):
        KeyFrames.read(tmp_path, 160, 120)
    with pytest.raises(FilmError, match="no such folder"):
        KeyFrames.read(tmp_path / "nowhere", 160, 120)


@pytest.mark.slow
def test_a_key_frame_of_the_first_frame_colours_the_pan_close_to_the_truth_and_stops_at_the_cut(two_shots):
    from colorkeras.serving.inference import Colorizer
    from colorkeras.video.pipeline import Stabiliser, colorized_frames

    source, folder = two_shots
    colorizer = Colorizer()
    truths = [frame[3] for frame in read_frames(source)]
    only_first = folder.parent / "first-key"
    only_first.mkdir(exist_ok=True)
    (only_first / "0.png").write_bytes((folder / "0.png").read_bytes())
    keys = KeyFrames.read(only_first, 160, 120)
    keys.find_shots(source)

    def film(with_keys):
        made = colorized_frames(read_frames(source), colorizer, Stabiliser(), keys=keys if with_keys else None)
        return [frame[3] for frame in made]

    keyed, plain = film(True), film(False)
    pan = range(1, 10)  # The pan's frames after the key frame's own.
    keyed_psnr = np.mean([psnr(keyed[i], truths[i]) for i in pan])
    plain_psnr = np.mean([psnr(plain[i], truths[i]) for i in pan])
    assert keyed_psnr > plain_psnr + 6.0, (keyed_psnr, plain_psnr)
    assert keyed_psnr > 28.0, keyed_psnr
    # The zoom after the cut has no key frame: it is coloured as without any (to a level of rounding: the
    # network's frames are batched differently).
    for index in range(10, 20):
        assert np.abs(keyed[index].astype(int) - plain[index]).max() <= 2, index


@pytest.mark.slow
def test_the_film_command_takes_key_frames(two_shots, tmp_path):
    source, folder = two_shots
    result = run_cli("colorkeras.film", source, "--key-frames", folder, "--out", tmp_path / "out.mp4")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 key frame(s)" in result.stderr
    frames = [frame[3] for frame in read_frames(tmp_path / "out.mp4")]
    truths = [frame[3] for frame in read_frames(source)]
    assert len(frames) == 20
    assert np.mean([psnr(frames[i], truths[i]) for i in range(20)]) > 27.0
    refused = run_cli("colorkeras.film", source, "--key-frames", tmp_path / "none", "--out", tmp_path / "x.mp4")
    assert refused.returncode == 2 and "no such folder" in refused.stderr and not (tmp_path / "x.mp4").exists()


@pytest.mark.slow
def test_the_dashboard_takes_key_frames_with_a_film_and_names_a_bad_one(two_shots):
    from colorkeras.app import uploads
    from colorkeras.serving.inference import Colorizer

    source, folder = two_shots
    keys = [(path.name, path.read_bytes()) for path in sorted(folder.iterdir())]
    video, summary = uploads.colorize_film_upload(Colorizer(), "reel.mp4", source.read_bytes(), 0.95, None, keys)
    assert summary["frames"] == 20 and video[4:8] == b"ftyp"
    with pytest.raises(FilmError, match=r"^keyframe\.png: a key frame is an image named"):
        uploads.colorize_film_upload(
            Colorizer(), "reel.mp4", source.read_bytes(), 0.95, None, [("keyframe.png", keys[0][1])]
        )
