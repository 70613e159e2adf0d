"""Colorization networks, built with the Keras functional API.

Every network takes the lightness ``L / 100`` (float32 ``[batch, height, width, 1]``
in [0, 1]) and is fully convolutional, so it runs at any size whose sides are
multiples of ``size_multiple(...)``. What it returns depends on its head:

- ``unet`` with ``head="classes"``: logits over the quantised a/b bins of
  ``color.ab_bin_centers(bin_step)`` at half the input resolution (Zhang et al. 2016);
  decoded by an annealed mean.
- ``unet`` with ``head="regression"``: ``ab / AB_SCALE`` at half resolution.
- ``plain-cnn``: the original design, sRGB in [0, 1] at full resolution.

``decode_chroma`` turns any of these outputs into a/b in Lab units, and the losses
for training live here too, beside the heads they train.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from colorkeras.core.config import ARCHITECTURES, Architecture, TrainConfig
from colorkeras.core.config import architecture as architecture_of
from colorkeras.models import mobilenet_unet, plain_cnn, unet
from colorkeras.models.heads import ResizedRegressionLoss, SoftEncodedCrossEntropy
from colorkeras.models.mobilenet_layers import LightnessToGray

if TYPE_CHECKING:
    import keras


def size_multiple(architecture: str, depth: int) -> int:
    """Input sides must be multiples of this (2 ** depth for the U-Net, 32 for the MobileNetV2 one)."""
    return architecture_of(architecture).size_multiple(depth)


# The builder of each architecture of ``core.config.ARCHITECTURES`` (their traits and
# defaults, without TensorFlow): a new network is its own module with a NAME and a
# ``build``, its traits in that table, and one entry here.
BUILDERS: dict[str, Callable[..., keras.Model]] = {
    module.NAME: module.build for module in (unet, plain_cnn, mobilenet_unet)
}


def register(traits: Architecture, build: Callable[..., keras.Model]) -> None:
    """Adds an architecture: ``traits``, a ``core.config.Architecture`` (its name,
    defaults and what it predicts), and ``build``, called as the modules' own
    ``build(base_filters, depth, head, bin_step, hints, **options)``. Every part of
    the system finds it from then on; ``unregister`` takes it away."""
    if traits.name in ARCHITECTURES:
        raise ValueError(f"an architecture named {traits.name!r} is already registered")
    ARCHITECTURES[traits.name] = traits
    BUILDERS[traits.name] = build


def unregister(name: str) -> None:
    ARCHITECTURES.pop(name, None)
    BUILDERS.pop(name, None)


def build_colorizer(
    architecture: str = TrainConfig.architecture,
    base_filters: int = 32,
    depth: int = 3,
    head: str = "classes",
    bin_step: float = 10.0,
    hints: bool = False,
    **options: Any,
) -> keras.Model:
    """Builds the network named by ``architecture`` (one of ``config.ARCHITECTURES``).

    ``hints=True`` (architectures that take them) builds the network that also takes
    user hints; ``options`` go to the architecture's own builder (the MobileNetV2
    U-Net's ``encoder_weights`` and ``freeze_encoder``).
    """
    traits = architecture_of(architecture)
    if hints and not traits.takes_hints:
        raise ValueError(
            f"hints need --architecture {' or '.join(n for n, a in ARCHITECTURES.items() if a.takes_hints)}, "
            f"received {architecture!r}"
        )
    return BUILDERS[architecture](base_filters, depth, head, bin_step, hints, **options)


# Everything Keras needs to load a saved network of any architecture.
CUSTOM_OBJECTS = {
    "SoftEncodedCrossEntropy": SoftEncodedCrossEntropy,
    "ResizedRegressionLoss": ResizedRegressionLoss,
    "LightnessToGray": LightnessToGray,
}


def count_parameters(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.weights if w.trainable))
