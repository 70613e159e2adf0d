"""colorkeras: automatic image colorization with Keras 3 on TensorFlow.

Public API::

    from colorkeras import Colorizer, build_colorizer, TrainConfig
    Colorizer().colorize(image)           # the default run, any image, same size out

Command lines: ``python -m colorkeras.train``, ``.colorize``, ``.evaluate``,
``.export`` and ``.bench``; each takes ``--help``.
"""

__version__ = "0.1.0"
__all__ = [
    "Colorizer",
    "ImageError",
    "TrainConfig",
    "build_colorizer",
    "list_runs",
    "__version__",
]


def __getattr__(name):
    # TensorFlow takes seconds to import; load it only when the API is used.
    if name in ("Colorizer", "ImageError", "build_colorizer"):
        # The API is as quiet as the command lines: TensorFlow's start-up lines hidden.
        from colorkeras.core import cli

        cli.quiet_tensorflow()
    if name in ("Colorizer", "ImageError"):
        from colorkeras.serving import inference

        return getattr(inference, name)
    if name == "TrainConfig":
        from colorkeras.core.config import TrainConfig

        return TrainConfig
    if name == "build_colorizer":
        from colorkeras.models.registry import build_colorizer

        return build_colorizer
    if name == "list_runs":
        from colorkeras.core.store import list_runs

        return list_runs
    raise AttributeError(f"module 'colorkeras' has no attribute {name!r}")
