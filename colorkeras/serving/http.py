"""An HTTP server that speaks TensorFlow Serving's REST API over the run store.

The command line, its examples and what it does in detail: ``colorkeras/serve.py``
(``python -m colorkeras.serve``).
"""

import base64
import binascii
import json
import os
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import tensorflow as tf

from colorkeras.core import store
from colorkeras.core.constants import DEFAULT_PORT, MAX_REQUEST_BYTES, QUEUE_MB
from colorkeras.serving import graph, png
from colorkeras.serving.inference import Colorizer

VERSION = "1"
RETRY_AFTER_SECONDS = 2  # What a 503 answer tells the client to wait.


_PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<rest>/metadata|:predict)?$")


class RequestError(Exception):
    """A request that cannot be answered; carries the HTTP status."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class ModelServer:
    """One run's SavedModel and the REST logic, independent of the HTTP plumbing."""

    def __init__(self, model=None, model_name=None, workers=2, queue_mb=QUEUE_MB):
        self._tf = tf
        self.path = store.resolve_run(model)
        self.name = model_name or self.path.name
        self.colorizer = Colorizer(self.path, max_pixels=None)  # The graph checks sizes (graph.decode_file).
        self.loaded = self.colorizer._loaded
        self.signatures = dict(self.loaded.signatures)
        # The signatures an image client calls most are answered through the Python API's path
        # (Colorizer: the graph's prediction, its full-resolution ends and the encoding on the CPU
        # with OpenCV): the graph's own answer within one code value, sooner (the default's card has the bench).
        # Every other signature, and these for runs exported without the chroma signature, run the graph.
        self.routes = {}
        if "chroma" in self.signatures:
            self.routes = {
                "serving_default": self._serve,
                "colorize_bytes": lambda images_bytes: self._colorize_files(images_bytes, ".png"),
                "colorize_bytes_jpeg": lambda images_bytes: self._colorize_files(images_bytes, ".jpg"),
            }
        self.workers = threading.BoundedSemaphore(workers)
        # Requests wait for a worker as long as the bytes they hold fit in the
        # queue's budget: a burst of small requests is queued (as TensorFlow Serving
        # queues one), and memory, not a count of requests, is what is bounded.
        self.queue_bytes = int(queue_mb * 1e6)
        self.held_bytes = 0
        self._held = threading.Lock()

    def _admit(self, size):
        with self._held:
            if self.held_bytes and self.held_bytes + size > self.queue_bytes:
                return False
            self.held_bytes += size
            return True

    def _release(self, size):
        with self._held:
            self.held_bytes -= size

    # === GET ===

    def status(self):
        return {
            "model_version_status": [
                {"version": VERSION, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
            ]
        }

    def metadata(self):
        definitions = {}
        for name, function in self.signatures.items():
            inputs = function.structured_input_signature[1]
            outputs = function.structured_outputs
            definitions[name] = {
                "inputs": {key: _tensor_info(spec) for key, spec in inputs.items()},
                "outputs": {key: _tensor_info(spec) for key, spec in outputs.items()},
                "method_name": "tensorflow/serving/predict",
            }
        return {
            "model_spec": {"name": self.name, "signature_name": "", "version": VERSION},
            "metadata": {"signature_def": {"signature_def": definitions}},
        }

    # === POST :predict ===

    def predict(self, body):
        """The answer to a ``:predict`` request ``body`` (bytes), or ``RequestError``."""
        if not self._admit(len(body)):
            raise RequestError(
                503, f"the server is busy ({self.held_bytes / 1e6:.0f} MB of requests in hand); try again shortly"
            )
        try:
            return self._predict(body)
        finally:
            self._release(len(body))

    def _predict(self, body):
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestError(400, f"malformed JSON: {error}") from None
        except RecursionError:
            raise RequestError(400, "malformed request: its JSON is nested too deeply") from None
        if not isinstance(request, dict):
            raise RequestError(400, "the request must be a JSON object with 'instances' or 'inputs'")
        signature_name = request.get("signature_name") or "serving_default"
        function = self.signatures.get(signature_name)
        if function is None:
            raise RequestError(
                404,
                f"no signature {signature_name!r} in model {self.name} (it has: {', '.join(sorted(self.signatures))})",
            )
        specs = function.structured_input_signature[1]
        if ("instances" in request) == ("inputs" in request):
            raise RequestError(400, "give exactly one of 'instances' (rows) or 'inputs' (columns)")
        if "instances" in request:
            inputs = self._rows_to_columns(request["instances"], specs)
        else:
            inputs = self._columns(request["inputs"], specs)
        outputs = self._call(signature_name, function, inputs)
        if "instances" in request:
            names = list(outputs)
            rows = len(next(iter(outputs.values())))
            if len(names) == 1:
                return {"predictions": [_to_json(names[0], outputs[names[0]][index]) for index in range(rows)]}
            return {
                "predictions": [{name: _to_json(name, outputs[name][index]) for name in names} for index in range(rows)]
            }
        if len(outputs) == 1:
            ((name, value),) = outputs.items()
            return {"outputs": _to_json(name, value)}
        return {"outputs": {name: _to_json(name, value) for name, value in outputs.items()}}

    def _rows_to_columns(self, instances, specs):
        if not isinstance(instances, list) or not instances:
            raise RequestError(400, "'instances' must be a non-empty list")
        names = list(specs)
        if len(names) == 1:
            rows = [{names[0]: instance} for instance in instances]
        elif all(isinstance(instance, dict) for instance in instances):
            rows = instances
        else:
            raise RequestError(400, f"each instance must be an object with the inputs {', '.join(names)}")
        columns = {}
        for name, spec in specs.items():
            try:
                values = [_from_json(row[name], spec, name) for row in rows]
            except KeyError:
                raise RequestError(400, f"an instance lacks the input {name!r}") from None
            columns[name] = _stack(values, name)
        return columns

    def _columns(self, inputs, specs):
        names = list(specs)
        if len(names) == 1 and not (isinstance(inputs, dict) and names[0] in inputs):
            inputs = {names[0]: inputs}  # One input: its value may stand alone.
        if not isinstance(inputs, dict):
            raise RequestError(400, f"'inputs' must be an object with the inputs {', '.join(names)}")
        missing = [name for name in names if name not in inputs]
        if missing:
            raise RequestError(400, f"'inputs' lacks {', '.join(missing)}")

        return {name: np.asarray(_from_json(inputs[name], specs[name], name)) for name in names}

    def _call(self, signature_name, function, inputs):
        tf = self._tf
        with self.workers:
            try:
                if signature_name in self.routes:
                    return self.routes[signature_name](**inputs)
                tensors = {name: tf.constant(value) for name, value in inputs.items()}
                outputs = function(**tensors)
            except (tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
                raise RequestError(400, _model_error(error)) from None
            return {name: value.numpy() for name, value in outputs.items()}

    def _serve(self, images):
        """``serving_default``: uint8 [batch, h, w, 1-4] as the graph reads them (1-2 channels: gray and
        alpha; 3-4: RGB and alpha) -> {"colorized": uint8 RGB}."""
        images = np.asarray(images)
        if images.ndim != 4 or not 1 <= images.shape[-1] <= 4:
            raise ValueError(f"expected images [batch, height, width, 1-4], received shape {images.shape}")
        return {"colorized": self.colorizer.colorize_batch(_colour_channels(images))}

    def _colorize_files(self, images_bytes, suffix):
        """``colorize_bytes`` (PNG) and ``colorize_bytes_jpeg`` (quality 90): each file decoded by the
        graph's own checked decoder, colorized by the Python API, encoded by ``serving.png`` (PNG) or
        OpenCV (JPEG)."""
        answers = []
        for data in np.asarray(images_bytes, dtype=object).reshape(-1):
            image = _decode_file(tf.constant(data)).numpy()
            answers.append(_encode(self.colorizer.colorize_batch(_colour_channels(image[None]))[0], suffix))
        return {"colorized_bytes": np.asarray(answers, dtype=object)}


_decode_file = tf.function(graph.decode_file, input_signature=[tf.TensorSpec([], tf.string)])


def _encode(rgb, suffix):
    """uint8 RGB ``[h, w, 3]`` -> the bytes of a ``suffix`` file (".png" or ".jpg")."""
    if suffix == ".png":
        return png.encode_png(rgb)
    written, encoded = cv2.imencode(
        suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, graph.JPEG_QUALITY]
    )
    if not written:
        raise ValueError(f"could not encode the result as {suffix}")
    return encoded.tobytes()


def _colour_channels(images):
    """The channels the graph colours from: the gray of gray (+ alpha), the RGB of RGB (+ alpha)."""
    return images[..., :1] if images.shape[-1] <= 2 else images[..., :3]


def _tensor_info(spec):
    shape = spec.shape
    dims = [{"size": str(-1 if size is None else size), "name": ""} for size in shape] if shape.rank is not None else []
    info = {"dtype": f"DT_{spec.dtype.name.upper()}", "tensor_shape": {"dim": dims, "unknown_rank": shape.rank is None}}
    if getattr(spec, "name", None):
        info["name"] = spec.name
    return info


def _decode_b64(value, name):
    if not (isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str)):
        raise RequestError(400, f'input {name!r} takes binary values as {{"b64": "..."}}')
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, f"input {name!r}: not valid base64") from None


