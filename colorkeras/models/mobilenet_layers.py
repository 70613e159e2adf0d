"""The MobileNetV2 U-Net's own layers, in a module that needs Keras alone.

The portable trainer (``training.portable``) rebuilds the network from its Keras
JSON on a machine with JAX and no TensorFlow; these classes must be registered
there before the JSON is read, and ``mobilenet_unet`` itself imports TensorFlow
(through the colour tables and the heads). Saved networks name them
``colorkeras>LightnessToGray`` and ``colorkeras>PooledHints``, as before they moved here.
"""

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="colorkeras")
class LightnessToGray(layers.Layer):
    """``L / 100`` (CIELAB lightness) -> the sRGB gray level in [-1, 1] that ImageNet
    MobileNetV2 was trained on (a gray image, R = G = B, scaled as x / 127.5 - 1)."""

    def call(self, lightness):
        lightness = ops.clip(lightness, 0.0, 1.0) * 100.0
        cube = (lightness + 16.0) / 116.0
        luminance = ops.where(lightness > 8.0, cube * cube * cube, lightness / 903.2963)
        gray = ops.where(
            luminance <= 0.0031308,
            12.92 * luminance,
            1.055 * ops.power(ops.maximum(luminance, 1e-12), 1.0 / 2.4) - 0.055,
        )
        return gray * 2.0 - 1.0


@keras.saving.register_keras_serializable(package="colorkeras")
class PooledHints(layers.Layer):
    """The hint canvas (a, b, mask) at 1 / ``stride`` of its resolution: each
    cell's mean hint colour over its hinted pixels, and 1 where it holds any.
    A 3x3 hint stays a full-strength signal at every stride (an average pool
    alone would dilute it to 9/256 at stride 16)."""

    def __init__(self, stride, **kwargs):
        super().__init__(**kwargs)
        self.stride = stride

    def call(self, canvas):
        ab, mask = canvas[..., :2], canvas[..., 2:]
        share = ops.average_pool(mask, self.stride, self.stride, padding="valid")
        ab = ops.average_pool(ab, self.stride, self.stride, padding="valid") / ops.maximum(share, 1e-6)
        return ops.concatenate([ab, ops.cast(share > 0, canvas.dtype)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "stride": self.stride}


@keras.saving.register_keras_serializable(package="colorkeras")
class SquareView(layers.Layer):
    """The image resized (bilinear) to ``size`` x ``size``: the whole view, at the
    scale the encoder was trained at (ImageNet photographs at 224 px), whatever
    size the chroma is rendered at."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, images):
        return ops.image.resize(images, (self.size, self.size), interpolation="bilinear")

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="colorkeras")
class AddEverywhere(layers.Layer):
    """``[features, vector]`` -> the features with the (batch, channels) vector
    added at every position: one global view's verdict fused into a local map."""

    def call(self, inputs):
        features, vector = inputs
        return features + ops.cast(vector[:, None, None, :], features.dtype)
