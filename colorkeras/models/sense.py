"""Loss terms that ask whether a colorization makes sense to an ImageNet classifier (issue 48).

The per-pixel cross-entropy scores each pixel's colour alone. These terms look at the
whole picture: the predicted distribution is decoded differentiably (the annealed mean
over the a/b bins, joined with the input's L and turned into sRGB), and the colorization
and the true photograph both pass through a frozen ImageNet MobileNetV2 (the file the
encoder starts from):

- ``perceptual``: the squared difference of their features at strides 4 and 8
  (``block_2_add``, ``block_5_add``), each divided by the truth's mean square;
- ``semantic``: KL(truth's class distribution || the colorization's);
- ``colourfulness``: |mean chroma of the colorization - that of the truth| / 10 per image,
  the counterweight: a near-gray picture misleads a classifier less than a wrong one, so a
  semantic term alone drains the colour (issue 48's probes: colourfulness 24.9 -> 14.4).

``SenseTerms`` adds the weighted sum to the model's losses and passes the logits through,
so the trainer's cross-entropy stays as it is.
"""

import keras
from keras import layers, ops

from colorkeras.models import color, pretrained

FEATURE_LAYERS = ("block_2_add", "block_5_add")  # Strides 4 and 8 of MobileNetV2.


def feature_model(path):
    """The classifier in ``path`` (a MobileNetV2 TFLite file) as a frozen Keras model:
    uint8-range RGB of any size -> [features at each of ``FEATURE_LAYERS``, class probabilities]."""
    convolutions = pretrained.read_convolutions(path)
    inputs = keras.Input((None, None, 3), name="rgb")
    scaled = layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
    encoder = pretrained.backbone((None, None, 3))
    head = pretrained.set_weights(encoder, convolutions)
    if len(head) != 1:
        raise pretrained.WeightsError(f"expected one classifier convolution after the encoder, found {len(head)}")
    inner = keras.Model(
        encoder.inputs, [encoder.get_layer(name).output for name in FEATURE_LAYERS] + [encoder.output], name="encoder"
    )
    *features, top = inner(scaled)
    pooled = layers.GlobalAveragePooling2D(keepdims=True, name="pool")(top)
    # The class scores in float32 under mixed precision: the KL term takes logs of small probabilities.
    logits = layers.Conv2D(head[0].kernel.shape[-1], 1, name="classifier", dtype="float32")(pooled)
    probabilities = layers.Softmax(name="probabilities", dtype="float32")(
        layers.Flatten(name="flatten", dtype="float32")(logits)
    )
    model = keras.Model(inputs, [*features, probabilities], name="sense_classifier")
    model.get_layer("classifier").set_weights([head[0].kernel, head[0].bias])
    model.trainable = False
    return model


def mean_chroma(ab):
    """Mean chroma sqrt(a^2 + b^2) of each image of a/b ``[batch, h, w, 2]`` -> ``[batch]``."""
    return ops.mean(ops.sqrt(ops.sum(ops.square(ab), axis=-1) + 1e-6), axis=(1, 2))


@keras.saving.register_keras_serializable(package="colorkeras")
class SenseTerms(layers.Layer):
    """(L / 100, true a/b, logits) -> logits unchanged; adds the weighted sense terms as a loss.

    ``classifier`` is the path of a MobileNetV2 TFLite file; ``bin_step`` the a/b grid of the
    classes head; ``temperature`` the annealed mean's (1.0: the mean, as the default serves).
    """

    def __init__(
        self,
        classifier,
        bin_step=10.0,
        temperature=1.0,
        perceptual=0.0,
        semantic=0.0,
        colourfulness=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.classifier = str(classifier)
        self.bin_step = float(bin_step)
        self.temperature = float(temperature)
        self.perceptual = float(perceptual)
        self.semantic = float(semantic)
        self.colourfulness = float(colourfulness)
        self.centers = color.ab_bin_centers(self.bin_step).astype("float32")
        self.features = feature_model(self.classifier)

    def terms(self, lightness, true_ab, logits):
        """The unweighted terms, each ``[batch]``: (perceptual, semantic, colourfulness)."""
        lightness = ops.cast(lightness, "float32")
        true_ab = ops.cast(true_ab, "float32")
        ab = color.annealed_mean(logits, self.centers, self.temperature)
        size = tuple(true_ab.shape[1:3]) if None not in true_ab.shape[1:3] else ops.shape(true_ab)[1:3]
        ab = ops.image.resize(ab, size, interpolation="bilinear")
        big_l = lightness * color.L_SCALE
        pictures = ops.concatenate(
            [
                color.lab_to_rgb(ops.concatenate([big_l, ab], axis=-1)),
                ops.stop_gradient(color.lab_to_rgb(ops.concatenate([big_l, true_ab], axis=-1))),
            ],
            axis=0,
        )
        *features, classes = self.features(pictures * 255.0)
        features = [ops.cast(feature, "float32") for feature in features]
        batch = ops.shape(true_ab)[0]
        perceptual = 0.0
        for feature in features:
            mine, truth = feature[:batch], ops.stop_gradient(feature[batch:])
            scale = ops.mean(ops.square(truth), axis=(1, 2, 3)) + 1e-6
            perceptual = perceptual + ops.mean(ops.square(mine - truth), axis=(1, 2, 3)) / scale
        perceptual = perceptual / len(features)
        mine, truth = classes[:batch], ops.stop_gradient(classes[batch:])
        semantic = ops.sum(truth * (ops.log(truth + 1e-8) - ops.log(mine + 1e-8)), axis=-1)
        colourfulness = ops.abs(mean_chroma(ab) - mean_chroma(true_ab)) / 10.0
        return perceptual, semantic, colourfulness

    def call(self, lightness, true_ab, logits):
        perceptual, semantic, colourfulness = self.terms(lightness, true_ab, logits)
        self.add_loss(
            ops.mean(self.perceptual * perceptual + self.semantic * semantic + self.colourfulness * colourfulness)
        )
        return logits

    def compute_output_spec(self, lightness, true_ab, logits):
        return keras.KerasTensor(logits.shape, dtype=logits.dtype)

    SETTINGS = ("classifier", "bin_step", "temperature", "perceptual", "semantic", "colourfulness")

    def get_config(self):
        return {**super().get_config(), **{name: getattr(self, name) for name in self.SETTINGS}}
