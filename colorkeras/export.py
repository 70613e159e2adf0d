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
- ``colorize(images, render_size, saturation, temperature)``: the same with every
  option given (int32, float32, float32 scalars).
"""

import tensorflow as tf

from colorkeras import color, model as model_lib


class ColorizerModule(tf.Module):
    """Wraps a trained Keras colorizer and the run's settings in a servable graph."""

    def __init__(self, keras_model, settings):
        super().__init__(name="colorizer")
        self.keras_model = keras_model
        self.architecture = settings["architecture"]
        self.head = settings.get("head", "classes")
        self.multiple = model_lib.size_multiple(self.architecture, settings["depth"])
        self.default_render_size = int(settings["render_size"])
        self.default_saturation = float(settings["saturation"])
        self.default_temperature = float(settings.get("temperature", 1.0))
        self.bin_centers = None
        if self.architecture == "unet" and self.head == "classes":
            self.bin_centers = color.ab_bin_centers(settings["bin_step"])

    def _render_shape(self, height, width, render_size):
        short_side = tf.cast(tf.minimum(height, width), tf.float32)
        scale = tf.cast(render_size, tf.float32) / short_side
        multiple = float(self.multiple)

        def side(length):
            rounded = tf.round(tf.cast(length, tf.float32) * scale / multiple) * multiple
            return tf.cast(tf.maximum(rounded, multiple), tf.int32)

        return side(height), side(width)

    def _colorize(self, images, render_size, saturation, temperature):
        images = tf.convert_to_tensor(images)
        pixels = tf.cast(images, tf.float32) / 255.0
        channels = tf.shape(pixels)[-1]
        rgb = tf.cond(
            channels <= 2,
            lambda: tf.tile(pixels[..., :1], [1, 1, 1, 3]),
            lambda: pixels[..., :3],
        )
        lightness = color.rgb_to_lightness(rgb)
        height, width = tf.shape(images)[1], tf.shape(images)[2]

        # === Predict chroma at the working resolution ===
        render_height, render_width = self._render_shape(height, width, render_size)
        small = tf.image.resize(lightness, tf.stack([render_height, render_width]), antialias=True)
        outputs = self.keras_model(small / color.L_SCALE, training=False)
        ab = model_lib.decode_chroma(
            outputs, self.architecture, self.head, self.bin_centers, temperature=temperature
        )

        # === The original design's HSV boost, on the prediction ===
        def boosted():
            small_lightness = tf.image.resize(small, tf.shape(ab)[1:3], antialias=True)
            predicted = color.lab_to_rgb(tf.concat([small_lightness, ab], axis=-1))
            return color.rgb_to_lab(color.boost_saturation(predicted, saturation))[..., 1:]

        ab = tf.cond(tf.abs(saturation - 1.0) > 1e-6, boosted, lambda: ab)

        # === Join full-resolution L with upsampled chroma ===
        ab = tf.image.resize(ab, tf.stack([height, width]), method="bilinear")
        result = color.lab_to_rgb(tf.concat([lightness, ab], axis=-1))
        return tf.cast(tf.round(result * 255.0), tf.uint8)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    def serve(self, images):
        colorized = self._colorize(
            images,
            tf.constant(self.default_render_size),
            tf.constant(self.default_saturation),
            tf.constant(self.default_temperature),
        )
        return {"colorized": colorized}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, None], tf.uint8, name="images"),
            tf.TensorSpec([], tf.int32, name="render_size"),
            tf.TensorSpec([], tf.float32, name="saturation"),
            tf.TensorSpec([], tf.float32, name="temperature"),
        ]
    )
    def colorize(self, images, render_size, saturation, temperature):
        return {"colorized": self._colorize(images, render_size, saturation, temperature)}


def export_saved_model(keras_model, settings, path):
    """Writes the SavedModel for ``keras_model`` with the run ``settings`` to ``path``."""
    module = ColorizerModule(keras_model, settings)
    tf.saved_model.save(
        module,
        str(path),
        signatures={"serving_default": module.serve, "colorize": module.colorize},
    )
    return module
