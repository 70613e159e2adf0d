"""Colorize whole archives on Apache Beam: ``python -m colorkeras.bulk --input PATTERN --output DIR``.

    pip install -e ".[beam]"
    # This machine, two worker processes:
    python -m colorkeras.bulk --input scans/ --output colour/ \\
        --runner DirectRunner --direct_num_workers 2 --direct_running_mode multi_processing
    # The same pipeline on a cluster (Beam's own options; the engine does the scaling):
    python -m colorkeras.bulk --input 'gs://archive/scans/**' --output gs://archive/colour \\
        --runner DataflowRunner --project P --region europe-west1 --temp_location gs://archive/tmp

``--input`` is a folder (searched recursively, as the colorize CLI does) or a glob
pattern (``**`` reaches nested folders), matched with Beam's file I/O, so local
paths, ``gs://`` and ``s3://`` work wherever Beam's filesystems for them are
installed. Outputs mirror the inputs as the colorize CLI lays them out
(``DIR/<folder name>/<relative path>.png``, ``a.jpg`` and ``a.png`` side by side
as ``a_jpg.png`` and ``a_png.png``), and each one is identical to what the CLI
writes: each worker decodes and colorizes through the same ``Colorizer``.

The driver lists the inputs (Beam's FileSystems: local, ``gs://``, ``s3://``),
names their outputs, and leaves out those already there that these inputs, run
and format made (each output records a recipe of them in its XMP, as the colorize
command's do); any other file there is refused unless ``--overwrite``. The pipeline is one
chain of transforms every Beam runner has (Create, Reshuffle, ParDo,
GroupByKey), so the same pipeline runs on the DirectRunner, on a Dask cluster
(``--runner DaskRunner --dask_client_address tcp://HOST:PORT``) and on the others.
Each worker process loads the run's SavedModel once (``tf.saved_model.load``,
kept by ``apache_beam.utils.shared``) and colorizes through the same
``Colorizer`` as the CLI. Each output is written under a temporary name and
renamed into place, so a killed worker or a retried task never leaves half a PNG,
and a rerun writes nothing that is there. Files that cannot be read go to
``DIR/_failures.csv`` (path, reason) instead of failing the pipeline. The counts
(done, skipped, failed) come from the output folder itself, so a runner without
metrics (Dask) and a retried task (counted twice by an engine) give the same
figures; an input neither written nor failed is reported as missing.
"""

import re
import sys

from colorkeras.core import cli, store

# Beam's own log lines (its Python loggers on the root handler), hidden unless --verbose.
BEAM_LOG = re.compile(r"^(INFO|WARNING):(apache_beam|root|__main__)[.:]")


def log_filter(flags):
    """The log lines hidden for these flags: Beam's own, unless --verbose."""
    return None if "--verbose" in flags else BEAM_LOG


def build_parser():
    parser = cli.command_parser(
        "bulk", "Colorize a whole archive with Apache Beam; other flags go to Beam (--runner and its options)."
    )
    parser.add_argument(
        "--input",
        required=True,
        metavar="PATTERN",
        help="a folder (searched recursively) or a glob pattern; ** reaches nested folders",
    )
    parser.add_argument(
        "--output", required=True, metavar="DIR", help="folder for the PNG results, _failures.csv and nothing else"
    )
    cli.add_model_flag(parser)
    cli.add_output_flags(parser)
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace outputs already there that these inputs, run and format did not make "
        "(they are refused otherwise)",
    )
    parser.add_argument("--verbose", action="store_true", help="show Beam's and TensorFlow's own log lines")
    return parser


def main(argv=None):
    cli.show_logs()  # The library's messages (logging) reach the terminal, as print did.
    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    # Imported here, as every command line imports TensorFlow: after cli.run has
    # pointed stderr through its filter, which hides TensorFlow's native start-up
    # lines (absl's "All log messages before absl::InitializeLog()", oneDNN's notice).
    from colorkeras.serving.beam import BulkOptions, run

    our_flags = tuple(flag for action in parser._actions for flag in action.option_strings)
    options = cli.options_from(BulkOptions, args, beam_args=beam_args, our_flags=our_flags)
    try:
        found = run(options)
    except (ValueError, store.RunError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; finished outputs are complete, run again to do the rest", file=sys.stderr)
        return 130
    for what, count in sorted(found.get("dropped", {}).items()):
        print(f"note: the outputs cannot hold the input's {what}: not kept in {count} output(s)", file=sys.stderr)
    print(
        f"Done: {found['done']} colorized, {found['skipped']} skipped (already there), {found['failed']} failed"
        + (f", {found['missing']} MISSING (neither written nor failed: run again)" if found["missing"] else "")
        + f", in {found['seconds']:.1f} s; model loaded {found['loads']} time(s)"
    )
    if found["failed"]:
        shown = found["failed_files"][:10]
        print(
            "failed: "
            + ", ".join(shown)
            + (f" and {found['failed'] - len(shown)} more" if found["failed"] > len(shown) else "")
            + f"; reasons in {found['failures_csv']}",
            file=sys.stderr,
        )
    return 1 if found["failed"] or found["missing"] else 0


if __name__ == "__main__":
    cli.run(main, also=log_filter(sys.argv[1:]))
