"""A TFLite model for phones and the web: ``python -m colorkeras.export --model RUN --tflite FILE``.

Its interface is ``serving_default``'s: uint8 ``[1, height, width, 1 or 3]`` in,
uint8 RGB ``[1, height, width, 3]`` out, height and width left dynamic (set them
with ``resize_tensor_input`` and ``allocate_tensors``), with the run's serving
defaults. Only TFLite builtin ops are used, since today's LiteRT runtime no longer
ships the select-TF-ops delegate, so three pieces of the SavedModel's graph are
written differently here:

- the antialiased downscale to the render size (``ScaleAndTranslate``) is the same
  triangle filter, as two matrix products with weights computed in the graph;
- the HSV saturation boost (``RGBToHSV``/``HSVToRGB``) is its arithmetic: at fixed
  hue and value each channel is ``V - (V - c) * S' / S``;
- lightness comes from luminance for gray and colour alike (one gray value's two
  tables agree within 0.06 L), so no branch on the channel count is needed;
- the network's 2x nearest upsampling (Keras builds it from Repeat, whose
  dynamic reshape hides the channel count from TFLite's converter) is a nearest
  resize, which gives the same values.

Run it with the LiteRT interpreter (``pip install ai-edge-litert``)::

    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path="colorizer.tflite")
    input_index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(input_index, [1, height, width, 1])
    interpreter.allocate_tensors()
    interpreter.set_tensor(input_index, gray_uint8[None, ..., None])
    interpreter.invoke()
    rgb = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]
"""

import keras
import tensorflow as tf

from colorkeras.models import color, heads
from colorkeras.serving.graph import ColorizerModule


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
    resized = tf.matmul(tf.matmul(tf.broadcast_to(rows, [tf.shape(channels_first)[0], height, tf.shape(image)[1]]), channels_first), columns, transpose_b=True)
    return tf.expand_dims(tf.transpose(resized, [1, 2, 0]), 0)


def boost_saturation(rgb, factor):
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
    A nested model is called whole (it holds no UpSampling2D)."""
    values = {id(model.inputs[0]): inputs}
    for layer in model.layers[1:]:
        node = layer._inbound_nodes[0]
        arguments = [values[id(tensor)] for tensor in node.input_tensors]
        if isinstance(layer, keras.layers.UpSampling2D):
            x = arguments[0]
            size = tf.stack([tf.shape(x)[1] * layer.size[0], tf.shape(x)[2] * layer.size[1]])
            output = tf.image.resize(x, size, method="nearest")
        else:
            output = layer(arguments if len(arguments) > 1 else arguments[0], training=False)
        # A nested model (the MobileNetV2 U-Net's encoder) gives several outputs.
        for tensor, value in zip(node.output_tensors, output if isinstance(output, (list, tuple)) else [output]):
            values[id(tensor)] = value
    return values[id(model.outputs[0])]


class TFLiteColorizerModule(ColorizerModule):
    """``serving_default`` with builtin-op equivalents of the three non-builtin pieces."""

    def _colorize_builtin(self, images):
        rgb = tf.broadcast_to(images, tf.concat([tf.shape(images)[:3], [3]], axis=0))
        lightness = color.uint8_to_lightness(rgb, gray=False)
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        render_height, render_width = self._render_shape(height, width, tf.constant(self.default_render_size))
        small = resize_antialiased(lightness, render_height, render_width)
        inputs = small / color.L_SCALE
        if self.hints:  # No hints here: an empty canvas.
            inputs = tf.concat([inputs, tf.zeros(tf.concat([tf.shape(small)[:3], [3]], axis=0))], axis=-1)
        outputs = call_with_resize_upsampling(self.keras_model, inputs)
        ab = heads.decode_chroma(
            outputs, self.architecture, self.head, self.bin_centers, tf.constant(self.default_temperature),
            self.log_prior, tf.constant(self.default_prior_weight),
        )
        if abs(self.default_saturation - 1.0) > 1e-6:
            small_lightness = resize_antialiased(small, tf.shape(ab)[1], tf.shape(ab)[2])
            predicted = color.lab_to_rgb(tf.concat([small_lightness, ab], axis=-1))
            ab = color.rgb_to_lab(boost_saturation(predicted, self.default_saturation))[..., 1:]
        ab = tf.image.resize(ab, tf.stack([height, width]), method="bilinear")
        return color.lab_to_uint8(tf.concat([lightness, ab], axis=-1))

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, None], tf.uint8, name="images")])
    def serve_tflite(self, images):
        return {"colorized": self._colorize_builtin(images)}


def convert(keras_model, settings):
    """The TFLite flatbuffer (bytes) of a run's serving graph, builtin ops only."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    module = TFLiteColorizerModule(keras_model, settings)
    # The weights go into the flatbuffer as constants (no resource variables to initialise).
    frozen = convert_variables_to_constants_v2(module.serve_tflite.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()
