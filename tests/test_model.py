import keras
import numpy as np
import pytest
import tensorflow as tf

from colorkeras import color, model as model_lib


def check_model(model, size, channels, scale):
    """Builds, runs, saves, reloads and compares outputs (the keras-hub pattern)."""
    inputs = np.random.default_rng(0).random((2, size, size + 8, 1)).astype("float32")
    outputs = model(inputs, training=False).numpy()
    assert outputs.shape == (2, size // scale, (size + 8) // scale, channels)
    return inputs, outputs


@pytest.mark.parametrize("head", ["classes", "regression"])
def test_unet_runs_at_any_multiple_and_round_trips(tmp_path, head):
    model = model_lib.build_colorizer("unet", base_filters=4, depth=2, head=head)
    channels = len(color.ab_bin_centers()) if head == "classes" else 2
    for size in (16, 24, 40):
        inputs, outputs = check_model(model, size, channels, scale=2)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(reloaded(inputs, training=False).numpy(), outputs, atol=1e-5)
    rebuilt = keras.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt(inputs, training=False).numpy(), outputs, atol=1e-5)


def test_plain_cnn_is_gray_to_rgb_at_full_resolution():
    model = model_lib.build_colorizer("plain-cnn", base_filters=4, depth=3)
    _, outputs = check_model(model, 13, 3, scale=1)
    assert outputs.min() >= 0 and outputs.max() <= 1
    assert len(model.layers) == 1 + 3  # Input and a plain stack of convolutions.


def test_bad_arguments_say_what_was_received():
    with pytest.raises(ValueError, match="received 'vgg'"):
        model_lib.build_colorizer("vgg")
    with pytest.raises(ValueError, match="crossentropy"):
        model_lib.build_loss("unet", "classes", "mse")


def test_soft_encoded_crossentropy_prefers_the_true_bin():
    loss = model_lib.SoftEncodedCrossEntropy()
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
    mean = model_lib.decode_chroma(logits, "unet", "classes", centers, temperature=1.0).numpy()
    annealed = model_lib.decode_chroma(logits, "unet", "classes", centers, temperature=0.2).numpy()
    assert np.hypot(*annealed[0, 0, 0]) > np.hypot(*mean[0, 0, 0])
    np.testing.assert_allclose(annealed[0, 0, 0], centers[vivid], atol=1.0)


@pytest.mark.parametrize("kind", ["mse", "l1", "huber"])
def test_regression_losses_are_zero_at_the_target(kind):
    loss = model_lib.build_loss("unet", "regression", kind)
    y_true = tf.random.uniform((2, 8, 8, 2), -50, 50)
    perfect = tf.image.resize(y_true, (4, 4), method="area") / color.AB_SCALE
    assert float(loss(y_true, perfect)) == pytest.approx(0.0, abs=1e-7)
    assert float(loss(y_true, perfect + 0.1)) > 0
