"""Key frames: a film coloured from colour images of some of its frames, one shot at a time.

A key frame is a colour image named by the 0-based index of the frame it colours
(``0.png``, ``240.jpg``), made by any tool: our hints, a retoucher's hand, a
colour print of the scene. ``python -m colorkeras.film IN.mp4 --key-frames DIR``.

Each key frame colours its shot (the frames between two scene cuts, found by the
stabiliser's own cut test in a first pass over the film): its own frame takes its
colour under the film's lightness; every other frame of the shot takes colour
from it by correspondence (``Colorizer.colorize_with_reference``), and the
stabiliser carries that colour along the optical flow where the flow is
reliable, so the colour of the key holds through the shot and is renewed from
the key frame where the flow loses it. Colour never crosses a cut: a shot
without a key frame is colorized as without any. Where a shot has several key
frames, each frame takes the one nearest to it.
"""

import bisect
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from colorkeras.core.images import IMAGE_EXTENSIONS, ImageError, check_colour, luma_gray, open_image, to_uint8_rgb
from colorkeras.video.flow import FlowEstimator, is_cut, shrink
from colorkeras.video.pipeline import FilmError, read_frames

NAME = re.compile(r"^(\d+)$")


@dataclass(frozen=True)
class KeyFrame:
    index: int  # The frame it colours (0-based).
    rgb: np.ndarray  # uint8 RGB at the film's size.


class KeyFrames:
    """The key frames of one film, and which shot each belongs to (after ``find_shots``)."""

    def __init__(self, frames: dict[int, np.ndarray], digest: str = "", paths: dict[int, Path] | None = None) -> None:
        self.frames = dict(sorted(frames.items()))
        self.digest = digest  # Of the files' bytes: a resumed film must have been started with the same keys.
        self.paths = paths or {}  # The file of each key frame, to name in a message.
        self.starts: list[int] = [0]

    @classmethod
    def read(cls, folder, width, height):
        """The key frames in ``folder`` for a film of ``width`` x ``height``. Raises ``FilmError`` naming the file
        for a name that is not a frame index, an image that is not in colour or not of the film's shape (a frame
        past the film's end: ``find_shots``, which reads every frame; a container's frame count is often an
        estimate)."""
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise FilmError(f"{folder}: no such folder of key frames")
        files = sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))
        if not files:
            raise FilmError(f"{folder}: holds no key frames (colour images named by frame index: 0.png, 240.png)")
        frames, paths, digest = {}, {}, hashlib.sha256()
        for path in files:
            match = NAME.match(path.stem)
            if path.suffix.lower() not in IMAGE_EXTENSIONS or match is None:
                raise FilmError(
                    f"{path}: a key frame is an image named by the 0-based index of the frame it colours "
                    f"(such as 0.png or 240.jpg)"
                )
            index = int(match.group(1))
            if index in frames:
                raise FilmError(f"{path}: a second key frame for frame {index}")
            try:
                rgb, _ = to_uint8_rgb(open_image(path))
                check_colour(rgb, name=str(path))
            except ImageError as error:
                raise FilmError(str(error)) from None
            frames[index], paths[index] = fit(rgb, width, height, path), path
            digest.update(f"{index}:".encode() + path.read_bytes())
        return cls(frames, digest.hexdigest(), paths)

    def find_shots(self, source, progress=None):
        """Finds where each shot of the film at ``source`` starts (the stabiliser's cut test, frame to frame).
        Raises ``FilmError`` naming a key frame past the film's last frame."""
        flow = FlowEstimator("fast")
        starts, previous, count = [0], None, 0
        for index, _, _, rgb in read_frames(source):
            count = index + 1
            small = shrink(luma_gray(rgb)[..., 0])  # The gray colorized_frames gives the stabiliser.
            if previous is not None and previous.shape == small.shape:
                if is_cut(previous, small, flow(small, previous), flow(previous, small)):
                    starts.append(index)
            elif previous is not None:
                starts.append(index)
            previous = small
            if progress:
                progress(index)
        beyond = [key for key in self.frames if key >= count]
        if beyond:
            path = self.paths.get(beyond[0], f"key frame {beyond[0]}")
            raise FilmError(f"{path}: the film has {count} frames (0 to {count - 1})")
        self.starts = starts

    def shot_of(self, index):
        """(first frame, first frame of the next shot or None) of the shot holding frame ``index``."""
        at = bisect.bisect_right(self.starts, index) - 1
        return self.starts[at], self.starts[at + 1] if at + 1 < len(self.starts) else None

    def for_frame(self, index):
        """The ``KeyFrame`` that colours frame ``index`` (its shot's nearest), or None."""
        start, end = self.shot_of(index)
        inside = [key for key in self.frames if key >= start and (end is None or key < end)]
        if not inside:
            return None
        nearest = min(inside, key=lambda key: abs(key - index))
        return KeyFrame(nearest, self.frames[nearest])


def fit(rgb, width, height, path):
    """A key frame at the film's size: as it is, or resized when only its scale differs (within 1%)."""
    if rgb.shape[:2] == (height, width):
        return rgb
    if abs(rgb.shape[1] / rgb.shape[0] - width / height) > 0.01 * width / height:
        raise FilmError(
            f"{path}: is {rgb.shape[1]}x{rgb.shape[0]}, the film {width}x{height}: a key frame has the film's shape"
        )
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.LANCZOS))
