"""The original design (``plain-cnn``): a plain stack of 3x3 convolutions from gray to sRGB, kept as the baseline
every comparison shows."""

import keras
from keras import layers

NAME = "plain-cnn"  # Its name in core.config.ARCHITECTURES, which holds its defaults and traits.


def build_plain_cnn(base_filters=64, depth=6, name="plain_cnn"):
    """The original design: a plain stack of 3x3 convolutions with ReLU, gray to RGB."""
    inputs = keras.Input(shape=(None, None, 1), name="lightness")
    x = inputs
    for index in range(1, depth):
        x = layers.Conv2D(base_filters, 3, padding="same", activation="relu", name=f"conv{index}")(x)
    outputs = layers.Conv2D(3, 3, padding="same", activation="sigmoid", name="rgb")(x)
    return keras.Model(inputs, outputs, name=name)


def build(base_filters, depth, head, bin_step, hints, **options):
    """The registry's uniform call (``registry.build_colorizer``)."""
    return build_plain_cnn(base_filters=base_filters, depth=depth)
