"""Test films made from colour photographs with known camera motion, and a sound track.

(The library behind ``python -m colorkeras.clips``, whose flags ``colorkeras/clips.py`` parses.)

``make_clip`` films a virtual camera over scikit-image's colour photographs: a
pan across one, a zoom into another (and, for four shots, a pan and a zoom more), a
cut between each two, and a sine tone as its audio (AAC). Colour originals, so colorized films can be scored against the
truth; no network needed. ``python -m colorkeras.clips OUT_DIR`` writes the clips
the README's film figures come from.
"""

from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageFilter
from skimage import data

PHOTOS = ("coffee", "chelsea", "astronaut", "rocket")


def _photo(name):
    return getattr(data, name)()


def _view(photo, centre_x, centre_y, view_width, width, height):
    """The camera's frame: a ``view_width``-wide window of ``photo`` at ``width`` x ``height``."""

    view_height = view_width * height / width
    left, top = centre_x - view_width / 2, centre_y - view_height / 2
    box = (left, top, left + view_width, top + view_height)
    return np.asarray(Image.fromarray(photo).resize((width, height), Image.Resampling.BILINEAR, box=box))


def shots(width, height, frames_per_shot, pan_step=2, softness=3.0, count=2):
    """Yields uint8 RGB frames: ``count`` shots (at most 4), cut to one another: a pan over
    the first photograph, a zoom into the second, a pan over the third, a zoom into the fourth.

    A pan moves the camera ``pan_step`` whole pixels a frame over the photograph
    resized once (so each frame is a crop, as a real camera pan of a still scene);
    a zoom narrows the view from 90% to 55% of its photograph's width,
    through a lens as soft as an old film's: the photograph blurred by a Gaussian
    of ``softness`` of its pixels. (Resampled sharp, a furry cat's texture would
    not survive any warp: the truth itself would have a warping error of 0.08.)
    """
    for number, name in enumerate(PHOTOS[:count]):
        if number % 2 == 0:
            yield from _pan(_photo(name), width, height, frames_per_shot, pan_step)
        else:
            yield from _zoom(_photo(name), width, height, frames_per_shot, softness)


def _pan(photo, width, height, frames_per_shot, pan_step):
    travel = pan_step * (frames_per_shot - 1)
    scale = max((width + travel) / photo.shape[1], height / photo.shape[0])
    resized = np.asarray(
        Image.fromarray(photo).resize(
            (round(photo.shape[1] * scale), round(photo.shape[0] * scale)), Image.Resampling.LANCZOS
        )
    )
    top = (resized.shape[0] - height) // 2
    for index in range(frames_per_shot):
        left = index * pan_step
        yield resized[top : top + height, left : left + width]


def _zoom(photo, width, height, frames_per_shot, softness):
    if softness:
        photo = np.asarray(Image.fromarray(photo).filter(ImageFilter.GaussianBlur(softness)))
    h, w = photo.shape[:2]
    widest = min(0.9 * w, h * width / height * 0.95)
    for t in np.linspace(0.0, 1.0, frames_per_shot):
        yield _view(photo, w / 2, h / 2, widest * (1.0 - 0.4 * t), width, height)


def make_clip(
    path,
    width=320,
    height=240,
    frames_per_shot=36,
    rate=24,
    audio=True,
    codec="libx264",
    crf=0,
    shot_count=2,
    keys=None,
):
    """Writes a test film (H.264 MP4, yuv420p) of ``shot_count`` shots (``shots``); returns its frame count.

    With ``audio``, a 440 Hz tone (AAC, 44.1 kHz) lasts as long as the picture.
    ``crf`` 0 is lossless in YUV 4:2:0: the truth is what the film holds. ``keys``:
    a folder to write the first frame of each shot to, as the film holds it, named
    by its index (``0.png``, ...): the key frames ``film --key-frames`` takes.
    """

    frames = shot_count * frames_per_shot
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": str(crf), "preset": "veryfast"}
        sound = None
        if audio:
            sound = out.add_stream("aac", rate=44100)
            sound.layout = "mono"
        for index, rgb in enumerate(shots(width, height, frames_per_shot, count=shot_count)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = index
            if keys is not None and index % frames_per_shot == 0:
                # Through YUV 4:2:0 and back, as the film holds it (and as a decoder gives it).
                held = frame.reformat(format="yuv420p").to_ndarray(format="rgb24")
                Image.fromarray(held).save(Path(keys) / f"{index}.png")
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            samples = int(44100 * frames / rate)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 44100)).astype(np.float32)
            chunk = 1024
            for start in range(0, samples, chunk):
                piece = tone[start : start + chunk][None]
                frame = av.AudioFrame.from_ndarray(piece, format="flt", layout="mono")
                frame.sample_rate = 44100
                frame.pts = start
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return frames
