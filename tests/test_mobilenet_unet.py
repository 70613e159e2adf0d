"""The MobileNetV2 U-Net (colorkeras.models.mobilenet_unet): the project's contract on a pretrained encoder."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from colorkeras.core import store
from colorkeras.core.config import TrainConfig
from colorkeras.models import mobilenet_layers, mobilenet_unet
from colorkeras.serving.inference import Colorizer
from tests.conftest import run_cli

GOOGLE = Path(__file__).resolve().parents[2] / "shared" / "pretrained" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"


def test_the_lightness_goes_back_to_the_gray_level_the_encoder_was_trained_on():
    # Each uint8 gray level's exact CIELAB L, through the network's first layer, is that level again.
    assert np.abs(mobilenet_unet.gray_levels_round_trip() - np.arange(256)).max() < 0.01


def test_its_sides_are_multiples_of_32_and_its_options_are_its_own():
    with pytest.raises(ValueError, match="multiple of 32 for mobilenet-unet"):
        TrainConfig(architecture="mobilenet-unet", image_size=48).resolve()
    with pytest.raises(ValueError, match="hints need an architecture that takes them"):
        TrainConfig(architecture="plain-cnn", image_size=64, hints=True).resolve()
    assert TrainConfig(architecture="mobilenet-unet", image_size=64, hints=True).resolve().hints
    with pytest.raises(ValueError, match="architecture must be one of unet, plain-cnn, mobilenet-unet"):
        TrainConfig(architecture="resnet").resolve()
    with pytest.raises(ValueError, match="--global-view needs an architecture with a pretrained encoder"):
        TrainConfig(architecture="unet", image_size=64, global_view=224).resolve()
    with pytest.raises(ValueError, match="global view must be 0 .* multiple of 32"):
        TrainConfig(architecture="mobilenet-unet", image_size=64, global_view=100).resolve()


@pytest.mark.slow  # Builds two MobileNetV2 U-Nets and fits one: 12 s, a fifth of the fast lane.
def test_a_global_view_starts_silent_from_a_network_without_one_then_fuses_the_whole_image(tmp_path):
    from colorkeras.models import registry
    from colorkeras.training import loop
    from colorkeras.training.loop import UsageError

    settings = {
        "architecture": "mobilenet-unet",
        "base_filters": 8,
        "image_size": 64,
        "hints": True,
        "freeze_encoder": True,
    }
    local = loop.build_network(TrainConfig(**settings).resolve())
    weights = tmp_path / "local.weights.npz"
    with open(weights, "wb") as file:
        np.savez(file, *local.get_weights())  # As portable_train writes them.
    config = TrainConfig(**settings, global_view=64, init_from=str(weights)).resolve()
    both = loop.build_network(config)
    loop.initial_weights(config, both)
    # Only the two dense layers train beside the decoder; the encoder's 1280 features stay frozen.
    assert registry.count_parameters(both) - registry.count_parameters(local) == 1280 * 128 + 128 + 128 * 64 + 64
    assert not both.get_layer("global_conv").trainable
    rng = np.random.default_rng(0)
    inputs = np.concatenate([rng.random((2, 64, 96, 1)), np.zeros((2, 64, 96, 3))], -1).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(both(inputs)), np.asarray(local(inputs)))  # The fusion starts at zero.
    fuse = both.get_layer("global_fuse")
    fuse.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in fuse.get_weights()])
    assert (
        np.abs(np.asarray(both(inputs)) - np.asarray(local(inputs))).max() > 1e-3
    )  # Then the verdict reaches the head.
    # A network without the global view does not start from one with it.
    config = TrainConfig(**settings, init_from=str(weights)).resolve()
    with open(weights, "wb") as file:
        np.savez(file, *both.get_weights())
    with pytest.raises(UsageError, match="its network differs from this one"):
        loop.initial_weights(config, local)


def train_mobilenet(image_folder, run_dir, *extra):
    """A 32-px MobileNetV2 U-Net trained for one epoch by the training CLI into ``run_dir``."""
    result = run_cli(
        "colorkeras.train",
        "--data",
        image_folder,
        "--architecture",
        "mobilenet-unet",
        "--image-size",
        "32",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--verbose",
        "0",
        "--evaluate-limit",
        "4",
        "--run-dir",
        run_dir,
        *extra,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def assert_it_colorizes_at_any_size_and_exports_to_tflite(run_dir, tmp_path, global_view):
    record = store.Run(run_dir).read_config()
    assert record["settings"]["architecture"] == "mobilenet-unet" and "encoder_weights" not in record
    assert record["settings"]["global_view"] == global_view
    colour = Colorizer(run_dir).colorize(data.camera()[:77, :101])  # Not a multiple of 32: padded inside the graph.
    assert colour.shape == (77, 101, 3) and colour.dtype == np.uint8
    # The TFLite export walks the network layer by layer; the nested encoder has five outputs.
    from ai_edge_litert.interpreter import Interpreter

    assert run_cli("colorkeras.export", "--model", run_dir, "--tflite", tmp_path / "m.tflite").returncode == 0
    interpreter = Interpreter(model_path=str(tmp_path / "m.tflite"))
    index = interpreter.get_input_details()[0]["index"]
    gray = data.camera()[:77, :101, None]
    interpreter.resize_tensor_input(index, [1, *gray.shape])
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, gray[None])
    interpreter.invoke()
    output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]
    assert np.abs(output.astype(int) - Colorizer(run_dir).colorize(gray[..., 0])).mean() <= 1.0


@pytest.mark.slow
def test_with_a_global_view_it_trains_exports_and_colorizes_at_any_size(image_folder, tmp_path):
    run_dir = tmp_path / "mobilenet"
    train_mobilenet(image_folder, run_dir, "--global-view", "64")
    assert_it_colorizes_at_any_size_and_exports_to_tflite(run_dir, tmp_path, 64)


@pytest.mark.slow
def test_it_trains_exports_colorizes_at_any_size_and_a_hint_run_trains_from_it(image_folder, tmp_path):
    # One automatic run serves both halves: training it is most of either's time.
    automatic, hinted = tmp_path / "auto", tmp_path / "hints"
    train_mobilenet(image_folder, automatic)
    assert_it_colorizes_at_any_size_and_exports_to_tflite(automatic, tmp_path, 0)
    result = train_mobilenet(image_folder, hinted, "--hints", "--init-from", automatic)
    assert f"Starting from the weights of {automatic}" in result.stdout
    colorizer = Colorizer(hinted)
    assert colorizer.takes_hints
    gray = data.camera()[:77, :101]
    plain = colorizer.colorize(gray)
    red = colorizer.colorize(gray, hints=[{"x": 50, "y": 40, "color": "#ff0000"}])
    assert plain.shape == red.shape == (77, 101, 3)
    assert np.abs(red.astype(int) - plain.astype(int)).max() > 0


@pytest.mark.slow
@pytest.mark.skipif(not GOOGLE.is_file(), reason="needs ../shared/pretrained (Google's MobileNetV2 TFLite file)")
def test_the_encoder_starts_from_the_imagenet_weights_and_the_run_says_so(tmp_path):
    from colorkeras.models import pretrained, registry

    network = registry.build_colorizer(
        "mobilenet-unet", 16, 5, "classes", 10.0, encoder_weights=str(GOOGLE), freeze_encoder=True
    )
    encoder = mobilenet_unet.encoder_of(network)
    stem = pretrained.read_convolutions(GOOGLE)[0]
    np.testing.assert_allclose(
        encoder.get_layer("Conv1").get_weights()[0], stem.kernel.sum(axis=2, keepdims=True), atol=1e-6
    )
    assert not encoder.trainable and registry.count_parameters(network) < 2_000_000  # Only the decoder trains.
    # The global view's top convolution is the backbone's last one (1280 features), from the file too.
    top = len(pretrained.keras_convolutions(pretrained.backbone((None, None, 1)))) - 1
    wide = registry.build_colorizer(
        "mobilenet-unet", 16, 5, "classes", 10.0, encoder_weights=str(GOOGLE), global_view=224
    )
    np.testing.assert_allclose(
        wide.get_layer("global_conv").get_weights()[0], pretrained.read_convolutions(GOOGLE)[top].kernel, atol=1e-6
    )
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, name in enumerate(("astronaut", "coffee", "chelsea", "rocket") * 4):
        Image.fromarray(getattr(data, name)()).resize((80, 80)).save(folder / f"{index:02d}.png")
    run_dir = tmp_path / "pretrained"
    result = run_cli(
        "colorkeras.train",
        "--data",
        folder,
        "--architecture",
        "mobilenet-unet",
        "--encoder-weights",
        GOOGLE,
        "--freeze-encoder",
        "--image-size",
        "64",
        "--load-size",
        "80",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--run-dir",
        run_dir,
        "--verbose",
        "0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = store.Run(run_dir).read_config()
    assert record["encoder_weights"]["sha256"] == "5d3137241276e79c86d14a74fe43581398ae0e815191d3dba45495b810840e8c"
    assert "Apache License 2.0" in record["encoder_weights"]["source"]


@pytest.mark.slow
def test_the_encoders_batch_norm_stays_in_inference_mode_while_the_weights_train():
    import keras
    import tensorflow as tf

    from colorkeras.models import heads, registry

    network = registry.build_colorizer("mobilenet-unet", 8, 5, "classes", 10.0)
    encoder = mobilenet_unet.encoder_of(network)
    norm = encoder.get_layer("bn_Conv1")
    mean_before = np.array(norm.moving_mean)
    kernel_before = np.array(encoder.get_layer("Conv1").kernel)
    network.compile(
        optimizer=keras.optimizers.Adam(1e-2), loss=heads.build_loss("mobilenet-unet", "classes", "crossentropy")
    )
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 32, 32, 1), np.float32), (rng.random((4, 32, 32, 2), np.float32) - 0.5) * 60
    network.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), epochs=1, verbose=0)
    np.testing.assert_array_equal(np.array(norm.moving_mean), mean_before)  # No batch statistics learned.
    assert np.abs(np.array(encoder.get_layer("Conv1").kernel) - kernel_before).max() > 0  # The weights did train.


def test_the_hint_network_starts_from_the_automatic_one_and_its_canvas_matters():
    from colorkeras.models import registry
    from colorkeras.training.portable import start_hints_from

    auto = registry.build_colorizer("mobilenet-unet", 8, 5, "classes", 10.0)
    hinted = registry.build_colorizer("mobilenet-unet", 8, 5, "classes", 10.0, hints=True)
    assert hinted.input.shape[-1] == 4 and hinted.output.shape == auto.output.shape
    start_hints_from(auto, hinted)
    encoder = mobilenet_unet.encoder_of(hinted)
    for mine, theirs in zip(encoder.get_weights(), mobilenet_unet.encoder_of(auto).get_weights(), strict=False):
        np.testing.assert_array_equal(mine, theirs)
    # The decoder's kernels: the automatic weights on the encoder's channels, the hint branch's after them.
    kernel, automatic = hinted.get_layer("up1_a_conv").get_weights()[0], auto.get_layer("up1_a_conv").get_weights()[0]
    assert kernel.shape[2] == automatic.shape[2] + 8
    np.testing.assert_array_equal(kernel[:, :, : automatic.shape[2]], automatic)
    assert np.abs(kernel[:, :, automatic.shape[2] :]).max() > 0  # Random, not zero: a zero start is never used.

    rng = np.random.default_rng(0)
    lightness = rng.random((1, 64, 64, 1)).astype(np.float32)
    canvas = np.zeros((1, 64, 64, 3), np.float32)
    plain = np.asarray(hinted(np.concatenate([lightness, canvas], -1)))
    canvas[0, 30:33, 30:33] = (0.5, -0.3, 1.0)  # One 3x3 hint: a, b and the mask.
    with_hint = np.asarray(hinted(np.concatenate([lightness, canvas], -1)))
    assert np.abs(with_hint - plain).max() > 1e-3


def test_pooled_hints_keep_a_small_hint_at_full_strength_at_every_stride():
    canvas = np.zeros((1, 64, 64, 3), np.float32)
    canvas[0, 20:23, 40:43] = (0.4, -0.2, 1.0)  # A 3x3 hint.
    canvas[0, 50, 5] = (-0.6, 0.1, 1.0)  # A 1x1 hint.
    for stride in (2, 4, 8, 16):
        pooled = np.asarray(mobilenet_layers.PooledHints(stride)(canvas))[0]
        assert pooled.shape == (64 // stride, 64 // stride, 3)
        flagged = np.argwhere(pooled[..., 2] > 0)
        expected = {(y // stride, x // stride) for y in range(20, 23) for x in range(40, 43)} | {
            (50 // stride, 5 // stride)
        }
        assert {tuple(cell) for cell in flagged} == expected
        np.testing.assert_allclose(pooled[50 // stride, 5 // stride, :2], (-0.6, 0.1), atol=1e-5)
        np.testing.assert_allclose(pooled[22 // stride, 42 // stride, :2], (0.4, -0.2), atol=1e-5)
        assert np.abs(pooled[pooled[..., 2] == 0]).max() == 0  # No colour where no hint is.
