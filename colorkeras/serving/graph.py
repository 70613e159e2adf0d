"""The self-contained SavedModel: uint8 images of any size in, uint8 RGB out.

All preprocessing lives in the graph, so the folder colorizes with plain TensorFlow
(``tf.saved_model.load(path).signatures["serving_default"]``) and TensorFlow Serving
serves it as it is:

1. the input's lightness L at full resolution (channels 1 or 2: gray, with alpha;
   3 or 4: RGB, with alpha, whose luminance is used);
2. L resized so that its short side is ``render_size`` (sides rounded to what the
   network accepts), and the network's chroma prediction there;
3. the optional HSV saturation boost of the original design, on that prediction;
4. the chroma upsampled to full size and joined with the full-resolution L.

Signatures:

- ``serving_default(images)``: uint8 ``[batch, height, width, channels]`` ->
  ``{"colorized": uint8 [batch, height, width, 3]}`` with the run's defaults.
- ``colorize(images, render_size, saturation, temperature, prior_weight)``: the
  same with every option given (int32, then float32 scalars).
- ``colorize_with_hints(images, points, colors)`` (networks trained with
  ``--hints``): ``points`` int32 ``[N, K, 2]`` (y, x in input pixels; a negative
  coordinate is padding; K may be 0), ``colors`` uint8 ``[N, K, 3]`` (sRGB; the
  hint's a/b is taken from it, the image keeps its own lightness) ->
  ``{"colorized"}``; ``colorize_with_hints_and_options`` takes the options of
  ``colorize`` too.
- ``suggest_colors(images, points, colors, at)`` (hint networks with a classes
  head): the 5 most likely colours at
  ``at`` (int32 ``[N, 2]``, y and x) from the network's predicted distribution
  (with the hints given, where the network takes them): ``{"suggestions": uint8
  [N, 5, 3], "probabilities": float32 [N, 5]}``.
- ``colorize_bytes(images_bytes)``: string ``[N]`` of encoded files (PNG, JPEG,
  WebP, BMP or GIF; gray or colour; any sizes) -> ``{"colorized_bytes": string
  [N]}`` of PNG files. The ``_bytes`` suffix is what makes TensorFlow Serving's
  REST API carry them as base64. The size is read from each file's header and
  checked against ``DEFAULT_MAX_PIXELS`` before anything is decoded, so a decompression
  bomb is refused (InvalidArgumentError) without allocating its pixels.
  ``colorize_bytes_jpeg(images_bytes)``: the same with JPEG files out (quality
  90), for clients that want a small answer fast.
- ``chroma(lightness, render_size, saturation, temperature, prior_weight)``: steps
  2 and 3 alone, for the Python API (``serving.inference``), which makes step 1 and
  step 4 itself on the CPU (``serving.pixels``): full-resolution L float32 ``[batch,
  height, width, 1]`` -> ``{"chroma": float32 [batch, h, w, 2]}``, a/b at the
  working resolution; hint runs add ``chroma_with_hints(lightness, points, colors,
  ...)``, which sends every image through the hint network.
"""

import keras
import numpy as np
import tensorflow as tf

from colorkeras.core import hints as hints_lib
from colorkeras.core.config import architecture
from colorkeras.core.images import DEFAULT_MAX_PIXELS
from colorkeras.models import color, heads, hint_canvas, registry
from colorkeras.models.mobilenet_unet import ENCODER_NAME
from colorkeras.serving import edges as edges_lib
from colorkeras.serving import reference as reference_lib

# What every hint signature takes first: images, and K points (y, x) with their sRGB colours.
HINT_INPUTS = [
    tf.TensorSpec([None, None, None, None], tf.uint8, name="images"),
    tf.TensorSpec([None, None, 2], tf.int32, name="points"),
    tf.TensorSpec([None, None, 3], tf.uint8, name="colors"),
]
FORMATS = "PNG, JPEG, WebP, BMP or GIF"
PNG_COMPRESSION = 1  # zlib level of colorize_bytes's PNG files (see colorize_bytes).
JPEG_QUALITY = 90  # colorize_bytes_jpeg's, as images.save_image writes .jpg files.
COMPOSE_ROWS = 32  # Rows of the full-resolution result converted at a time (see ColorizerModule._compose).
# The signatures every run has; hint runs add HINT_SIGNATURES (a classes head, suggest_colors).
AUTOMATIC_SIGNATURES = ("serving_default", "colorize", "colorize_bytes", "colorize_bytes_jpeg", "chroma")
HINT_SIGNATURES = ("colorize_with_hints", "colorize_with_hints_and_options", "chroma_with_hints")
REFERENCE_SIGNATURE = "colorize_with_reference"  # Hint networks with the pretrained encoder.
OPTION_INPUTS = [
    tf.TensorSpec([], tf.int32, name="render_size"),
    tf.TensorSpec([], tf.float32, name="saturation"),
    tf.TensorSpec([], tf.float32, name="temperature"),
    tf.TensorSpec([], tf.float32, name="prior_weight"),
]
# The Python API's own path (serving.inference): the graph from full-resolution L to
# the predicted chroma; the API makes L and joins it with the chroma outside the graph.
LIGHTNESS_INPUT = tf.TensorSpec([None, None, None, 1], tf.float32, name="lightness")
REFERENCE_INPUTS = [
    tf.TensorSpec([None, None, None, None], tf.uint8, name="images"),
    tf.TensorSpec([None, None, None, None], tf.uint8, name="references"),
]


