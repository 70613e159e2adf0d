"""The one colorize path: load a run's SavedModel, colorize arrays, PIL images and files.

Every front end (the colorize CLI, the dashboard, film, bulk, the evaluator) goes
through ``Colorizer``, which calls the SavedModel's own graph for the prediction and
makes the full-resolution ends (lightness, and its join with the chroma) on the CPU
(``serving.pixels``): the result TensorFlow Serving gives, within one code value.

    from colorkeras import Colorizer
    colorizer = Colorizer()                      # the default run in saved_models/
    rgb = colorizer.colorize(pil_or_array)       # uint8 RGB, same size as the input
    rgb = colorizer.colorize(image, hints=[{"x": 120, "y": 48, "color": "#1f3a93"}])
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from colorkeras.core import archive, store
from colorkeras.core import hints as hints_lib
from colorkeras.core.hints import HintError
from colorkeras.core.images import DEFAULT_MAX_PIXELS, ImageError, check_colour, open_image, to_uint8_rgb
from colorkeras.serving import pixels

if TYPE_CHECKING:
    from PIL import Image

    from colorkeras.core.store import StrPath


class Colorizer:
    """A run's SavedModel, ready to colorize.

    ``model``: a run name in ``saved_models/``, a run folder, or None for the
    default run. ``render_size`` (short side the chroma is predicted at),
    ``saturation`` (HSV factor, 1.0 = off) and ``temperature`` default to the run's.
    """

    def __init__(
        self,
        model: StrPath | None = None,
        render_size: int | None = None,
        saturation: float | None = None,
        temperature: float | None = None,
        prior_weight: float | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:

        self.path = store.resolve_run(model)
        self.name = self.path.name
        self.record: dict[str, Any] = store.Run(self.path).read_config()
        settings = self.record.get("settings") if isinstance(self.record, dict) else None
        if not isinstance(settings, dict) or not settings.get("render_size"):
            raise store.RunError(
                f"{store.Run(self.path).config} holds no run settings (render size and the rest); re-export the run"
            )
        self.render_size = int(render_size if render_size is not None else settings["render_size"])
        self.saturation = float(saturation if saturation is not None else settings.get("saturation", 1.0))
        self.temperature = float(temperature if temperature is not None else settings.get("temperature", 1.0))
        self.prior_weight = float(prior_weight if prior_weight is not None else settings.get("prior_weight") or 0.0)
        if self.prior_weight and not self.record.get("bin_prior"):
            raise ValueError(
                f"run {self.name} has no colour prior, so prior weight must be 0 "
                "(re-export it with python -m colorkeras.export)"
            )
        self.max_pixels = max_pixels
        if self.render_size < 8:
            raise ValueError(f"render size must be at least 8, received {self.render_size}")
        if self.saturation <= 0:
            raise ValueError(f"saturation must be positive, received {self.saturation}")
        self._tf = tf
        self._loaded = tf.saved_model.load(str(store.Run(self.path).saved_model))
        self._signature = self._loaded.signatures["colorize"]
        # Runs exported with the chroma signatures colour on the CPU path (_colorize_on_cpu).
        self._chroma = self._loaded.signatures.get("chroma")
        # Runs exported before the prior weight existed take one input fewer.
        self._takes_prior_weight = "prior_weight" in self._signature.structured_input_signature[1]
        self.takes_hints = "colorize_with_hints_and_options" in self._loaded.signatures
        self.takes_reference = "colorize_with_reference" in self._loaded.signatures
        # Results with hints default to their own saturation (1.0: the colours given come out as given).
        self.hint_saturation = float(
            saturation if saturation is not None else self.record.get("hint_saturation") or 1.0
        )

    def _options(self, render_size: int | None, saturation: float | None) -> dict[str, Any]:
        tf = self._tf
        render_size = self.render_size if render_size is None else int(render_size)
        saturation = self.saturation if saturation is None else float(saturation)
        # 0 is a value, not "the default": it is refused like any other bad one.
        if render_size < 8:
            raise ValueError(f"render size must be at least 8, received {render_size}")
        if saturation <= 0:
            raise ValueError(f"saturation must be positive (1.0 = off), received {saturation}")
        options = dict(
            render_size=tf.constant(render_size, tf.int32),
            saturation=tf.constant(saturation, tf.float32),
            temperature=tf.constant(self.temperature, tf.float32),
        )
        if self._takes_prior_weight:
            options["prior_weight"] = tf.constant(self.prior_weight, tf.float32)
        return options

    def provenance(
        self,
        render_size: int | None = None,
        saturation: float | None = None,
        hints: list[dict[str, Any]] | None = None,
        recipe: str | None = None,
        reference: str | None = None,
    ) -> dict[str, Any]:
        """What an output records of how it was made (``archive.provenance``): this
        run and the settings a call with these arguments used (``recipe``: see
        ``archive.recipe``; ``reference``: the reference photograph's name)."""

        default_saturation = self.hint_saturation if hints or reference else self.saturation
        return archive.provenance(
            self.name,
            render_size or self.render_size,
            saturation or default_saturation,
            len(hints or []),
            recipe,
            reference,
        )

    def check_takes_hints(self) -> None:
        if not self.takes_hints:
            raise HintError(
                f"run {self.name} takes no hints: colorize with a run trained with --hints "
                "(or re-export an older hint run with python -m colorkeras.export)"
            )

    def check_takes_reference(self) -> None:
        if not self.takes_reference:
            raise HintError(
                f"run {self.name} takes no reference photograph: colorize with a hint run that has the pretrained "
                "encoder (the default), or re-export it with python -m colorkeras.export"
            )

    def colorize_with_reference(self, images: np.ndarray, references: np.ndarray) -> np.ndarray:
        """uint8 ``[batch, h, w, 1|3]`` and colour references uint8 ``[batch, h2, w2, 3]`` (one per image; all
        one size each) -> uint8 RGB ``[batch, h, w, 3]``: each image coloured from its reference by
        correspondence, the run's automatic colour where nothing matches (``serving.reference``)."""
        self.check_takes_reference()
        tf = self._tf
        images, references = np.asarray(images), np.asarray(references)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ImageError(f"expected uint8 [batch, h, w, 1|3], received {images.dtype} {images.shape}")
        if references.dtype != np.uint8 or references.shape[:1] != images.shape[:1] or references.shape[-1:] != (3,):
            raise ImageError(
                f"expected one uint8 RGB reference per image, received {references.dtype} {references.shape}"
            )
        outputs = self._loaded.signatures["colorize_with_reference"](
            images=tf.constant(images), references=tf.constant(references)
        )
        return outputs["colorized"].numpy()

    def colorize_batch(
        self,
        images: np.ndarray,
        render_size: int | None = None,
        saturation: float | None = None,
        points: np.ndarray | None = None,
        colors: np.ndarray | None = None,
    ) -> np.ndarray:
        """uint8 ``[batch, h, w, 1|3]`` (all one size) -> uint8 RGB ``[batch, h, w, 3]``.

        ``render_size`` and ``saturation`` override the colorizer's own for this call.
        ``points`` int32 ``[batch, K, 2]`` (y, x; negative = padding) and ``colors``
        uint8 ``[batch, K, 3]`` are hints, for runs that take them (``takes_hints``).
        """
        tf = self._tf
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ImageError(f"expected uint8 [batch, h, w, 1|3], received {images.dtype} {images.shape}")
        if points is None:
            if self._chroma is not None:
                return self._colorize_on_cpu(images, render_size, saturation)
            return self._signature(images=tf.constant(images), **self._options(render_size, saturation))[
                "colorized"
            ].numpy()
        self.check_takes_hints()
        points = np.asarray(points, np.int32).reshape(len(images), -1, 2)
        colors = np.asarray(colors, np.uint8).reshape(len(images), -1, 3)
        if self._chroma is not None:
            return self._colorize_on_cpu(images, render_size, saturation, points, colors)
        hinted = (points >= 0).all(axis=-1).any(axis=-1)
        if saturation is None and not hinted.all():
            # Images without a valid point get the automatic result at its own
            # saturation, as the SavedModel's colorize_with_hints gives them.
            out = np.empty(images.shape[:3] + (3,), np.uint8)
            out[~hinted] = self.colorize_batch(images[~hinted], render_size)
            if hinted.any():
                out[hinted] = self.colorize_batch(images[hinted], render_size, None, points[hinted], colors[hinted])
            return out
        options = self._options(render_size, self.hint_saturation if saturation is None else saturation)
        outputs = self._loaded.signatures["colorize_with_hints_and_options"](
            images=tf.constant(images),
            points=tf.constant(points),
            colors=tf.constant(colors),
            **options,
        )
        return outputs["colorized"].numpy()

    def _colorize_on_cpu(
        self,
        images: np.ndarray,
        render_size: int | None,
        saturation: float | None,
        points: np.ndarray | None = None,
        colors: np.ndarray | None = None,
    ) -> np.ndarray:
        """``colorize_batch`` through the graph's ``chroma`` signatures, with the full-resolution
        lightness and join done by ``serving.pixels``: the same result as the ``colorize``
        signatures within one code value, and sooner (a 4000x3000 photo: 222 ms against 375
        in the bench of the default's card). As ``colorize_with_hints`` does, an image
        without a valid point gets the automatic result, at the run's saturation unless one
        is given."""
        tf = self._tf
        if len(images) == 1:  # One image (the usual call) without a copy.
            lightness = pixels.lightness(images[0])[None, ..., None]
        else:
            lightness = np.stack([pixels.lightness(image) for image in images])[..., None]
        hinted = np.zeros(len(images), bool) if points is None else (points >= 0).all(axis=-1).any(axis=-1)
        chroma: dict[int, np.ndarray] = {}
        if not hinted.all():
            plain = self._chroma(lightness=tf.constant(lightness[~hinted]), **self._options(render_size, saturation))[
                "chroma"
            ].numpy()
            for index, ab in zip(np.flatnonzero(~hinted), plain, strict=True):
                chroma[int(index)] = ab
        if points is not None and colors is not None and hinted.any():
            options = self._options(render_size, self.hint_saturation if saturation is None else saturation)
            given = self._loaded.signatures["chroma_with_hints"](
                lightness=tf.constant(lightness[hinted]),
                points=tf.constant(points[hinted]),
                colors=tf.constant(colors[hinted]),
                **options,
            )["chroma"].numpy()
            for index, ab in zip(np.flatnonzero(hinted), given, strict=True):
                chroma[int(index)] = ab
        return np.stack([pixels.compose(lightness[index, ..., 0], chroma[index]) for index in range(len(images))])

    def _hint_arrays(
        self, hints: list[dict[str, Any]], width: int, height: int, render_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Checked hint points -> (points [1, K, 2], colors [1, K, 3]); a point with a
        radius larger than a hint patch becomes a grid of points that covers its square."""

        yx, colors, radii = hints_lib.to_arrays(hints, width, height)
        scale = (self.render_size if render_size is None else int(render_size)) / min(width, height)
        yx, colors = hints_lib.expand_radii(yx, colors, radii, scale, width, height)
        return yx[None], colors[None]

    def colorize(
        self,
        image: Image.Image | np.ndarray,
        render_size: int | None = None,
        saturation: float | None = None,
        hints: list[dict[str, Any]] | None = None,
        reference: Image.Image | np.ndarray | None = None,
    ) -> np.ndarray:
        """A PIL image or array of any kind and size -> uint8 RGB (RGBA if it had alpha), same size.

        ``hints``: a list of points ``{"x": 120, "y": 48, "color": "#1f3a93"}`` (input
        pixels; optional ``"radius"``), for runs that take them. ``reference``: a colour
        photograph of the same or a similar scene whose colour is given by correspondence
        (``colorize_with_reference``; the run's own render size, no saturation boost).
        """
        # A gray input stays one channel: its lightness is one table lookup, not three channels' worth.
        array, alpha = to_uint8_rgb(image, self.max_pixels, keep_gray=True)
        if reference is not None:
            if hints:
                raise HintError("give hints or a reference photograph, not both")
            if render_size is not None or saturation is not None:
                raise ValueError("a reference photograph is coloured at the run's own render size and saturation")
            self.check_takes_reference()
            reference_rgb, _ = to_uint8_rgb(reference, self.max_pixels)
            check_colour(reference_rgb)
            result = self.colorize_with_reference(array[None], reference_rgb[None])[0]
        else:
            points = colors = None
            if hints:
                self.check_takes_hints()
                points, colors = self._hint_arrays(hints, array.shape[1], array.shape[0], render_size)
            result = self.colorize_batch(array[None], render_size, saturation, points, colors)[0]
        if alpha is not None:
            result = np.concatenate([result, alpha[..., None]], axis=-1)
        return result

    def suggest_colors(
        self, image: Image.Image | np.ndarray, x: float, y: float, hints: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """The 5 most likely colours at pixel (x, y), most likely first: a list of
        ``{"color": "#rrggbb", "probability": p}`` from the network's distribution there
        (given the other ``hints``, for runs that take them)."""

        if "suggest_colors" not in self._loaded.signatures:
            raise HintError(
                f"run {self.name} offers no colour suggestions: a run trained with --hints (classes head) does"
            )
        tf = self._tf
        rgb, _ = to_uint8_rgb(image, self.max_pixels)
        height, width = rgb.shape[:2]
        hints_lib.parse_hints([{"x": x, "y": y, "color": "#000000"}], width, height, where="suggestion point")
        points, colors = self._hint_arrays(hints or [], width, height)
        outputs = self._loaded.signatures["suggest_colors"](
            images=tf.constant(rgb[None]),
            points=tf.constant(points),
            colors=tf.constant(colors),
            at=tf.constant([[int(round(y)), int(round(x))]], tf.int32),
        )
        suggestions = outputs["suggestions"].numpy()[0]
        probabilities = outputs["probabilities"].numpy()[0]
        return [
            {"color": "#{:02x}{:02x}{:02x}".format(*map(int, rgb_value)), "probability": float(p)}
            for rgb_value, p in zip(suggestions, probabilities, strict=False)
        ]

    def colorize_many(self, images: Iterable[Image.Image | np.ndarray], batch_size: int = 64) -> list[np.ndarray]:
        """Colorizes a list of images; same-sized neighbours are sent as one batch (at most ``batch_size``)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, received {batch_size}")
        converted = [to_uint8_rgb(image, self.max_pixels) for image in images]
        results: list[Any] = [None] * len(converted)  # Every slot is filled with an array below.
        start = 0
        while start < len(converted):
            shape = converted[start][0].shape
            end = start
            while end < len(converted) and end - start < batch_size and converted[end][0].shape == shape:
                end += 1
            batch = self.colorize_batch(np.stack([rgb for rgb, _ in converted[start:end]]))
            for offset, colour in enumerate(batch):
                alpha = converted[start + offset][1]
                results[start + offset] = colour if alpha is None else np.dstack([colour, alpha])
            start = end
        return results

    def colorize_file(
        self,
        path: StrPath,
        render_size: int | None = None,
        saturation: float | None = None,
        hints: list[dict[str, Any]] | None = None,
    ) -> np.ndarray:
        """Opens ``path`` and colorizes it; raises ``ImageError`` naming the file if it can't."""
        return self.colorize(open_image(path, self.max_pixels), render_size, saturation, hints)
