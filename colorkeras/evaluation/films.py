"""Films scored beside their baselines: per-frame quality and temporal stability (warping error along the truth's
optical flow)."""

from colorkeras.core.images import luma_gray
from colorkeras.evaluation.metrics import MetricAccumulator, WarpingError
from colorkeras.video.flow import is_cut
from colorkeras.video.pipeline import Stabiliser, colorized_frames, read_frames


def score_film(source, colorizer, stability, every=1, keys=None, skip=()):
    """Scores colorizing the gray copy of a colour film against its frames: a
    ``MetricAccumulator`` row (PSNR, SSIM, colourfulness) with Lai et al.'s
    ``warping_error``, pairs across a scene cut of the input left out.

    ``keys``: ``key_frames.KeyFrames`` (shots found) the film is coloured from;
    ``skip``: frame indices left out of PSNR, SSIM and colourfulness (the key
    frames' own, which are given, not made)."""
    name = f"{colorizer.name} " + ("per frame" if stability == 0 else f"stabilised {stability:g}")
    name += f", network every {every} frames" if every > 1 else ""
    name += f", {len(keys.frames)} key frame(s)" if keys is not None else ""
    accumulator, warping = MetricAccumulator(name), WarpingError()
    truths = {}

    def frames():
        for frame in read_frames(source):
            truths[frame[0]] = frame[3]
            yield frame

    previous_gray = None
    for index, _, gray, colour, _ in colorized_frames(frames(), colorizer, Stabiliser(stability, every), keys=keys):
        truth = truths.pop(index)
        if index not in skip:
            accumulator.update_batch(colour[None], truth[None])
        if previous_gray is not None and is_cut(previous_gray, gray):
            warping.start_shot()
        warping.add(gray, colour)
        previous_gray = gray
    row = accumulator.result()
    row["warping_error"] = warping.result()
    row["stability"] = stability
    row["every"] = every
    return row


def score_film_baselines(source, skip=()):
    """The gray copy and the truth of a colour film, scored as ``score_film`` scores models."""
    gray_row, gray_warping, truth_warping = MetricAccumulator("gray copy"), WarpingError(), WarpingError()
    previous_gray = None
    for index, _, _, truth in read_frames(source):
        gray3 = luma_gray(truth)
        gray = gray3[..., 0]
        if index not in skip:
            gray_row.update_batch(gray3[None], truth[None])
        if previous_gray is not None and is_cut(previous_gray, gray):
            gray_warping.start_shot()
            truth_warping.start_shot()
        gray_warping.add(gray, gray3)
        truth_warping.add(gray, truth)
        previous_gray = gray
    row = gray_row.result()
    row["warping_error"] = gray_warping.result()
    return row, truth_warping.result()