def _bytes_at(data, start, length):
    """``length`` bytes of the scalar string ``data`` from ``start``, as int32 [length]."""
    return tf.cast(tf.io.decode_raw(tf.strings.substr(data, start, length), tf.uint8), tf.int32)


def _little_endian(data, start, length):
    values = _bytes_at(data, start, length)
    return tf.reduce_sum(values * tf.constant([256**index for index in range(length)], tf.int32))


def _big_endian(data, start, length):
    values = _bytes_at(data, start, length)
    return tf.reduce_sum(values * tf.constant([256 ** (length - 1 - index) for index in range(length)], tf.int32))


def header_size(data):
    """(height, width) int32 from an encoded image's header, without decoding it;
    (-1, -1) for a format we do not read. Widths and heights above 2^31 cannot be
    written in these headers' fields except PNG's, whose top bit is refused too."""
    # Padding lets short (truncated) files be read without an out-of-range error.
    padded = tf.strings.join([data, tf.constant(b"\0" * 32)])
    prefix = tf.strings.substr(padded, 0, 4)
    unknown = (tf.constant(-1), tf.constant(-1))

    def png():
        return _big_endian(padded, 20, 4), _big_endian(padded, 16, 4)

    def jpeg():
        shape = tf.image.extract_jpeg_shape(data)
        return shape[0], shape[1]

    def bmp():
        return tf.abs(_little_endian(padded, 22, 4)), tf.abs(_little_endian(padded, 18, 4))

    def gif():
        return _little_endian(padded, 8, 2), _little_endian(padded, 6, 2)

    def webp():
        chunk = tf.strings.substr(padded, 12, 4)

        def extended():  # VP8X: 24-bit width - 1 and height - 1.
            return _little_endian(padded, 27, 3) + 1, _little_endian(padded, 24, 3) + 1

        def lossless():  # VP8L: 14 bits of width - 1, then 14 of height - 1, after a signature byte.
            bits = _little_endian(padded, 21, 4)
            return tf.bitwise.bitwise_and(tf.bitwise.right_shift(bits, 14), 0x3FFF) + 1, tf.bitwise.bitwise_and(
                bits, 0x3FFF
            ) + 1

        def lossy():  # VP8: 14-bit width and height in the key frame header.
            return tf.bitwise.bitwise_and(_little_endian(padded, 28, 2), 0x3FFF), tf.bitwise.bitwise_and(
                _little_endian(padded, 26, 2), 0x3FFF
            )

        return tf.case(
            [
                (tf.equal(chunk, b"VP8X"), extended),
                (tf.equal(chunk, b"VP8L"), lossless),
                (tf.equal(chunk, b"VP8 "), lossy),
            ],
            default=lambda: unknown,
        )

    is_webp = tf.equal(prefix, b"RIFF") & tf.equal(tf.strings.substr(padded, 8, 4), b"WEBP")
    return tf.case(
        [
            (tf.equal(prefix, b"\x89PNG"), png),
            (tf.equal(tf.strings.substr(padded, 0, 2), b"\xff\xd8"), jpeg),
            (tf.equal(tf.strings.substr(padded, 0, 2), b"BM"), bmp),
            (tf.equal(tf.strings.substr(padded, 0, 3), b"GIF"), gif),
            (is_webp, webp),
        ],
        default=lambda: unknown,
    )


