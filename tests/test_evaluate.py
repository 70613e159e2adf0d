import json

import numpy as np
import pytest

from colorkeras import evaluate
from colorkeras.evaluation import scoring
from colorkeras.serving.inference import Colorizer
from tests.conftest import run_cli, write_crops


def test_gray_copy_row_scores_luma_against_truth():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    row = scoring.score_gray_copy(images)
    assert row["name"] == "gray copy" and row["n"] == 5 and row["colorfulness"] == 0.0
    from colorkeras.core.images import luma_gray

    expected = np.mean((luma_gray(images).astype(float) - images) ** 2)
    assert row["mse"] == pytest.approx(expected)


def test_score_arrays_goes_through_the_saved_model(tiny_run):
    images = np.stack([crop for crop in np.random.default_rng(1).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)])
    colorizer = Colorizer(tiny_run)
    row = scoring.score_arrays(colorizer, images, batch_size=4)
    assert row["n"] == 6 and row["name"] == tiny_run.name
    grid = scoring.sample_grid(colorizer, images[:3], scale=2)
    assert grid.shape == (3 * 16 * 2, 3 * 16 * 2, 3)


def test_cli_scores_a_folder_at_full_size_and_writes_json_and_csv(tiny_run, tmp_path):
    write_crops(tmp_path / "photos" / "train", 3, size=40)
    folder = write_crops(tmp_path / "photos" / "test", 6, size=40)
    (folder / "broken.png").write_bytes(b"\x89PNG broken")
    report_path = tmp_path / "report.json"
    result = run_cli("colorkeras.evaluate", "--model", tiny_run, "--data", tmp_path / "photos", "--output", report_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "gray copy" in result.stdout and tiny_run.name in result.stdout and "ground truth" in result.stdout
    assert result.stdout.split()[0] == "name"  # The table alone on standard output; progress on stderr.
    assert "1 unreadable file(s) skipped" in result.stderr
    report = json.loads(report_path.read_text())
    assert [row["name"] for row in report["rows"]] == ["gray copy", tiny_run.name, "ground truth"]
    for row in report["rows"]:
        assert {"name", "n", "mse", "psnr", "ssim", "colorfulness", "colorfulness_gap", "auc"} <= set(row)
        assert row["n"] == 6
    assert report_path.with_suffix(".csv").read_text().startswith("name,n,mse,psnr")


def test_cli_errors_are_one_message(tmp_path):
    result = run_cli("colorkeras.evaluate", "--model", "nope", "--data", tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_skimage_photographs_are_scored_at_full_size(tiny_run):
    rows, gray_row, per_photo = scoring.score_skimage([Colorizer(tiny_run)])
    assert rows[0]["n"] == gray_row["n"] == len(scoring.SKIMAGE_PHOTOS)
    assert len(per_photo) == 2 * len(scoring.SKIMAGE_PHOTOS) and per_photo[0]["name"] == "astronaut: gray copy"
    # The pooled MSE is the per-photo MSEs weighted by each photo's pixel count.
    sizes = [photo.size for photo in scoring.skimage_photos()]
    gray_rows = [row for row in per_photo if row["name"].endswith("gray copy")]
    pooled = sum(row["mse"] * size for row, size in zip(gray_rows, sizes, strict=False)) / sum(sizes)
    assert gray_row["mse"] == pytest.approx(pooled)
    assert gray_row["colorfulness"] == 0.0 and gray_row["truth_colorfulness"] > 20
    limited, limited_gray, _ = scoring.score_skimage([Colorizer(tiny_run)], limit=2)  # evaluate --limit 2
    assert limited[0]["n"] == limited_gray["n"] == 2


def test_flat_folder_test_split_matches_training(tmp_path):
    from colorkeras.data import pipeline as data_lib

    folder = write_crops(tmp_path / "flat", 30)
    _, test = data_lib.split_files(data_lib.find_images(folder))
    assert scoring.find_split_files(folder) == test
    assert len(scoring.find_split_files(folder, split="all")) == 30


def test_cli_validation_split_of_a_folder_is_what_the_run_held_out(tiny_run, image_folder):
    # The tiny run trained on image_folder (40 files: 32 for training, 10% of them held out).
    from colorkeras.data import pipeline as data_lib

    settings = json.loads((tiny_run / "config.json").read_text())["settings"]
    held_out = data_lib.validation_files(image_folder, settings["validation_fraction"], settings["seed"])
    assert len(held_out) == 3
    assert scoring.find_split_files(image_folder, "validation", validation_fraction=0.1, seed=0) == held_out
    result = run_cli(
        "colorkeras.evaluate",
        "--model",
        tiny_run,
        "--data",
        image_folder,
        "--split",
        "validation",
        "--render-size",
        "24",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Scoring {len(held_out)} images" in result.stderr and "full resolution" in result.stderr


@pytest.mark.slow
def test_per_image_rows_are_stored_with_output_as_strict_json(tiny_run, tmp_path):
    import json

    output = tmp_path / "skimage.json"
    result = run_cli("colorkeras.evaluate", "--model", tiny_run, "--data", "skimage", "--per-image", "--output", output)
    assert result.returncode == 0, result.stderr[-2000:]

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    report = json.loads(output.read_text(), parse_constant=refuse)
    names = [row["name"] for row in report["per_image"]]
    assert len(names) == 2 * len(scoring.SKIMAGE_PHOTOS) and "astronaut: gray copy" in names
    per_image_csv = output.with_suffix(".per-image.csv").read_text().splitlines()
    assert per_image_csv[0].startswith("name,") and len(per_image_csv) == 1 + len(names)


def test_contact_sheet_shows_gray_each_model_and_truth_for_evenly_spread_images(tiny_run, tmp_path):
    from PIL import Image

    write_crops(tmp_path / "photos", 30, size=40)
    sheet = tmp_path / "sheet.png"
    result = run_cli(
        "colorkeras.evaluate",
        "--model",
        tiny_run,
        "--model",
        tiny_run,
        "--data",
        tmp_path / "photos",
        "--split",
        "all",
        "--contact-sheet",
        sheet,
        "--sheet-count",
        "7",
    )
    assert result.returncode == 0, result.stderr
    picture = np.asarray(Image.open(sheet))
    # 7 cells of 4 square panels (gray, two models, truth), 6 to a row: 2 rows of 128 + 6 px.
    assert picture.shape == (2 * (128 + 6), 6 * (4 * 128 + 3 * 2 + 6), 3)
    first_gray = picture[:128, :128]
    assert np.all(first_gray[..., 0] == first_gray[..., 1])  # The first panel is the gray copy.
    assert not list(tmp_path.glob(".*.tmp.png"))


def test_cli_degrade_scores_archive_like_gray_copies_and_says_so(tiny_run, tmp_path):
    write_crops(tmp_path / "photos" / "train", 3, size=40)
    write_crops(tmp_path / "photos" / "test", 6, size=40)
    output = tmp_path / "archive.json"
    result = run_cli(
        "colorkeras.evaluate", "--model", tiny_run, "--data", tmp_path / "photos", "--output", output, "--degrade"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(output.read_text())
    assert report["degrade"] is True and [row["name"] for row in report["rows"]] == [
        "gray copy",
        tiny_run.name,
        "ground truth",
    ]
    truth = np.stack(scoring.read_files(scoring.find_split_files(tmp_path / "photos"))[0])
    clean, degraded = scoring.score_gray_copy(truth), scoring.score_gray_copy(truth, scoring.Inputs(degrade=True))
    assert report["rows"][0]["psnr"] == pytest.approx(degraded["psnr"])  # every model sees these inputs
    assert degraded["psnr"] < clean["psnr"]  # the defects cost the gray copy itself
    assert report["rows"][-1]["truth_colorfulness"] == pytest.approx(
        clean["truth_colorfulness"]
    )  # the truth stays clean


def test_an_unwritable_report_or_sheet_is_refused_before_any_scoring(tiny_run, tmp_path, capsys):
    (tmp_path / "a-file").write_text("mine")
    report = tmp_path / "report.json"
    code = evaluate.main(
        [
            "--model",
            str(tiny_run),
            "--data",
            "skimage",
            "--output",
            str(report),
            "--contact-sheet",
            str(tmp_path / "a-file" / "sheet.jpg"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 2 and "cannot write" in captured.err and "sheet.jpg" in captured.err
    assert "Scoring" not in captured.err and not report.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_an_existing_report_or_sheet_is_kept_unless_overwrite(tiny_run, tmp_path, capsys):
    write_crops(tmp_path / "photos" / "train", 3, size=40)
    write_crops(tmp_path / "photos" / "test", 4, size=40)
    report, sheet = tmp_path / "report.json", tmp_path / "sheet.png"
    sheet.write_text("the user's picture")
    command = [
        "--model",
        str(tiny_run),
        "--data",
        str(tmp_path / "photos"),
        "--output",
        str(report),
        "--contact-sheet",
        str(sheet),
    ]
    assert evaluate.main(command) == 2
    captured = capsys.readouterr()
    assert (
        f"{sheet} already exists" in captured.err and "--overwrite" in captured.err and "Traceback" not in captured.err
    )
    assert sheet.read_text() == "the user's picture" and not report.exists()
    assert evaluate.main([*command, "--overwrite"]) == 0
    assert json.loads(report.read_text())["rows"][0]["name"] == "gray copy" and sheet.read_bytes()[:4] == b"\x89PNG"
