"""The sense terms (models.sense): zero where the colorization is the truth, positive and
differentiable where it is not, refused where no hint network trains, and wired into the
trainer so that a finished run keeps its network's weights and not the classifier's."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from colorkeras.core.config import TrainConfig
from colorkeras.models import color

SHARED = Path(__file__).resolve().parents[2] / "shared" / "pretrained"
GOOGLE = SHARED / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
needs_classifier = pytest.mark.skipif(
    not GOOGLE.is_file(), reason="needs ../shared/pretrained (Google's MobileNetV2 TFLite file)"
)


def decoded(logits, size):
    centers = color.ab_bin_centers(10.0).astype(np.float32)
    ab = tf.tensordot(tf.nn.softmax(logits, axis=-1), centers, 1)
    return tf.image.resize(ab, (size, size), method="bilinear").numpy()


@pytest.mark.slow
@needs_classifier
def test_terms_vanish_on_the_truth_and_grow_with_wrong_colour():
    from colorkeras.models import sense

    terms = sense.SenseTerms(str(GOOGLE), perceptual=1.0, semantic=1.0, colourfulness=1.0)
    rng = np.random.default_rng(0)
    size = 64
    lightness = tf.constant(rng.uniform(0.3, 0.8, (2, size, size, 1)).astype(np.float32))
    bins = len(color.ab_bin_centers(10.0))
    logits = tf.constant(rng.normal(0, 3, (2, size // 2, size // 2, bins)).astype(np.float32))
    truth = decoded(logits, size)  # The colorization these logits decode to is the truth.
    same = [float(np.max(term)) for term in terms.terms(lightness, tf.constant(truth), logits)]
    assert max(same) < 1e-4, same

    centers = color.ab_bin_centers(10.0)
    gray = np.full((2, size // 2, size // 2, bins), -20.0, np.float32)
    gray[..., int(np.argmin(np.sum(centers**2, axis=-1)))] = 20.0  # All mass on the bin at a = b = 0.
    vivid = np.zeros_like(truth)
    vivid[..., 0], vivid[..., 1] = 40.0, -30.0
    logits = tf.Variable(gray)
    with tf.GradientTape() as tape:
        perceptual, semantic, colourfulness = terms.terms(lightness, tf.constant(vivid), logits)
        total = tf.reduce_mean(perceptual + semantic + colourfulness)
    assert float(tf.reduce_min(perceptual)) > 0.01
    assert float(tf.reduce_min(semantic)) >= 0.0
    # Gray against a chroma of 50: |0 - 50| / 10.
    np.testing.assert_allclose(colourfulness.numpy(), 5.0, atol=0.05)
    gradient = tape.gradient(total, logits)
    assert gradient is not None and float(tf.reduce_max(tf.abs(gradient))) > 0


@pytest.mark.slow
@needs_classifier
def test_the_trainer_adds_the_terms_and_a_run_keeps_its_own_weights():
    from colorkeras.training import loop

    config = TrainConfig(
        architecture="mobilenet-unet", hints=True, image_size=32, base_filters=8, depth=5, semantic=1.0
    ).resolve()
    assert config.sense_classifier.endswith("tf2_mobilenet_v2_1.0_224_ptq.tflite")
    config.sense_classifier = str(GOOGLE)
    model, network = loop.compile_model(config)
    assert "sense_terms" in [layer.name for layer in model.layers]
    inner = model.get_layer(network.name)
    assert inner is network
    # The trainer holds the classifier's weights too; the network's are a part of them.
    assert len(model.get_weights()) > len(network.get_weights())


def test_sense_terms_need_a_hint_network():
    with pytest.raises(ValueError, match="add --hints"):
        TrainConfig(architecture="unet", semantic=1.0).resolve()
    with pytest.raises(ValueError, match="weights >= 0"):
        TrainConfig(architecture="unet", hints=True, colourfulness=-1.0).resolve()


@pytest.mark.slow
def test_the_command_line_refuses_sense_terms_without_hints_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "colorkeras.train", "--architecture", "unet", "--semantic", "1", "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "add --hints" in result.stderr
    assert "Traceback" not in result.stderr
