"""Colorize whole archives on Apache Beam: the pipeline, its planning from the output folder, and its summary.

The command line, its examples and what it does in detail: ``colorkeras/bulk.py``
(``python -m colorkeras.bulk``).
"""

import csv
import difflib
import io
import json
import logging
import os
import posixpath
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from colorkeras.core import archive, store
from colorkeras.core.archive import FORMATS
from colorkeras.core.images import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, ImageError, open_image
from colorkeras.serving.inference import Colorizer

log = logging.getLogger(__name__)

TEMPORARY = ".colorkeras-partial"  # Under DIR: outputs being written; cleared at the start of a run.


FAILURES = "_failures.csv"


DROPPED = "dropped.json"  # Under TEMPORARY: what the outputs' format could not hold, for the summary.


def split_input(given):
    """(base folder, glob pattern, rooted) for ``--input``: a folder means everything
    under it, a file itself; object stores have no folders, so there a path that is
    not an object is taken as one. ``rooted``: outputs go under the base folder's
    name, as the colorize CLI mirrors a folder (a single file's goes in DIR itself)."""

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


def output_name(path, base, output, rooted=True, suffix=".png"):
    """The output of input ``path`` (under ``base``), as the colorize CLI names it."""

    relative = PurePosixPath(path[len(base) :].lstrip("/"))
    root = (PurePosixPath(base.rstrip("/")).name or "root") if rooted else ""
    return posixpath.join(output, root, str(relative.with_suffix(suffix)))


def resolve_clashes(target_and_sources):
    """One output name per input: sources that share one keep their extension in it."""
    target, sources = target_and_sources
    sources = sorted(sources)
    if len(sources) == 1:
        yield sources[0], target
        return
    stem, suffix = posixpath.splitext(target)
    for source in sources:
        extension = posixpath.splitext(source)[1].lstrip(".").lower()
        yield source, f"{stem}_{extension}{suffix}"


def plan(pattern, base, output, rooted=True, suffix=".png"):
    """The archive's (input, output) pairs, in the driver: every image ``pattern``
    matches, named as the colorize CLI names it (one output per input; inputs that
    would share one keep their extension in its name), sorted by input."""
    from apache_beam.io.filesystems import FileSystems

    paths = sorted(
        metadata.path
        for metadata in FileSystems.match([pattern])[0].metadata_list
        if posixpath.splitext(metadata.path)[1].lower() in IMAGE_EXTENSIONS and f"/{TEMPORARY}/" not in metadata.path
    )
    by_output = {}
    for path in paths:
        by_output.setdefault(output_name(path, base, output, rooted, suffix), []).append(path)
    return sorted(pair for item in by_output.items() for pair in resolve_clashes(item))


def existing(paths):
    """Which of ``paths`` exist: one listing of each folder they are in, not a call per path."""
    from apache_beam.io.filesystems import FileSystems

    found = set()
    for folder in sorted({posixpath.dirname(path) for path in paths}):
        try:
            matched = FileSystems.match([posixpath.join(folder, "*")])[0].metadata_list
        except Exception:
            continue
        found.update(metadata.path for metadata in matched)
    return {path for path in paths if path in found}


def made_otherwise(pairs, run, fmt):
    """The outputs among (input, existing output) ``pairs`` that these inputs, this run
    and this format did not make (their recorded recipe differs, or there is none):
    a rerun skips only its own outputs."""
    from apache_beam.io.filesystems import FileSystems

    if not pairs:
        return []
    fingerprint = store.run_fingerprint(run)
    stale = []
    for source, target in pairs:
        with FileSystems.open(source) as stream:
            expected = archive.recipe(stream.read(), fingerprint, fmt)
        with FileSystems.open(target) as stream:
            if archive.read_recipe(stream.read()) != expected:
                stale.append(target)
    return stale