class ColorizerModule(tf.Module):
    """Wraps a trained Keras colorizer and the run's settings in a servable graph.

    ``automatic``: for a hint network, the automatic network that answers every
    call without hints (an image without a hint gets exactly that network's
    result); hinted images use ``settings["hint_saturation"]`` (default 1.0, so the
    colours given come out as given).
    """

    def __init__(self, keras_model, settings, automatic=None):
        super().__init__(name="colorizer")
        self.keras_model = keras_model
        self.automatic = automatic
        # Each network as one tf.function that every signature calls. Traced inside
        # each signature instead, a network's whole graph was written once per
        # signature (and per branch of a tf.cond): a hint run of the 150-layer
        # MobileNetV2 U-Net had an 11.8 MB saved_model.pb.
        self.network_call = traced_network(keras_model)
        self.automatic_call = traced_network(automatic) if automatic is not None else None
        self.hint_saturation = float(settings.get("hint_saturation") or 1.0)
        self.architecture = settings["architecture"]
        self.head = settings.get("head", "classes")
        self.multiple = registry.size_multiple(self.architecture, settings["depth"])
        self.default_render_size = int(settings["render_size"])
        self.default_saturation = float(settings["saturation"])
        self.default_temperature = float(settings.get("temperature", 1.0))
        self.bin_centers = self.log_prior = None
        self.default_prior_weight = float(settings.get("prior_weight") or 0.0)
        self.hints = bool(settings.get("hints"))
        if architecture(self.architecture).chroma and self.head == "classes":
            self.bin_centers = color.ab_bin_centers(settings["bin_step"])
            if settings.get("bin_prior"):
                self.log_prior = np.log(np.asarray(settings["bin_prior"], np.float32))
            elif self.default_prior_weight:
                raise ValueError("prior_weight > 0 needs the run's bin_prior (computed from its training data)")
            else:
                # Without the training colours' prior, rebalancing has nothing to act on.
                self.log_prior = np.zeros(len(self.bin_centers), np.float32)
        # The hint and suggestion functions exist only in hint runs, which use them:
        # saving traces every tf.function of the module and loading restores them all,
        # so each one a run cannot use would only slow every export and every load.
        if self.hints and self.bin_centers is not None:
            self.suggest_colors = tf.function(
                self._suggest_colors, input_signature=[*HINT_INPUTS, tf.TensorSpec([None, 2], tf.int32, name="at")]
            )
        if self.hints:
            self.colorize_with_hints = tf.function(self._colorize_with_hints, input_signature=HINT_INPUTS)
            self.colorize_with_hints_and_options = tf.function(
                self._colorize_with_hints_and_options,
                input_signature=[*HINT_INPUTS, *OPTION_INPUTS],
            )
            self.chroma_with_hints = tf.function(
                self._chroma_with_hints, input_signature=[LIGHTNESS_INPUT, *HINT_INPUTS[1:], *OPTION_INPUTS]
            )
        self.chroma = tf.function(self._chroma_only, input_signature=[LIGHTNESS_INPUT, *OPTION_INPUTS])
        # Colour from a reference needs the encoder's features of both images, so it
        # exists where the hint network has the pretrained encoder.
        self.features_call = encoder_features(keras_model) if self.hints else None
        if self.features_call is not None:
            self.colorize_with_reference = tf.function(self._colorize_with_reference, input_signature=REFERENCE_INPUTS)

    def _render_shape(self, height, width, render_size):
        short_side = tf.cast(tf.minimum(height, width), tf.float32)
        scale = tf.cast(render_size, tf.float32) / short_side
        multiple = float(self.multiple)

        def side(length):
            rounded = tf.round(tf.cast(length, tf.float32) * scale / multiple) * multiple
            return tf.cast(tf.maximum(rounded, multiple), tf.int32)

        return side(height), side(width)

    def _lightness(self, images):
        images = tf.convert_to_tensor(images)
        channels = tf.shape(images)[-1]

        def gray_lightness():
            return color.uint8_to_lightness(images[..., :1], gray=True)

        def rgb_lightness():
            # RGB files holding a gray image (common for scans) take the exact gray
            # path, so one gray image gives one result however it is stored.
            rgb = images[..., :3]
            is_gray = tf.reduce_all(tf.equal(rgb[..., :1], rgb[..., 1:2]) & tf.equal(rgb[..., 1:2], rgb[..., 2:3]))
            return tf.cond(is_gray, gray_lightness, lambda: color.uint8_to_lightness(rgb, gray=False))

        lightness = tf.cond(channels <= 2, gray_lightness, rgb_lightness)
        lightness.set_shape([None, None, None, 1])
        return lightness

    # === The pieces the TFLite graph writes with builtin ops (BuiltinColorizerModule) ===

    def _downscale(self, image, height, width):
        """float32 ``[B, H, W, C]`` -> ``[B, height, width, C]``, antialiased."""
        return tf.image.resize(image, tf.stack([height, width]), antialias=True)

    def _network(self, network, inputs):
        return (self.automatic_call if network is self.automatic else self.network_call)(inputs)

    def _boost_saturation(self, rgb, factor):
        return color.boost_saturation(rgb, factor)

    def _unless_one(self, saturation, boosted, plain):
        """``boosted()`` where ``saturation`` is not 1, else ``plain()``."""
        return tf.cond(tf.abs(saturation - 1.0) > 1e-6, boosted, plain)

    def _hint_canvas(self, points, colors, height, width, render_height, render_width):
        """Hints in input pixels -> the canvas at the working resolution ``hint_canvas.paint``."""
        points = tf.convert_to_tensor(points, tf.int32)
        valid = hint_canvas.valid_points(points)
        inside = tf.logical_and(points[..., 0] < height, points[..., 1] < width)
        check = tf.debugging.assert_equal(
            tf.logical_or(tf.logical_not(valid), inside), True, message="a hint point lies outside the image"
        )
        with tf.control_dependencies([check]):
            scale = tf.stack(
                [
                    tf.cast(render_height, tf.float32) / tf.cast(height, tf.float32),
                    tf.cast(render_width, tf.float32) / tf.cast(width, tf.float32),
                ]
            )
            mapped = tf.cast(tf.floor((tf.cast(points, tf.float32) + 0.5) * scale), tf.int32)
        mapped = tf.minimum(mapped, tf.stack([render_height - 1, render_width - 1]))
        mapped = tf.where(valid[..., None], mapped, -1)
        radii = tf.fill(tf.shape(points)[:2], hints_lib.DEFAULT_RADIUS)
        masks = hint_canvas.patch_masks(mapped, radii, render_height, render_width)
        ab = color.rgb_to_lab(tf.cast(colors, tf.float32) / 255.0)[..., 1:]
        return hint_canvas.paint(masks, ab)

    def _predict(self, images, render_size, points=None, colors=None):
        """(full-resolution L, working-resolution L, network outputs): the hint
        network where ``points`` are given, else the automatic network (the run's own
        with an empty canvas where it has none beside it)."""
        lightness = self._lightness(images)
        return (lightness, *self._predict_from(lightness, render_size, points, colors))

    def _predict_from(self, lightness, render_size, points=None, colors=None):
        """``_predict`` from full-resolution L: (working-resolution L, network outputs)."""
        height, width = tf.shape(lightness)[1], tf.shape(lightness)[2]
        render_height, render_width = self._render_shape(height, width, render_size)
        small = self._downscale(lightness, render_height, render_width)
        inputs = small / color.L_SCALE
        if points is None and self.automatic is not None:
            return small, self._network(self.automatic, inputs)
        if self.hints:
            if points is None:
                canvas = tf.zeros(tf.concat([tf.shape(small)[:3], [hints_lib.HINT_CHANNELS]], axis=0))
            else:
                canvas = self._hint_canvas(points, colors, height, width, render_height, render_width)
            inputs = tf.concat([inputs, canvas], axis=-1)
        return small, self._network(self.keras_model, inputs)

    def _colorize(self, images, render_size, saturation, temperature, prior_weight, points=None, colors=None):
        lightness = self._lightness(images)
        ab = self._chroma(lightness, render_size, saturation, temperature, prior_weight, points, colors)
        # === Join full-resolution L with upsampled chroma ===
        return self._compose(lightness, ab, tf.shape(lightness)[1], tf.shape(lightness)[2])

    def _chroma(self, lightness, render_size, saturation, temperature, prior_weight, points=None, colors=None):
        """Full-resolution L -> the predicted a/b at the working resolution (or the
        network's output resolution), after the hints' edge stop and the boost."""
        small, outputs = self._predict_from(lightness, render_size, points, colors)
        height, width = tf.shape(lightness)[1], tf.shape(lightness)[2]
        ab = heads.decode_chroma(
            outputs, self.architecture, self.head, self.bin_centers, temperature, self.log_prior, prior_weight
        )
        if points is not None and edges_lib.ENABLED:
            # === Hints that stop at edges: their change kept where they reach (serving.edges) ===
            automatic = heads.decode_chroma(
                self._predict_from(lightness, render_size)[1],
                self.architecture,
                self.head,
                self.bin_centers,
                temperature,
                self.log_prior,
                prior_weight,
            )
            size = tf.shape(small)[1:3]
            mask = self._hint_canvas(points, colors, height, width, size[0], size[1])[..., 2:]
            given = hint_canvas.valid_points(tf.convert_to_tensor(points, tf.int32))
            count = tf.reduce_sum(tf.cast(given, tf.int32), axis=1)
            ab = edges_lib.stop_at_edges(
                tf.image.resize(automatic, size), tf.image.resize(ab, size), small, mask, count
            )

        # === The original design's HSV boost, on the prediction ===
        def boosted():
            small_lightness = self._downscale(small, tf.shape(ab)[1], tf.shape(ab)[2])
            predicted = color.lab_to_rgb(tf.concat([small_lightness, ab], axis=-1))
            return color.rgb_to_lab(self._boost_saturation(predicted, saturation))[..., 1:]

        return self._unless_one(saturation, boosted, lambda: ab)

    def _compose(self, lightness, ab, height, width):
        """Full-resolution L ``[B, H, W, 1]`` and render-size chroma ``[B, h, w, 2]`` ->
        uint8 RGB ``[B, H, W, 3]``: the chroma upsampled (bilinear) and the pair converted.

        Done a band of ``COMPOSE_ROWS`` rows at a time: at 12 megapixels each of the
        conversion's two dozen elementwise steps would otherwise stream 150 MB through
        memory, and that, not arithmetic, was most of a scan's time. A band's
        intermediates stay in the CPU's cache. Bilinear resizing is separable, so the
        rows are interpolated once (a small ``[B, H, w, 2]``) and each band's columns
        on its own; the result equals the whole-image resize to float rounding.
        """
        ab = ab * tf.constant(color.CHROMA_TO_F)
        ab_rows = tf.image.resize(ab, tf.stack([height, tf.shape(ab)[2]]), method="bilinear")
        bands = (height + COMPOSE_ROWS - 1) // COMPOSE_ROWS

        def band(index):
            top = index * COMPOSE_ROWS
            bottom = tf.minimum(top + COMPOSE_ROWS, height)
            chroma = tf.image.resize(ab_rows[:, top:bottom], tf.stack([bottom - top, width]), method="bilinear")
            rgb = color.lightness_chroma_to_uint8(lightness[:, top:bottom], chroma)
            return tf.transpose(rgb, [1, 0, 2, 3])  # Rows first, so that the bands join along axis 0.

        joined = tf.while_loop(
            lambda index, parts: index < bands,
            lambda index, parts: (index + 1, parts.write(index, band(index))),
            [
                tf.constant(0),
                tf.TensorArray(tf.uint8, size=bands, infer_shape=False, element_shape=[None, None, None, 3]),
            ],
            parallel_iterations=2,
        )[1].concat()
        return tf.transpose(joined, [1, 0, 2, 3])

    def _colorize_hinted(
        self, images, points, colors, render_size, hint_saturation, saturation, temperature, prior_weight
    ):
        """Images with at least one valid point through the hint network (at
        ``hint_saturation``); the others exactly as without hints (``saturation``)."""
        images = tf.convert_to_tensor(images)
        points = tf.convert_to_tensor(points, tf.int32)
        has_hints = tf.reduce_any(hint_canvas.valid_points(points), axis=1)
        has_hints = tf.logical_and(has_hints, tf.shape(points)[1] > 0)

        def hinted():
            return self._colorize(images, render_size, hint_saturation, temperature, prior_weight, points, colors)

        def plain():
            return self._colorize(images, render_size, saturation, temperature, prior_weight)

        def mixed():
            return tf.where(has_hints[:, None, None, None], hinted(), plain())

        return tf.cond(tf.reduce_all(has_hints), hinted, lambda: tf.cond(tf.reduce_any(has_hints), mixed, plain))

    def _defaults(self):
        return (
            tf.constant(self.default_render_size),
            tf.constant(self.default_saturation),
            tf.constant(self.default_temperature),
            tf.constant(self.default_prior_weight),
        )

    def _colorize_with_hints(self, images, points, colors):
        render_size, saturation, temperature, prior_weight = self._defaults()
        colorized = self._colorize_hinted(
            images,
            points,
            colors,
            render_size,
            tf.constant(self.hint_saturation),
            saturation,
            temperature,
            prior_weight,
        )
        return {"colorized": colorized}

    def _colorize_with_hints_and_options(
        self, images, points, colors, render_size, saturation, temperature, prior_weight
    ):
        colorized = self._colorize_hinted(
            images, points, colors, render_size, saturation, saturation, temperature, prior_weight
        )
        return {"colorized": colorized}

    def _chroma_only(self, lightness, render_size, saturation, temperature, prior_weight):
        """``chroma``: L float32 ``[B, H, W, 1]`` -> ``{"chroma": a/b float32 [B, h, w, 2]}``, the
        automatic prediction at the working (or the network's output) resolution."""
        return {"chroma": self._chroma(lightness, render_size, saturation, temperature, prior_weight)}

    def _chroma_with_hints(self, lightness, points, colors, render_size, saturation, temperature, prior_weight):
        """``chroma_with_hints``: the same through the hint network for images that all have
        points (unlike ``colorize_with_hints``, an image without one is not given the
        automatic result: the caller sends those to ``chroma``)."""
        ab = self._chroma(lightness, render_size, saturation, temperature, prior_weight, points, colors)
        return {"chroma": ab}

    def _reference_canvas(self, small, references, render_size):
        """The dense hint canvas ``[B, h, w, 3]`` for working-resolution L ``small`` from colour
        ``references`` (uint8 ``[B, H2, W2, 3+]``): ``reference.match`` on the encoder's features."""
        references = tf.convert_to_tensor(references)
        lab = reference_lib.reference_lab(references)
        reference_height, reference_width = self._render_shape(
            tf.shape(references)[1], tf.shape(references)[2], render_size
        )
        lab = self._downscale(lab, reference_height, reference_width)
        target = reference_lib.descriptors(*self.features_call(small / color.L_SCALE))
        source = reference_lib.descriptors(*self.features_call(lab[..., :1] / color.L_SCALE))
        target_grid, source_grid = tf.shape(target)[1:3], tf.shape(source)[1:3]
        ab, confidence = reference_lib.match(
            target,
            source,
            reference_lib.cells(small, target_grid),
            reference_lib.cells(lab[..., :1], source_grid),
            reference_lib.cells(lab[..., 1:], source_grid),
            reference_lib.TEMPERATURE,
            reference_lib.LIGHTNESS_WEIGHT,
            reference_lib.TOP_K,
        )
        size = tf.shape(small)[1:3]
        mask = tf.cast(confidence[..., None] >= reference_lib.THRESHOLD, tf.float32)
        mask = tf.image.resize(mask, size, method="nearest")
        ab = tf.image.resize(ab, size, method="bilinear")
        return tf.concat([ab * mask / color.AB_SCALE, mask], axis=-1)

    def _colorize_with_reference(self, images, references):
        """Colour from a reference photograph (one per image), by correspondence; where
        nothing matches, the hint network's automatic colour."""
        render_size, _, temperature, prior_weight = self._defaults()
        lightness = self._lightness(images)
        height, width = tf.shape(lightness)[1], tf.shape(lightness)[2]
        render_height, render_width = self._render_shape(height, width, render_size)
        small = self._downscale(lightness, render_height, render_width)
        canvas = self._reference_canvas(small, references, render_size)
        outputs = self._network(self.keras_model, tf.concat([small / color.L_SCALE, canvas], axis=-1))
        ab = heads.decode_chroma(
            outputs, self.architecture, self.head, self.bin_centers, temperature, self.log_prior, prior_weight
        )
        if reference_lib.DIRECT:
            # Where the reference matched, its colour as matched (the network, trained on sparse
            # points, gives back a dense canvas's colour only approximately); the network's elsewhere.
            ab = tf.image.resize(ab, tf.shape(small)[1:3], method="bilinear")
            mask = canvas[..., 2:]
            ab = mask * canvas[..., :2] * color.AB_SCALE + (1.0 - mask) * ab
        return {"colorized": self._compose(lightness, ab, height, width)}

    def _suggest_colors(self, images, points, colors, at):
        lightness, small, outputs = self._predict(images, tf.constant(self.default_render_size), points, colors)
        height, width = tf.shape(lightness)[1], tf.shape(lightness)[2]
        out_height, out_width = tf.shape(outputs)[1], tf.shape(outputs)[2]
        scale = tf.stack(
            [
                tf.cast(out_height, tf.float32) / tf.cast(height, tf.float32),
                tf.cast(out_width, tf.float32) / tf.cast(width, tf.float32),
            ]
        )
        where = tf.cast(tf.floor((tf.cast(at, tf.float32) + 0.5) * scale), tf.int32)
        where = tf.clip_by_value(where, 0, tf.stack([out_height - 1, out_width - 1]))
        logits = tf.gather_nd(outputs, where, batch_dims=1)  # [N, bins]
        probabilities, bins = tf.math.top_k(tf.nn.softmax(logits, axis=-1), k=5)
        ab = tf.gather(tf.constant(self.bin_centers, tf.float32), bins)  # [N, 5, 2]
        at_lightness = tf.gather_nd(lightness, tf.clip_by_value(at, 0, tf.stack([height - 1, width - 1])), batch_dims=1)
        lab = tf.concat([tf.broadcast_to(at_lightness[:, None, :], tf.concat([tf.shape(ab)[:2], [1]], 0)), ab], axis=-1)
        return {"suggestions": color.lab_to_uint8(lab), "probabilities": probabilities}

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    def serve(self, images):
        return {"colorized": self._colorize(images, *self._defaults())}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, None], tf.uint8, name="images"),
            tf.TensorSpec([], tf.int32, name="render_size"),
            tf.TensorSpec([], tf.float32, name="saturation"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.float32, name="prior_weight"),
        ]
    )
    def colorize(self, images, render_size, saturation, temperature, prior_weight):
        return {"colorized": self._colorize(images, render_size, saturation, temperature, prior_weight)}

    def _colorize_to_png(self, data):
        return tf.io.encode_png(self._colorize_file(data), compression=PNG_COMPRESSION)

    def _colorize_to_jpeg(self, data):
        return tf.io.encode_jpeg(self._colorize_file(data), quality=JPEG_QUALITY)

    def _colorize_file(self, data):
        """One encoded file -> its colorized uint8 RGB [h, w, 3], with the run's defaults."""
        return self._colorize(decode_file(data)[None], *self._defaults())[0]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images_bytes")])
    def colorize_bytes(self, images_bytes):
        # zlib level 1: TensorFlow's default level (6) took 0.77 s to encode a
        # 1-megapixel result here, ten times the colorizing; level 1 takes 0.12 s for
        # a file about 14% larger.
        encoded = tf.map_fn(self._colorize_to_png, images_bytes, fn_output_signature=tf.TensorSpec([], tf.string))
        return {"colorized_bytes": encoded}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images_bytes")])
    def colorize_bytes_jpeg(self, images_bytes):
        # For clients that want the answer fast and small: JPEG (quality 90) in 9 ms
        # against the PNG's 120 for a 1-megapixel result, at a sixth of its size.
        encoded = tf.map_fn(self._colorize_to_jpeg, images_bytes, fn_output_signature=tf.TensorSpec([], tf.string))
        return {"colorized_bytes": encoded}