def _from_json(value, spec, name):
    """One JSON value -> a numpy value of the input's dtype (and rank without the batch)."""

    dtype = spec.dtype
    if dtype.name == "string":
        if isinstance(value, list):
            return np.asarray([_decode_b64(item, name) for item in value], dtype=object)
        return _decode_b64(value, name)
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise RequestError(400, f"input {name!r}: not a regular array (rows of unequal length?)") from None
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise RequestError(400, f"input {name!r}: expected numbers of type {dtype.name}")
    if dtype.name == "uint8" and (array.size and (array.min() < 0 or array.max() > 255)):
        raise RequestError(400, f"input {name!r}: uint8 values must be in 0..255")
    return array.astype(dtype.as_numpy_dtype)


def _stack(values, name):
    shapes = {np.shape(value) for value in values}
    if len(shapes) > 1:
        raise RequestError(
            400,
            f"input {name!r}: the instances differ in shape ({', '.join(map(str, sorted(shapes)))}); "
            "send one per request",
        )
    return np.asarray(values, dtype=object) if isinstance(values[0], bytes) else np.stack(values)


def _to_json(name, value):
    if name.endswith("_bytes"):
        if isinstance(value, bytes):
            return {"b64": base64.b64encode(value).decode("ascii")}
        return [_to_json(name, item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return np.asarray(value).tolist()


# A base64 value longer than this is spliced into the JSON body as bytes (``json_body``).
SPLICE_CHARS = 1 << 16
# Its place holder: a string no output holds (a NUL and this process's nonce), which json writes as \u0000....
_HOLDER = f"\0colorkeras-{secrets.token_hex(8)}-"


def json_body(payload):
    """``payload`` as UTF-8 JSON bytes, as ``json.dumps`` writes it. Long base64 values (a colorized file, about 2 MB
    for a 1-MP PNG) are written around: json's encoder scans every character of a string for escapes (4-5 ms for
    2 MB on our CPU, a tenth of the colorizing), and base64 needs none."""
    long = []

    def held(value):
        if isinstance(value, dict):
            text = value.get("b64")
            if len(value) == 1 and isinstance(text, str) and len(text) > SPLICE_CHARS:
                long.append(text)
                return {"b64": f"{_HOLDER}{len(long) - 1}"}
            return {key: held(item) for key, item in value.items()}
        if isinstance(value, list) and value and isinstance(value[0], dict):  # Not into nested lists of numbers.
            return [held(item) for item in value]
        return value

    body = json.dumps(held(payload)).encode()
    for index, text in enumerate(long):
        before, after = body.split(json.dumps(f"{_HOLDER}{index}").encode(), 1)
        body = b"".join((before, b'"', text.encode("ascii"), b'"', after))
    return body


# What our graph's checks and TensorFlow's decoders say, as the start of the phrase a
# user is told; the rest of TensorFlow's message (conditions, node names) is not.
_KNOWN_ERRORS = (
    "not an image we can read",
    "image is over the limit of",
    "a hint point lies outside the image",
    "Invalid PNG",
    "Invalid JPEG",
    "Unknown image file format",
)


def _model_error(error):
    """The model's own words (our graph's assertion messages), without TensorFlow's
    graph trace: no condition text, no node names."""
    text = getattr(error, "message", None) or str(error)
    for known in _KNOWN_ERRORS:
        start = text.find(known)
        if start >= 0:
            # Our messages are one bracketed item of an assertion: it ends at "]".
            phrase = re.split(r"[\]\n]", text[start:], maxsplit=1)[0]
            return phrase.strip(" .")
    return (
        "the model could not use this input (is each input the type and shape its signature names? "
        "GET /metadata lists them)"
    )


def make_handler(server_model, max_request_bytes=MAX_REQUEST_BYTES):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "colorkeras-serve"

        def log_message(self, format, *args):
            if os.environ.get("COLORKERAS_SERVE_LOG") == "1":
                super().log_message(format, *args)

        def _send(self, status, payload):
            body = json_body(payload)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if status == 503:
                self.send_header("Retry-After", str(RETRY_AFTER_SECONDS))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _route(self):
            match = _PATH.match(self.path.split("?", 1)[0])
            if not match:
                raise RequestError(404, f"no such endpoint {self.path}; see /v1/models/{server_model.name}")
            if match["name"] != server_model.name:
                raise RequestError(404, f"no model named {match['name']!r} (this server has {server_model.name!r})")
            if match["version"] not in (None, VERSION):
                raise RequestError(
                    404, f"model {server_model.name} has no version {match['version']} (it has {VERSION})"
                )
            return match["rest"]

        def _handle(self, method):
            try:
                rest = self._route()
                if method == "GET" and rest is None:
                    return self._send(200, server_model.status())
                if method == "GET" and rest == "/metadata":
                    return self._send(200, server_model.metadata())
                if method == "POST" and rest == ":predict":
                    try:
                        length = int(self.headers.get("Content-Length") or 0)
                    except ValueError:
                        self.close_connection = True
                        raise RequestError(400, "the Content-Length header is not a number") from None
                    if length > max_request_bytes:
                        # Read it away (never held) so the client hears the answer, not a broken pipe.
                        self._discard(length)
                        raise RequestError(
                            413,
                            f"request of {length / 1e6:.1f} MB is over the limit of {max_request_bytes / 1e6:.0f} MB",
                        )
                    return self._send(200, server_model.predict(self.rfile.read(length)))
                raise RequestError(
                    405 if rest in (None, "/metadata", ":predict") else 404, f"{method} is not served at {self.path}"
                )
            except RequestError as error:
                self._send(error.status, {"error": str(error)})
            except Exception as error:  # The server keeps serving whatever one request did.
                self._send(500, {"error": f"internal error: {type(error).__name__}"})

        def _discard(self, length, limit=1 << 30):
            if length > limit:
                self.close_connection = True
                return
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 20))
                if not chunk:
                    break
                length -= len(chunk)

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = False  # Shutdown waits for the requests in hand.
    block_on_close = True
    # The listen backlog: socketserver's default of 5 made the kernel reset
    # connections when 32 clients connected at once (seen in the bench's test);
    # the worker queue, not the backlog, is where load is refused (503).
    request_queue_size = 128


def start(server_model, host="127.0.0.1", port=DEFAULT_PORT, max_request_bytes=MAX_REQUEST_BYTES):
    """Starts serving in a background thread; returns the HTTP server (``.shutdown()`` stops it)."""
    httpd = Server((host, port), make_handler(server_model, max_request_bytes))
    threading.Thread(target=httpd.serve_forever, name="colorkeras-serve", daemon=True).start()
    return httpd
