"""Training on any Keras 3 backend, for a GPU machine that has JAX but no TensorFlow.

Keras 3 trains the same functional network on JAX, PyTorch or TensorFlow. The
``fit`` step here imports neither TensorFlow nor any colorkeras module that does,
so it runs wherever Keras and JAX do; ``pack`` (here, with TensorFlow) writes what
it needs: the training split as 64x64 JPEG bytes, the networks as Keras JSON and
the colour tables. The weights come back as ``.weights.npz`` files, which
``python -m colorkeras.train --init-from FILE --epochs 0`` turns into a run
(evaluated, exported) as usual::

    python -m colorkeras.portable_train pack --data ../shared/datasets/photos \\
        ../shared/datasets/places --base-filters 40 --out pack/
    KERAS_BACKEND=jax python -m colorkeras.portable_train fit pack/ \\
        --seconds 300 --hint-seconds 150 --out weights/

``fit`` trains the automatic network for ``--seconds``, then the hint network
(Zhang et al. 2017), started from it, for ``--hint-seconds``, with hints simulated
from the ground truth (``hints.sample_points``). The learning rate follows a cosine
over the wall-clock budget, since a borrowed machine's time is what is fixed.
"""

import argparse
import sys

from colorkeras.training.portable import fit, pack


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m colorkeras.portable_train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("pack", help="write the training split and the networks (needs TensorFlow)")
    p.add_argument("--data", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--quality", type=int, default=85)
    p.add_argument("--base-filters", type=int, default=40)
    p.add_argument("--depth", type=int, default=3)
    f = commands.add_parser("fit", help="train on any Keras backend from a pack")
    f.add_argument("pack")
    f.add_argument("--out", required=True)
    f.add_argument("--seconds", type=float, default=300)
    f.add_argument("--hint-seconds", type=float, default=150)
    f.add_argument("--batch-size", type=int, default=128)
    f.add_argument("--learning-rate", type=float, default=2e-3)
    f.add_argument("--init", help="start the automatic network from these weights (.weights.npz)")
    f.add_argument("--auto-network", help="the automatic network's Keras JSON (default: the pack's)")
    f.add_argument("--hint-network", help="the hint network's Keras JSON (default: the pack's)")
    f.add_argument("--tag", default="", help="appended to the names of the files written")
    f.add_argument("--precision", default="mixed_bfloat16", choices=("float32", "mixed_bfloat16", "mixed_float16"))
    args = parser.parse_args(argv)
    if args.command == "pack":
        settings, size = pack(args.data, args.out, args.size, args.quality, args.base_filters, args.depth)
        print(f"Packed {settings['images']} images ({size / 2**20:.1f} MiB of JPEG) into {args.out}")
    else:
        networks = {k: v for k, v in (("auto", args.auto_network), ("hints", args.hint_network)) if v}
        fit(args.pack, args.out, args.seconds, args.hint_seconds, args.batch_size, args.learning_rate, args.init,
            precision=args.precision, networks=networks, tag=args.tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
