"""Speed figures for bench: the numpy yardstick, forward FLOPs, latency, the HTTP server under load, films.

The command line, its examples and what it does in detail: ``colorkeras/bench.py``
(``python -m colorkeras.bench``).
"""

import base64
import io
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from colorkeras.data.film_clips import make_clip
from colorkeras.serving import http


def median_seconds(function, repeats, warmup=1):
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def yardstick_gflops(repeats, size=2048):
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = np.random.default_rng(1).random((size, size), dtype=np.float32)
    seconds = median_seconds(lambda: a @ b, repeats)
    return 2.0 * size**3 / seconds / 1e9


def opencv_yardstick_ms(gray, render_short_side, repeats):
    """Milliseconds (median) for the colorize graph's work outside the network done by
    OpenCV on uint8: gray to CIELAB, an area downscale of L to the render size,
    a bilinear upscale of (here constant) chroma to full size, CIELAB to RGB. A
    machine's own measure of what the pre- and post-processing may cost, so the
    SavedModel's time can be given as a ratio that holds across machines."""
    import cv2

    height, width = gray.shape[:2]
    scale = render_short_side / min(height, width)
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))

    def pipeline():
        lab = cv2.cvtColor(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB), cv2.COLOR_RGB2LAB)
        cv2.resize(lab[..., 0], small_size, interpolation=cv2.INTER_AREA)  # What the network would see.
        chroma = np.full((small_size[1], small_size[0], 2), 128, np.uint8)
        upscaled = cv2.resize(chroma, (width, height), interpolation=cv2.INTER_LINEAR)
        return cv2.cvtColor(np.dstack([lab[..., 0], upscaled]), cv2.COLOR_LAB2RGB)

    return 1000 * median_seconds(pipeline, repeats)


def forward_flops(model, image_size):
    """FLOPs of one forward pass on one image, from the TensorFlow profiler."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    from tensorflow.python.profiler import model_analyzer, option_builder

    tf.get_logger().setLevel("ERROR")  # The profiler is TF1 API and says so on every call.
    function = tf.function(lambda x: model(x, training=False))
    concrete = function.get_concrete_function(tf.TensorSpec([1, image_size, image_size, 1], tf.float32))
    frozen = convert_variables_to_constants_v2(concrete)
    options = (
        option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
        .with_empty_output()
        .build()
    )
    return model_analyzer.profile(graph=frozen.graph, options=options).total_float_ops


def server_figures(run, photo, requests=10, clients=32, per_client=4, signature="colorize_bytes", api=None):
    """Latency (median, 95th percentile, ms) of one request at a time, and requests/s
    with ``clients`` concurrent clients, against colorkeras.serve on a free port,
    through ``signature`` (colorize_bytes: a PNG answer; colorize_bytes_jpeg: JPEG).
    ``api``: a call of the Python API timed in turn with each request, so that the two
    medians (the fourth figure, ms; else None) see the same load on the machine."""

    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG", quality=90)
    body = json.dumps(
        {"signature_name": signature, "instances": [{"b64": base64.b64encode(buffer.getvalue()).decode()}]}
    ).encode()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = http.ModelServer(run, model_name="bench", workers=os.cpu_count() or 2)
    httpd = http.start(model, port=port)
    url = f"http://127.0.0.1:{port}/v1/models/bench:predict"

    def post(_=None):
        started = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=300) as response:
            response.read()
            if response.status != 200:
                raise RuntimeError(f"server answered {response.status}")
        return time.perf_counter() - started

    try:
        post()  # Warm-up.
        latencies, api_seconds = [], []
        for _ in range(requests):
            if api is not None:
                started = time.perf_counter()
                api()
                api_seconds.append(time.perf_counter() - started)
            latencies.append(post())
        latencies.sort()
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(post, range(clients * per_client)))
        throughput = clients * per_client / (time.perf_counter() - started)
    finally:
        httpd.shutdown()
        httpd.server_close()
    p95 = latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))]
    api_ms = 1000 * statistics.median(api_seconds) if api_seconds else None
    return 1000 * statistics.median(latencies), 1000 * p95, throughput, api_ms


def film_figures(run, frames):
    """frames/s and peak memory of ``python -m colorkeras.film`` (a process of its
    own) on a generated 640x480 clip of ``frames`` frames."""

    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip.mp4"
        make_clip(clip, 640, 480, frames_per_shot=max(frames // 2, 1))
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "colorkeras.film",
                str(clip),
                "--out",
                str(Path(folder) / "out.mp4"),
                "--model",
                str(run),
            ],
            capture_output=True,
            text=True,
        )
    # The film command reports its own peak (VmHWM): getrusage's maximum for a child
    # carries over this process's from before exec.
    done = re.search(r"Done: (\d+) frames in ([\d.]+) s.*peak memory (\d+) MB", result.stderr)
    if result.returncode != 0 or not done:
        raise RuntimeError(f"the film command failed: {result.stderr[-500:]}")
    count, seconds = int(done.group(1)), float(done.group(2))
    return {
        "film_frames": count,
        "film_frames_per_second_640x480": count / seconds,
        "film_peak_memory_mb": float(done.group(3)),
    }
