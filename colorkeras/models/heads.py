"""What every chroma network ends in and is trained and decoded by: the 1x1 head (quantised a/b
classes or a/b regression), ``decode_chroma`` (network outputs -> a/b in Lab units) and the losses."""

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from colorkeras.core.config import architecture as architecture_of
from colorkeras.models import color
from colorkeras.models.soft_encoding import soft_encoded_crossentropy

HEADS = ("classes", "regression")


LOSSES = ("crossentropy", "mse", "l1", "huber")


def apply_chroma_head(x, head, num_bins=None):
    """The 1x1 head of a chroma network: logits over the a/b bins (``classes``) or
    ``ab / AB_SCALE`` (``regression``). It stays float32 under mixed
    precision: logits feed a softmax."""
    if head == "classes":
        if not num_bins:
            raise ValueError(f"head 'classes' needs num_bins > 0, received {num_bins!r}")
        return layers.Conv2D(num_bins, 1, name="ab_logits", dtype="float32")(x)
    return layers.Conv2D(2, 1, name="ab_scaled", dtype="float32")(x)


def decode_chroma(outputs, architecture, head, bin_centers=None, temperature=1.0, log_prior=None, prior_weight=0.0):
    """Network outputs -> a/b float32 ``[batch, h, w, 2]`` in Lab units.

    For class heads only: ``temperature`` 1.0 is the mean of the predicted
    distribution (the least squared error); lower values move toward its mode, as
    in the annealed mean of Zhang et al. (2016). ``prior_weight`` (0 = off) divides
    the predicted probabilities by the training colours' prior to that power
    before decoding, which favours rare, saturated colours: class rebalancing
    applied at decoding time, so it can be tuned without retraining.
    """
    if not architecture_of(architecture).chroma:
        return color.rgb_to_lab(outputs)[..., 1:]
    if head == "regression":
        return outputs * color.AB_SCALE
    if log_prior is not None:
        outputs = outputs - prior_weight * tf.constant(log_prior, tf.float32)
    probabilities = tf.nn.softmax(outputs / temperature, axis=-1)
    return tf.tensordot(probabilities, tf.constant(bin_centers, tf.float32), axes=1)


@keras.saving.register_keras_serializable(package="colorkeras")
class SoftEncodedCrossEntropy(keras.losses.Loss):
    """Cross-entropy against a soft encoding of the true a/b over the bins.

    ``y_true`` is a/b in Lab units at full resolution, ``y_pred`` the logits at half
    resolution: ``soft_encoding.soft_encoded_crossentropy``, the one definition the
    portable trainer uses too. ``class_weights`` (optional, [K]) rebalance rare colours.
    """

    def __init__(self, bin_step=10.0, sigma=5.0, class_weights=None, name="soft_encoded_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.bin_step = float(bin_step)
        self.sigma = float(sigma)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]
        self._centers = color.ab_bin_centers(self.bin_step)

    def call(self, y_true, y_pred):
        return soft_encoded_crossentropy(y_true, y_pred, self._centers, self.sigma, self.class_weights)

    def get_config(self):
        config = super().get_config()
        config.update(bin_step=self.bin_step, sigma=self.sigma, class_weights=self.class_weights)
        return config


@keras.saving.register_keras_serializable(package="colorkeras")
class ResizedRegressionLoss(keras.losses.Loss):
    """MSE, L1 or Huber between a prediction and a target resized to its size.

    The U-Net's regression head predicts ab / AB_SCALE at half resolution; the
    plain CNN predicts RGB at full resolution (then the resize does nothing).
    """

    def __init__(self, kind="mse", target_scale=1.0, name=None, **kwargs):
        if kind not in ("mse", "l1", "huber"):
            raise ValueError(f"kind must be 'mse', 'l1' or 'huber', received {kind!r}")
        super().__init__(name=name or f"resized_{kind}", **kwargs)
        self.kind = kind
        self.target_scale = float(target_scale)

    def call(self, y_true, y_pred):
        y_true = tf.image.resize(y_true, tf.shape(y_pred)[1:3], method="area") / self.target_scale
        error = y_pred - y_true
        if self.kind == "mse":
            return tf.reduce_mean(tf.square(error), axis=-1)
        if self.kind == "l1":
            return tf.reduce_mean(tf.abs(error), axis=-1)
        return tf.reduce_mean(keras.losses.huber(y_true, y_pred, delta=0.1)[..., None], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(kind=self.kind, target_scale=self.target_scale)
        return config


def build_loss(architecture, head, loss, bin_step=10.0, class_weights=None):
    """The loss that trains ``architecture``/``head``; ``loss`` is one of ``LOSSES``.

    ``class_weights`` ([K], classes head only) rebalance the cross-entropy; see
    ``rebalancing_weights``.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, received {loss!r}")
    chroma = architecture_of(architecture).chroma
    if chroma and head == "classes":
        if loss != "crossentropy":
            raise ValueError(f"the 'classes' head trains with loss 'crossentropy', received {loss!r}")
        return SoftEncodedCrossEntropy(bin_step=bin_step, class_weights=class_weights)
    if loss == "crossentropy":
        raise ValueError(
            f"loss 'crossentropy' needs a chroma network with --head classes, received {architecture!r}/{head!r}"
        )
    scale = color.AB_SCALE if chroma else 1.0
    return ResizedRegressionLoss(kind=loss, target_scale=scale)


def bin_prior(images, bin_step=10.0, max_images=5000, seed=0):
    """How often each a/b bin occurs in uint8 RGB ``images`` ``[n, h, w, 3]``.

    Returns float64 [K] summing to 1, with one count added to every bin so that no
    colour has probability zero. At most ``max_images`` images (chosen by ``seed``)
    are counted.
    """
    centers = color.ab_bin_centers(bin_step)
    if len(images) > max_images:
        images = images[np.random.default_rng(seed).choice(len(images), max_images, replace=False)]
    counts = np.ones(len(centers))
    # Chunks of about 250,000 pixels: the distance matrix below is [pixels, K] float64.
    chunk = max(1, 250_000 // max(1, int(np.prod(images.shape[1:3]))))
    for start in range(0, len(images), chunk):
        ab = color.rgb_to_lab(images[start : start + chunk] / 255.0).numpy()[..., 1:].reshape(-1, 2)
        distance = (ab**2).sum(-1, keepdims=True) - 2.0 * ab @ centers.T + (centers**2).sum(-1)
        counts += np.bincount(distance.argmin(axis=1), minlength=len(centers))
    return counts / counts.sum()


def rebalancing_weights(prior, strength=0.5):
    """Zhang et al. (2016) class rebalancing: ``w ~ 1 / ((1 - strength) * prior + strength / K)``.

    ``prior`` is float [K] summing to 1 (``bin_prior``); ``strength`` (their lambda)
    in [0, 1] mixes it with the uniform distribution. The weights are scaled so that
    their expectation under the prior is 1, so the loss keeps its scale. Returns
    float64 [K].
    """
    prior = np.asarray(prior, np.float64)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"rebalancing strength must be in [0, 1], received {strength}")
    weights = 1.0 / ((1.0 - strength) * prior + strength / len(prior))
    return weights / float(np.sum(prior * weights))