def decode_file(data):
    """One encoded file (a scalar string) -> uint8 ``[h, w, channels]``, its size read from the
    header and checked against ``DEFAULT_MAX_PIXELS`` first: a decompression bomb is refused
    (InvalidArgumentError) before its pixels exist."""
    height, width = header_size(data)
    pixels = tf.cast(height, tf.int64) * tf.cast(width, tf.int64)
    checks = [
        tf.debugging.assert_non_negative(height, message=f"not an image we can read: not a {FORMATS} file"),
        tf.debugging.assert_less_equal(
            pixels,
            tf.constant(DEFAULT_MAX_PIXELS, tf.int64),
            message=f"image is over the limit of {DEFAULT_MAX_PIXELS // 1_000_000} megapixels",
        ),
    ]
    # Decoding waits for the checks.
    with tf.control_dependencies(checks):
        return tf.io.decode_image(tf.identity(data), channels=0, dtype=tf.uint8, expand_animations=False)


def traced_network(network):
    """``network(inputs, training=False)`` as a tf.function of any batch and size."""
    channels = network.inputs[0].shape[-1]
    return tf.function(
        lambda inputs: network(inputs, training=False),
        input_signature=[tf.TensorSpec([None, None, None, channels], tf.float32, name="inputs")],
    )


def encoder_features(network):
    """A tf.function ``L / 100 [B, h, w, 1]`` -> the encoder's features at ``reference.LEVELS``, for networks with
    the pretrained encoder (``models.mobilenet_unet``); None for others."""
    try:
        encoder, to_gray = network.get_layer(ENCODER_NAME), network.get_layer("to_gray")
    except ValueError:
        return None

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32, name="lightness")])
    def features(lightness):
        outputs = encoder(to_gray(lightness))
        return tuple(outputs[level] for level in reference_lib.LEVELS)

    return features


