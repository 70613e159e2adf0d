import json

import pytest

from colorkeras import bench
from colorkeras.evaluation import speed
from colorkeras.training import speed as training_speed


def test_forward_flops_of_one_convolution_by_hand():
    import keras

    inputs = keras.Input((None, None, 1))
    outputs = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    model = keras.Model(inputs, outputs)
    # 8x8 outputs x 4 filters x 3x3x1 multiply-adds x 2 FLOPs.
    assert speed.forward_flops(model, 8) == 8 * 8 * 4 * 9 * 2


@pytest.mark.slow
def test_bench_prints_every_figure_and_writes_json(tiny_run, tmp_path, capsys):
    output = tmp_path / "bench.json"
    code = bench.main(
        [
            "--model",
            str(tiny_run),
            "--repeats",
            "1",
            "--train-steps",
            "2",
            "--batch-size",
            "8",
            "--precision-steps",
            "2",
            "--server-requests",
            "2",
            "--film-frames",
            "8",
            "--json",
            str(output),
        ]
    )
    assert code == 0
    figures = json.loads(output.read_text())
    for key in (
        "yardstick_gflops",
        "train_images_per_second_32",
        "train_gflops",
        "train_share_of_yardstick",
        "inference_images_per_second_32",
        "latency_ms_768x512",
        "latency_ms_4000x3000",
        "peak_memory_mb",
        "colorize_ms_4000x3000",
        "colorize_ms_1mp",
        "train_images_per_second_64_float32",
        "train_images_per_second_64_mixed_bfloat16",
        "bfloat16_speedup",
        "server_png_latency_ms_1mp_median",
        "server_png_latency_ms_1mp_p95",
        "server_png_requests_per_second_32_clients",
        "server_jpeg_latency_ms_1mp_median",
        "server_jpeg_requests_per_second_32_clients",
        "server_png_api_ms_1mp_median",
        "server_jpeg_api_ms_1mp_median",
        "film_frames_per_second_640x480",
        "film_peak_memory_mb",
    ):
        assert figures[key] > 0, key
    assert "skipped" not in figures
    # The figures hang together: a 12-MP scan takes longer than a 0.4-MP photo, a
    # percentile is at least the median, the speed-up is the ratio of the two speeds.
    assert figures["latency_ms_4000x3000"] > figures["latency_ms_768x512"]
    assert figures["colorize_ms_4000x3000"] > figures["colorize_ms_1mp"]
    assert figures["server_png_latency_ms_1mp_p95"] >= figures["server_png_latency_ms_1mp_median"]
    ratio = figures["train_images_per_second_64_mixed_bfloat16"] / figures["train_images_per_second_64_float32"]
    assert figures["bfloat16_speedup"] == pytest.approx(ratio, rel=1e-3)
    assert 0 <= figures["mean_abs_delta_l_4000x3000"] < 1
    assert figures["film_frames"] == 8 and figures["film_peak_memory_mb"] < 2048
    # Both precisions start from the same weights and data: after 3 steps their losses are close.
    float32, bfloat16 = figures["train_loss_after_steps_float32"], figures["train_loss_after_steps_mixed_bfloat16"]
    assert abs(float32 - bfloat16) < 0.1 * float32
    printed = capsys.readouterr().out
    assert "GFLOP/s" in printed and "4000x3000" in printed and "mixed_bfloat16" in printed
    assert "colorize_bytes_jpeg" in printed and "the Python API's" in printed
    # The server's ratio is to the Python API timed in turn with its requests, and printed as that ratio.
    png_ratio = figures["server_png_latency_ms_1mp_median"] / figures["server_png_api_ms_1mp_median"]
    assert f"{png_ratio:.2f}x ({figures['server_png_api_ms_1mp_median']:.0f} ms)" in printed


@pytest.mark.slow
def test_a_part_that_cannot_run_is_said_in_one_line_and_the_rest_still_printed(tiny_run, tmp_path, capsys, monkeypatch):
    def no_training(*args, **kwargs):
        raise RuntimeError("HTTP Error 404: Not Found")

    monkeypatch.setattr(
        training_speed, "training_throughput", no_training
    )  # training.benchmark calls it through the module.
    code = bench.main(
        [
            "--model",
            str(tiny_run),
            "--repeats",
            "1",
            "--precision-steps",
            "0",
            "--server-requests",
            "0",
            "--film-frames",
            "0",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert captured.err.count("skipped: training: HTTP Error 404: Not Found") == 1
    assert "Traceback" not in captured.err
    assert "latency 4000x3000" in captured.out and "colorize() a 1-megapixel RGB photo" in captured.out
    assert "training at 32x32" not in captured.out and "skipped (HTTP Error 404" in captured.out


@pytest.mark.slow
def test_a_region_trained_hint_run_is_benched_with_its_training_figures(tiny_hint_run, tmp_path):
    """The bench trains the automatic network of a hint run: a run trained with
    --region-hints (the shipped hint run) must not have that part refused."""
    import shutil

    run = tmp_path / "region-hints"
    shutil.copytree(tiny_hint_run, run)
    config = json.loads((run / "config.json").read_text())
    config["settings"].update(hints=True, region_hints=1.0)
    (run / "config.json").write_text(json.dumps(config))
    output = tmp_path / "bench.json"
    code = bench.main(
        [
            "--model",
            str(run),
            "--repeats",
            "1",
            "--train-steps",
            "2",
            "--batch-size",
            "8",
            "--precision-steps",
            "0",
            "--server-requests",
            "0",
            "--film-frames",
            "0",
            "--json",
            str(output),
        ]
    )
    assert code == 0
    figures = json.loads(output.read_text())
    assert "skipped" not in figures and figures["train_images_per_second_32"] > 0
