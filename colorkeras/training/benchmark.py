"""The bench's parts and its table: the library behind ``python -m colorkeras.bench``
(``colorkeras/bench.py`` parses the flags and says what each figure is).

It sits with training because its parts reach every layer: training throughput
(``training.speed``), the SavedModel, the Python API, the HTTP server and the film
command (``evaluation.speed``).
"""

import logging
import os
import platform
import resource
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image
from skimage import data as samples

from colorkeras.core.config import automatic_settings
from colorkeras.evaluation.speed import (
    film_figures,
    median_seconds,
    opencv_yardstick_ms,
    server_figures,
    yardstick_gflops,
)
from colorkeras.models.color import gray_to_lightness, rgb_to_lightness
from colorkeras.training import speed as training_speed

log = logging.getLogger(__name__)


@dataclass
class BenchOptions:
    """How much the bench measures: each field is ``python -m colorkeras.bench``'s flag of that name."""

    repeats: int = 5  # Timed repeats per figure (the median is reported).
    train_steps: int = 20  # Training steps per repeat.
    batch_size: int = 64  # Training and 32x32 inference batch size.
    server_requests: int = 10  # Sequential requests against the HTTP server; 0 skips the server figures.
    film_frames: int = 96  # Frames of the generated 640x480 film; 0 skips the film.
    precision_steps: int = 10  # Steps per repeat of the float32 / bfloat16 comparison; 0 skips it.