def antialiased_resize_weights(in_size, out_size):
    """float32 ``[out_size, in_size]`` rows of a triangle filter widened by the
    downscale factor (as ``tf.image.resize(..., antialias=True)``), each summing to 1."""
    scale = tf.cast(in_size, tf.float32) / tf.cast(out_size, tf.float32)
    width = tf.maximum(scale, 1.0)
    centres = (tf.cast(tf.range(out_size), tf.float32) + 0.5) * scale - 0.5
    positions = tf.cast(tf.range(in_size), tf.float32)
    distance = tf.abs(tf.expand_dims(positions, 0) - tf.expand_dims(centres, 1))
    weights = tf.nn.relu(1.0 - distance / width)
    return weights / tf.reduce_sum(weights, axis=1, keepdims=True)


def resize_antialiased(image, height, width):
    """float32 ``[1, H, W, C]`` -> ``[1, height, width, C]`` by separable matrix products."""
    rows = antialiased_resize_weights(tf.shape(image)[1], height)  # [height, H]
    columns = antialiased_resize_weights(tf.shape(image)[2], width)  # [width, W]
    channels_first = tf.transpose(image[0], [2, 0, 1])  # [C, H, W]
    resized = tf.matmul(
        tf.matmul(tf.broadcast_to(rows, [tf.shape(channels_first)[0], height, tf.shape(image)[1]]), channels_first),
        columns,
        transpose_b=True,
    )
    return tf.expand_dims(tf.transpose(resized, [1, 2, 0]), 0)