def colorize_fn(run, max_pixels, output, fmt="png"):
    """This project's Beam ``DoFn``: (input, output) in; the PNG written through a
    temporary name and renamed into place; ``(path, reason)`` out for a file that
    failed (and ``("dropped", what, path)`` for metadata the format cannot hold).
    A plain ParDo, so every runner runs it (Beam's RunInference batches in
    ``finish_bundle``, whose outputs the Dask runner drops)."""
    import apache_beam as beam
    from apache_beam.metrics import Metrics
    from apache_beam.utils import shared

    class Colorize(beam.DoFn):
        def __init__(self):
            self.run, self.max_pixels, self.output, self.fmt = str(run), max_pixels, output, fmt
            self._shared = shared.Shared()  # One model per worker process, whatever the bundles.

        def setup(self):
            self.model = self._shared.acquire(self._load, tag=f"{self.run}:{self.max_pixels}")

        def _load(self):
            from apache_beam.io.filesystems import FileSystems

            colorizer = Colorizer(self.run, max_pixels=self.max_pixels)  # tf.saved_model.load inside.
            colorizer.fingerprint = store.run_fingerprint(colorizer.path)  # What outputs record of the run.
            # A marker per load, so the driver can say how many times the model was loaded.
            with FileSystems.create(posixpath.join(self.output, TEMPORARY, "loads", uuid.uuid4().hex)) as stream:
                stream.write(b"")
            return _Holder(colorizer)

        def process(self, source_and_target):
            from apache_beam.io.filesystems import FileSystems

            source, target = source_and_target
            if FileSystems.exists(target):  # Written meanwhile (a retried task, or another run).
                return
            try:
                with FileSystems.open(source) as stream:
                    payload = stream.read()
                image = open_image(io.BytesIO(payload), self.max_pixels, name=source)
                colorizer = self.model.colorizer
                colour = colorizer.colorize(image)
                # The same recipe as the colorize command's, so a rerun of either knows its outputs.
                made = colorizer.provenance(recipe=archive.recipe(payload, colorizer.fingerprint, self.fmt))
                encoded, dropped = archive.encode_result(colour, self.fmt, archive.Source.of(payload, image), made)
            except (ImageError, ValueError, OSError) as error:
                Metrics.counter("colorkeras", "failed").inc()
                yield ("failed", source, str(error))
                return
            for what in dropped:
                yield ("dropped", what, source)
            temporary = posixpath.join(self.output, TEMPORARY, f"{uuid.uuid4().hex}{posixpath.splitext(target)[1]}")
            with FileSystems.create(temporary) as stream:
                stream.write(encoded)
            _make_parent(target)
            FileSystems.rename([temporary], [target])
            Metrics.counter("colorkeras", "done").inc()

    return Colorize()


class _Holder:
    """What ``shared.Shared`` keeps: it needs an object it can hold a weak reference to."""

    def __init__(self, colorizer):
        self.colorizer = colorizer


def _make_parent(path):
    """The folder ``path`` goes in (local filesystems need it; object stores have none)."""
    from apache_beam.io.filesystems import FileSystems

    parent = posixpath.dirname(path)
    if parent and not FileSystems.exists(parent):
        try:
            FileSystems.mkdirs(parent)
        except OSError:
            pass  # Made meanwhile by another worker.


def write_failures(keyed_rows, output):
    """The failures, DIR/.colorkeras-partial/_failures.csv (path, reason), and what the
    format could not hold, .../dropped.json ({what: count}), each written whole
    through a temporary name. A file comes once even where a retried task reported
    it twice."""

    from apache_beam.io.filesystems import FileSystems

    _, rows = keyed_rows
    rows = set(map(tuple, rows))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["path", "reason"])
    writer.writerows(sorted((path, reason) for kind, path, reason in rows if kind == "failed"))
    dropped = {}
    for kind, what, _ in rows:
        if kind == "dropped":
            dropped[what] = dropped.get(what, 0) + 1
    for name, content in ((FAILURES, buffer.getvalue()), (DROPPED, json.dumps(dropped))):
        temporary = posixpath.join(output, TEMPORARY, f"{uuid.uuid4().hex}.tmp")
        with FileSystems.create(temporary) as stream:
            stream.write(content.encode())
        FileSystems.rename([temporary], [posixpath.join(output, TEMPORARY, name)])
    return posixpath.join(output, FAILURES)


def build_pipeline(pipeline, todo, output, run, max_pixels, fmt="png"):
    """The pipeline over the planned ``todo`` pairs: one chain from the plan to the
    failures file, of transforms every Beam runner has (Create, Reshuffle, ParDo,
    GroupByKey): the Dask runner computes only the graph of the last transform."""
    import apache_beam as beam

    _ = (
        pipeline
        | "Plan" >> beam.Create(todo)
        | "Spread" >> beam.Reshuffle()
        | "Colorize" >> beam.ParDo(colorize_fn(run, max_pixels, output, fmt))
        | "Key" >> beam.Map(lambda row: (None, row))
        | "AllFailures" >> beam.GroupByKey()
        | "FailuresCsv" >> beam.Map(write_failures, output)
    )


def clear_partial(output, remove_folder=False):
    """Removes what a killed run left half-written under DIR/.colorkeras-partial/ (and,
    at the end of a run, that folder)."""
    from apache_beam.io.filesystems import FileSystems

    folder = posixpath.join(output, TEMPORARY)
    if FileSystems.exists(folder):
        FileSystems.delete([folder])
    if not remove_folder:
        FileSystems.mkdirs(folder)


