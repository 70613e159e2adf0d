"""The MobileNetV2 U-Net: a colorizer whose encoder already knows what things are.

The encoder is Keras' MobileNetV2 (alpha 1.0) started from Google's ImageNet
weights (``colorkeras.models.pretrained``, read from the quantized TFLite file), its stem
taking the one lightness channel. Skip connections at strides 2, 4, 8 and 16 (the
expand activations of blocks 1, 3, 6 and 13, as in TensorFlow's segmentation
tutorial) and the stride-32 output feed a decoder back up to half the input
resolution, where the same distribution head as the U-Net's predicts the a/b bins
(or a/b directly, ``head="regression"``). The network keeps the project's
contract: ``L / 100`` in, outputs at half resolution, so the SavedModel, the
decode (annealed mean, HSV boost) and the losses are those of the U-Net.

With ``hints`` (Zhang et al. 2017) it is the hint network: its input has the
lightness and the hint canvas of ``hint_canvas.paint`` (a, b, mask). The pretrained
encoder still sees the lightness alone (the gray image it was trained on); the
canvas pooled to each stride joins the decoder at every stride from 16 down to
2, beside the encoder's features of that stride, so the decoder can carry a
hint's colour as far as the encoder's features say the thing it is on reaches.

With ``global_view`` (a side, such as 224) the encoder also sees the whole
input resized to that square, the scale ImageNet taught it, and its pooled
1280 penultimate features (the ones its classifier reads) pass through two dense
layers into a vector added at every position of the bottleneck (Iizuka et al.
2016's fusion of a global and a local path). The encoder is the same network,
called twice; the backbone's top convolution becomes the branch's own layer
(a second nested network sharing the encoder's layers would not survive
``.keras`` saving).
The last dense layer starts at zero, so a network started from one without the
global view (``initial_weights``) colours exactly as it did until training
teaches it to use the verdict.

Inputs must be multiples of 32 on each side.
"""

import keras
import numpy as np
from keras import layers

from colorkeras.core.hints import HINT_CHANNELS
from colorkeras.models import color, pretrained
from colorkeras.models.heads import HEADS, apply_chroma_head
from colorkeras.models.mobilenet_layers import AddEverywhere, LightnessToGray, PooledHints, SquareView
from colorkeras.models.unet import apply_conv_block

NAME = "mobilenet-unet"  # Its name in core.config.ARCHITECTURES, which holds its defaults and traits.

SKIPS = (
    "block_1_expand_relu",
    "block_3_expand_relu",
    "block_6_expand_relu",
    "block_13_expand_relu",
)  # Strides 2, 4, 8, 16.
BOTTOM = "block_16_project"  # Stride 32, 320 channels.
ENCODER_NAME = "mobilenet_v2_encoder"
GLOBAL_TOP = ("Conv_1", "Conv_1_bn")  # Stride 32 -> the 1280 features (ReLU6) the ImageNet classifier pools.
GRAY_LEVELS = np.arange(256)  # Every uint8 gray level: gray_levels_round_trip's default.


def apply_decoder_block(x, skip, filters, name, hint=None):
    """Upsample by 2, join the encoder's features of that stride (and the hint
    branch's, where given: after them, so an automatic network's weights are the
    first input channels of the hint network's), two 3x3 conv blocks."""
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
    x = layers.Concatenate(name=f"{name}_concat")([x, skip] + ([hint] if hint is not None else []))
    x = apply_conv_block(x, filters, name=f"{name}_a")
    return apply_conv_block(x, filters, name=f"{name}_b")


def apply_hint_branch(canvas, base_filters):
    """The hint canvas -> features at strides 2, 4, 8 and 16 (widths
    ``base_filters`` x 1, 2, 4, 8), for the decoder levels of those strides: the
    canvas pooled to each stride, then one 3x3 conv block. Where a hint's colour
    goes from there the decoder decides, with the encoder's features of the
    same stride beside it.

    A hint encoder that took the lightness beside the canvas at full working
    resolution and went down stride by stride (the pooled canvas joining again
    at each; README, "Its hint network") did no better in the same 5 epochs:
    +2.11 dB at ten hints and containment 2.65, against this design's +2.15 and
    2.68, and with batch normalisation it fell to +0.63 dB after one epoch."""
    return [
        apply_conv_block(
            PooledHints(2**level, name=f"hints{level}_pool")(canvas), base_filters * width, name=f"hints{level}"
        )
        for level, width in enumerate((1, 2, 4, 8), start=1)
    ]


