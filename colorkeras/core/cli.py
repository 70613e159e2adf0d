"""What every command line shares: help text and a quiet TensorFlow.

No TensorFlow here: ``--help`` must answer before any of it loads.
"""

import argparse
import dataclasses
import logging
import os
import re
import sys
import threading
import time

# Lines TensorFlow's C++ runtime writes straight to the process's stderr (file
# descriptor 2), which TF_CPP_MIN_LOG_LEVEL does not silence in TF 2.21: absl's
# "All log messages before absl::InitializeLog()" and glog-style "I0000 ..." lines.
# Also the second line of TensorFlow's CPU-feature notice ("To enable the following
# instructions: AVX2 AVX512F ... rebuild TensorFlow"), and Python's absl warnings
# ("WARNING:absl:Please consider providing the trackable_obj argument", from the
# TFLite converter), which concern TensorFlow's own internals, not the user's work.
NATIVE_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)|[IWE]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]"
    r"|To enable the following instructions: |WARNING:absl:)"
)
log = logging.getLogger("colorkeras")
# The library's messages (logging, never print): a command line shows INFO and above, a training's on stdout (its
# log, beside Keras's epoch lines) and every other's on stderr (standard output is for the results).
STDOUT_LOGGERS = ("colorkeras.training",)
LOGS_ENV = "COLORKERAS_TF_LOGS"  # 1 shows TensorFlow's own log lines.
_FILTERING = False  # Whether this process's stderr already goes through the filter.


def quiet_tensorflow(also=None):
    """What a command line and the Python API do before TensorFlow loads: its own
    log lines hidden, and the lines ``also`` matches (``COLORKERAS_TF_LOGS=1`` shows them)."""
    if os.environ.get(LOGS_ENV) != "1":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    quiet_native_logs(also)


def count(text):
    """An argparse type: a whole number of at least 1 (a limit of 0 would read as
    "none" to a user but as "no limit" to a slice)."""

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, received {value}")
    return value


class Progress:
    """Progress of long work on stderr, with the time left: a line redrawn in place on
    a terminal, else a line at most every ``every`` seconds (and at the end), so a log
    shows that the work goes on and for how long. ``update(done)``; ``done`` counts
    ``unit``s out of ``total``."""

    def __init__(self, total, unit="image", label="", every=15.0, stream=None):
        self.total, self.unit, self.label, self.every = max(int(total), 0), unit, label, every
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.shown = self.started
        self.finished = False

    def update(self, done):
        if not log.isEnabledFor(logging.INFO):  # The Python API shows no progress unless its caller's logging asks.
            return
        now = time.monotonic()
        end = done >= self.total
        if self.finished or not (self.terminal or end or now - self.shown >= self.every):
            return
        self.shown, self.finished = now, end
        elapsed = now - self.started
        left = elapsed / done * (self.total - done) if done else float("nan")
        line = f"{self.label}{done:,}/{self.total:,} {self.unit}s, {elapsed:.0f} s" + (
            "" if end else (f", about {left:.0f} s left" if done else "")
        )
        self.stream.write(f"\r{line:<79}" + ("\n" if end else "") if self.terminal else line + "\n")
        self.stream.flush()


def options_from(cls, args, **more):
    """The options dataclass ``cls`` built from parsed flags ``args`` (each field from the flag of its name;
    flags it has no field for left out), with ``more`` fields given beside them."""
    names = {field.name for field in dataclasses.fields(cls)}
    return cls(**{key: value for key, value in vars(args).items() if key in names}, **more)


MODEL_HELP = "run name in saved_models/ or a run folder (default: the default run)"


def command_parser(name, description):
    """The parser of ``python -m colorkeras.<name>``: its help shows each flag's default."""
    return argparse.ArgumentParser(
        prog=f"python -m colorkeras.{name}", description=description, formatter_class=HelpFormatter
    )


def add_model_flag(parser, help=MODEL_HELP):
    """``--model RUN``: the run that colorizes (None: the default run)."""
    parser.add_argument("--model", default=None, metavar="RUN", help=help)


def add_serving_flags(parser, whose):
    """``--render-size``, ``--saturation``, ``--temperature`` and ``--prior-weight``: a run's serving defaults,
    overridden where given (None where not: ``whose`` defaults, as the help says, hold)."""
    parser.add_argument("--render-size", type=int, help=f"short side the chroma is predicted at (default: {whose})")
    parser.add_argument("--saturation", type=float, help=f"HSV saturation factor, 1.0 = off (default: {whose})")
    parser.add_argument(
        "--temperature", type=float, help=f"annealed-mean temperature for class heads, 1.0 = mean (default: {whose})"
    )
    parser.add_argument(
        "--prior-weight",
        type=float,
        help=f"decode-time class rebalancing for class heads, in [0, 1], 0 = off (default: {whose})",
    )