def count_loads(output):
    from apache_beam.io.filesystems import FileSystems

    try:
        return len(FileSystems.match([posixpath.join(output, TEMPORARY, "loads", "*")])[0].metadata_list)
    except Exception:
        return 0


def read_dropped(output):
    """{what the format could not hold: outputs} from the pipeline's last step."""

    from apache_beam.io.filesystems import FileSystems

    path = posixpath.join(output, TEMPORARY, DROPPED)
    if not FileSystems.exists(path):
        return {}
    with FileSystems.open(path) as stream:
        return json.loads(stream.read().decode())


def finish_failures(output, todo):
    """Moves the pipeline's failures file into place (or removes an old one where
    nothing failed); returns the failed paths."""
    from apache_beam.io.filesystems import FileSystems

    written, target = posixpath.join(output, TEMPORARY, FAILURES), posixpath.join(output, FAILURES)
    rows = []
    if todo and FileSystems.exists(written):
        with FileSystems.open(written) as stream:
            rows = list(csv.reader(io.StringIO(stream.read().decode())))[1:]
    if FileSystems.exists(target):
        FileSystems.delete([target])
    if rows:
        FileSystems.rename([written], [target])
    return [row[0] for row in rows]


class Progress:
    """A line every few seconds while the pipeline runs: outputs there out of those to
    do, from the output folder itself (any runner, engine metrics or not). Local
    output folders only; an object store is not polled."""

    def __init__(self, targets, interval=5.0, stream=sys.stderr):
        self.targets, self.interval, self.stream = list(targets), interval, stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._report, name="bulk-progress", daemon=True)

    def __enter__(self):
        self.started = time.time()
        if self.targets and "://" not in self.targets[0]:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval)

    def _report(self):
        while not self._stop.wait(self.interval):
            written = sum(os.path.exists(target) for target in self.targets)
            rate = written / max(time.time() - self.started, 1e-9)
            log.info(f"[{written}/{len(self.targets)}] colorized so far, {rate:.1f} images/s")


RUNNERS = {"DaskRunner": "apache_beam.runners.dask.dask_runner.DaskRunner"}  # Short names Beam itself does not know.


DASK_PARTITION_SIZE = 4  # Images per Dask task (Beam's default, 128, puts a small archive on one worker).


def beam_arguments(beam_args):
    """Beam's own flags, with the short runner names it lacks made full (``--runner
    DaskRunner``), and, on Dask, a few images per task unless the user chose."""
    arguments, dask = [], False
    for index, argument in enumerate(beam_args):
        name, equals, value = argument.partition("=")
        if name == "--runner" and equals and value in RUNNERS:
            argument, dask = f"--runner={RUNNERS[value]}", True
        elif index > 0 and beam_args[index - 1] == "--runner" and argument in RUNNERS:
            argument, dask = RUNNERS[argument], True
        elif (
            name == "--runner"
            and (value or (beam_args[index + 1] if index + 1 < len(beam_args) else "")) == RUNNERS["DaskRunner"]
        ):
            dask = True
        arguments.append(argument)
    if dask and not any(a.split("=")[0] in ("--dask_npartitions", "--dask_partition_size") for a in arguments):
        arguments.append(f"--dask_partition_size={DASK_PARTITION_SIZE}")
    return arguments


def refuse_unknown_flags(arguments, ours=()):
    """Raises ``ValueError`` naming each flag in ``arguments`` that neither our flags
    ``ours`` nor any of Beam's pipeline options knows (a typo such as ``--formt``
    would otherwise be dropped by Beam with a log line, and the run go on without it)."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    try:  # The Dask runner's options are declared in its own module.
        import apache_beam.runners.dask.dask_runner  # noqa: F401
    except ImportError:
        pass
    # As PipelineOptions.get_all_options builds its parser: each options class once.
    beams = _BeamArgumentParser(allow_abbrev=False)
    for options in {str(cls): cls for cls in PipelineOptions.__subclasses__()}.values():
        options._add_argparse_args(beams)
    _, unknown = beams.parse_known_args(arguments)
    flags = [argument.split("=", 1)[0] for argument in unknown if argument.startswith("-")]
    if not flags and unknown:
        raise ValueError(f"unexpected argument {unknown[0]!r}: the input is given with --input")
    if flags:
        known = [*ours, *(flag for action in beams._actions for flag in action.option_strings)]
        hints = [
            f" (did you mean {close[0]}?)" if (close := difflib.get_close_matches(flag, known, n=1)) else ""
            for flag in flags
        ]
        named = ", ".join(flag + hint for flag, hint in zip(flags, hints, strict=False))
        raise ValueError(f"unknown flag(s): {named}; see python -m colorkeras.bulk --help and Beam's pipeline options")


@dataclass
class BulkOptions:
    """What ``run`` does: each field is ``python -m colorkeras.bulk``'s flag of that name."""

    input: str  # A folder (searched recursively) or a glob pattern; ** reaches nested folders.
    output: str  # The folder (local, gs://, s3://) for the results and _failures.csv.
    model: str | None = None  # A run's name or folder; None: the default run.
    max_pixels: int = DEFAULT_MAX_PIXELS  # Larger images fail (listed in _failures.csv).
    format: str = "png"  # One of FORMATS.
    overwrite: bool = False  # Replace outputs these inputs, run and format did not make.
    beam_args: list[str] = field(default_factory=list)  # Beam's own flags (--runner and its options).
    our_flags: tuple[str, ...] = ()  # The command line's flags, named when a Beam flag is unknown.


