"""The pretrained MobileNetV2, read from quantized TFLite into Keras (colorkeras.models.pretrained).

Without ../shared: a tiny Keras MobileNetV2 with random weights and batch-norm
statistics is quantized to int8 TFLite here (per-channel weights, as Google's
file is), read back, and its features compared with the interpreter's; a wrong
kernel transpose or quantization axis must fail the same comparison. With
../shared: the converted ImageNet classifier gives the interpreter's class scores
on scikit-image's photographs (the file's README lists the top 3).
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from colorkeras.models import pretrained

SHARED = Path(__file__).resolve().parents[2] / "shared" / "pretrained"
GOOGLE = SHARED / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
SIZE, ALPHA = 32, 0.35
pytestmark = pytest.mark.slow  # Quantizing and converting networks: about 35 s in all.


def photos(size, count=6):
    names = ("chelsea", "coffee", "rocket", "astronaut", "coins", "camera")
    images = []
    for name in names[:count]:
        image = Image.fromarray(getattr(data, name)()).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        images.append(np.asarray(image))
    return np.stack(images)


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory):
    """An int8 TFLite MobileNetV2 encoder (alpha 0.35, 32x32) made from random Keras weights."""
    import tensorflow as tf

    model = pretrained.backbone((SIZE, SIZE, 3), ALPHA)
    rng = np.random.default_rng(0)
    images = photos(SIZE).astype(np.float32) / 127.5 - 1.0
    # Random scales and shifts, and moving statistics that are those of real photos
    # (one training-mode pass with momentum 0), so that every layer carries signal
    # and every folded bias differs from zero, as in a trained network. Scales under
    # 1 keep the random network from amplifying int8 rounding layer after layer (at
    # 0.5-1.5 the file differed from its own float source by 140%).
    for layer in model.layers:
        if layer.__class__.__name__ == "BatchNormalization":
            channels = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.2, 0.5, channels).astype(np.float32))
            layer.beta.assign(rng.uniform(0.2, 1.0, channels).astype(np.float32))
            layer.momentum = 0.0
    model(images, training=True)

    def representative():
        for image in images:
            yield [image[None]]
        yield [np.full((1, SIZE, SIZE, 3), -1.0, np.float32)]
        yield [np.full((1, SIZE, SIZE, 3), 1.0, np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    path = tmp_path_factory.mktemp("tflite") / "tiny.tflite"
    path.write_bytes(converter.convert())
    return path


def interpreter_features(path, images):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero = target["quantization"]
    outputs = []
    for image in images:
        interpreter.set_tensor(source["index"], image[None])
        interpreter.invoke()
        output = interpreter.get_tensor(target["index"])[0].astype(np.float32)
        outputs.append((output - zero) * scale if scale else output)  # Scale 0: a float output.
    return np.stack(outputs)


def relative_error(path, images):
    expected = interpreter_features(path, images)
    keras_encoder = pretrained.encoder(path, (SIZE, SIZE, 3), ALPHA)
    got = keras_encoder.predict(images.astype(np.float32) / 127.5 - 1.0, verbose=0)
    return float(np.abs(got - expected).mean() / np.abs(expected).mean())


def test_a_tiny_quantized_mobilenet_converts_back_within_quantization_noise(tiny_tflite):
    images = photos(SIZE)
    convolutions = pretrained.read_convolutions(tiny_tflite)
    assert len(convolutions) == 52 and sum(c.kind == "DEPTHWISE_CONV_2D" for c in convolutions) == 17
    # Measured: 0.20-0.22, while the int8 file itself is 0.24-0.27 from its float source.
    assert relative_error(tiny_tflite, images) < 0.4


def test_a_wrong_transpose_or_quantization_axis_fails_the_comparison(tiny_tflite, monkeypatch):
    images = photos(SIZE)
    # Height and width swapped: every 3x3 kernel transposed.
    monkeypatch.setattr(pretrained, "KERNEL_TO_KERAS", (2, 1, 3, 0))
    assert relative_error(tiny_tflite, images) > 0.6  # Measured 0.94.
    monkeypatch.undo()
    real = pretrained.dequantize

    def one_scale(values, quantization):
        # The quantization axis ignored: every channel dequantized with the first channel's scale.
        first = dict(
            quantization,
            scales=np.asarray(quantization["scales"])[:1],
            zero_points=np.asarray(quantization["zero_points"])[:1],
        )
        return real(values, first if np.size(quantization["scales"]) > 1 else quantization)

    monkeypatch.setattr(pretrained, "dequantize", one_scale)
    assert relative_error(tiny_tflite, images) > 0.6  # Measured 1.18.


def test_a_missing_or_wrong_file_is_one_clear_error(tmp_path, tiny_tflite):
    with pytest.raises(pretrained.WeightsError, match="no such weights file"):
        pretrained.read_convolutions(tmp_path / "nothing.tflite")
    (tmp_path / "notes.tflite").write_text("not a model")
    with pytest.raises(pretrained.WeightsError, match="not a TFLite model"):
        pretrained.read_convolutions(tmp_path / "notes.tflite")
    with pytest.raises(pretrained.WeightsError, match="convolution 0"):
        pretrained.encoder(tiny_tflite, (SIZE, SIZE, 3), alpha=1.0)  # The file is alpha 0.35.


def test_a_one_channel_stem_sees_a_gray_image_as_the_rgb_stem_sees_it(tiny_tflite):
    gray = photos(SIZE)[..., :1].astype(np.float32) / 127.5 - 1.0
    rgb_encoder = pretrained.encoder(tiny_tflite, (SIZE, SIZE, 3), ALPHA)
    gray_encoder = pretrained.encoder(tiny_tflite, (SIZE, SIZE, 1), ALPHA)
    np.testing.assert_allclose(
        gray_encoder.predict(gray, verbose=0), rgb_encoder.predict(np.repeat(gray, 3, -1), verbose=0), atol=1e-4
    )


@pytest.mark.skipif(not GOOGLE.is_file(), reason="needs ../shared/pretrained (Google's MobileNetV2 TFLite file)")
def test_the_imagenet_classifier_gives_the_interpreters_scores_on_real_photographs():
    from ai_edge_litert.interpreter import Interpreter

    labels = (SHARED / "imagenet_labels.txt").read_text().splitlines()
    model = pretrained.classifier(GOOGLE)
    interpreter = Interpreter(model_path=str(GOOGLE))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero = target["quantization"]
    expected_top = {
        "chelsea": ["Egyptian cat", "tabby", "tiger cat"],
        "coffee": ["espresso", "consomme", "chocolate sauce"],
        "rocket": ["missile", "projectile", "space shuttle"],
    }
    for name, top in expected_top.items():
        image = np.asarray(Image.fromarray(getattr(data, name)()).resize((224, 224), Image.Resampling.BILINEAR))
        interpreter.set_tensor(source["index"], image[None])
        interpreter.invoke()
        reference = (interpreter.get_tensor(target["index"])[0].astype(np.float32) - zero) * scale
        scores = model.predict(image[None].astype(np.float32), verbose=0)[0]
        assert [labels[i].split(",")[0] for i in np.argsort(-scores)[:3]] == top
        assert np.argsort(-reference)[:3].tolist() == np.argsort(-scores)[:3].tolist()
        assert np.abs(scores - reference).max() < 0.05  # The file's own output step is 1/256.