def add_output_flags(parser):
    """``--max-pixels`` and ``--format``, as every command that writes images takes them."""
    from colorkeras.core.archive import FORMATS
    from colorkeras.core.images import DEFAULT_MAX_PIXELS

    parser.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse images with more pixels than this"
    )
    parser.add_argument(
        "--format",
        choices=list(FORMATS),
        default="png",
        help="the outputs' container: png and tiff keep a 16-bit input's depth; jpeg and webp are 8-bit",
    )


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: X)" only where the help does not say the default already,
    and never for required options or defaults of None."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "default" in text
            or action.required
            or action.default in (None, argparse.SUPPRESS)
            or action.option_strings == []
        ):
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            return text
        return super()._get_help_string(action)


def quiet_native_logs(also=None):
    """Filters TensorFlow's native log lines out of stderr for the rest of the process.

    File descriptor 2 is pointed at a pipe; a thread forwards every other line
    (Python's warnings, tracebacks, our messages, progress bars) to the real
    stderr, in order. Set ``COLORKERAS_TF_LOGS=1`` to see everything.
    """
    global _FILTERING
    if os.environ.get(LOGS_ENV) == "1" or _FILTERING:
        return
    _FILTERING = True
    sys.stderr.flush()
    real, original = os.dup(2), os.dup(2)
    reader, writer = os.pipe()
    os.dup2(writer, 2)
    os.close(writer)

    def forward():
        with os.fdopen(reader, "rb", buffering=0) as source, os.fdopen(real, "wb", buffering=0) as target:
            pending = b""
            while True:
                chunk = source.read(65536)
                if not chunk:
                    break
                pending += chunk
                # Progress bars redraw with \r and no newline: pass partial lines on at once.
                *lines, pending = re.split(rb"(?<=\n)", pending)
                for line in lines:
                    text = line.decode("utf-8", "replace")
                    if not NATIVE_LOG.match(text) and not (also and also.match(text)):
                        target.write(line)
                if (
                    pending
                    and not NATIVE_LOG.match(pending.decode("utf-8", "replace"))
                    and not _may_become_log(pending)
                ):
                    target.write(pending)
                    pending = b""
            if pending:
                target.write(pending)

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()

    import atexit

    def restore():
        # Closing our end of the pipe lets the thread drain it and stop.
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(original, 2)
        thread.join(timeout=2)

    atexit.register(restore)


def _may_become_log(partial_line):
    """Whether an unfinished line could still turn out to be a native log line
    (it starts as one does); anything else is passed on at once."""
    return len(partial_line) < 300 and bool(re.match(rb"^([IWE]\d|WARNING|INFO|W$|WA|I$|IN|T$|To($| ))", partial_line))


class _Streams(logging.Handler):
    """Writes each record's message alone: a training's INFO to stdout, the rest to stderr (looked up at each
    record, so the stderr filter of ``quiet_native_logs`` and pytest's capture both see it)."""

    def emit(self, record):
        to_stdout = record.name.startswith(STDOUT_LOGGERS) and record.levelno < logging.WARNING
        stream = sys.stdout if to_stdout else sys.stderr
        try:
            stream.write(self.format(record) + "\n")
            stream.flush()
        except (OSError, ValueError):  # A closed pipe (| head): nothing left to tell.
            pass


def show_logs(level=logging.INFO):
    """What a command line shows of the library's messages: ``level`` and above, plain."""
    if not any(isinstance(handler, _Streams) for handler in log.handlers):
        log.addHandler(_Streams())
    log.setLevel(level)
    log.propagate = False


def run(main, also=None):
    """Runs a CLI's ``main()`` with quiet TensorFlow logs (and ``also``) and exits with its status.

    Ctrl-C (SIGINT) raises KeyboardInterrupt even where the parent started us with
    SIGINT ignored, as shells do for background commands and as some job runners
    do: Python keeps an inherited "ignore", and then neither Ctrl-C nor the
    dashboard's Cancel (which sends SIGINT) would stop a training.
    """
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    quiet_tensorflow(also)  # Before any command imports TensorFlow.
    sys.exit(main())
