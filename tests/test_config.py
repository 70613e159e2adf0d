"""Training settings (colorkeras.core.config): defaults per architecture, checks, round trips."""

import pytest

from colorkeras.core.config import ARCHITECTURE_DEFAULTS, TrainConfig


def test_none_settings_take_the_architectures_defaults():
    unet = TrainConfig().resolve()
    assert (unet.base_filters, unet.depth, unet.head, unet.loss) == (28, 3, "classes", "crossentropy")
    plain = TrainConfig(architecture="plain-cnn").resolve()
    assert (plain.base_filters, plain.saturation, plain.head) == (64, 1.5, "rgb")
    # Sizes follow the image size unless given.
    sized = TrainConfig(image_size=64).resolve()
    assert sized.load_size == 64 and sized.render_size == 64
    assert TrainConfig(base_filters=8).resolve().base_filters == 8


def test_resolved_config_round_trips_through_a_dict_and_ignores_unknown_keys():
    config = TrainConfig(
        data=["a", "b"], image_size=64, load_size=96, precision="mixed_bfloat16", class_rebalance=0.5
    ).resolve()
    values = config.to_dict()
    assert TrainConfig.from_dict({**values, "from_a_newer_version": 1}) == config
    assert values["data"] == ["a", "b"]


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(architecture="vgg"), "architecture must be one of unet, plain-cnn, mobilenet-unet, received 'vgg'"),
        (dict(image_size=20), "multiple of 8 for unet (depth 3), received 20"),
        (dict(image_size=32, load_size=16), "load size (16) must be >= image size (32)"),
        (dict(epochs=0), "epochs must be at least 1 (0 only with --init-from: the given weights as a run), received 0"),
        (
            dict(architecture="plain-cnn", hints=True),
            "hints need an architecture that takes them (unet, mobilenet-unet)",
        ),
        (dict(saturation=0.0), "saturation must be positive, received 0.0"),
        (dict(learning_rate=-1.0), "learning rate must be positive"),
        (dict(validation_fraction=1.0), "validation fraction must be in [0, 1)"),
        (dict(prior_weight=2.0), "prior weight must be in [0, 1]"),
        (dict(precision="float16"), "precision must be float32 or mixed_bfloat16, received 'float16'"),
        (dict(class_rebalance=-0.1), "class rebalance must be in [0, 1]"),
        (dict(distribute="tpu"), "distribute must be none, mirrored or multiworker"),
        (dict(region_hints=0.5), "--region-hints trains a hint network: add --hints"),
        (dict(hints=True, region_hints=1.5), "region hints must be a share in [0, 1], received 1.5"),
    ],
)
def test_bad_settings_are_refused_saying_what_was_received(changes, message):
    with pytest.raises(ValueError) as caught:
        TrainConfig(**changes).resolve()
    assert message in str(caught.value)


def test_zero_epochs_make_given_weights_a_run():
    assert TrainConfig(epochs=0, init_from="weights.npz").resolve().epochs == 0


def test_every_architecture_default_is_a_field():
    fields = set(TrainConfig.__dataclass_fields__)
    for defaults in ARCHITECTURE_DEFAULTS.values():
        assert set(defaults) <= fields
