"""The self-contained SavedModel: uint8 images of any size in, uint8 RGB out.

All preprocessing lives in the graph, so the folder colorizes with plain TensorFlow
(``tf.saved_model.load(path).signatures["serving_default"]``) and TensorFlow Serving
serves it as it is:

1. the input's lightness L at full resolution (channels 1 or 2: gray, with alpha;
   3 or 4: RGB, with alpha, whose luminance is used);
2. L resized so that its short side is ``render_size`` (sides rounded to what the
   network accepts), and the network's chroma prediction there;
3. the optional HSV saturation boost of the original design, on that prediction;
4. the chroma upsampled to full size and joined with the full-resolution L.

Signatures:

- ``serving_default(images)``: uint8 ``[batch, height, width, channels]`` ->
  ``{"colorized": uint8 [batch, height, width, 3]}`` with the run's defaults.
- ``colorize(images, render_size, saturation, temperature, prior_weight)``: the
  same with every option given (int32, then float32 scalars).
"""

import numpy as np
import tensorflow as tf

from colorkeras import color, model as model_lib


class ColorizerModule(tf.Module):
    """Wraps a trained Keras colorizer and the run's settings in a servable graph."""

    def __init__(self, keras_model, settings):
        super().__init__(name="colorizer")
        self.keras_model = keras_model
        self.architecture = settings["architecture"]
        self.head = settings.get("head", "classes")
        self.multiple = model_lib.size_multiple(self.architecture, settings["depth"])
        self.default_render_size = int(settings["render_size"])
        self.default_saturation = float(settings["saturation"])
        self.default_temperature = float(settings.get("temperature", 1.0))
        self.bin_centers = self.log_prior = None
        self.default_prior_weight = float(settings.get("prior_weight") or 0.0)
        if self.architecture == "unet" and self.head == "classes":
            self.bin_centers = color.ab_bin_centers(settings["bin_step"])
            if settings.get("bin_prior"):
                self.log_prior = np.log(np.asarray(settings["bin_prior"], np.float32))
            elif self.default_prior_weight:
                raise ValueError("prior_weight > 0 needs the run's bin_prior (computed from its training data)")
            else:
                # Without the training colours' prior, rebalancing has nothing to act on.
                self.log_prior = np.zeros(len(self.bin_centers), np.float32)

    def _render_shape(self, height, width, render_size):
        short_side = tf.cast(tf.minimum(height, width), tf.float32)
        scale = tf.cast(render_size, tf.float32) / short_side
        multiple = float(self.multiple)

        def side(length):
            rounded = tf.round(tf.cast(length, tf.float32) * scale / multiple) * multiple
            return tf.cast(tf.maximum(rounded, multiple), tf.int32)

        return side(height), side(width)

    def _colorize(self, images, render_size, saturation, temperature, prior_weight):
        images = tf.convert_to_tensor(images)
        channels = tf.shape(images)[-1]
        gray_lightness = lambda: color.uint8_to_lightness(images[..., :1], gray=True)  # noqa: E731

        def rgb_lightness():
            # RGB files holding a gray image (common for scans) take the exact gray
            # path, so one gray image gives one result however it is stored.
            rgb = images[..., :3]
            is_gray = tf.reduce_all(tf.equal(rgb[..., :1], rgb[..., 1:2]) & tf.equal(rgb[..., 1:2], rgb[..., 2:3]))
            return tf.cond(is_gray, gray_lightness, lambda: color.uint8_to_lightness(rgb, gray=False))

        lightness = tf.cond(channels <= 2, gray_lightness, rgb_lightness)
        lightness.set_shape([None, None, None, 1])
        height, width = tf.shape(images)[1], tf.shape(images)[2]

        # === Predict chroma at the working resolution ===
        render_height, render_width = self._render_shape(height, width, render_size)
        small = tf.image.resize(lightness, tf.stack([render_height, render_width]), antialias=True)
        outputs = self.keras_model(small / color.L_SCALE, training=False)
        ab = model_lib.decode_chroma(
            outputs, self.architecture, self.head, self.bin_centers, temperature, self.log_prior, prior_weight
        )

        # === The original design's HSV boost, on the prediction ===
        def boosted():
            small_lightness = tf.image.resize(small, tf.shape(ab)[1:3], antialias=True)
            predicted = color.lab_to_rgb(tf.concat([small_lightness, ab], axis=-1))
            return color.rgb_to_lab(color.boost_saturation(predicted, saturation))[..., 1:]

        ab = tf.cond(tf.abs(saturation - 1.0) > 1e-6, boosted, lambda: ab)

        # === Join full-resolution L with upsampled chroma ===
        ab = tf.image.resize(ab, tf.stack([height, width]), method="bilinear")
        return color.lab_to_uint8(tf.concat([lightness, ab], axis=-1))

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    def serve(self, images):
        colorized = self._colorize(
            images,
            tf.constant(self.default_render_size),
            tf.constant(self.default_saturation),
            tf.constant(self.default_temperature),
            tf.constant(self.default_prior_weight),
        )
        return {"colorized": colorized}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None, None, None], tf.uint8, name="images"),
            tf.TensorSpec([], tf.int32, name="render_size"),
            tf.TensorSpec([], tf.float32, name="saturation"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.float32, name="prior_weight"),
        ]
    )
    def colorize(self, images, render_size, saturation, temperature, prior_weight):
        return {"colorized": self._colorize(images, render_size, saturation, temperature, prior_weight)}


