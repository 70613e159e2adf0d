"""Diverse colour photographs to train on, from pinned public git snapshots (issue 48).

    python -m colorkeras.diverse ../runs/diverse
    python -m colorkeras.diverse ../runs/classes --classes

The first writes the colour photographs of Caltech-101 and two ImageNet samples,
each a JPEG with a short side of 160 px, into ``OUT/train`` and ``OUT/test``; the
second copies the recognition validation photographs (one per ImageNet class,
never trained on) with their classifier indices in ``OUT/labels.txt``. Both read
the snapshots in ``--mirrors`` (``<owner>+<name>/repo``) at pinned commits, so the
same command gives the same files, and say in ``OUT/SOURCES.md`` where every
photograph came from, under what licence, and how many were kept and dropped.
A folder appears under its name only when complete. A snapshot missing here is one
``git clone https://github.com/OWNER/NAME DIR/OWNER+NAME/repo`` away (the commits are
pinned in ``colorkeras/data/diverse.py``); the four sources are named in issue 48.
"""

import sys

from colorkeras.core import cli

DEFAULT_MIRRORS = "/work/.mirror"


def build_parser():
    parser = cli.command_parser(
        "diverse",
        "Build a folder of diverse colour training photographs (or, with --classes, the recognition "
        "validation photographs) from pinned git snapshots.",
    )
    parser.add_argument("out", metavar="OUT", help="the folder to write (must not exist unless --overwrite)")
    parser.add_argument(
        "--mirrors",
        default=DEFAULT_MIRRORS,
        metavar="DIR",
        help="folder of the git snapshots, one <owner>+<name>/repo each",
    )
    parser.add_argument(
        "--classes",
        action="store_true",
        help="write the recognition validation photographs (one per ImageNet class) and labels.txt instead",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists (once the new one is whole)")
    return parser


def rebuild_command(args):
    """The command line SOURCES.md gives for a rebuild."""
    return " ".join(
        ["python -m colorkeras.diverse", args.out]
        + (["--mirrors", args.mirrors] if args.mirrors != DEFAULT_MIRRORS else [])
        + (["--classes"] if args.classes else [])
    )


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    args = build_parser().parse_args(argv)
    from colorkeras.data import diverse

    shown = {}

    def progress(done, total):
        if "bar" not in shown:
            shown["bar"] = cli.Progress(total, unit="photograph", label="diverse: ")
        shown["bar"].update(done)

    try:
        if args.classes:
            summary = diverse.build_class_folder(
                args.out, args.mirrors, overwrite=args.overwrite, command=rebuild_command(args)
            )
        else:
            summary = diverse.build_training_folder(
                args.out, args.mirrors, overwrite=args.overwrite, progress=progress, command=rebuild_command(args)
            )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {error.strerror or error} ({error.filename or args.out})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted; {args.out} is not written", file=sys.stderr)
        return 130
    if args.classes:
        print(
            f"Wrote {summary.files:,} validation photographs, labels.txt and SOURCES.md to {summary.out} "
            f"in {summary.seconds:.1f} s",
            file=sys.stderr,
        )
        return 0
    for tally in summary.counts:
        dropped = ", ".join(
            f"{reason} {tally.dropped[reason]:,}" for reason in diverse.REASONS if tally.dropped[reason]
        )
        print(
            f"{tally.source.short_name}: kept {tally.kept:,} ({tally.train:,} train, {tally.test:,} test); "
            f"dropped {dropped or 'none'}",
            file=sys.stderr,
        )
    print(
        f"Wrote {summary.train:,} train and {summary.test:,} test photographs and SOURCES.md to {summary.out} "
        f"in {summary.seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    cli.run(main)
