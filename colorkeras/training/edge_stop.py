"""The hint network trained through the edge stop it is served with (issue 49).

The exported graph fades the hints' change where their reach ends (``serving.edges``):
of the network's hinted colour only the part near the hints, within their regions, and
a share of its median over the picture reach the user. A network trained on its own
hinted colour alone spends effort on the rest, which the fade then takes away. Here the
hint trainer also runs the network without hints (no gradient), decodes both outputs
(the annealed mean, as served), fades as the graph does, and adds the squared error of
that result against the truth to the loss: (a/b error / 10)^2, weighted by
``--edge-stop``. The cross-entropy on the hinted output stays as it is.

The fade takes the TensorFlow backend (``serving.edges`` relaxes a geodesic distance in
a ``tf.while_loop``); the portable trainer has no such term.

Measured once (session 28, ``docs/research/2026-12-07-reference-and-key-frames.md``): three
epochs of 14,000 from the default's weights at weight 1 made the network's own changes larger
and its automatic colour more saturated; ten hints through the fade gave +2.75 dB on the
places test split against the shipped network's +2.98, so the default was not replaced.
"""

import keras
from keras import layers, ops

from colorkeras.core import hints as hints_lib
from colorkeras.models import color, hint_canvas
from colorkeras.serving import edges


@keras.saving.register_keras_serializable(package="colorkeras")
class EmptyCanvas(layers.Layer):
    """L / 100 -> L and a hint canvas without hints: the hint network's automatic input."""

    def call(self, lightness):
        return ops.pad(lightness, [[0, 0], [0, 0], [0, 0], [0, hints_lib.HINT_CHANNELS]])

    def compute_output_spec(self, lightness):
        return keras.KerasTensor((*lightness.shape[:3], 1 + hints_lib.HINT_CHANNELS), dtype=lightness.dtype)


@keras.saving.register_keras_serializable(package="colorkeras")
class EdgeStopTerm(layers.Layer):
    """(L / 100, true a/b, points, radii, hinted logits, automatic logits) -> the hinted logits unchanged; adds
    ``weight`` x the mean of ((faded a/b - true a/b) / 10)^2 as a loss, the fade being ``serving.edges``'s."""

    def __init__(self, weight=1.0, bin_step=10.0, temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        self.weight = float(weight)
        self.bin_step = float(bin_step)
        self.temperature = float(temperature)
        self.centers = color.ab_bin_centers(self.bin_step).astype("float32")

    def decode(self, logits, size):
        ab = color.annealed_mean(logits, self.centers, self.temperature)
        return ops.image.resize(ab, size, interpolation="bilinear")

    def faded(self, lightness, true_ab, points, radii, hinted_logits, automatic_logits):
        """The a/b the served graph would give [B, H, W, 2] at the size of ``true_ab``."""
        size = tuple(true_ab.shape[1:3])
        hinted = self.decode(hinted_logits, size)
        automatic = ops.stop_gradient(self.decode(automatic_logits, size))
        masks = hint_canvas.patch_masks(points, radii, size[0], size[1])
        mask = ops.max(masks, axis=1)[..., None]
        count = ops.sum(ops.cast(hint_canvas.valid_points(points), "int32"), axis=1)
        big_l = ops.stop_gradient(ops.cast(lightness, "float32") * color.L_SCALE)
        return edges.stop_at_edges(automatic, hinted, big_l, mask, count)

    def call(self, lightness, true_ab, points, radii, hinted_logits, automatic_logits):
        result = self.faded(lightness, true_ab, points, radii, hinted_logits, automatic_logits)
        error = ops.square((result - ops.cast(true_ab, "float32")) / 10.0)
        self.add_loss(self.weight * ops.mean(error))
        return hinted_logits

    def compute_output_spec(self, lightness, true_ab, points, radii, hinted_logits, automatic_logits):
        return keras.KerasTensor(hinted_logits.shape, dtype=hinted_logits.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "weight": self.weight,
            "bin_step": self.bin_step,
            "temperature": self.temperature,
        }


def with_edge_stop(trainer, network, weight, bin_step, temperature=1.0):
    """``portable.hint_trainer``'s model with the edge-stop term added to its loss: (L, true a/b, points, radii) ->
    the hinted logits, as before."""
    lightness, true_ab, points, radii = trainer.inputs
    automatic = network(EmptyCanvas(name="empty_canvas", dtype="float32")(lightness))
    term = EdgeStopTerm(weight, bin_step, temperature, name="edge_stop", dtype="float32")
    outputs = term(lightness, true_ab, points, radii, trainer.outputs[0], automatic)
    return keras.Model(trainer.inputs, outputs, name=f"{trainer.name}_through_edge_stop")
