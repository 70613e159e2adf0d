"""The U-Net: L -> a/b at half resolution, this project's own network (``unet``)."""

import keras
from keras import layers

from colorkeras.core.hints import HINT_CHANNELS
from colorkeras.models import color
from colorkeras.models.heads import HEADS, apply_chroma_head

NAME = "unet"  # Its name in core.config.ARCHITECTURES, which holds its defaults and traits.


def apply_conv_block(x, filters, name, strides=1):
    """3x3 convolution, batch normalisation and ReLU."""
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def apply_global_context(x, name):
    """Adds a whole-image summary to every position, so that a sky or a lawn far
    away can inform the colour here without a deeper network."""
    filters = x.shape[-1]
    context = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    context = layers.Dense(filters, activation="relu", name=f"{name}_dense")(context)
    return layers.Add(name=f"{name}_add")([x, context])


def build_unet(base_filters=32, depth=3, head="classes", num_bins=None, name="unet", hints=False):
    """A U-Net from L to a/b whose output is at half the input resolution.

    ``hints=True`` gives the hint network (Zhang et al. 2017): its input has four
    channels, L / 100 and the hint canvas of ``hint_canvas.paint`` (a, b, mask); every
    layer keeps its name, so an automatic network's weights start it (the new
    input channels of the stem start at zero).

    The chroma of natural images (and of JPEG's 4:2:0 storage) is smooth, so the
    full-resolution decoder level, the most expensive one, buys little; the chroma
    is upsampled to full size outside the network, where it joins the full
    resolution L.
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, received {head!r}")
    if depth < 1:
        raise ValueError(f"depth must be at least 1, received {depth}")
    if hints:
        inputs = keras.Input(shape=(None, None, 1 + HINT_CHANNELS), name="lightness_and_hints")
    else:
        inputs = keras.Input(shape=(None, None, 1), name="lightness")

    # === Encoder ===
    x = apply_conv_block(inputs, base_filters, name="stem")
    skips = []
    for level in range(1, depth + 1):
        filters = base_filters * 2**level
        x = apply_conv_block(x, filters, name=f"down{level}_a", strides=2)
        x = apply_conv_block(x, filters, name=f"down{level}_b")
        skips.append(x)

    # === Bottleneck ===
    x = apply_global_context(x, name="context")
    x = apply_conv_block(x, base_filters * 2**depth, name="bottleneck")

    # === Decoder (back up to half resolution) ===
    for level in range(depth - 1, 0, -1):
        filters = base_filters * 2**level
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{level}_resize")(x)
        x = layers.Concatenate(name=f"up{level}_concat")([x, skips[level - 1]])
        x = apply_conv_block(x, filters, name=f"up{level}_a")
        x = apply_conv_block(x, filters, name=f"up{level}_b")

    # === Head ===
    return keras.Model(inputs, apply_chroma_head(x, head, num_bins), name=name)


def build(base_filters, depth, head, bin_step, hints, **options):
    """The registry's uniform call (``registry.build_colorizer``)."""
    num_bins = len(color.ab_bin_centers(bin_step)) if head == "classes" else None
    name = f"{NAME}_hints" if hints else NAME
    return build_unet(base_filters=base_filters, depth=depth, head=head, num_bins=num_bins, name=name, hints=hints)
