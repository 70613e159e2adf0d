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

Colorizing runs in Beam's ``RunInference`` with this project's model handler,
which loads the run's SavedModel (``tf.saved_model.load``) once per worker: Beam's
own TensorFlow handler loads through Keras, which refuses SavedModel folders in
Keras 3 (apache/beam#30616). Images of different sizes are colorized one at a
time within a batch. Each output is written under a temporary name and renamed
into place, and outputs that exist already are skipped, so a rerun after a crash
or a preempted worker finishes the job with nothing lost and nothing written
twice. Files that cannot be read go to ``DIR/_failures.csv`` (path, reason)
instead of failing the pipeline; the counts (done, skipped, failed) are printed
and returned.
"""

import argparse
import csv
import io
import posixpath
import sys
import uuid

from colorkeras import cli

TEMPORARY = ".colorkeras-partial"  # Under DIR: outputs being written; cleared at the start of a run.
FAILURES = "_failures.csv"
COUNTERS = ("done", "skipped", "failed")
# Beam's own log lines, from this process and its workers (INFO progress, and
# WARNINGs about cloud clients this pipeline does not use); --verbose shows them.
BEAM_LOG = r"^(INFO|WARNING):(apache_beam|root|__main__)[.:]"


def split_input(given):
    """(base folder, glob pattern, rooted) for ``--input``: a folder means everything
    under it, a file itself; object stores have no folders, so there a path that is
    not an object is taken as one. ``rooted``: outputs go under the base folder's
    name, as the colorize CLI mirrors a folder (a single file's goes in DIR itself)."""
    import os

    from apache_beam.io.filesystems import FileSystems

    wildcard = next((index for index, char in enumerate(given) if char in "*?["), None)
    if wildcard is not None:
        base = given[:wildcard].rsplit("/", 1)[0] if "/" in given[:wildcard] else "."
        return base, given, True
    remote = "://" in given
    is_file = FileSystems.exists(given) and (remote or os.path.isfile(given))
    if is_file:
        return posixpath.dirname(given) or ".", given, False
    if not remote and not os.path.isdir(given):
        raise ValueError(f"{given}: no such file or folder")
    base = given.rstrip("/") or "/"
    return base, FileSystems.join(base, "**"), True


def output_name(path, base, output, rooted=True):
    """The output of input ``path`` (under ``base``), as the colorize CLI names it."""
    from pathlib import PurePosixPath

    relative = PurePosixPath(path[len(base):].lstrip("/"))
    root = (PurePosixPath(base.rstrip("/")).name or "root") if rooted else ""
    return posixpath.join(output, root, str(relative.with_suffix(".png")))


def resolve_clashes(target_and_sources):
    """One output name per input: sources that share one keep their extension in it."""
    target, sources = target_and_sources
    sources = sorted(sources)
    if len(sources) == 1:
        yield sources[0], target
        return
    for source in sources:
        extension = posixpath.splitext(source)[1].lstrip(".").lower()
        yield source, f"{target[:-len('.png')]}_{extension}.png"


def make_handler(run, max_pixels):
    """This project's Beam ``ModelHandler`` (defined here, so the module imports without
    Beam): ((path, output), file bytes) in, ("ok", PNG) or ("failed", reason) out."""
    from apache_beam.ml.inference.base import ModelHandler, PredictionResult

    class Handler(ModelHandler):
        def __init__(self):
            super().__init__()
            self.run = str(run)
            self.max_pixels = max_pixels

        def load_model(self):
            from colorkeras.inference import Colorizer

            return Colorizer(self.run, max_pixels=self.max_pixels)  # tf.saved_model.load inside.

        def run_inference(self, batch, model, inference_args=None):
            from PIL import Image

            from colorkeras.images import ImageError, open_image

            for (path, target), payload in batch:
                try:
                    image = open_image(io.BytesIO(payload), model.max_pixels, name=path)
                    colour = model.colorize(image)
                    buffer = io.BytesIO()
                    Image.fromarray(colour).save(buffer, format="PNG")
                    yield PredictionResult((path, target), ("ok", buffer.getvalue()))
                except (ImageError, ValueError) as error:
                    yield PredictionResult((path, target), ("failed", str(error)))

        def batch_elements_kwargs(self):
            # Images of any size: each is colorized on its own; small batches keep memory low.
            return {"min_batch_size": 1, "max_batch_size": 8}

        def get_num_bytes(self, batch):
            return sum(len(payload) for _, payload in batch)

    return Handler()


def write_output(result, output):
    """Writes one colorized PNG through a temporary name; yields a failure row instead where it failed."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.metrics import Metrics

    (path, target), (status, value) = result.example, result.inference
    if status != "ok":
        Metrics.counter("colorkeras", "failed").inc()
        yield (path, value)
        return
    temporary = posixpath.join(output, TEMPORARY, f"{uuid.uuid4().hex}.png")
    with FileSystems.create(temporary) as stream:
        stream.write(value)
    _make_parent(target)
    FileSystems.rename([temporary], [target])
    Metrics.counter("colorkeras", "done").inc()


def _make_parent(path):
    """The folder ``path`` goes in (local filesystems need it; object stores have none)."""
    from apache_beam.io.filesystems import FileSystems

    parent = posixpath.dirname(path)
    if parent and not FileSystems.exists(parent):
        try:
            FileSystems.mkdirs(parent)
        except OSError:
            pass  # Made meanwhile by another worker.


def read_input(source_and_target):
    from apache_beam.io.filesystems import FileSystems

    source, target = source_and_target
    with FileSystems.open(source) as stream:
        return (source, target), stream.read()


def keep_missing(source_and_target):
    """Drops inputs whose output exists already (a rerun finishes what is left)."""
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.metrics import Metrics

    if FileSystems.exists(source_and_target[1]):
        Metrics.counter("colorkeras", "skipped").inc()
        return []
    return [source_and_target]


def write_failures(rows, output):
    """DIR/_failures.csv (path, reason), written whole through a temporary name; none if nothing failed."""
    from apache_beam.io.filesystems import FileSystems

    target = posixpath.join(output, FAILURES)
    if not rows:
        if FileSystems.exists(target):
            FileSystems.delete([target])
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["path", "reason"])
    writer.writerows(sorted(rows))
    temporary = posixpath.join(output, TEMPORARY, f"{uuid.uuid4().hex}.csv")
    with FileSystems.create(temporary) as stream:
        stream.write(buffer.getvalue().encode())
    if FileSystems.exists(target):
        FileSystems.delete([target])
    FileSystems.rename([temporary], [target])


def build_pipeline(pipeline, pattern, base, output, run, max_pixels, rooted=True):
    import apache_beam as beam
    from apache_beam.io import fileio
    from apache_beam.ml.inference.base import RunInference

    from colorkeras.images import IMAGE_EXTENSIONS

    planned = (
        pipeline
        | "Match" >> fileio.MatchFiles(pattern)
        | "Paths" >> beam.Map(lambda metadata: metadata.path)
        | "Images" >> beam.Filter(lambda path: posixpath.splitext(path)[1].lower() in IMAGE_EXTENSIONS)
        | "Name" >> beam.Map(lambda path: (output_name(path, base, output, rooted), path))
        | "ByOutput" >> beam.GroupByKey()
        | "OneEach" >> beam.FlatMap(resolve_clashes)
        | "SkipDone" >> beam.FlatMap(keep_missing)
        | "Reshuffle" >> beam.Reshuffle()
    )
    failures = (
        planned
        | "Read" >> beam.Map(read_input)
        | "Colorize" >> RunInference(make_handler(run, max_pixels))
        | "Write" >> beam.FlatMap(write_output, output)
    )
    _ = (
        failures
        | "AllFailures" >> beam.combiners.ToList()
        | "FailuresCsv" >> beam.Map(write_failures, output)
    )


def counts(result):
    """{"done": n, "skipped": n, "failed": n} from the pipeline's counters."""
    from apache_beam.metrics.metric import MetricsFilter

    found = dict.fromkeys(COUNTERS, 0)
    for counter in result.metrics().query(MetricsFilter().with_namespace("colorkeras"))["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        found[counter.key.metric.name] += int(value or 0)
    return found


def clear_partial(output, remove_folder=False):
    """Removes what a killed run left half-written under DIR/.colorkeras-partial/ (and,
    at the end of a run, that folder)."""
    from apache_beam.io.filesystems import FileSystems

    folder = posixpath.join(output, TEMPORARY)
    matches = FileSystems.match([posixpath.join(folder, "*")])[0].metadata_list
    if matches:
        FileSystems.delete([metadata.path for metadata in matches])
    if remove_folder and FileSystems.exists(folder):
        FileSystems.delete([folder])


def run(argv=None):
    """Parses the arguments (ours and Beam's), runs the pipeline, returns the counts."""
    from colorkeras import store
    from colorkeras.images import DEFAULT_MAX_PIXELS

    parser = argparse.ArgumentParser(
        prog="python -m colorkeras.bulk",
        description="Colorize a whole archive with Apache Beam's RunInference; other flags go to Beam (--runner and its options).",
        formatter_class=cli.HelpFormatter,
    )
    parser.add_argument("--input", required=True, metavar="PATTERN", help="a folder (searched recursively) or a glob pattern; ** reaches nested folders")
    parser.add_argument("--output", required=True, metavar="DIR", help="folder for the PNG results, _failures.csv and nothing else")
    parser.add_argument("--model", default=None, metavar="RUN", help="run name in saved_models/ or a run folder (default: the default run)")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse images with more pixels than this")
    parser.add_argument("--verbose", action="store_true", help="show Beam's and TensorFlow's own log lines")
    args, beam_args = parser.parse_known_args(argv)

    try:
        import apache_beam as beam
        from apache_beam.options.pipeline_options import PipelineOptions
    except ImportError:
        raise ValueError('Apache Beam is not installed: pip install -e ".[beam]"') from None

    run_folder = store.resolve_run(args.model)
    base, pattern, rooted = split_input(args.input)
    output = args.output.rstrip("/")
    if "://" not in output:  # A local folder: one we cannot write is said now, not by a failed pipeline step.
        store.check_writable(output, folder=True)
    _make_parent(posixpath.join(output, TEMPORARY, "x"))
    clear_partial(output)
    options = PipelineOptions(beam_args)
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, pattern, base, output, run_folder, args.max_pixels, rooted)
    result = pipeline.run()
    result.wait_until_finish()
    clear_partial(output, remove_folder=True)
    return counts(result)


def main(argv=None):
    from colorkeras import store

    try:
        found = run(argv)
    except (ValueError, store.RunError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; finished outputs are complete, run again to do the rest", file=sys.stderr)
        return 130
    print(f"Done: {found['done']} colorized, {found['skipped']} skipped (already there), {found['failed']} failed")
    return 1 if found["failed"] else 0


if __name__ == "__main__":
    import re

    cli.run(main, also=None if "--verbose" in sys.argv else re.compile(BEAM_LOG))
