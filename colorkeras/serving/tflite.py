"""A TFLite model for phones and the web: ``python -m colorkeras.export --model RUN --tflite FILE``.

Its interface is ``serving_default``'s: uint8 ``[1, height, width, 1 or 3]`` in,
uint8 RGB ``[1, height, width, 3]`` out, height and width left dynamic (set them
with ``resize_tensor_input`` and ``allocate_tensors``), with the run's serving
defaults. Only TFLite builtin ops are used, since today's LiteRT runtime no longer
ships the select-TF-ops delegate, so some pieces of the SavedModel's graph are
written differently (``serving.graph.BuiltinColorizerModule``, beside the SavedModel's):

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

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from colorkeras.serving.graph import BuiltinColorizerModule


def convert(keras_model, settings):
    """The TFLite flatbuffer (bytes) of a run's serving graph, builtin ops only."""
    module = BuiltinColorizerModule(keras_model, settings)
    # The weights go into the flatbuffer as constants (no resource variables to initialise).
    frozen = convert_variables_to_constants_v2(module.serve_tflite.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()
