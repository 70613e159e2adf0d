"""The classes head's loss, written once in ``keras.ops``: the Keras trainer
(``heads.SoftEncodedCrossEntropy``, on TensorFlow) and the portable trainer (on
JAX or any backend) both call ``soft_encoded_crossentropy``. No TensorFlow here."""

from keras import ops


def soft_encoded_crossentropy(y_true, y_pred, centers, sigma=5.0, class_weights=None):
    """Per-pixel cross-entropy ``[batch, h / 2, w / 2]`` against a soft encoding of the true a/b.

    ``y_true`` is a/b in Lab units at full resolution; it is averaged 2x2 to the
    prediction's half resolution (every chroma network predicts there), then each
    pixel becomes a Gaussian (``sigma`` Lab units) over the bin ``centers`` [K, 2],
    as in Zhang et al. (2016). ``class_weights`` ([K], optional) rebalance rare
    colours: each pixel's loss is weighted by its target's expected weight.
    """
    ab = ops.average_pool(ops.cast(y_true, "float32"), 2, 2, padding="valid")
    centers = ops.convert_to_tensor(centers, "float32")
    squared_distance = (
        ops.sum(ab * ab, axis=-1, keepdims=True)
        - 2.0 * ops.tensordot(ab, ops.transpose(centers), 1)
        + ops.sum(centers * centers, axis=-1)
    )
    target = ops.stop_gradient(ops.softmax(-squared_distance / (2.0 * sigma**2), axis=-1))
    loss = ops.categorical_crossentropy(target, ops.cast(y_pred, "float32"), from_logits=True)
    if class_weights is not None:
        loss = loss * ops.sum(target * ops.convert_to_tensor(class_weights, "float32"), axis=-1)
    return loss
