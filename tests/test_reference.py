"""Colour from a reference photograph (``colorize --reference``): correspondence through the shipped
default's encoder, and the refusals."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from skimage import data

from colorkeras.core.images import ImageError, check_colour, luma_gray
from colorkeras.evaluation.references import chroma_error, psnr
from colorkeras.serving import reference
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def colorizer(default_colorizer):
    return default_colorizer  # The shipped default.


@pytest.fixture(scope="module")
def photo():
    return np.asarray(Image.fromarray(data.astronaut()).resize((192, 192), Image.Resampling.LANCZOS))


def test_matching_gives_each_position_the_colour_of_its_twin():
    # Descriptors that only match themselves: every position takes its own reference colour, at full confidence.
    rng = np.random.default_rng(0)
    features = tf.math.l2_normalize(tf.constant(rng.normal(size=(1, 4, 5, 64)), tf.float32), axis=-1)
    lightness = tf.constant(rng.uniform(0, 100, (1, 4, 5, 1)), tf.float32)
    ab = tf.constant(rng.uniform(-60, 60, (1, 4, 5, 2)), tf.float32)
    matched, confidence = reference.match(features, features, lightness, lightness, ab, temperature=0.01)
    np.testing.assert_allclose(matched.numpy(), ab.numpy(), atol=1e-3)
    np.testing.assert_allclose(confidence.numpy(), 1.0, atol=1e-5)


def test_a_photo_coloured_from_itself_gets_its_own_colour_back(colorizer, photo):
    gray = luma_gray(photo)
    automatic = colorizer.colorize(gray)
    coloured = colorizer.colorize(gray, reference=photo)
    assert coloured.shape == photo.shape
    # The automatic colour is a guess; the photo's own colour by correspondence is close to the truth.
    assert psnr(coloured, photo) > psnr(automatic, photo) + 4.0, (psnr(coloured, photo), psnr(automatic, photo))
    assert chroma_error(coloured, photo) < 6.0


def test_a_reference_of_the_same_scene_from_another_view_helps(colorizer):
    # Two overlapping views of one photograph, the reference scaled 0.85, as the measure makes them.
    image = data.coffee()  # 400 x 600
    target, other = image[:, :420], image[40:, 150:]
    other = np.asarray(Image.fromarray(other).resize((383, 306), Image.Resampling.LANCZOS))
    gray = luma_gray(target)
    gain = psnr(colorizer.colorize(gray, reference=other), target) - psnr(colorizer.colorize(gray), target)
    assert gain > 2.0, gain


def test_hints_and_a_reference_together_are_refused(colorizer, photo):
    from colorkeras.core.hints import HintError

    with pytest.raises(HintError, match="not both"):
        colorizer.colorize(photo, hints=[{"x": 5, "y": 5, "color": "#ff0000"}], reference=photo)


def test_a_gray_image_is_not_a_reference():
    check_colour(data.astronaut())
    with pytest.raises(ImageError, match="not a colour photograph"):
        check_colour(luma_gray(data.astronaut()), name="ref.png")


def test_the_command_line_refuses_a_gray_reference_and_makes_nothing(tmp_path, photo):
    Image.fromarray(luma_gray(photo)).save(tmp_path / "gray.png")
    result = run_cli(
        "colorkeras.colorize", tmp_path / "gray.png", "--reference", tmp_path / "gray.png", "--out", tmp_path / "out"
    )
    assert result.returncode == 2
    assert "not a colour photograph" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_command_line_colours_from_a_reference_and_records_it(tmp_path, photo):
    from colorkeras.core import archive

    Image.fromarray(luma_gray(photo)).save(tmp_path / "gray.png")
    Image.fromarray(photo).save(tmp_path / "colour.png")
    args = (
        "colorkeras.colorize",
        tmp_path / "gray.png",
        "--reference",
        tmp_path / "colour.png",
        "--out",
        tmp_path / "out",
    )
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    written = np.asarray(Image.open(tmp_path / "out" / "gray.png").convert("RGB"))
    assert psnr(written, photo) > 28
    assert archive.read_recipe(tmp_path / "out" / "gray.png")
    again = run_cli(*args)  # Same input, run and reference: skipped.
    assert again.returncode == 0 and "1 skipped" in again.stderr
    Image.fromarray(np.ascontiguousarray(photo[:, ::-1])).save(tmp_path / "colour.png")  # Another reference.
    changed = run_cli(*args)
    assert changed.returncode == 1 and "--overwrite" in changed.stderr


def png(array):
    import io

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_dashboard_colours_an_upload_from_an_uploaded_reference(colorizer, photo):
    from colorkeras.app import uploads

    gray = luma_gray(photo)
    result = uploads.colorize_upload(colorizer, "gray.png", png(gray), reference=("colour.png", png(photo)))
    assert psnr(result.colour, photo) > psnr(colorizer.colorize(gray), photo) + 4.0
    assert b"colour.png" in result.encoded  # Its provenance names the reference.
    with pytest.raises(ImageError, match="reference gray.png is not a colour photograph"):
        uploads.colorize_upload(colorizer, "x.png", png(gray), reference=("gray.png", png(gray)))


@pytest.mark.slow
def test_the_http_server_answers_colorize_with_reference(photo):
    import json
    import urllib.request

    from colorkeras.core import store
    from colorkeras.serving import http
    from tests.conftest import free_port

    model = http.ModelServer(store.resolve_run(None), model_name="default", workers=1, queue_mb=64)
    port = free_port()
    httpd = http.start(model, port=port)
    try:
        small = np.asarray(Image.fromarray(photo).resize((64, 64), Image.Resampling.LANCZOS))
        request = {
            "signature_name": "colorize_with_reference",
            "inputs": {"images": [luma_gray(small)[..., :1].tolist()], "references": [small.tolist()]},
        }
        call = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/models/default:predict", data=json.dumps(request).encode(), method="POST"
        )
        with urllib.request.urlopen(call, timeout=120) as response:
            body = json.loads(response.read())
        colour = np.asarray(body["outputs"], np.uint8)[0]
        assert colour.shape == (64, 64, 3)
        assert psnr(colour, small) > 25
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.slow
def test_evaluate_scores_reference_pairs_beside_the_automatic_colour_and_the_naive_transfer():
    result = run_cli("colorkeras.evaluate", "--reference-pairs", "--data", "skimage", "--limit", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.rsplit(maxsplit=4)[0].strip(): line.split() for line in result.stdout.splitlines()[1:]}
    run = "mobilenet-unet-hints"
    assert set(rows) == {
        f"{run} automatic",
        "naive transfer",
        f"{run} reference",
        f"{run} another photograph as reference",
    }
    gain = float(rows[f"{run} reference"][-2])
    assert gain > float(rows["naive transfer"][-2]) > 0.0, result.stdout
    # A reference of another scene matches little, so the automatic colour mostly stays.
    assert abs(float(rows[f"{run} another photograph as reference"][-2])) < 1.5, result.stdout
    refused = run_cli("colorkeras.evaluate", "--reference-pairs", "--leakage", "--data", "skimage")
    assert refused.returncode == 2 and "different measures" in refused.stderr