def export_saved_model(keras_model, settings, path):
    """Writes the SavedModel for ``keras_model`` with the run ``settings`` to ``path``."""
    module = ColorizerModule(keras_model, settings)
    tf.saved_model.save(
        module,
        str(path),
        signatures={"serving_default": module.serve, "colorize": module.colorize},
    )
    return module


def write_model_files(folder, keras_model, record):
    """Writes a run's saved_model/, model.keras and config.json into ``folder``,
    each through a temporary name. ``keras_model`` should carry no optimizer state."""
    import os
    import shutil
    from pathlib import Path

    from colorkeras import store
    from colorkeras.model import count_parameters

    run = store.Run(folder)
    settings = {**record["settings"], "bin_prior": record.get("bin_prior")}
    print("Exporting the SavedModel ...", flush=True)
    staging = Path(folder) / ".saved_model.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    export_saved_model(keras_model, settings, staging)
    shutil.rmtree(run.saved_model, ignore_errors=True)
    os.replace(staging, run.saved_model)
    model_path = Path(folder) / ".model.tmp.keras"
    keras_model.save(model_path)
    os.replace(model_path, run.keras_model)
    record["parameters"] = count_parameters(keras_model)
    run.write_json(run.CONFIG, record)


def write_run_files(folder, keras_model, record, test_images, name, samples=8, evaluate_limit=None):
    """The whole run: the model files (``write_model_files``), then its test
    metrics and samples, scored through the SavedModel just written
    (``evaluate.write_test_report``). Returns the test metrics row."""
    from colorkeras import evaluate

    write_model_files(folder, keras_model, record)
    return evaluate.write_test_report(folder, test_images, name, record.get("data_source"), samples, evaluate_limit)


# === Command line: re-export a run with other serving defaults ===


def build_parser():
    import argparse

    from colorkeras import cli

    parser = argparse.ArgumentParser(
        prog="python -m colorkeras.export",
        description=(
            "Write a new run from an existing run's model.keras with other serving defaults "
            "(temperature, prior weight, saturation, render size), scored on the test split. "
            "The source run is not changed."
        ),
        formatter_class=cli.HelpFormatter,
    )
    parser.add_argument("--model", required=True, metavar="RUN", help="the source run: a name in saved_models/ or a folder")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--name", help="the new run's name in saved_models/")
    where.add_argument("--run-dir", help="an explicit folder for the new run")
    parser.add_argument("--data", default=None, help="data to score on and to count colours from (default: the source run's)")
    parser.add_argument("--temperature", type=float, default=None, help="annealed-mean temperature, 1.0 = mean (default: the source run's)")
    parser.add_argument("--prior-weight", type=float, default=None, help="decode-time class rebalancing in [0, 1], 0 = off (default: the source run's)")
    parser.add_argument("--saturation", type=float, default=None, help="HSV saturation factor, 1.0 = off (default: the source run's)")
    parser.add_argument("--render-size", type=int, default=None, help="short side the chroma is predicted at (default: the source run's)")
    parser.add_argument("--evaluate-limit", type=int, default=None, help="score at most this many test images (default: all)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run of the new name")
    return parser


def main(argv=None):
    import datetime
    import os
    import shutil
    import sys
    from pathlib import Path

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from colorkeras import data as data_lib, store
    from colorkeras.config import TrainConfig
    from colorkeras.model import bin_prior

    args = build_parser().parse_args(argv)
    partial = None
    try:
        source = store.resolve_run(args.model)
        record = store.Run(source).read_config()
        final = Path(args.run_dir).expanduser().absolute() if args.run_dir else store.run_path(args.name).absolute()
        if final.exists() and not args.overwrite:
            raise store.RunError(f"{final} already exists; choose another name or pass --overwrite")
        store.check_replaceable(final)
        overrides = {
            "temperature": args.temperature,
            "prior_weight": args.prior_weight,
            "saturation": args.saturation,
            "render_size": args.render_size,
        }
        settings = dict(record["settings"], **{k: v for k, v in overrides.items() if v is not None})
        config = TrainConfig.from_dict(settings).resolve()
        data = args.data or config.data
        splits = data_lib.load_splits(data, config.load_size, config.validation_fraction, config.seed)
        record = dict(record, settings=config.to_dict(), data_source=splits.source)
        if config.architecture == "unet" and config.head == "classes" and not record.get("bin_prior"):
            record["bin_prior"] = bin_prior(splits.train, config.bin_step, seed=config.seed).tolist()
        record["exported_from"] = str(source)
        record["exported"] = datetime.datetime.now().isoformat(timespec="seconds")
        record["export_command"] = "python -m colorkeras.export " + " ".join(sys.argv[1:] if argv is None else argv)
        model = keras.models.load_model(store.Run(source).keras_model)
        partial = store.partial_path(final)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if store.Run(source).history.is_file():
            shutil.copy2(store.Run(source).history, store.Run(partial).history)
        row = write_run_files(partial, model, record, splits.test, final.name, config.samples, args.evaluate_limit)
        store.publish(partial, final, overwrite=args.overwrite)
    except (ValueError, store.RunError, data_lib.DatasetError, OSError) as error:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"Saved run to {final}\n  test PSNR {row['psnr']:.2f} dB, SSIM {row['ssim']:.4f}, "
        f"colourfulness {row['colorfulness']:.1f} (truth {row['truth_colorfulness']:.1f}), AuC {row['auc']:.3f}"
    )
    return 0


if __name__ == "__main__":
    from colorkeras import cli

    cli.run(main)
