"""colorkeras: automatic image colorization with Keras 3 on TensorFlow.

Public API::

    from colorkeras import Colorizer, TrainConfig, fit, score
    Colorizer().colorize(image)           # the default run, any image, same size out
    run = fit(TrainConfig(data="photos/", architecture="unet", epochs=2), "runs/first")
    report = score(model=[str(run.path)], data="photos/", split="test")   # -> Report
    report.row("gray copy")["psnr"], report.row(run.path.name)["psnr"]

Command lines: ``python -m colorkeras.train``, ``.colorize``, ``.evaluate``,
``.export`` and ``.bench``; each takes ``--help``.
"""

__version__ = "0.1.0"
__all__ = [
    "Colorizer",
    "ImageError",
    "TrainConfig",
    "EvaluateOptions",
    "Report",
    "build_colorizer",
    "fit",
    "list_runs",
    "score",
    "__version__",
]


def __getattr__(name):
    # TensorFlow takes seconds to import; load it only when the API is used.
    if name in ("Colorizer", "ImageError", "build_colorizer", "fit", "score"):
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
    if name == "fit":
        from colorkeras.training.loop import fit

        return fit
    if name == "score":
        from colorkeras.evaluation.scoring import score

        return score
    if name in ("EvaluateOptions", "Report"):
        from colorkeras.evaluation import options

        return getattr(options, name)
    if name == "list_runs":
        from colorkeras.core.store import list_runs

        return list_runs
    raise AttributeError(f"module 'colorkeras' has no attribute {name!r}")
