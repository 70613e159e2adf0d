"""Bulk throughput, side by side in one run: the colorize CLI, the DirectRunner and
the Dask runner with 1 and 2 workers, on the same photographs.

    python scripts/experiments/bulk_throughput.py [--input ../shared/datasets/photos/test] [--count 200] [--model RUN]

Each engine colorizes the same ``--count`` photographs (the first in sorted order
under ``--input``, copied into one folder) into a fresh folder, as a user would
start it: a new process, model loading and, for Dask, the workers' own start-up
included (the cluster itself is started first, as an operator would have it
running). Every engine's outputs are checked equal to the CLI's. Prints a table
(seconds, images/s) and writes it as JSON with ``--json``.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

BIN = Path(sys.executable).parent


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(command):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(map(str, command[:4]))} ... failed:\n{result.stderr[-2000:]}")
    return seconds


def outputs(folder):
    return {path.relative_to(folder).as_posix(): np.asarray(Image.open(path)) for path in sorted(folder.rglob("*.png"))}


class DaskCluster:
    """``dask scheduler`` and ``workers`` ``dask worker`` processes on loopback."""

    def __init__(self, workers, log):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes = [
            subprocess.Popen(
                [
                    BIN / "dask",
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    self.address.rsplit(":", 1)[1],
                    "--no-dashboard",
                ],
                stdout=log,
                stderr=log,
            )
        ]
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            self.processes += [
                subprocess.Popen(
                    [BIN / "dask", "worker", self.address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                    stdout=log,
                    stderr=log,
                )
                for _ in range(workers)
            ]
            client.wait_for_workers(workers, timeout=120)

    def close(self):
        for process in reversed(self.processes):
            process.kill()
            process.wait()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--input", default="../shared/datasets/photos/test", help="folder of photographs")
    parser.add_argument("--count", type=int, default=200, help="photographs to colorize")
    parser.add_argument("--model", default=None, help="run (default: the default run)")
    parser.add_argument("--json", default=None, help="also write the table as JSON")
    args = parser.parse_args(argv)

    from colorkeras.core.images import find_images

    photos = find_images(Path(args.input))[: args.count]
    if len(photos) < args.count:
        sys.exit(f"error: {args.input} holds {len(photos)} images, fewer than --count {args.count}")
    model = ["--model", args.model] if args.model else []
    rows = []
    with tempfile.TemporaryDirectory(prefix="bulk-throughput-") as work:
        work = Path(work)
        archive = work / "photos"
        archive.mkdir()
        for index, photo in enumerate(photos):
            shutil.copy(photo, archive / f"{index:04d}{photo.suffix.lower()}")
        log = open(work / "dask.log", "w")
        engines = [
            (
                "colorize CLI (one process)",
                None,
                lambda out: [BIN / "python", "-m", "colorkeras.colorize", str(archive), "--out", str(out), *model],
            ),
            (
                "Beam DirectRunner, 2 worker processes",
                None,
                lambda out: [
                    BIN / "python",
                    "-m",
                    "colorkeras.bulk",
                    "--input",
                    str(archive),
                    "--output",
                    str(out),
                    *model,
                    "--runner",
                    "DirectRunner",
                    "--direct_num_workers",
                    "2",
                    "--direct_running_mode",
                    "multi_processing",
                ],
            ),
            ("Beam DaskRunner, 1 worker", 1, None),
            ("Beam DaskRunner, 2 workers", 2, None),
        ]
        reference = None
        for name, workers, command in engines:
            out = work / f"out-{len(rows)}"
            cluster = DaskCluster(workers, log) if workers else None
            try:
                if cluster:

                    def command(out, address=cluster.address):
                        return [
                            BIN / "python",
                            "-m",
                            "colorkeras.bulk",
                            "--input",
                            str(archive),
                            "--output",
                            str(out),
                            *model,
                            "--runner",
                            "DaskRunner",
                            "--dask_client_address",
                            address,
                        ]

                seconds = timed(command(out))
            finally:
                if cluster:
                    cluster.close()
            produced = outputs(out)
            if reference is None:
                reference = produced
            same = sorted(produced) == sorted(reference) and all(
                np.array_equal(produced[key], reference[key]) for key in reference
            )
            rows.append(
                {
                    "engine": name,
                    "images": len(produced),
                    "seconds": seconds,
                    "images_per_second": len(produced) / seconds,
                    "same_as_cli": same,
                }
            )
            print(
                f"{name:<40} {len(produced):>4} images  {seconds:6.1f} s  {len(produced) / seconds:5.1f} images/s  "
                f"same as the CLI's: {same}",
                flush=True,
            )
        log.close()
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"count": args.count, "input": args.input, "machine_cpus": os.cpu_count(), "rows": rows}, indent=2
            )
            + "\n"
        )
    return 0 if all(row["same_as_cli"] and row["images"] == args.count for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
