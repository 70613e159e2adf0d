"""Bulk colorization on Apache Beam (colorkeras.bulk), DirectRunner with 2 worker processes."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_cli

pytest.importorskip("apache_beam")
pytestmark = pytest.mark.slow

BEAM = ["--runner", "DirectRunner", "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]


def make_archive(folder, size_scale=1):
    """40 good images (PNG, JPEG, WebP, BMP, gray and colour, 18 sizes, nested) and 4 bad files."""
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    formats = ["png", "jpg", "webp", "bmp"]
    for index in range(40):
        photo = photos[index % 4]
        height, width = (48 + 7 * (index % 18)) * size_scale, (64 + 5 * (index % 9)) * size_scale
        image = Image.fromarray(photo[:height, :width]).resize((width, height))
        if index % 5 == 0:
            image = image.convert("L")
        place = folder / ("deep/er" if index % 4 == 0 else "shallow" if index % 4 == 1 else "")
        place.mkdir(parents=True, exist_ok=True)
        image.save(place / f"photo{index:02d}.{formats[index % 4]}")
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a picture")
    (folder / "truncated.png").write_bytes(next(folder.rglob("*.png")).read_bytes()[:100])
    (folder / "bomb.gif").write_bytes(b"GIF89a" + (30000).to_bytes(2, "little") * 2 + b"\0" * 20)
    return folder


def outputs(folder):
    return {path.relative_to(folder).as_posix(): np.asarray(Image.open(path)) for path in folder.rglob("*.png")}


def test_archive_gives_the_clis_outputs_failures_csv_and_a_rerun_writes_nothing(tiny_run, tmp_path):
    archive = make_archive(tmp_path / "archive")
    cli_out, bulk_out = tmp_path / "cli", tmp_path / "bulk"
    assert run_cli("colorkeras.colorize", archive, "--out", cli_out, "--model", tiny_run).returncode == 1  # 4 failed.
    result = run_cli("colorkeras.bulk", "--input", archive, "--output", bulk_out, "--model", tiny_run, *BEAM)
    assert result.returncode == 1 and "Done: 40 colorized, 0 skipped (already there), 4 failed" in result.stdout, (
        result.stderr[-3000:]
    )
    expected, produced = outputs(cli_out), outputs(bulk_out)
    assert len(produced) == 40 and sorted(produced) == sorted(expected)
    for name, array in expected.items():
        np.testing.assert_array_equal(produced[name], array, err_msg=name)
    rows = (bulk_out / "_failures.csv").read_text().splitlines()
    assert rows[0] == "path,reason" and len(rows) == 5
    assert {row.split(",")[0].rsplit("/", 1)[1] for row in rows[1:]} == {
        "empty.png",
        "notes.jpg",
        "truncated.png",
        "bomb.gif",
    }
    before = {path: path.stat().st_mtime_ns for path in bulk_out.rglob("*.png")}
    again = run_cli("colorkeras.bulk", "--input", f"{archive}/**", "--output", bulk_out, "--model", tiny_run, *BEAM)
    assert "Done: 0 colorized, 40 skipped (already there), 4 failed" in again.stdout, again.stderr[-3000:]
    assert {path: path.stat().st_mtime_ns for path in bulk_out.rglob("*.png")} == before
    assert sorted(path.name for path in bulk_out.iterdir()) == ["_failures.csv", "archive"]


def test_killed_mid_way_and_run_again_it_ends_with_the_same_outputs_and_no_partial_files(tiny_run, tmp_path):
    archive = make_archive(tmp_path / "archive", size_scale=6)
    first, second = tmp_path / "first", tmp_path / "second"
    command = [sys.executable, "-m", "colorkeras.bulk", "--input", str(archive), "--model", str(tiny_run), *BEAM]
    assert subprocess.run([*command, "--output", str(first)], capture_output=True).returncode == 1
    process = subprocess.Popen(
        [*command, "--output", str(second)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not list(second.rglob("photo*.png")) and process.poll() is None:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # The pipeline and its worker processes, at once.
    process.wait()
    done_before = len(list(second.rglob("photo*.png")))
    assert 0 < done_before < 40, f"{done_before} outputs when killed"
    result = subprocess.run([*command, "--output", str(second)], capture_output=True, text=True)
    assert result.returncode == 1 and "4 failed" in result.stdout, result.stderr[-3000:]
    # What was finished before the kill is kept, not redone.
    skipped = int(re.search(r"(\d+) skipped", result.stdout)[1])
    assert done_before <= skipped < 40
    expected, produced = outputs(first), outputs(second)
    assert sorted(produced) == sorted(expected) and len(produced) == 40
    for name, array in expected.items():
        np.testing.assert_array_equal(produced[name], array, err_msg=name)
    assert not list(second.rglob(".colorkeras-partial")) and not list(second.rglob("*.tmp*"))


def test_one_file_goes_in_the_output_folder_itself_as_the_cli_puts_it(tiny_run, tmp_path):
    archive = make_archive(tmp_path / "archive")
    result = run_cli(
        "colorkeras.bulk",
        "--input",
        archive / "photo02.webp",
        "--output",
        tmp_path / "out",
        "--model",
        tiny_run,
        *BEAM[:2],
    )
    assert result.returncode == 0 and "Done: 1 colorized" in result.stdout, result.stderr[-2000:]
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["photo02.png"]
    missing = run_cli(
        "colorkeras.bulk", "--input", tmp_path / "nothere", "--output", tmp_path / "out2", "--model", tiny_run
    )
    assert missing.returncode == 2 and "nothere: no such file or folder" in missing.stderr
    (tmp_path / "a-file").write_text("mine")
    unwritable = run_cli(
        "colorkeras.bulk",
        "--input",
        archive / "photo02.webp",
        "--output",
        tmp_path / "a-file" / "out",
        "--model",
        tiny_run,
    )
    assert (
        unwritable.returncode == 2 and "cannot write into" in unwritable.stderr and "Traceback" not in unwritable.stderr
    )
    assert (tmp_path / "a-file").read_text() == "mine"


@pytest.fixture
def dask_cluster(tmp_path):
    """A dask.distributed cluster on loopback, started as an operator starts one: a
    ``dask scheduler`` and two ``dask worker`` processes (one thread each, no nanny,
    so a killed worker stays dead). Yields (address, [worker processes])."""
    pytest.importorskip("dask.distributed", reason="the Dask runner needs apache-beam[dask] (dask.distributed)")
    from distributed import Client

    from tests.conftest import free_port

    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    logs = open(tmp_path / "dask.log", "w")
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
        stdout=logs,
        stderr=logs,
    )
    workers = []
    try:
        with Client(address, timeout=60) as client:
            workers = [
                subprocess.Popen(
                    [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-nanny", "--no-dashboard"],
                    stdout=logs,
                    stderr=logs,
                )
                for _ in range(2)
            ]
            client.wait_for_workers(2, timeout=120)
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait()
        logs.close()


def test_on_a_dask_cluster_a_worker_killed_mid_run_loses_and_doubles_nothing(tiny_run, tmp_path, dask_cluster):
    address, workers = dask_cluster
    archive = make_archive(tmp_path / "archive", size_scale=6)
    cli_out, bulk_out = tmp_path / "cli", tmp_path / "bulk"
    assert run_cli("colorkeras.colorize", archive, "--out", cli_out, "--model", tiny_run).returncode == 1  # 4 failed.
    # The short runner name, as for Beam's own runners.
    command = [
        sys.executable,
        "-m",
        "colorkeras.bulk",
        "--input",
        str(archive),
        "--output",
        str(bulk_out),
        "--model",
        str(tiny_run),
        "--runner",
        "DaskRunner",
        "--dask_client_address",
        address,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not list(bulk_out.rglob("photo*.png")) and process.poll() is None:
        time.sleep(0.02)
    written_when_killed = len(list(bulk_out.rglob("photo*.png")))
    workers[0].send_signal(signal.SIGKILL)  # One of the two workers, mid-run.
    workers[0].wait()
    stdout, stderr = process.communicate(timeout=600)
    assert 0 < written_when_killed < 40, f"{written_when_killed} outputs when the worker was killed"
    assert process.returncode == 1, stderr[-3000:]
    assert "Done: 40 colorized, 0 skipped (already there), 4 failed" in stdout, stderr[-3000:]
    assert "Traceback" not in stderr and "[" in stderr  # Progress lines, no traceback.
    loads = int(re.search(r"model loaded (\d+) time", stdout)[1])
    assert (
        1 <= loads <= 3
    )  # Once per worker process (the killed one may not have loaded it yet), not per image or bundle.
    expected, produced = outputs(cli_out), outputs(bulk_out)
    assert sorted(produced) == sorted(expected) and len(produced) == 40
    for name, array in expected.items():
        np.testing.assert_array_equal(produced[name], array, err_msg=name)
    rows = (bulk_out / "_failures.csv").read_text().splitlines()
    assert rows[0] == "path,reason" and len(rows) == 5  # Each failure once.
    assert sorted(path.name for path in bulk_out.iterdir()) == [
        "_failures.csv",
        "archive",
    ]  # Nothing partial, nothing stray.
    assert not [path for path in bulk_out.rglob("*") if path.is_file() and path.suffix not in (".png", ".csv")]
    before = {path: path.stat().st_mtime_ns for path in bulk_out.rglob("*.png")}
    again = run_cli(
        "colorkeras.bulk",
        "--input",
        archive,
        "--output",
        bulk_out,
        "--model",
        tiny_run,
        "--runner",
        "DaskRunner",
        "--dask_client_address",
        address,
    )
    assert "Done: 0 colorized, 40 skipped (already there), 4 failed" in again.stdout, again.stderr[-3000:]
    assert {path: path.stat().st_mtime_ns for path in bulk_out.rglob("*.png")} == before  # The rerun wrote nothing.


def test_short_runner_names_are_made_full_and_dask_gets_a_few_images_per_task():
    from colorkeras.serving.beam import DASK_PARTITION_SIZE, RUNNERS, beam_arguments

    full = RUNNERS["DaskRunner"]
    assert beam_arguments(["--runner", "DaskRunner", "--dask_client_address", "tcp://h:1"]) == [
        "--runner",
        full,
        "--dask_client_address",
        "tcp://h:1",
        f"--dask_partition_size={DASK_PARTITION_SIZE}",
    ]
    assert beam_arguments(["--runner=DaskRunner", "--dask_npartitions", "8"]) == [
        f"--runner={full}",
        "--dask_npartitions",
        "8",
    ]
    assert beam_arguments(["--runner", "DirectRunner", "--direct_num_workers", "2"]) == [
        "--runner",
        "DirectRunner",
        "--direct_num_workers",
        "2",
    ]


def test_unknown_flags_and_empty_inputs_are_refused_before_anything_is_made(tiny_run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "one.png")
    cases = {
        ("--input", tmp_path / "one.png", "--formt", "tiff"): "unknown flag(s): --formt (did you mean --format?)",
        ("--input", tmp_path / "one.png", "[--model", "RUN]"): "unexpected argument '[--model'",
        ("--input", empty): "no images found in",
    }
    for arguments, message in cases.items():
        out = tmp_path / "out"
        result = run_cli("colorkeras.bulk", *arguments, "--output", out, "--model", tiny_run)
        assert result.returncode == 2 and message in result.stderr, result.stderr[-1500:]
        assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def test_an_output_already_there_is_skipped_only_when_these_inputs_made_it(tiny_run, tmp_path):
    archive = make_archive(tmp_path / "archive")
    out = tmp_path / "out"
    common = ["colorkeras.bulk", "--input", archive / "photo02.webp", "--output", out, "--model", tiny_run, *BEAM[:2]]
    out.mkdir()
    (out / "photo02.png").write_bytes(b"mine")  # Not this run's: the user's, kept unless --overwrite.
    refused = run_cli(*common)
    assert refused.returncode == 2 and "--overwrite" in refused.stderr and "photo02.png" in refused.stderr
    assert (out / "photo02.png").read_bytes() == b"mine"
    replaced = run_cli(*common, "--overwrite")
    assert replaced.returncode == 0 and "Done: 1 colorized" in replaced.stdout, replaced.stderr[-2000:]
    made = (out / "photo02.png").read_bytes()
    again = run_cli(*common)  # Its own output: skipped, untouched.
    assert (
        again.returncode == 0
        and "0 colorized, 1 skipped" in again.stdout
        and (out / "photo02.png").read_bytes() == made
    )
    cli_out = tmp_path / "cli"
    assert (
        run_cli("colorkeras.colorize", archive / "photo02.webp", "--out", cli_out, "--model", tiny_run).returncode == 0
    )
    assert (cli_out / "photo02.png").read_bytes() == made  # The same bytes, recipe included, as the CLI writes.
