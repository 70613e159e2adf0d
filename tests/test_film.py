"""Film: streaming colorization with stable colour, sound kept, resumable, and bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from colorkeras.data import film_clips
from colorkeras.evaluation import films
from colorkeras.evaluation.metrics import WarpingError
from colorkeras.video import pipeline
from colorkeras.video.flow import CUT_HISTOGRAM, is_cut
from tests.conftest import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def decoded(path):
    return [frame[3] for frame in pipeline.read_frames(path)]


def streams(path):
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        return {
            "frames": sum(1 for _ in container.decode(video)),
            "size": (video.width, video.height),
            "rate": float(video.average_rate),
            "video_seconds": float(video.duration * video.time_base) if video.duration else None,
            "audio_seconds": float(audio.duration * audio.time_base) if audio is not None and audio.duration else None,
            "audio_codec": audio.codec_context.name if audio is not None else None,
        }


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    film_clips.make_clip(path, 160, 120, frames_per_shot=30)
    return path


def test_warping_error_is_zero_for_a_still_film_and_grows_with_flicker():
    rng = np.random.default_rng(0)
    gray = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    gray = np.clip(gray.astype(int) + rng.integers(0, 40, gray.shape), 0, 255).astype(np.uint8)
    still, flicker = WarpingError(), WarpingError()
    for index in range(6):
        colour = np.dstack([gray, gray, gray])
        still.add(gray, colour)
        tinted = colour.copy()
        tinted[..., 0] = np.clip(tinted[..., 0].astype(int) + (30 if index % 2 else 0), 0, 255)
        flicker.add(gray, tinted)
    assert still.result() < 1e-6
    # +30 levels in one channel of three: (30 / 255)^2 / 3 x 1000 = 4.6, less where clipped at 255.
    assert 3.0 < flicker.result() < 4.7


def test_stabiliser_holds_colour_on_a_still_shot_and_restarts_at_a_cut():
    rng = np.random.default_rng(1)
    gray = rng.integers(60, 200, (96, 128), dtype=np.uint8)
    red = np.dstack([np.clip(gray.astype(int) + 40, 0, 255), gray, gray]).astype(np.uint8)
    blue = np.dstack([gray, gray, np.clip(gray.astype(int) + 40, 0, 255)]).astype(np.uint8)
    stabiliser = pipeline.Stabiliser(0.9)
    outputs = [stabiliser(gray, red if index % 2 == 0 else blue) for index in range(8)]
    swing_in = np.abs(red.astype(int) - blue).mean()
    swing_out = np.abs(outputs[-1].astype(int) - outputs[-2]).mean()
    assert swing_out < 0.3 * swing_in
    other = gray // 4  # A dark scene after a light one.
    assert is_cut(gray, other)
    after_cut = stabiliser(other, np.dstack([other] * 3))
    np.testing.assert_array_equal(after_cut, np.dstack([other] * 3))  # A cut starts afresh.
    assert stabiliser.cuts == 1
    assert pipeline.Stabiliser(0.0)(gray, red) is red


def pan(photo, frames, width=160, height=120, step=2):
    """uint8 frames of a camera panning ``step`` pixels a frame across ``photo``."""
    top = (photo.shape[0] - height) // 2
    return [photo[top : top + height, index * step : index * step + width] for index in range(frames)]


def test_no_colour_crosses_a_cut_between_two_scenes_of_the_same_tones():
    from PIL import Image
    from skimage import data, exposure

    def gray_photo(name):
        return np.asarray(Image.fromarray(getattr(data, name)()).convert("L").resize((200, 150)))

    first = gray_photo("chelsea")
    # The second scene's tones made the same as the first's: only the structure tells them apart.
    second = exposure.match_histograms(gray_photo("coffee"), first).astype(np.uint8)
    scene_a, scene_b = pan(first, 8), pan(second, 8)
    # Their histograms differ by less than a histogram test's threshold: that alone missed such cuts.
    assert np.abs(film_histogram(scene_a[-1]) - film_histogram(scene_b[0])).sum() < CUT_HISTOGRAM
    green = [np.dstack([gray // 2, gray, gray // 2]) for gray in scene_a]  # What the model said of the woodland.
    neutral = [np.dstack([gray] * 3) for gray in scene_b]
    stabiliser, fresh = pipeline.Stabiliser(0.95), pipeline.Stabiliser(0.95)
    for gray, colour in zip(scene_a, green, strict=False):
        stabiliser(gray, colour)
    assert stabiliser.cuts == 0  # A pan is no cut.
    for gray, colour in zip(scene_b, neutral, strict=False):
        # After the cut, exactly what the second scene alone gives: no chroma of the first survives.
        np.testing.assert_array_equal(stabiliser(gray, colour), fresh(gray, colour))
    assert stabiliser.cuts == 1 and fresh.cuts == 0


def test_the_network_colours_every_nth_frame_and_the_first_after_a_cut():
    from skimage import data

    first = np.asarray(Image.fromarray(data.chelsea()).convert("L").resize((200, 150)))
    scenes = pan(first, 6) + pan(first // 4, 5)  # A pan, then a cut to a dark scene at frame 6.
    coloured = []

    class Counting:  # Stands in for a Colorizer: neutral colour, and a record of the frames it saw.
        def colorize_batch(self, grays):
            coloured.append(len(grays))
            return np.repeat(grays, 3, axis=-1)

    frames = [(index, index, None, np.dstack([gray] * 3)) for index, gray in enumerate(scenes)]
    stabiliser = pipeline.Stabiliser(0.95, every=4)
    results = list(pipeline.colorized_frames(iter(frames), Counting(), stabiliser))
    assert [index for index, *_ in results] == list(range(11)) and stabiliser.cuts == 1
    assert sum(coloured) == 4  # Frames 0, 4 and 8, and frame 6: the first after the cut.
    assert all(colour.shape == (120, 160, 3) for _, _, _, colour, _ in results)
    assert pipeline.Stabiliser(0.0, every=4).every == 1  # Nothing carried: every frame coloured.
    with pytest.raises(ValueError, match="at least 1"):
        pipeline.Stabiliser(0.95, every=0)


def film_histogram(gray):
    from colorkeras.video.flow import luma_histogram

    return luma_histogram(gray)


@pytest.mark.slow
def test_film_keeps_frame_count_size_rate_and_sound(clip, tiny_run, tmp_path):
    out = tmp_path / "colour.mp4"
    result = run_cli("colorkeras.film", clip, "--out", out, "--model", tiny_run)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "frames/s" in result.stderr and "s left" in result.stderr
    source, colour = streams(clip), streams(out)
    assert colour["frames"] == source["frames"] == 60
    assert colour["size"] == source["size"] and colour["rate"] == source["rate"]
    assert colour["audio_codec"] == "aac"
    assert abs(colour["audio_seconds"] - source["audio_seconds"]) < 0.05
    assert abs(colour["audio_seconds"] - colour["video_seconds"]) < 0.1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # No work folder or partial file left.
    again = run_cli("colorkeras.film", clip, "--out", out, "--model", tiny_run)
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.slow
def test_odd_sizes_are_padded_to_even_and_said(tiny_run, tmp_path):
    import av

    odd = tmp_path / "odd.mov"
    with av.open(str(odd), "w") as container:
        stream = container.add_stream("png", rate=12)
        stream.width, stream.height, stream.pix_fmt = 75, 45, "rgb24"
        for index in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((45, 75, 3), 40 * index, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    out = tmp_path / "odd-colour.mp4"
    result = run_cli("colorkeras.film", odd, "--out", out, "--model", tiny_run)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "padded by one pixel" in result.stderr
    assert streams(out)["size"] == (76, 46) and streams(out)["frames"] == 5


@pytest.mark.slow
def test_killed_during_a_film_it_resumes_and_gives_the_same_frames(tiny_run, tmp_path):
    source = tmp_path / "long.mp4"
    film_clips.make_clip(source, 160, 120, frames_per_shot=120, audio=False)
    whole = tmp_path / "whole.mp4"
    assert run_cli("colorkeras.film", source, "--out", whole, "--model", tiny_run).returncode == 0
    out = tmp_path / "resumed.mp4"
    command = [sys.executable, "-m", "colorkeras.film", str(source), "--out", str(out), "--model", str(tiny_run)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / ".resumed.mp4.work" / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            if len(json.loads(state.read_text())["segments"]) >= 2:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists()  # Never a half-written file under the output's name.
    done = len(json.loads(state.read_text())["segments"])
    assert 2 <= done < 5
    result = run_cli("colorkeras.film", source, "--out", out, "--model", tiny_run)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resumed at frame {done * pipeline.SEGMENT_FRAMES}" in result.stderr
    first, second = decoded(whole), decoded(out)
    assert len(first) == len(second) == 240
    differing = [index for index, (a, b) in enumerate(zip(first, second, strict=False)) if not np.array_equal(a, b)]
    assert differing == [], differing


def make_audio_only(path):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        stream.layout = "mono"
        samples = np.zeros((1, 44100), np.float32)
        frame = av.AudioFrame.from_ndarray(samples[:, :1024], format="flt", layout="mono")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.mark.slow
def test_bad_films_get_one_clear_message_and_no_output(clip, tiny_run, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a film")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    audio_only = tmp_path / "sound.m4a"
    make_audio_only(audio_only)
    still = tmp_path / "still.jpg"
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(still)
    cases = {
        text: "not a film we can read (invalid data found when processing input)",
        still: "is a still image, not a film",
        empty: "empty file",
        audio_only: "has no video stream (audio only)",
        tmp_path / "missing.mp4": "no such file",
    }
    for source, message in cases.items():
        out = tmp_path / f"out-{source.stem}.mp4"
        result = run_cli("colorkeras.film", source, "--out", out, "--model", tiny_run)
        assert result.returncode == 2, (source, result.stderr[-1500:])
        assert str(source) in result.stderr and message in result.stderr, result.stderr[-1500:]
        assert "Traceback" not in result.stderr and "Errno" not in result.stderr
        assert not out.exists()
    out = tmp_path / "out-truncated.mp4"
    result = run_cli("colorkeras.film", truncated, "--out", out, "--model", tiny_run)
    assert "Traceback" not in result.stderr
    if result.returncode == 0:  # What the file holds is colorized, and said.
        assert streams(out)["frames"] == streams(truncated)["frames"]
    else:
        assert result.returncode == 2 and str(truncated) in result.stderr and not out.exists()
    result = run_cli("colorkeras.film", clip, "--out", tmp_path / "x.avi", "--model", tiny_run)
    assert result.returncode == 2 and ".mp4" in result.stderr
    result = run_cli("colorkeras.film", clip, "--out", "/proc/colorkeras-film.mp4", "--model", tiny_run)
    assert result.returncode == 2 and "cannot write /proc/colorkeras-film.mp4" in result.stderr, result.stderr[-1500:]


@pytest.mark.slow
def test_stabilisation_steadies_the_shipped_default_at_no_cost_in_psnr(tmp_path):
    from colorkeras.serving.inference import Colorizer

    clip = tmp_path / "clip.mp4"
    film_clips.make_clip(clip, 320, 240, frames_per_shot=24, audio=False)
    colorizer = Colorizer()  # The shipped default.
    plain = films.score_film(clip, colorizer, 0.0)
    for every in (1, pipeline.DEFAULT_EVERY):  # The network on every frame, and on every Nth as the film command does.
        steady = films.score_film(clip, colorizer, pipeline.DEFAULT_STABILITY, every)
        assert steady["warping_error"] <= 0.6 * plain["warping_error"], (every, plain, steady)
        assert steady["psnr"] >= plain["psnr"] - 0.3, (every, plain, steady)


@pytest.mark.slow
def test_film_hints_need_a_hint_run_and_are_checked(clip, tiny_run, tiny_hint_run, tmp_path):
    hints_file = tmp_path / "hints.json"
    hints_file.write_text(json.dumps({"0": [{"x": 20, "y": 20, "color": "#ff0000"}]}))
    out = tmp_path / "hinted.mp4"
    result = run_cli("colorkeras.film", clip, "--out", out, "--model", tiny_hint_run, "--hints", hints_file)
    assert result.returncode == 0, result.stderr[-2000:]
    assert streams(out)["frames"] == 60
    refused = run_cli("colorkeras.film", clip, "--out", tmp_path / "no.mp4", "--model", tiny_run, "--hints", hints_file)
    assert refused.returncode == 2 and "takes no hints" in refused.stderr and not (tmp_path / "no.mp4").exists()
    hints_file.write_text(json.dumps([{"x": 500, "y": 20, "color": "#ff0000"}]))
    outside = run_cli(
        "colorkeras.film", clip, "--out", tmp_path / "no2.mp4", "--model", tiny_hint_run, "--hints", hints_file
    )
    assert outside.returncode == 2 and "outside the 160x120 image" in outside.stderr


def test_frames_read_ahead_in_a_thread_come_in_order_and_bring_their_errors():
    import threading

    assert list(pipeline.prefetched(iter(range(50)), depth=3)) == list(range(50))

    def damaged():
        yield 1
        yield 2
        raise pipeline.FilmError("reel.mp4: damaged or truncated at frame 2")

    got = []
    with pytest.raises(pipeline.FilmError, match="truncated at frame 2"):
        for item in pipeline.prefetched(damaged()):
            got.append(item)
    assert got == [1, 2]
    # A reader left early (the film's command stopped) ends its thread instead of decoding on.
    endless = pipeline.prefetched(iter(range(10**9)), depth=2)
    assert next(endless) == 0
    endless.close()
    assert not any(thread.name == "film-reader" for thread in threading.enumerate())
