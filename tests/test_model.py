import keras
import numpy as np
import pytest
import tensorflow as tf

from colorkeras.models import color, heads, registry


def check_model(model, tmp_path, sizes, channels, scale):
    """Builds, runs at each size, saves, reloads and compares outputs, and rebuilds
    from get_config() (the keras-hub pattern). Returns the outputs at the last size."""
    for size in sizes:
        inputs = np.random.default_rng(size).random((2, size, size + 8, 1)).astype("float32")
        outputs = model(inputs, training=False).numpy()
        assert outputs.shape == (2, size // scale, (size + 8) // scale, channels)
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, custom_objects=registry.CUSTOM_OBJECTS)
    np.testing.assert_allclose(reloaded(inputs, training=False).numpy(), outputs, atol=1e-5)
    rebuilt = keras.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt(inputs, training=False).numpy(), outputs, atol=1e-5)
    return outputs


@pytest.mark.parametrize("head", ["classes", "regression"])
def test_unet_runs_at_any_multiple_of_its_depth_and_round_trips(tmp_path, head):
    model = registry.build_colorizer("unet", base_filters=4, depth=2, head=head)
    channels = len(color.ab_bin_centers()) if head == "classes" else 2
    check_model(model, tmp_path, (16, 24, 40), channels, scale=2)


def test_plain_cnn_is_gray_to_rgb_at_full_resolution_and_round_trips(tmp_path):
    model = registry.build_colorizer("plain-cnn", base_filters=4, depth=3)
    outputs = check_model(model, tmp_path, (13,), 3, scale=1)
    # The colour is a function of the gray input: the two inputs of check_model differ, so do their colours.
    assert np.abs(outputs[0] - outputs[1]).max() > 1e-4
    assert len(model.layers) == 1 + 3  # Input and a plain stack of convolutions.


def test_mixed_bfloat16_computes_in_bfloat16_with_float32_logits(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = registry.build_colorizer("unet", base_filters=4, depth=2, head="classes")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("stem_conv").compute_dtype == "bfloat16"
    assert model.get_layer("ab_logits").compute_dtype == "float32"
    assert all(weight.dtype == "float32" for weight in model.weights)
    check_model(model, tmp_path, (16,), len(color.ab_bin_centers()), scale=2)


def test_rebalancing_weights_favour_rare_colours_and_keep_the_loss_scale():
    prior = np.array([0.7, 0.2, 0.09, 0.01])
    weights = heads.rebalancing_weights(prior, 0.5)
    assert list(np.argsort(weights)) == [0, 1, 2, 3]
    assert float(np.sum(prior * weights)) == pytest.approx(1.0)
    np.testing.assert_allclose(heads.rebalancing_weights(prior, 0.0), 1.0 / prior / np.sum(prior / prior))
    with pytest.raises(ValueError, match="received 1.5"):
        heads.rebalancing_weights(prior, 1.5)
    uneven = [1.0 + index / 261 for index in range(261)]
    loss = heads.build_loss("unet", "classes", "crossentropy", class_weights=uneven)
    assert heads.SoftEncodedCrossEntropy.from_config(loss.get_config()).class_weights == pytest.approx(uneven)


def test_bad_arguments_say_what_was_received():
    with pytest.raises(ValueError, match="received 'vgg'"):
        registry.build_colorizer("vgg")
    with pytest.raises(ValueError, match="crossentropy"):
        heads.build_loss("unet", "classes", "mse")


def test_soft_encoded_crossentropy_prefers_the_true_bin():
    loss = heads.SoftEncodedCrossEntropy()
    centers = color.ab_bin_centers()
    target_bin = 40
    y_true = np.tile(centers[target_bin], (1, 2, 2, 1)).astype("float32")
    right = np.full((1, 1, 1, len(centers)), -10.0, "float32")
    right[..., target_bin] = 10.0
    wrong = np.full_like(right, -10.0)
    wrong[..., target_bin + 5] = 10.0
    assert float(loss(y_true, right)) < float(loss(y_true, wrong))


def test_decode_chroma_temperature_moves_from_mean_to_mode():
    centers = color.ab_bin_centers()
    logits = np.zeros((1, 1, 1, len(centers)), "float32")
    vivid = int(np.argmax(np.hypot(centers[:, 0], centers[:, 1])))
    logits[..., vivid] = 3.0
    mean = heads.decode_chroma(logits, "unet", "classes", centers, temperature=1.0).numpy()
    annealed = heads.decode_chroma(logits, "unet", "classes", centers, temperature=0.2).numpy()
    assert np.hypot(*annealed[0, 0, 0]) > np.hypot(*mean[0, 0, 0])
    np.testing.assert_allclose(annealed[0, 0, 0], centers[vivid], atol=1.0)


@pytest.mark.parametrize("kind", ["mse", "l1", "huber"])
def test_regression_losses_are_zero_at_the_target(kind):
    loss = heads.build_loss("unet", "regression", kind)
    y_true = tf.random.uniform((2, 8, 8, 2), -50, 50)
    perfect = tf.image.resize(y_true, (4, 4), method="area") / color.AB_SCALE
    assert float(loss(y_true, perfect)) == pytest.approx(0.0, abs=1e-7)
    assert float(loss(y_true, perfect + 0.1)) > 0


def test_the_one_soft_encoded_loss_is_zhangs_formula_by_hand():
    # heads.SoftEncodedCrossEntropy (the Keras trainer) and the portable trainer both
    # call soft_encoding.soft_encoded_crossentropy; here it is computed in numpy.
    rng = np.random.default_rng(3)
    centers = color.ab_bin_centers()
    y_true = rng.uniform(-60, 60, (2, 6, 4, 2)).astype("float32")
    logits = rng.normal(0, 2, (2, 3, 2, len(centers))).astype("float32")
    weights = rng.uniform(0.5, 2.0, len(centers)).astype("float32")
    ab = y_true.reshape(2, 3, 2, 2, 2, 2).mean(axis=(2, 4))  # 2x2 blocks.
    distance = ((ab[..., None, :] - centers) ** 2).sum(-1)
    target = np.exp(-distance / 50.0)
    target /= target.sum(-1, keepdims=True)
    log_softmax = logits - logits.max(-1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(-1, keepdims=True))
    by_hand = -(target * log_softmax).sum(-1) * (target * weights).sum(-1)
    loss = heads.SoftEncodedCrossEntropy(class_weights=weights)
    np.testing.assert_allclose(float(loss(y_true, logits)), by_hand.mean(), rtol=1e-4)