def apply_global_branch(gray, encoder, top, size, base_filters, trainable):
    """The whole gray image at ``size`` x ``size`` -> the encoder (the same one,
    weights shared) -> its top (the backbone's 1x1 convolution to the 1280
    features the ImageNet classifier pools, copied from ``top``, a list of its
    Conv_1 and Conv_1_bn layers) -> pooled -> a vector of ``base_filters`` x 8 for
    the bottleneck, from a dense layer that starts at zero."""
    *_, bottom = encoder(SquareView(size, name="global_view")(gray))
    convolution, norm = top
    conv = layers.Conv2D(convolution.filters, 1, use_bias=False, name="global_conv", trainable=trainable)
    bn = layers.BatchNormalization(epsilon=norm.epsilon, momentum=norm.momentum, name="global_conv_bn", trainable=False)
    g = layers.ReLU(6.0, name="global_relu")(bn(conv(bottom)))
    conv.set_weights(convolution.get_weights())
    bn.set_weights(norm.get_weights())
    g = layers.GlobalAveragePooling2D(name="global_pool")(g)
    g = layers.Dense(base_filters * 16, activation="relu", name="global_dense")(g)
    return layers.Dense(base_filters * 8, kernel_initializer="zeros", name="global_fuse")(g)


def build_mobilenet_unet(
    base_filters=32,
    head="classes",
    num_bins=None,
    encoder_weights=None,
    freeze_encoder=False,
    hints=False,
    global_view=0,
    name="mobilenet_unet",
):
    """The network, its encoder started from ``encoder_weights`` (the TFLite file)
    where given (else random: the control experiment). ``freeze_encoder`` keeps the
    encoder's weights and its batch normalisation as they are. Decoder widths
    are ``base_filters`` x 8, 4, 2, 1 from stride 16 to 2. ``hints`` gives the
    hint network (four input channels: L / 100, then the canvas); ``global_view``
    (a side; 0 = none) adds the global branch."""
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, received {head!r}")
    backbone = pretrained.backbone((None, None, 1))
    if encoder_weights:
        pretrained.set_weights(backbone, pretrained.read_convolutions(encoder_weights))
    encoder = keras.Model(
        backbone.input, [backbone.get_layer(layer).output for layer in (*SKIPS, BOTTOM)], name=ENCODER_NAME
    )
    if freeze_encoder:
        encoder.trainable = False
    # The file's batch norm is folded into the convolutions, so each
    # BatchNormalization holds the identity (mean 0, variance 1) plus the bias.
    # Left trainable it normalised by batch statistics in training and drifted its
    # moving ones, so training and inference saw different networks: a 3-epoch run's
    # validation loss rose 3.39, 3.48, 3.60 while its training loss fell to 3.04. A
    # non-trainable BatchNormalization runs in inference mode (Keras), so it stays
    # the identity; the convolutions still train.
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False

    if hints:
        inputs = keras.Input(shape=(None, None, 1 + HINT_CHANNELS), name="lightness_and_hints")
        lightness = inputs[..., :1]
        hint_features = apply_hint_branch(inputs[..., 1:], base_filters)
    else:
        inputs = lightness = keras.Input(shape=(None, None, 1), name="lightness")
        hint_features = [None] * len(SKIPS)
    gray = LightnessToGray(name="to_gray")(lightness)
    # === Encoder (pretrained) ===
    *skips, x = encoder(gray)

    # === Decoder (back up to half resolution) ===
    x = apply_conv_block(x, base_filters * 8, name="bottleneck")
    if global_view:
        top = [backbone.get_layer(layer) for layer in GLOBAL_TOP]
        x = AddEverywhere(name="global_add")(
            [x, apply_global_branch(gray, encoder, top, global_view, base_filters, not freeze_encoder)]
        )
    for level, (skip, hint, width) in enumerate(
        zip(reversed(skips), reversed(hint_features), (8, 4, 2, 1), strict=False)
    ):
        x = apply_decoder_block(x, skip, base_filters * width, name=f"up{4 - level}", hint=hint)

    # === Head (the U-Net's) ===
    return keras.Model(inputs, apply_chroma_head(x, head, num_bins), name=name)


def encoder_of(model):
    """The pretrained encoder inside a built network (to freeze or unfreeze it)."""
    return model.get_layer(ENCODER_NAME)


def gray_levels_round_trip(levels=GRAY_LEVELS):
    """For tests: what LightnessToGray makes of each uint8 gray level's exact L."""
    lightness = color.uint8_gray_lightness_table()[levels] / 100.0
    return (np.asarray(LightnessToGray()(lightness.astype(np.float32)[None, :, None, None]))[0, :, 0, 0] + 1.0) * 127.5


def build(base_filters, depth, head, bin_step, hints, **options):
    """The registry's uniform call (``registry.build_colorizer``); its depth is fixed by the encoder's five strides."""
    num_bins = len(color.ab_bin_centers(bin_step)) if head == "classes" else None
    name = "mobilenet_unet_hints" if hints else "mobilenet_unet"
    return build_mobilenet_unet(
        base_filters=base_filters, head=head, num_bins=num_bins, hints=hints, name=name, **options
    )
