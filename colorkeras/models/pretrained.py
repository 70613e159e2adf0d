"""ImageNet-pretrained MobileNetV2 weights, read from a quantized TFLite file into Keras.

    from colorkeras.models import pretrained
    classifier = pretrained.classifier("../shared/pretrained/tf2_mobilenet_v2_1.0_224_ptq.tflite")
    encoder = pretrained.encoder("../shared/pretrained/tf2_mobilenet_v2_1.0_224_ptq.tflite", channels=1)

The file holds Google's MobileNetV2 1.0/224 as int8 (or uint8) constants with their
scales. Every ``CONV_2D`` and ``DEPTHWISE_CONV_2D`` operator, in graph order, is one
convolution of ``keras.applications.MobileNetV2`` in layer order (52 in the
encoder), then the 1x1 classifier. Their weights are dequantized (``(q - zero
point) * scale``, the scale along the tensor's ``quantized_dimension``), turned
from TFLite's layouts (OHWI for convolutions, 1HWC for depthwise ones) into Keras'
(HWIO, HWC1), and set into the Keras network. Batch normalisation was folded into
each convolution's weights and bias by the converter that made the file, so each
Keras ``BatchNormalization`` is set to the identity plus that bias (gamma 1, mean
0, variance 1 - epsilon, beta = the bias). The conversion is right when the
Keras classifier gives the interpreter's own class scores on real photographs
(``tests/test_pretrained.py``).

No file of weights is shipped: they are read from where the user keeps them
(``../shared/pretrained``), and a run trained from them records the file and its
checksum.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

CONVOLUTIONS = ("CONV_2D", "DEPTHWISE_CONV_2D")
# TFLite's kernel layouts -> Keras': CONV_2D [out, h, w, in] -> [h, w, in, out];
# DEPTHWISE_CONV_2D [1, h, w, channels] -> [h, w, channels, 1].
KERNEL_TO_KERAS = (1, 2, 3, 0)
BN_EPSILON = 1e-3  # keras.applications.MobileNetV2's BatchNormalization epsilon.


class WeightsError(ValueError):
    """A weights file that is missing or does not fit the network; the message says which."""


@dataclass
class Convolution:
    """One convolution of the file: its kind, float32 Keras-layout kernel and bias."""

    kind: str
    kernel: np.ndarray
    bias: np.ndarray


def dequantize(values, quantization):
    """float32 of quantized ``values`` with a TFLite tensor's ``quantization_parameters``
    (per tensor, or per channel along ``quantized_dimension``)."""
    scales = np.asarray(quantization["scales"], np.float32)
    zero_points = np.asarray(quantization["zero_points"], np.float32)
    values = np.asarray(values, np.float32)
    if scales.size == 0:
        return values  # A float tensor.
    if scales.size == 1:
        return (values - zero_points[0]) * scales[0]
    shape = [1] * values.ndim
    shape[quantization["quantized_dimension"]] = -1
    return (values - zero_points.reshape(shape)) * scales.reshape(shape)


def read_convolutions(path):
    """Every convolution of TFLite file ``path`` in graph order, as ``Convolution``s."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(
            f"{path}: no such weights file (the pretrained MobileNetV2 TFLite file, e.g. "
            "../shared/pretrained/tf2_mobilenet_v2_1.0_224_ptq.tflite)"
        )
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=str(path))
    except (ValueError, RuntimeError) as error:
        raise WeightsError(f"{path}: not a TFLite model we can read ({error})") from None
    tensors = {detail["index"]: detail for detail in interpreter.get_tensor_details()}
    convolutions = []
    for operator in interpreter._get_ops_details():  # The operators in graph order (LiteRT has no public call for it).
        if operator["op_name"] not in CONVOLUTIONS:
            continue
        weights, bias = tensors[operator["inputs"][1]], tensors[operator["inputs"][2]]
        kernel = dequantize(interpreter.get_tensor(weights["index"]), weights["quantization_parameters"])
        convolutions.append(
            Convolution(
                kind=operator["op_name"],
                kernel=np.ascontiguousarray(np.transpose(kernel, KERNEL_TO_KERAS)),
                bias=dequantize(interpreter.get_tensor(bias["index"]), bias["quantization_parameters"]),
            )
        )
    return convolutions


