"""Films: read, colorize in batches, stabilise the colour along the optical flow, write resumable segments, join them
with the sound.

The command line, its examples and what it does in detail: ``colorkeras/film.py``
(``python -m colorkeras.film``).
"""

import hashlib
import json
import os
import queue
import re
import shutil
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from colorkeras.core import store
from colorkeras.core.constants import DEFAULT_EVERY, DEFAULT_STABILITY
from colorkeras.core.hints import HintError, parse_hints
from colorkeras.core.images import luma_gray
from colorkeras.core.store import atomic_write_json
from colorkeras.serving import pixels
from colorkeras.video.flow import FlowEstimator, inside, is_cut, reliable, shrink, warp

SEGMENT_FRAMES = 48  # Frames per resumable segment (2 s at 24 fps).


BATCH_FRAMES = 8  # Frames per call of the model at most; a segment holds whole batches.


BATCH_PIXELS = 2_500_000  # ... and at most this many pixels per call (one 4K frame: 8.3 M), so memory stays bounded.


WORK_VERSION = 1


KEY_SOFTNESS = 1.0  # Gaussian sigma, in flow pixels, of a key frame's chroma.
KEY_RENEWAL = 0.25  # In a keyed shot, the share of the key frame's colour taken per frame where the flow's check fails.


class FilmError(Exception):
    """A film that cannot be colorized; the message names the file and the reason."""


class Stabiliser:
    """Blends each frame's predicted a/b with the previous result carried along the flow.

    ``stability`` in [0, 1]: the weight of the carried colour where the flow is
    reliable (forward-backward check); 0 returns the prediction unchanged. Works on
    a/b at ``FLOW_SHORT_SIDE`` (the model predicts chroma at lower resolution still)
    and puts the result back under the frame's full-resolution lightness.
    """

    def __init__(self, stability=DEFAULT_STABILITY, every=DEFAULT_EVERY):
        if not 0.0 <= stability <= 1.0:
            raise ValueError(f"stability must be in [0, 1], received {stability}")
        if int(every) != every or every < 1:
            raise ValueError(
                f"the network runs on every Nth frame: N must be a whole number of at least 1, received {every}"
            )
        self.stability = float(stability)
        # The network colours every ``every``-th frame (and the first after a cut);
        # the frames between take the colour carried along the flow.
        # Without stability nothing is carried, so then every frame is coloured.
        self.every = int(every) if stability > 0 else 1
        self.flow = FlowEstimator("fast")
        self.previous = None  # (small gray uint8, a/b float32 at the flow resolution)
        self.cuts = 0

    def state(self):
        return None if self.previous is None else {"gray": self.previous[0], "ab": self.previous[1]}

    def restore(self, state):
        self.previous = None if state is None else (state["gray"], state["ab"])

    def wants(self, index):
        """Whether frame ``index`` (0-based) is one the network colours."""
        return index % self.every == 0

    def __call__(self, gray, colour, predict=None, restart=False, keyed=False):
        """uint8 gray [h, w] and the model's uint8 RGB [h, w, 3] -> uint8 RGB [h, w, 3].

        ``colour`` None: a frame between the network's (``every`` > 1), which takes
        the colour carried along the flow; ``predict(gray)`` gives the network's
        colour where such a frame needs its own (the first frame, or after a cut).
        ``restart``: the colour given is this frame's (a key frame): nothing is carried into it.
        ``keyed``: a frame of a shot with a key frame, whose colour is carried wherever the
        flow is reliable and renewed (``colour``, from the key frame) only where it is not."""

        if self.stability == 0.0:
            return predict(gray) if colour is None else colour
        height, width = gray.shape
        small_gray = shrink(gray)
        if restart or self.previous is None or self.previous[0].shape != small_gray.shape:
            colour = predict(gray) if colour is None else colour  # The first frame: its own colour.
            if restart and self.previous is not None and self.previous[0].shape == small_gray.shape:
                self.cuts += is_cut(self.previous[0], small_gray)
            self.previous = (small_gray, flow_chroma(colour))
            return colour
        previous_gray, previous_ab = self.previous
        backward = self.flow(small_gray, previous_gray)  # this frame -> the previous one
        forward = self.flow(previous_gray, small_gray)
        if is_cut(previous_gray, small_gray, backward, forward):
            # Colour never crosses a cut: the new scene starts from its own prediction.
            self.cuts += 1
            colour = predict(gray) if colour is None else colour
            self.previous = (small_gray, flow_chroma(colour))
            return colour
        carried = warp(previous_ab, backward)
        if colour is None:  # Between the network's frames: the carried colour alone.
            ab = carried
        else:
            weight = reliable(backward, forward)
            if keyed:
                # Renewed from the key frame in full where the colour came from outside the
                # frame (the flow lost it), a little at a time where only the flow's check
                # fails (a few percent of pixels, different each frame: renewed at once, they flickered).
                weight = np.where(inside(backward), 1.0 - KEY_RENEWAL * (1.0 - weight), 0.0)
            else:
                weight = self.stability * weight
            weight = weight[..., None]
            ab = weight * carried + (1.0 - weight) * flow_chroma(colour)
        self.previous = (small_gray, ab.astype(np.float32))
        # The stabilised chroma under the frame's full-resolution L. (Adding only the
        # correction to the model's own full-resolution chroma left its finer part
        # flickering: warping error 0.0062 against 0.0051 on the 640x480 clip.)
        return compose(gray, ab)


