"""Speed on this machine, in one command: ``python -m colorkeras.bench [--json FILE]``.

Each figure is the median of ``--repeats`` timed repeats after a warm-up:

- yardstick: numpy float32 matrix multiply (2048 x 2048 x 2048), GFLOP/s;
- training: images/s of the run's architecture at 32x32 (synthetic data), and the
  achieved GFLOP/s (3 forward passes per training step, a multiply-add = 2 FLOPs,
  forward FLOPs counted by the TensorFlow profiler) as a share of the yardstick;
- inference: images/s through the SavedModel at 32x32 in batches, and latency of
  the serving signature on one 768x512 and one 4000x3000 image; the 4000x3000
  image also as a ratio to an OpenCV yardstick timed in the same run (the same
  pre- and post-processing on uint8: gray to Lab, area downscale, bilinear
  chroma upscale, Lab to RGB), which holds across machines where milliseconds do not;
- the Python API (``Colorizer.colorize``) on a 4000x3000 gray photograph, with the
  mean difference between its output's and its input's CIELAB lightness, and on a
  1-megapixel colour photograph (what a dashboard upload costs);
- precision: training images/s at 64x64 under float32 and under Keras
  ``mixed_bfloat16`` (fast on CPUs with AVX-512 BF16), from the same weights on
  the same real photographs, with the loss each reaches after the same steps;
- the HTTP server (``colorkeras.serve``, in this process): latency of one
  1-megapixel JPEG through ``colorize_bytes`` (a PNG answer) and
  ``colorize_bytes_jpeg`` (a JPEG answer), median and 95th percentile, as a ratio to
  the Python API's median on the same photograph timed in turn with the requests (the
  same load on the machine for both), and throughput with 32 concurrent clients;
- hints (runs that take them): a new result for a 1-megapixel photograph after a
  hint is added (``Colorizer.colorize(image, hints=...)`` with 5 points);
- film: frames/s of ``python -m colorkeras.film`` on a generated 640x480 clip
  (stabilisation on), from its own count of frames and seconds, and that
  process's peak memory;
- peak memory (maximum resident set size) of the process.

A part that cannot run here (a run without a signature, no free port) is said in
one line and skipped; the rest is still measured and printed.
"""

import os
import sys

from colorkeras.core import cli, store
from colorkeras.core.store import atomic_write_json


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    parser = cli.command_parser("bench", "Measure training and inference speed on this machine.")
    parser.add_argument(
        "--model",
        default=None,
        metavar="RUN",
        help="run whose architecture and SavedModel are measured (default: the default run)",
    )
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (the median is reported)")
    parser.add_argument("--train-steps", type=int, default=20, help="training steps per repeat")
    parser.add_argument("--batch-size", type=int, default=64, help="training and 32x32 inference batch size")
    parser.add_argument(
        "--server-requests",
        type=int,
        default=10,
        help="sequential requests timed against the HTTP server (0: skip the server figures)",
    )
    parser.add_argument(
        "--film-frames",
        type=int,
        default=96,
        help="frames of the generated 640x480 film timed through python -m colorkeras.film (0: skip it)",
    )
    parser.add_argument(
        "--precision-steps",
        type=int,
        default=10,
        help="training steps per repeat of the float32 / bfloat16 comparison at 64x64 (0: skip it)",
    )
    args = parser.parse_args(argv)
    # The library loads TensorFlow: only after the flags are read, so --help and a
    # wrong flag answer at once.
    from colorkeras.serving.inference import Colorizer
    from colorkeras.training.benchmark import BenchOptions, measure, table

    try:
        colorizer = Colorizer(args.model)
    except (store.RunError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Benchmarking {colorizer.name} on {os.cpu_count()} CPU(s) ...", file=sys.stderr)
    results, skipped = measure(colorizer, cli.options_from(BenchOptions, args))
    rows = table(results, skipped)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.json:
        atomic_write_json(args.json, results)
    return 0


if __name__ == "__main__":
    cli.run(main)
