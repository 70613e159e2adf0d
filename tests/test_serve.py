"""The TensorFlow Serving REST API (colorkeras.serve) and the colorize_bytes signature."""

import base64
import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image
from skimage import color as skcolor
from skimage import data

from colorkeras.core import store
from colorkeras.serving import http
from tests.conftest import free_port


@pytest.fixture(scope="module")
def server(tiny_run):
    model = http.ModelServer(tiny_run, model_name="tiny", workers=2, queue_mb=4)
    port = free_port()
    httpd = http.start(model, port=port, max_request_bytes=2_000_000)
    yield f"http://127.0.0.1:{port}", model
    httpd.shutdown()
    httpd.server_close()


def call(url, payload=None, raw=None):
    body = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def jpeg_bytes(array, quality=92):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png_bomb(width, height):
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


@pytest.mark.slow
def test_status_and_metadata_as_tensorflow_serving_gives_them(server):
    url, _ = server
    status, body = call(f"{url}/v1/models/tiny")
    assert status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE"
    assert call(f"{url}/v1/models/tiny/versions/1")[0] == 200
    status, body = call(f"{url}/v1/models/tiny/metadata")
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "colorize", "colorize_bytes"} <= set(signatures)
    assert signatures["colorize_bytes"]["inputs"]["images_bytes"]["dtype"] == "DT_STRING"
    assert signatures["colorize_bytes"]["outputs"]["colorized_bytes"]["dtype"] == "DT_STRING"


@pytest.mark.slow
def test_a_posted_jpeg_comes_back_a_png_of_its_size_and_lightness_same_as_the_saved_model(server, tiny_run):
    import tensorflow as tf

    url, _ = server
    photo = data.coffee()[:150, :220]
    encoded = jpeg_bytes(photo)
    request = {"signature_name": "colorize_bytes", "instances": [{"b64": base64.b64encode(encoded).decode()}]}
    status, body = call(f"{url}/v1/models/tiny:predict", request)
    assert status == 200, body
    png = base64.b64decode(body["predictions"][0]["b64"])
    result = np.asarray(Image.open(io.BytesIO(png)))
    assert png.startswith(b"\x89PNG") and result.shape == (150, 220, 3)
    decoded = np.asarray(Image.open(io.BytesIO(encoded)))
    lightness_in = skcolor.rgb2lab(decoded)[..., 0]
    lightness_out = skcolor.rgb2lab(result)[..., 0]
    assert np.abs(lightness_in - lightness_out).mean() < 1.0
    # The same request body through the exported signature, loaded with TensorFlow alone.
    signature = tf.saved_model.load(str(store.Run(tiny_run).saved_model)).signatures["colorize_bytes"]
    inputs = [base64.b64decode(item["b64"]) for item in request["instances"]]
    direct = signature(images_bytes=tf.constant(inputs))["colorized_bytes"].numpy()[0]
    # The server answers through the Python API's CPU path (serving.pixels): within one code value.
    assert np.abs(np.asarray(Image.open(io.BytesIO(direct))).astype(int) - result.astype(int)).max() <= 1
    # The columnar form, and a versioned URL, answer alike.
    status, columns = call(
        f"{url}/v1/models/tiny/versions/1:predict",
        {"signature_name": "colorize_bytes", "inputs": {"images_bytes": request["instances"]}},
    )
    assert status == 200 and columns["outputs"][0]["b64"] == body["predictions"][0]["b64"]


@pytest.mark.slow
def test_serving_default_takes_nested_uint8_lists(server):
    url, _ = server
    gray = np.random.default_rng(0).integers(0, 256, (12, 20, 1)).tolist()
    status, body = call(f"{url}/v1/models/tiny:predict", {"instances": [gray, gray]})
    assert status == 200, body
    result = np.asarray(body["predictions"], dtype=np.uint8)
    assert result.shape == (2, 12, 20, 3)