def run(options: BulkOptions) -> dict:
    """Runs the pipeline ``options`` describe; returns the counts:
    {"done", "skipped", "failed", "missing", "loads", "seconds", ...}. A setting, a run or
    an input that cannot be used raises ``ValueError`` or ``RunError`` before anything is made."""

    try:
        import apache_beam as beam
        from apache_beam.io.filesystems import FileSystems
        from apache_beam.options.pipeline_options import PipelineOptions
    except ImportError:
        raise ValueError('Apache Beam is not installed: pip install -e ".[beam]"') from None

    refuse_unknown_flags(options.beam_args, options.our_flags)
    beam_args = beam_arguments(options.beam_args)
    if any(RUNNERS["DaskRunner"] in argument for argument in beam_args):
        try:
            import dask.distributed  # noqa: F401 - whether the extra is installed.
        except ImportError:
            raise ValueError(
                'the Dask runner needs dask.distributed: pip install "apache-beam[dask]==2.77.*"'
            ) from None
    run_folder = store.resolve_run(options.model)
    base, pattern, rooted = split_input(options.input)
    output = options.output.rstrip("/")
    if "://" not in output:  # A local folder: one we cannot write is said now, not by a failed pipeline step.
        store.check_writable(output, folder=True, create=False)  # Nothing made yet: a refusal below leaves no folder.
    started = time.time()
    pairs = plan(pattern, base, output, rooted, FORMATS[options.format])
    if not pairs:
        raise ValueError(f"no images found in {options.input} (PNG, JPEG, WebP, BMP, TIFF or GIF files)")
    there = existing([target for _, target in pairs])
    stale = made_otherwise(
        [(source, target) for source, target in pairs if target in there], run_folder, options.format
    )
    if stale and not options.overwrite:
        raise ValueError(
            f"{len(stale)} output(s) already in {output} were not made from these inputs with this run and format "
            f"({stale[0]}{', ...' if len(stale) > 1 else ''}); "
            "pass --overwrite to replace them, or choose another --output"
        )
    if stale:
        FileSystems.delete(stale)  # Asked for: --overwrite.
        there -= set(stale)
    todo = [(source, target) for source, target in pairs if target not in there]
    found = {"done": 0, "skipped": len(pairs) - len(todo), "failed": 0, "missing": 0, "loads": 0}
    clear_partial(output)
    log.info(f"{len(pairs)} image(s): {len(todo)} to colorize, {found['skipped']} already there")
    if todo:
        pipeline = beam.Pipeline(options=PipelineOptions(beam_args))
        build_pipeline(pipeline, todo, output, run_folder, options.max_pixels, options.format)
        with Progress([target for _, target in todo]):
            result = pipeline.run()
            try:
                result.wait_until_finish()
            finally:
                client = getattr(result, "client", None)  # The Dask runner's connection to the scheduler.
                if client is not None:
                    client.close()
    failed = set(finish_failures(output, todo))
    # The counts come from what is on disk, not from the engine's metrics (the Dask
    # runner has none, and a retried task counts twice there): done is every output
    # now present that was missing; anything neither written nor failed is missing.
    written = existing([target for _, target in todo])
    found.update(done=len(written), failed=len(failed), loads=count_loads(output) if todo else 0)
    found["failed_files"] = sorted(str(source) for source in failed)
    found["failures_csv"] = posixpath.join(output, FAILURES)
    found["missing"] = sum(1 for source, target in todo if target not in written and source not in failed)
    found["dropped"] = read_dropped(output) if todo else {}
    clear_partial(output, remove_folder=True)
    found["seconds"] = time.time() - started
    return found
