"""``colorkeras COMMAND ...`` (the console script) and ``python -m colorkeras COMMAND ...``:
the same command lines as ``python -m colorkeras.COMMAND ...``, under one name.

    colorkeras colorize photo.jpg --out colour/
    colorkeras train --data photos/ --architecture unet --epochs 2 --name first
    colorkeras --help
"""

import importlib
import sys

from colorkeras.core import cli

COMMANDS = {
    "colorize": "colour photographs and folders",
    "film": "colour a film",
    "serve": "answer TensorFlow Serving's REST API",
    "bulk": "colour a whole archive on Apache Beam",
    "train": "train a network into a run",
    "evaluate": "score runs beside the gray copy and the truth",
    "export": "re-export a run (SavedModel, TFLite)",
    "bench": "time the default run",
    "portable_train": "train on any Keras backend (JAX on a GPU)",
    "clips": "make the test films",
    "diverse": "build the diverse training photographs",
}


def usage():
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {what}" for name, what in COMMANDS.items()]
    return "usage: colorkeras COMMAND [flags]  (colorkeras COMMAND --help for its flags)\n\ncommands:\n" + "\n".join(
        lines
    )


def entry(argv=None):
    """The console script: runs ``colorkeras.<COMMAND>``'s command line with the rest of the flags."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        sys.exit(0 if argv else 2)
    name, rest = argv[0].replace("-", "_"), argv[1:]
    if name not in COMMANDS:
        print(f"error: no command {argv[0]!r}\n{usage()}", file=sys.stderr)
        sys.exit(2)
    module = importlib.import_module(f"colorkeras.{name}")
    also = getattr(module, "log_filter", lambda flags: None)(rest)
    cli.run(lambda: module.main(rest), also=also)


if __name__ == "__main__":
    entry()