@pytest.mark.slow
@pytest.mark.parametrize(
    "path, payload, raw, status, words",
    [
        ("/v1/models/tiny:predict", None, b"{not json", 400, "malformed JSON"),
        (
            "/v1/models/tiny:predict",
            {
                "signature_name": "colorize_bytes",
                "instances": [{"b64": base64.b64encode(b"plain text, no picture").decode()}],
            },
            None,
            400,
            "not an image we can read",
        ),
        (
            "/v1/models/tiny:predict",
            {
                "signature_name": "colorize_bytes",
                "instances": [{"b64": base64.b64encode(png_bomb(30000, 30000)).decode()}],
            },
            None,
            400,
            "over the limit of 80 megapixels",
        ),
        (
            "/v1/models/tiny:predict",
            {"signature_name": "colorize_bytes", "instances": [{"b64": "%%% not base64"}]},
            None,
            400,
            "not valid base64",
        ),
        ("/v1/models/tiny:predict", {"instances": [[[300]]]}, None, 400, "0..255"),
        ("/v1/models/tiny:predict", None, b"x" * 2_100_000, 413, "over the limit"),
        ("/v1/models/tiny:predict", None, b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
        (
            "/v1/models/tiny:predict",
            {
                "signature_name": "colorize",
                "inputs": {
                    "images": [[[[1]]]],
                    "render_size": "x",
                    "saturation": 1.0,
                    "temperature": 1.0,
                    "prior_weight": 0.0,
                },
            },
            None,
            400,
            "render_size",
        ),
        ("/v1/models/nope:predict", {"instances": [[[1]]]}, None, 404, "no model named 'nope'"),
        ("/v1/models/nope", None, None, 404, "no model named 'nope'"),
        ("/v1/models/tiny/versions/7", None, None, 404, "no version 7"),
        (
            "/v1/models/tiny:predict",
            {"signature_name": "sharpen", "instances": [[[1]]]},
            None,
            404,
            "no signature 'sharpen'",
        ),
    ],
)
def test_bad_requests_get_their_status_and_an_error_body_and_the_server_keeps_serving(
    server, path, payload, raw, status, words
):
    url, _ = server
    code, body = call(f"{url}{path}", payload, raw)
    assert code == status and set(body) == {"error"} and words in body["error"], body
    # The user's words only: no traceback, no TensorFlow condition or graph node names.
    for internal in ("Traceback", "Condition", "did not hold", ":0", "map/while", "Identity"):
        assert internal not in body["error"], body
    assert call(f"{url}/v1/models/tiny")[0] == 200


def test_a_full_queue_is_answered_503(tiny_run):
    model = http.ModelServer(tiny_run, model_name="tiny", workers=1, queue_mb=0)
    assert model._admit(100)  # One request in hand fills a queue of no bytes.
    try:
        with pytest.raises(http.RequestError) as caught:
            model.predict(json.dumps({"instances": [[[[5]]]]}).encode())
        assert caught.value.status == 503
    finally:
        model._release(100)
    assert np.asarray(model.predict(json.dumps({"instances": [[[[5]]]]}).encode())["predictions"]).shape == (1, 1, 1, 3)


@pytest.mark.slow
def test_serving_dir_has_tensorflow_servings_numbered_versions(tiny_run, tmp_path):
    import tensorflow as tf

    from tests.conftest import run_cli

    for expected in ("1", "2"):
        result = run_cli(
            "colorkeras.export", "--model", tiny_run, "--serving-dir", tmp_path / "models", "--model-name", "colorizer"
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "models" / "colorizer" / expected / "saved_model.pb").is_file()
    loaded = tf.saved_model.load(str(tmp_path / "models" / "colorizer" / "2"))
    assert {"serving_default", "colorize", "colorize_bytes"} <= set(loaded.signatures)
    assert not list((tmp_path / "models" / "colorizer").glob(".*"))


@pytest.mark.slow
def test_load_of_32_clients_then_sigterm_finishes_what_it_holds(tiny_run):
    """32 concurrent clients x 4 requests: no errors, server memory under 2 GB; then
    SIGTERM during a request: that request is answered and the server exits 0."""
    import signal
    import subprocess
    import sys
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "colorkeras.serve",
            "--model",
            str(tiny_run),
            "--model-name",
            "tiny",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/v1/models/tiny"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if call(url)[0] == 200:
                    break
            except urllib.error.URLError:
                time.sleep(0.5)
        photo = np.asarray(Image.fromarray(data.astronaut()).resize((640, 480)))
        request = {
            "signature_name": "colorize_bytes",
            "instances": [{"b64": base64.b64encode(jpeg_bytes(photo)).decode()}],
        }
        with ThreadPoolExecutor(32) as pool:
            statuses = list(pool.map(lambda _: call(f"{url}:predict", request)[0], range(32 * 4)))
        assert statuses == [200] * 128
        with open(f"/proc/{process.pid}/status") as stream:
            peak_kb = int(next(line for line in stream if line.startswith("VmHWM")).split()[1])
        assert peak_kb < 2 * 1024 * 1024, f"server peak memory {peak_kb / 1024:.0f} MB"
        answered = {}
        worker = threading.Thread(target=lambda: answered.update(result=call(f"{url}:predict", request)))
        worker.start()
        time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        worker.join(timeout=120)
        assert answered["result"][0] == 200
        assert process.wait(timeout=60) == 0
        printed = process.stderr.read()
        assert "Stopped." in printed and printed.startswith("Serving tiny")
        for noise in ("To enable the following instructions", "oneDNN", "absl", "I0000"):
            assert noise not in printed, printed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("saturation", [None, 1.4])
def test_tflite_model_matches_the_saved_model_at_two_sizes(tiny_run, image_folder, tmp_path, saturation):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from tests.conftest import run_cli

    if saturation is not None:  # The HSV boost, written as arithmetic for TFLite.
        boosted = tmp_path / "boosted"
        assert (
            run_cli(
                "colorkeras.export",
                "--model",
                tiny_run,
                "--run-dir",
                boosted,
                "--saturation",
                saturation,
                "--data",
                image_folder,
            ).returncode
            == 0
        )
        tiny_run = boosted
    from tests.conftest import run_module

    path = tmp_path / "colorizer.tflite"
    # As a user runs it, in a process of its own: nothing but our own line is printed.
    result = run_module("colorkeras.export", "--model", tiny_run, "--tflite", path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "" and result.stdout.startswith("Wrote "), result.stderr
    assert path.stat().st_mode & 0o777 == 0o666 & ~store.current_umask()
    assert run_cli("colorkeras.export", "--model", tiny_run, "--tflite", path).returncode == 2  # No silent overwrite.
    serve_default = tf.saved_model.load(str(store.Run(tiny_run).saved_model)).signatures["serving_default"]
    for image in (data.coffee()[:120, :200], data.camera()[:90, :77, None]):
        interpreter = Interpreter(model_path=str(path))
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, [1, *image.shape])
        interpreter.allocate_tensors()
        interpreter.set_tensor(index, image[None])
        interpreter.invoke()
        output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        expected = serve_default(images=tf.constant(image[None]))["colorized"].numpy()
        assert output.shape == expected.shape == (1, *image.shape[:2], 3) and output.dtype == np.uint8
        assert np.abs(output.astype(int) - expected.astype(int)).mean() <= 1.0


def test_json_bodies_splice_long_base64_and_read_as_json_dumps_writes_them():
    rng = np.random.default_rng(0)
    long = base64.b64encode(rng.integers(0, 256, 3 * http.SPLICE_CHARS, dtype=np.uint8).tobytes()).decode()
    payloads = [
        {"predictions": [{"b64": long}]},
        {"predictions": [{"colorized_bytes": {"b64": long}, "size": [[1.5, 2]]}, {"colorized_bytes": {"b64": "YQ=="}}]},
        {"outputs": {"colorized_bytes": [{"b64": long}, {"b64": long[:-4]}]}},
        {"outputs": [[1, 2], [3, 4]]},
        {"error": 'a NUL \0 and a quote " in a message'},
    ]
    for payload in payloads:
        assert http.json_body(payload) == json.dumps(payload).encode()