def boost_saturation_arithmetic(rgb, factor):
    """HSV saturation times ``factor`` (clipped to 1) at fixed hue and value, as arithmetic."""
    rgb = tf.clip_by_value(rgb, 0.0, 1.0)
    value = tf.reduce_max(rgb, axis=-1, keepdims=True)
    chroma = value - tf.reduce_min(rgb, axis=-1, keepdims=True)
    saturation = chroma / tf.maximum(value, 1e-12)
    boosted = tf.minimum(saturation * factor, 1.0)
    ratio = tf.where(saturation > 0, boosted / tf.maximum(saturation, 1e-12), tf.ones_like(saturation))
    return value - (value - rgb) * ratio


def call_with_resize_upsampling(model, inputs):
    """Runs a functional Keras ``model`` layer by layer, with each UpSampling2D (factor 2,
    nearest) done as a nearest resize: the same values, shapes TFLite can follow.
    A nested model is called whole (it holds no UpSampling2D), as often as the
    graph calls it (the MobileNetV2 U-Net's encoder twice with a global view)."""
    values = {id(model.inputs[0]): inputs}
    nodes = [node for depth in sorted(model._nodes_by_depth, reverse=True) for node in model._nodes_by_depth[depth]]
    for node in nodes:
        layer = node.operation
        if layer is None or node.is_input:
            continue
        arguments, options = node.arguments.fill_in(values)
        if isinstance(layer, keras.layers.UpSampling2D):
            x = arguments[0]
            size = tf.stack([tf.shape(x)[1] * layer.size[0], tf.shape(x)[2] * layer.size[1]])
            output = tf.image.resize(x, size, method="nearest")
        elif isinstance(layer, keras.layers.Layer):
            output = layer(*arguments, **options, training=False)
        else:  # An operation such as the hint network's slicing of its input.
            output = layer(*arguments, **options)
        # A nested model (the MobileNetV2 U-Net's encoder) gives several outputs.
        for tensor, value in zip(
            node.output_tensors, output if isinstance(output, (list, tuple)) else [output], strict=False
        ):
            values[id(tensor)] = value
    return values[id(model.outputs[0])]