def file_record(path):
    """Where weights came from, for a run's config: the path as given, size and sha256."""
    path = Path(path).expanduser()
    return {
        "file": path.name,
        "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "source": "Google MobileNetV2 1.0/224 ImageNet classifier (google-coral/test_data), Apache License 2.0",
    }


def backbone(input_shape=(None, None, 3), alpha=1.0):
    """``keras.applications.MobileNetV2`` without its top and without weights."""

    return keras.applications.MobileNetV2(input_shape=input_shape, alpha=alpha, include_top=False, weights=None)


def keras_convolutions(model):
    """The model's Conv2D and DepthwiseConv2D layers in order, each with the
    BatchNormalization that follows it."""

    found = []
    for layer in model.layers:
        if isinstance(layer, layers.DepthwiseConv2D):
            found.append(["DEPTHWISE_CONV_2D", layer, None])
        elif isinstance(layer, layers.Conv2D):
            found.append(["CONV_2D", layer, None])
        elif isinstance(layer, layers.BatchNormalization) and found and found[-1][2] is None:
            found[-1][2] = layer
    return found


def set_weights(model, convolutions):
    """Sets ``convolutions`` into ``model``'s convolutions in order (a folded
    BatchNormalization becomes the identity plus the bias). Raises ``WeightsError``
    where the two do not match in number, kind or shape. Returns the convolutions
    left over (the classifier's)."""
    targets = keras_convolutions(model)
    if len(convolutions) < len(targets):
        raise WeightsError(f"the file has {len(convolutions)} convolutions; the network needs {len(targets)}")
    for index, ((kind, layer, norm), source) in enumerate(zip(targets, convolutions, strict=False)):
        kernel = source.kernel
        expected = tuple(layer.kernel.shape)
        if index == 0 and expected[2] == 1 and kernel.shape[2] == 3:
            # A stem that takes one channel (lightness) where the file's took RGB: a gray
            # image is R = G = B, so the three input filters add up.
            kernel = kernel.sum(axis=2, keepdims=True)
        if kind != source.kind or tuple(kernel.shape) != expected:
            raise WeightsError(
                f"convolution {index} ({layer.name}) is {kind} {expected}; "
                f"the file's is {source.kind} {tuple(kernel.shape)}"
            )
        if norm is None:
            layer.set_weights([kernel, source.bias] if layer.use_bias else [kernel])
            continue
        layer.set_weights([kernel])
        channels = source.bias.shape[0]
        norm.set_weights(
            [
                np.ones(channels, np.float32),
                source.bias.astype(np.float32),
                np.zeros(channels, np.float32),
                np.full(channels, 1.0 - norm.epsilon, np.float32),
            ]
        )
    return convolutions[len(targets) :]


def classifier(path, input_shape=(224, 224, 3), alpha=1.0):
    """The file's whole classifier in Keras: uint8-range RGB [0, 255] in (scaled to
    [-1, 1] inside, as the file's input quantization does), class probabilities out."""

    convolutions = read_convolutions(path)
    inputs = keras.Input(input_shape, name="rgb")
    scaled = layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
    encoder = backbone(input_shape, alpha)
    features = encoder(scaled)
    pooled = layers.GlobalAveragePooling2D(keepdims=True, name="pool")(features)
    head = set_weights(encoder, convolutions)
    if len(head) != 1:
        raise WeightsError(f"expected one classifier convolution after the encoder, found {len(head)}")
    classes = head[0].kernel.shape[-1]
    logits = layers.Conv2D(classes, 1, name="classifier")(pooled)
    probabilities = layers.Softmax(name="probabilities")(layers.Flatten(name="flatten")(logits))
    model = keras.Model(inputs, probabilities, name="mobilenet_v2_classifier")
    model.get_layer("classifier").set_weights([head[0].kernel, head[0].bias])
    return model


def encoder(path, input_shape=(None, None, 1), alpha=1.0):
    """The pretrained MobileNetV2 encoder (no classifier): input in [-1, 1] with
    ``input_shape[-1]`` channels (1: the lightness, the stem's RGB filters added up)."""
    model = backbone(input_shape, alpha)
    set_weights(model, read_convolutions(path))
    return model
