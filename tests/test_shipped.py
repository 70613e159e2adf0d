"""The runs shipped in saved_models/: what a new user colorizes with in the first minute."""

import pytest

from colorkeras.core import store
from colorkeras.evaluation import scoring
from colorkeras.serving.inference import Colorizer

SHIPPED = store.models_dir()


def folder_bytes(folder):
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_default_and_reference_are_complete_small_runs():
    default, reference = store.default_run_name(SHIPPED), store.reference_run_name(SHIPPED)
    assert store.takes_hints(SHIPPED / default), "the default must take hints (colorize --hints uses it)"
    assert len(store.list_runs(SHIPPED)) <= 3, store.list_runs(SHIPPED)
    assert (SHIPPED / store.DEFAULT_FILE).read_text().strip() == default
    assert (SHIPPED / store.REFERENCE_FILE).read_text().strip() == reference
    for name in store.list_runs(SHIPPED):
        folder = SHIPPED / name
        assert (folder / "README.md").is_file(), f"{name} has no model card"
        # The default (a MobileNetV2 U-Net) may take 40 MB; the CIFAR-10 references stay under 20 MB.
        limit = 40 if name == default else 20
        assert folder_bytes(folder) < limit * 2**20, f"{name} is over {limit} MB"


@pytest.mark.slow
def test_the_default_colorizes_real_photographs_better_than_the_gray_copy():
    rows, gray_row, _ = scoring.score_skimage([Colorizer()])
    assert rows[0]["psnr"] > gray_row["psnr"] + 0.5
    assert rows[0]["colorfulness"] > 15


def test_every_shipped_run_carries_every_signature_its_kind_supports():
    # The signature names only, read from saved_model.pb: no graph is loaded, so this
    # stays in the fast suite. A run exported before a signature existed fails here
    # (python -m colorkeras.export --model RUN --name RUN --overwrite rebuilds it).
    from tensorflow.core.protobuf import saved_model_pb2

    from colorkeras.serving.graph import AUTOMATIC_SIGNATURES, HINT_SIGNATURES, REFERENCE_SIGNATURE

    runs = store.list_runs(SHIPPED)
    assert runs, "no shipped runs"
    for name in runs:
        proto = saved_model_pb2.SavedModel()
        proto.ParseFromString((store.Run(SHIPPED / name).saved_model / "saved_model.pb").read_bytes())
        signatures = set(proto.meta_graphs[0].signature_def) - {"__saved_model_init_op"}
        expected = set(AUTOMATIC_SIGNATURES)
        if store.takes_hints(SHIPPED / name):
            expected |= set(HINT_SIGNATURES) | {"suggest_colors"}
            if store.Run(SHIPPED / name).read_config()["settings"]["architecture"] == "mobilenet-unet":
                expected.add(REFERENCE_SIGNATURE)  # The pretrained encoder's features find the correspondences.
        assert expected <= signatures, f"{name} lacks {sorted(expected - signatures)}"


@pytest.mark.slow
def test_a_red_hint_on_the_shipped_default_store_colours_its_point_red(tmp_path):
    # As a newcomer types it: colorize --hints without --model, on the shipped runs.
    import json

    import numpy as np
    from PIL import Image
    from skimage import data

    from tests.conftest import run_cli

    Image.fromarray(data.camera()).save(tmp_path / "camera.png")  # 512x512 gray: a man, a camera, a sky.
    (tmp_path / "hints.json").write_text(json.dumps([{"x": 400, "y": 80, "color": "#d02020"}]))
    result = run_cli(
        "colorkeras.colorize", tmp_path / "camera.png", "--hints", tmp_path / "hints.json", "--out", tmp_path / "out"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    red, green, blue = (
        np.asarray(Image.open(tmp_path / "out" / "camera.png"), np.int32)[76:85, 396:405].reshape(-1, 3).mean(axis=0)
    )
    assert red > green + 30 and red > blue + 30, (red, green, blue)


def test_no_shipped_record_holds_a_machines_absolute_path():
    found = []
    for path in sorted(SHIPPED.rglob("*")):
        if path.suffix in (".json", ".csv", ".md") and "saved_model" not in path.parts:
            found += [
                f"{path.relative_to(SHIPPED)}: {match.group(0)}"
                for match in store.ABSOLUTE_PATH.finditer(path.read_text())
            ]
    assert not found, found