class BuiltinColorizerModule(ColorizerModule):
    """``serving_default`` in TFLite builtin ops: the same graph with the pieces
    TFLite lacks written otherwise (see ``serving.tflite``): the antialiased resize
    as matrix products, the saturation boost as arithmetic, 2x upsampling as a
    nearest resize, lightness from luminance for gray and colour alike, and the
    saturation branch decided when the graph is built."""

    def _lightness(self, images):
        rgb = tf.broadcast_to(images, tf.concat([tf.shape(images)[:3], [3]], axis=0))
        return color.uint8_to_lightness(rgb, gray=False)

    def _downscale(self, image, height, width):
        return resize_antialiased(image, height, width)

    def _network(self, network, inputs):
        return call_with_resize_upsampling(network, inputs)

    def _boost_saturation(self, rgb, factor):
        return boost_saturation_arithmetic(rgb, factor)

    def _unless_one(self, saturation, boosted, plain):
        return boosted() if abs(self.default_saturation - 1.0) > 1e-6 else plain()

    def _compose(self, lightness, ab, height, width):
        # TFLite's builtin ops have no TensorArray: the whole image at once.
        ab = tf.image.resize(ab, tf.stack([height, width]), method="bilinear")
        return color.lab_to_uint8(tf.concat([lightness, ab], axis=-1))

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, None], tf.uint8, name="images")])
    def serve_tflite(self, images):
        return {"colorized": self._colorize(images, *self._defaults())}


def export_saved_model(keras_model, settings, path, automatic=None):
    """Writes the SavedModel for ``keras_model`` with the run ``settings`` to ``path``
    (``automatic``: see ``ColorizerModule``)."""
    module = ColorizerModule(keras_model, settings, automatic)
    signatures = {
        "serving_default": module.serve,
        "colorize": module.colorize,
        "colorize_bytes": module.colorize_bytes,
        "colorize_bytes_jpeg": module.colorize_bytes_jpeg,
    }
    if hasattr(module, "suggest_colors"):
        signatures["suggest_colors"] = module.suggest_colors
    signatures["chroma"] = module.chroma
    if module.hints:
        signatures["colorize_with_hints"] = module.colorize_with_hints
        signatures["colorize_with_hints_and_options"] = module.colorize_with_hints_and_options
        signatures["chroma_with_hints"] = module.chroma_with_hints
    if hasattr(module, "colorize_with_reference"):
        signatures[REFERENCE_SIGNATURE] = module.colorize_with_reference
    tf.saved_model.save(module, str(path), signatures=signatures)
    return module