def measure(colorizer, options: BenchOptions):
    """Every part of the bench for ``colorizer`` (an ``inference.Colorizer``) with the
    bench's ``options``: ``(results, skipped)``, the figures by key and, for each
    part that could not run here, its one-line reason (the rest is still measured)."""

    # Training figures are of the automatic network (a hint run's too: the same layers).
    settings = automatic_settings(colorizer.record.get("settings", {}))
    results = {
        "run": colorizer.name,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
    }
    skipped = {}

    started = time.perf_counter()
    parts = 3 + bool(options.film_frames) + 2 * bool(options.server_requests) + bool(options.precision_steps)
    done = [0]

    def part(name, function):
        """Runs one part of the bench; one that cannot run here is said in a line and
        skipped, and the rest is still measured and printed."""
        done[0] += 1
        # The whole bench takes minutes: each part is announced as it starts.
        log.info(f"[{done[0]}/{parts}] {name} ... ({time.perf_counter() - started:.0f} s so far)")
        try:
            function()
        except Exception as error:
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            skipped[name] = reason
            log.warning(f"skipped: {name}: {reason[:300]}")

    def training():
        results["yardstick_gflops"] = yardstick_gflops(options.repeats)
        images_per_second, flops, config = training_speed.training_throughput(
            settings, options.batch_size, options.train_steps, options.repeats
        )
        results["architecture"] = (
            f"{config.architecture} (base {config.base_filters}, depth {config.depth}, head {config.head})"
        )
        results["forward_gflop_per_image_32"] = flops / 1e9
        results["train_images_per_second_32"] = images_per_second
        results["train_gflops"] = images_per_second * 3 * flops / 1e9
        results["train_share_of_yardstick"] = results["train_gflops"] / results["yardstick_gflops"]

    def inference():
        serve = colorizer._loaded.signatures["serving_default"]
        batch = tf.constant(np.random.default_rng(2).integers(0, 256, (256, 32, 32, 1), dtype=np.uint8))
        seconds = median_seconds(lambda: serve(images=batch), options.repeats)
        results["inference_images_per_second_32"] = 256 / seconds
        for width, height in ((768, 512), (4000, 3000)):
            image = tf.constant(np.random.default_rng(3).integers(0, 256, (1, height, width, 1), dtype=np.uint8))
            results[f"latency_ms_{width}x{height}"] = 1000 * median_seconds(
                lambda image=image: serve(images=image), options.repeats
            )
        # The same scan's pre- and post-processing by OpenCV, timed in this run on this machine.
        scan = np.random.default_rng(3).integers(0, 256, (3000, 4000), dtype=np.uint8)
        results["opencv_yardstick_ms_4000x3000"] = opencv_yardstick_ms(scan, colorizer.render_size, options.repeats)
        results["scan_over_yardstick"] = results["latency_ms_4000x3000"] / results["opencv_yardstick_ms_4000x3000"]

    # A real photograph at 4000x3000 through the Python API, as users call it: the
    # time, and how far the output's lightness is from the input's.
    photo = np.asarray(Image.fromarray(samples.astronaut()).resize((4000, 3000), Image.Resampling.BICUBIC))
    megapixel = np.asarray(Image.fromarray(photo).resize((1155, 866)))

    def python_api():
        gray = np.asarray(Image.fromarray(photo).convert("L"))
        results["colorize_ms_4000x3000"] = 1000 * median_seconds(lambda: colorizer.colorize(gray), options.repeats)
        if "opencv_yardstick_ms_4000x3000" in results:  # Issue 47's measure: the scan as users colour it.
            results["colorize_over_yardstick"] = (
                results["colorize_ms_4000x3000"] / results["opencv_yardstick_ms_4000x3000"]
            )
        colour = colorizer.colorize(gray)
        lightness_in = gray_to_lightness(gray[..., None] / 255.0).numpy()
        lightness_out = rgb_to_lightness(colour / 255.0).numpy()
        results["mean_abs_delta_l_4000x3000"] = float(np.abs(lightness_in - lightness_out).mean())
        results["colorize_ms_1mp"] = 1000 * median_seconds(lambda: colorizer.colorize(megapixel), options.repeats)
        if colorizer.takes_hints:
            hints = [{"x": 100 + 180 * k, "y": 120 + 140 * k, "color": "#c03020"} for k in range(5)]
            results["colorize_with_hints_ms_1mp"] = 1000 * median_seconds(
                lambda: colorizer.colorize(megapixel, hints=hints), options.repeats
            )

    def server(signature, key):
        def measure():
            if signature not in colorizer._loaded.signatures:
                raise RuntimeError(
                    f"run {colorizer.name} has no {signature} signature "
                    f"(python -m colorkeras.export --model {colorizer.name} --name NEW rebuilds it)"
                )
            median, p95, throughput, api_ms = server_figures(
                colorizer.path,
                megapixel,
                options.server_requests,
                signature=signature,
                api=lambda: colorizer.colorize(megapixel),
            )
            results.update(
                {
                    f"server_{key}_latency_ms_1mp_median": median,
                    f"server_{key}_latency_ms_1mp_p95": p95,
                    f"server_{key}_requests_per_second_32_clients": throughput,
                    # The Python API timed in turn with the requests: the ratio's denominator.
                    f"server_{key}_api_ms_1mp_median": api_ms,
                }
            )

        return measure

    def precision():
        compared = training_speed.precision_comparison(
            settings, options.batch_size, options.precision_steps, options.repeats
        )
        for policy, (speed, loss) in compared.items():
            results[f"train_images_per_second_64_{policy}"] = speed
            results[f"train_loss_after_steps_{policy}"] = loss
        results["bfloat16_speedup"] = compared["mixed_bfloat16"][0] / compared["float32"][0]
        results["precision_steps"] = 1 + options.precision_steps * options.repeats

    part("training", training)
    part("inference", inference)
    part("Python API", python_api)
    if options.film_frames:
        part("film", lambda: results.update(film_figures(colorizer.path, options.film_frames)))
    if options.server_requests:
        part("HTTP server (PNG answer)", server("colorize_bytes", "png"))
        part("HTTP server (JPEG answer)", server("colorize_bytes_jpeg", "jpeg"))
    if options.precision_steps:
        part("precision", precision)
    results["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if skipped:
        results["skipped"] = skipped
    return results, skipped


def table(results, skipped):
    """``[(name, text)]``: the bench's printed table, a row for each figure measured."""
    rows = []

    def row(name, keys, text):
        """A row where ``results`` holds every key; ``text``: their values' format ("{:.0f} ms"), or a function."""
        if all(key in results for key in keys):
            values = [results[key] for key in keys]
            rows.append((name, text.format(*values) if isinstance(text, str) else text(*values)))

    row("yardstick (numpy float32 matmul 2048^3)", ["yardstick_gflops"], "{:.1f} GFLOP/s")
    row(f"training at 32x32, {results.get('architecture')}", ["train_images_per_second_32"], "{:.0f} images/s")
    row("forward FLOPs per 32x32 image", ["forward_gflop_per_image_32"], "{:.3f} GFLOP")
    row(
        "training compute (3 forward passes per step)",
        ["train_gflops", "train_share_of_yardstick"],
        "{:.1f} GFLOP/s = {:.0%} of yardstick",
    )
    row("inference at 32x32, batch 256 (SavedModel)", ["inference_images_per_second_32"], "{:.0f} images/s")
    row("latency 768x512 (SavedModel, warm)", ["latency_ms_768x512"], "{:.0f} ms")
    row("latency 4000x3000 (SavedModel, warm)", ["latency_ms_4000x3000"], "{:.0f} ms")
    row("  OpenCV yardstick: its pre- and post-processing on uint8", ["opencv_yardstick_ms_4000x3000"], "{:.0f} ms")
    row("  the SavedModel / the yardstick", ["scan_over_yardstick"], "{:.2f}x")
    row("colorize() a 4000x3000 gray photo (Python API, warm)", ["colorize_ms_4000x3000"], "{:.0f} ms")
    row("  colorize() / the yardstick", ["colorize_over_yardstick"], "{:.2f}x")
    row("  mean |L out - L in| on it (CIELAB L, 0-100)", ["mean_abs_delta_l_4000x3000"], "{:.3f}")
    row("colorize() a 1-megapixel RGB photo (Python API, warm)", ["colorize_ms_1mp"], "{:.0f} ms")
    row("  the same with 5 hints (a new result after a click)", ["colorize_with_hints_ms_1mp"], "{:.0f} ms")
    row(
        f"film 640x480, {results.get('film_frames')} frames, stabilised (python -m colorkeras.film)",
        ["film_frames_per_second_640x480"],
        "{:.1f} frames/s",
    )
    row("  its peak memory", ["film_peak_memory_mb"], "{:.0f} MB")
    for key, signature in (("png", "colorize_bytes"), ("jpeg", "colorize_bytes_jpeg")):
        row(
            f"HTTP server, one 1-MP JPEG ({signature}): median / p95",
            [f"server_{key}_latency_ms_1mp_median", f"server_{key}_latency_ms_1mp_p95"],
            lambda m, p: f"{m:.0f} / {p:.0f} ms",
        )
        row(
            "  its median / the Python API's, timed in turn with it",
            [f"server_{key}_latency_ms_1mp_median", f"server_{key}_api_ms_1mp_median"],
            lambda m, api: f"{m / api:.2f}x ({api:.0f} ms)",
        )
        row(
            "  32 concurrent clients x 4 requests",
            [f"server_{key}_requests_per_second_32_clients"],
            "{:.1f} requests/s",
        )
    steps = results.get("precision_steps")
    for policy in ("float32", "mixed_bfloat16"):
        row(
            f"training at 64x64, {policy}",
            [f"train_images_per_second_64_{policy}", f"train_loss_after_steps_{policy}"],
            lambda v, loss: f"{v:.0f} images/s, loss {loss:.4f} after {steps} steps",
        )
    row("  bfloat16 / float32 speed", ["bfloat16_speedup"], "{:.2f}x")
    row("peak memory", ["peak_memory_mb"], "{:.0f} MB")
    for name, reason in skipped.items():
        rows.append((f"{name}", f"skipped ({reason[:80]})"))
    return rows