def flow_chroma(colour):
    """The a/b of uint8 RGB at the flow's working resolution."""
    return cv2.cvtColor(shrink(colour).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 1:]


def compose(gray, ab):
    """uint8 gray [h, w] and a/b [h', w', 2] at any size -> uint8 RGB [h, w, 3]: the chroma resized under
    the gray's own lightness."""
    return pixels.compose(pixels.lightness(gray[..., None]), ab)


# Still images FFmpeg would read as a one-frame film (an animated GIF is a film).
STILL_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def ffmpeg_reason(error):
    """FFmpeg's reason in words, without PyAV's "[Errno -1094995529]" and file name."""
    reason = getattr(error, "strerror", None) or str(error)
    return re.sub(r"^\[Errno -?\d+\]\s*", "", str(reason)).split(":")[0].strip().lower() or type(error).__name__


def open_film(path):
    """Opens ``path`` with PyAV; returns (container, video stream, audio stream or None)."""

    path = Path(path)
    if not path.exists():
        raise FilmError(f"{path}: no such file")
    if path.is_dir():
        raise FilmError(f"{path}: is a folder, not a film")
    if path.stat().st_size == 0:
        raise FilmError(f"{path}: empty file (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise FilmError(f"{path}: not a film we can read ({ffmpeg_reason(error)})") from None
    formats = set(container.format.name.split(","))
    if path.suffix.lower() in STILL_SUFFIXES or "image2" in formats or any(name.endswith("_pipe") for name in formats):
        container.close()
        raise FilmError(f"{path}: is a still image, not a film; python -m colorkeras.colorize colours it")
    if not container.streams.video:
        kinds = sorted({stream.type for stream in container.streams})
        container.close()
        what = "audio only" if kinds == ["audio"] else ("nothing" if not kinds else ", ".join(kinds))
        raise FilmError(f"{path}: has no video stream ({what})")
    video = container.streams.video[0]
    if not video.width or not video.height:
        container.close()
        raise FilmError(f"{path}: its video stream has no picture size (damaged?)")
    audio = container.streams.audio[0] if container.streams.audio else None
    return container, video, audio


def film_info(path):
    """Frame count (an estimate where the container has none), rate, size, audio of a film."""
    container, video, audio = open_film(path)
    try:
        rate = video.average_rate or video.guessed_rate
        frames = video.frames
        if not frames and video.duration and video.time_base and rate:
            frames = int(round(float(video.duration * video.time_base) * float(rate)))
        elif not frames and container.duration and rate:
            frames = int(round(container.duration / 1e6 * float(rate)))
        return {
            "frames": int(frames or 0),
            "rate": float(rate) if rate else None,
            "width": video.width,
            "height": video.height,
            "audio": None if audio is None else audio.codec_context.name,
            "duration": container.duration / 1e6 if container.duration else None,
        }
    finally:
        container.close()


def prefetched(items, depth=8):
    """``items`` (an iterator) made in a thread of its own, up to ``depth`` ahead: FFmpeg's
    decoding releases Python's lock, so the film's frames are decoded while the network
    colours. Yields them in order; an exception raised in the thread is
    raised here, where the item it stopped would have come."""
    ready: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def produce():
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as error:  # Handed to the consumer, which raises it.
            ready.put((end, error))
            return
        ready.put((end, None))

    thread = threading.Thread(target=produce, name="film-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if item is end:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()


def read_frames(path):
    """Yields (index, pts, time_base, uint8 RGB [h, w, 3]) for each frame of the film."""

    container, video, _ = open_film(path)
    index = 0
    try:
        video.thread_type = "AUTO"
        for frame in container.decode(video):
            yield index, frame.pts, frame.time_base or video.time_base, frame.to_ndarray(format="rgb24")
            index += 1
    except av.FFmpegError as error:
        raise FilmError(f"{path}: damaged or truncated at frame {index} ({ffmpeg_reason(error)})") from None
    finally:
        container.close()


def batch_frames(pixels):
    """Frames per model call for frames of ``pixels``: the most of 8, 6, 4, 3, 2, 1
    (each divides a segment, so a resumed run batches as the first did) within
    ``BATCH_PIXELS``."""
    return next((count for count in (8, 6, 4, 3, 2) if count * pixels <= BATCH_PIXELS and count <= BATCH_FRAMES), 1)


def colorized_frames(frames, colorizer, stabiliser, hinted=None, keys=None):
    """(index, pts, time_base, RGB) frames -> (index, pts, gray, colorized, stabiliser
    state after it) frames, in order.

    The gray is the frame's BT.601 luma (the evaluator's gray copy; a black-and-white
    film is its own). Frames go to the model ``BATCH_FRAMES`` at a time, then one by
    one through ``stabiliser``. ``hinted``: {frame or None (every frame): points}.
    ``keys``: ``key_frames.KeyFrames`` (shots found): a frame of a shot with a key
    frame takes its colour from it (``video.key_frames``).
    """

    hinted = hinted or {}
    batch = []
    size = None

    def key_of(index):
        return keys.for_frame(index) if keys is not None else None

    def own_colour(index, gray, frame_hints=None):
        """Frame ``index``'s own colour: its key frame's chroma under its lightness, its shot's key frame's by
        correspondence, or the network's (with its hints)."""
        key = key_of(index)
        if key is None:
            if frame_hints:
                return colorizer.colorize(gray, hints=frame_hints)
            return colorizer.colorize_batch(gray[None, ..., None])[0]
        if key.index == index:
            # Softened a little: carried along the flow, sharper chroma blurs from frame to frame, which flickers.
            return compose(gray, cv2.GaussianBlur(flow_chroma(key.rgb), (0, 0), KEY_SOFTNESS))
        return colorizer.colorize_with_reference(gray[None, ..., None], key.rgb[None])[0]

    def flush():
        # Only the frames the network colours go to it (every frame, unless the
        # stabiliser carries colour between every Nth; a hinted frame and a keyed shot's always do).
        chosen = [
            item
            for item in batch
            if stabiliser.wants(item[0])
            or hinted.get(item[0], hinted.get(None))
            or key_of(item[0]) is not None  # In a keyed shot, colour lost by the flow is renewed on every frame.
        ]
        # Frames with hints or a key frame one by one; the others in one call.
        special = [item for item in chosen if hinted.get(item[0], hinted.get(None)) or key_of(item[0]) is not None]
        plain = [item for item in chosen if item[0] not in {one[0] for one in special}]
        colours = {item[0]: own_colour(item[0], item[3], hinted.get(item[0], hinted.get(None))) for item in special}
        if plain:
            made = colorizer.colorize_batch(np.stack([item[3] for item in plain])[..., None])
            colours.update({item[0]: colour for item, colour in zip(plain, made, strict=True)})

        results = []
        for index, pts, _, gray in batch:
            restart = keys is not None and index in keys.frames  # A key frame's colour is its own.
            keyed = key_of(index) is not None
            colour = stabiliser(gray, colours.get(index), lambda g, index=index: own_colour(index, g), restart, keyed)
            results.append((index, pts, gray, colour, stabiliser.state()))
        batch.clear()
        return results

    for index, pts, time_base, rgb in frames:
        if size is None:
            size = batch_frames(rgb.shape[0] * rgb.shape[1])
        batch.append((index, pts, time_base, luma_gray(rgb)[..., 0]))
        if len(batch) == size:
            yield from flush()
    if batch:
        yield from flush()


def _even(side):
    return side + side % 2


class Segments:
    """The hidden work folder beside the output: one MP4 (video only) per segment,
    the stabiliser's state after it, and ``state.json`` saying which are complete."""

    def __init__(self, output, fingerprint):
        self.output = Path(output)
        self.folder = self.output.parent / f".{self.output.name}.work"
        self.fingerprint = fingerprint
        self.state_file = self.folder / "state.json"

    def load(self):
        """Completed segments ({index: info}) of a matching earlier try; otherwise starts afresh."""
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            state = None
        if state and state.get("fingerprint") == self.fingerprint:
            done = {int(k): v for k, v in state.get("segments", {}).items()}
            return {k: v for k, v in done.items() if (self.folder / v["file"]).is_file()}
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        self._save({})
        return {}

    def _save(self, segments):
        atomic_write_json(
            self.state_file, {"fingerprint": self.fingerprint, "segments": {str(k): v for k, v in segments.items()}}
        )

    def stabiliser_state(self, index):
        path = self.folder / f"stabiliser-{index:06d}.npz"
        if not path.is_file():
            return None
        with np.load(path) as saved:
            return {"gray": saved["gray"], "ab": saved["ab"]}

    def complete(self, segments, index, info, stabiliser_state):
        if stabiliser_state is not None:
            temporary = self.folder / f".stabiliser-{index:06d}.npz"
            with open(temporary, "wb") as file:
                np.savez(file, **stabiliser_state)
            os.replace(temporary, self.folder / f"stabiliser-{index:06d}.npz")
        segments[index] = info
        self._save(segments)


class SegmentWriter:
    """Encodes one segment's frames to H.264 (yuv420p, no B-frames: pts = dts)."""

    def __init__(self, path, width, height, rate, time_base):
        self.path = Path(path)
        self.container = av.open(str(self.path), "w", format="mp4")

        stream = self.container.add_stream("libx264", rate=Fraction(rate).limit_denominator(100_000))
        stream.width, stream.height = _even(width), _even(height)
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.options = {"preset": "veryfast", "crf": "18", "bf": "0"}
        self.stream = stream
        self.first_pts = None
        self.count = 0

    def write(self, rgb, pts):
        if rgb.shape[0] != self.stream.height or rgb.shape[1] != self.stream.width:
            rgb = np.pad(
                rgb,
                ((0, self.stream.height - rgb.shape[0]), (0, self.stream.width - rgb.shape[1]), (0, 0)),
                mode="edge",
            )
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = pts
        frame.time_base = self.stream.time_base
        if self.first_pts is None:
            self.first_pts = pts
        self.count += 1
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self):
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def join(output, segments, folder, source, audio_index):
    """Muxes the segments' video and the source's audio (copied) into ``output``,
    through a temporary name beside it."""

    output = Path(output)
    temporary = output.parent / f".{output.name}.partial.mp4"
    ordered = [segments[k] for k in sorted(segments)]
    try:
        with av.open(str(temporary), "w", format="mp4") as out:
            with av.open(str(folder / ordered[0]["file"])) as first:
                video_out = out.add_stream_from_template(first.streams.video[0])
            audio_in_container = None
            audio_out = None
            if audio_index is not None:
                audio_in_container = av.open(str(source))
                audio_in = audio_in_container.streams.audio[audio_index]
                try:
                    audio_out = out.add_stream_from_template(audio_in)
                except (av.FFmpegError, ValueError):
                    audio_out = None
            for info in ordered:
                with av.open(str(folder / info["file"])) as segment:
                    stream = segment.streams.video[0]
                    offset = None
                    for packet in segment.demux(stream):
                        if packet.dts is None and packet.pts is None:
                            continue
                        if offset is None:
                            offset = info["first_pts"] - packet.pts
                        packet.pts += offset
                        packet.dts = packet.pts
                        packet.stream = video_out
                        out.mux(packet)
            if audio_out is not None:
                for packet in audio_in_container.demux(audio_in):
                    if packet.dts is None:
                        continue
                    packet.stream = audio_out
                    out.mux(packet)
            if audio_in_container is not None:
                audio_in_container.close()
        os.replace(temporary, output)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return audio_out is not None


def fingerprint(source, colorizer, stability, hints, every=DEFAULT_EVERY, keys=None):
    status = Path(source).stat()
    parts = [
        WORK_VERSION,
        str(Path(source).resolve()),
        status.st_size,
        status.st_mtime_ns,
        str(colorizer.path),
        store.run_stamp(colorizer.path),
        colorizer.render_size,
        colorizer.saturation,
        stability,
        hints,
        *([every] if every != 1 else []),  # A run made before --every existed is resumed as it was.
        *([keys.digest] if keys is not None else []),
    ]
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def hints_for_frames(value, width, height):
    """--hints for a film: a list applies to every frame; an object keyed by frame
    number to those frames. Returns {frame or None (all): checked points}."""

    if value is None:
        return {}
    if isinstance(value, list):
        return {None: parse_hints(value, width, height)}
    hinted = {}
    for key, points in value.items():
        if not str(key).isdigit():
            raise HintError(f"hints for a film are a list (every frame) or keyed by frame number; received key {key!r}")
        hinted[int(key)] = parse_hints(points, width, height, where=f"hints[{key!r}]")
    return hinted


def colorize_film(
    source, output, colorizer, stability=DEFAULT_STABILITY, hints=None, progress=None, every=DEFAULT_EVERY, keys=None
):
    """Colorizes the film at ``source`` into ``output`` (MP4); returns a summary dict.

    ``progress(done, total, seconds)`` is called after each batch. ``keys``:
    ``key_frames.KeyFrames`` whose shots are found (``find_shots``). Resumes a
    matching interrupted run of the same output.
    """
    info = film_info(source)
    width, height = info["width"], info["height"]
    hinted = hints_for_frames(hints, width, height)
    if hinted and not colorizer.takes_hints:
        colorizer.check_takes_hints()
    if keys is not None:
        colorizer.check_takes_reference()
    segments_store = Segments(output, fingerprint(source, colorizer, stability, hints, every, keys))
    done = segments_store.load()
    stabiliser = Stabiliser(stability, every)
    resume_from = max(done) + 1 if done else 0
    if resume_from:
        stabiliser.restore(segments_store.stabiliser_state(resume_from - 1))
    total = info["frames"]
    started = time.time()
    rate = info["rate"] or 24.0
    writer, current = None, None
    time_bases = {}

    def finish_segment(segment, state):
        # ``state``: the stabiliser's after the segment's last frame (it has run ahead by a batch).
        writer.close()
        final = segments_store.folder / f"segment-{segment:06d}.mp4"
        os.replace(writer.path, final)
        segments_store.complete(
            done, segment, {"file": final.name, "first_pts": writer.first_pts, "frames": writer.count}, state
        )

    def remaining():
        for frame in prefetched(read_frames(source)):
            if frame[0] // SEGMENT_FRAMES >= resume_from:
                time_bases[frame[0]] = frame[2]
                yield frame

    last_state = None
    per_call = batch_frames(width * height)  # Progress once per model call.
    for count, (index, pts, _gray, colour, state) in enumerate(
        colorized_frames(remaining(), colorizer, stabiliser, hinted, keys), start=1
    ):
        segment = index // SEGMENT_FRAMES
        if writer is not None and segment != current:
            finish_segment(current, last_state)
            writer = None
        if writer is None:
            current = segment
            path = segments_store.folder / f".segment-{segment:06d}.partial.mp4"
            writer = SegmentWriter(path, width, height, rate, time_bases[index])
        writer.write(colour, index if pts is None else pts)
        last_state = state
        time_bases.pop(index, None)
        if progress and count % per_call == 0:
            progress(resume_from * SEGMENT_FRAMES + count, total, time.time() - started)
    if writer is not None:
        finish_segment(current, last_state)
        if progress:
            progress(resume_from * SEGMENT_FRAMES + count, total, time.time() - started)
    if not done:
        raise FilmError(f"{source}: no frame could be decoded")
    container, _, audio = open_film(source)
    audio_index = None if audio is None else list(container.streams.audio).index(audio)
    container.close()
    audio_kept = join(output, done, segments_store.folder, source, audio_index)
    shutil.rmtree(segments_store.folder, ignore_errors=True)
    return {
        "frames": sum(v["frames"] for v in done.values()),
        "seconds": time.time() - started,
        "resumed_at_frame": resume_from * SEGMENT_FRAMES,
        "audio": audio_kept,
        "cuts": stabiliser.cuts,
        "padded": (width % 2 or height % 2) != 0,
    }


def peak_memory_mb():
    """This process's peak resident memory: the kernel's VmHWM, which starts afresh at
    exec (getrusage's maximum carries over a parent's from before exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
