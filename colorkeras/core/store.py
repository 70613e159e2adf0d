"""The run store: ``saved_models/<run>/``, the one place that keeps model state.

A run is complete when its folder holds ``config.json`` and ``saved_model/``. A run
is written into a hidden sibling folder ``.<run>.partial/`` (checkpoints, history)
and renamed into place only once everything is written, so a crash never leaves a
half-written folder that looks like a run, and never touches another run. The
partial folder is what ``--resume`` continues from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from typing import TypeAlias

    # What every path argument here accepts: anything Path() takes.
    StrPath: TypeAlias = str | os.PathLike[str]

MODELS_ENV = "COLORKERAS_MODELS"
DEFAULT_FILE = "DEFAULT"  # Names the run that colorizes when none is given (the photo model).
REFERENCE_FILE = "REFERENCE"  # Names the reference run for training and metrics (CIFAR-10).
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Run:
    """One run's folder and the name of every file in it: the run layout, in one place.

    ``Run(path).config`` is ``path/config.json`` and so on; train, export, jobs,
    evaluate, inference and the dashboard name files only through these.
    """

    SAVED_MODEL = "saved_model"  # The TensorFlow SavedModel: what serves.
    KERAS_MODEL = "model.keras"  # The Keras model without optimizer state: to fine-tune.
    AUTOMATIC_MODEL = "automatic.keras"  # A hint run's automatic network, for calls without hints (export --automatic).
    CONFIG = "config.json"  # Every resolved setting, the data, versions, machine, wall time.
    METRICS = "metrics.json"  # Test-split metrics at the end of training.
    HISTORY = "history.csv"  # One row per epoch.
    SAMPLES = "samples.png"  # Test images: gray / colorized / truth.
    BENCH = "bench.json"  # python -m colorkeras.bench --json, where measured.
    # Training's scratch files, removed once the run is published:
    CHECKPOINT = "checkpoint.keras"  # Model and optimizer after the last completed epoch.
    STATE = "state.json"  # How many epochs the checkpoint holds.
    PROGRESS = "progress.json"  # Live progress for the dashboard.
    SCRATCH = (CHECKPOINT, STATE, PROGRESS)

    def __init__(self, path: StrPath) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __truediv__(self, name: StrPath) -> Path:
        return self.path / name

    @property
    def name(self) -> str:
        return self.path.name

    saved_model = property(lambda self: self.path / self.SAVED_MODEL)
    keras_model = property(lambda self: self.path / self.KERAS_MODEL)
    automatic_model = property(lambda self: self.path / self.AUTOMATIC_MODEL)
    config = property(lambda self: self.path / self.CONFIG)
    metrics = property(lambda self: self.path / self.METRICS)
    history = property(lambda self: self.path / self.HISTORY)
    samples = property(lambda self: self.path / self.SAMPLES)
    checkpoint = property(lambda self: self.path / self.CHECKPOINT)
    state = property(lambda self: self.path / self.STATE)
    progress = property(lambda self: self.path / self.PROGRESS)

    @property
    def partial(self) -> Run:
        """The hidden sibling a run is written in before it is published."""
        return Run(partial_path(self.path))

    def is_complete(self) -> bool:
        return self.config.is_file() and (self.saved_model / "saved_model.pb").is_file()

    def is_interrupted(self) -> bool:
        return self.state.is_file() and self.checkpoint.is_file()

    def read_config(self, default: Any = None) -> Any:
        return read_json(self.config, default)

    def read_metrics(self, default: Any = None) -> Any:
        return read_json(self.metrics, default)

    def read_history(self) -> list[dict[str, str]]:
        """history.csv as a list of dicts, one per epoch (empty before the first)."""
        import csv

        if not self.history.is_file():
            return []
        with self.history.open(newline="") as stream:
            return list(csv.DictReader(stream))

    def write_json(self, name: str, value: Any) -> None:
        atomic_write_json(self.path / name, portable(value))

    def write_config(self, record: dict[str, Any]) -> None:
        """Writes ``config.json``, the run's one record: the only place it is written
        (training at its start and end, export, rebuild). ``record["settings"]`` holds
        every resolved setting (``TrainConfig``); the rest says where the run came
        from (data, versions, machine, wall time, an export's source, training done
        elsewhere)."""
        if not isinstance(record.get("settings"), dict) or "architecture" not in record["settings"]:
            raise ValueError("a run's record needs its resolved settings (an architecture among them)")
        atomic_write_json(self.config, portable(record))

    def publish(self, final: StrPath, overwrite: bool = False) -> Run:
        """Moves this (finished, partial) folder to ``final`` and drops training's scratch files."""
        publish(self.path, final, overwrite=overwrite)
        for scratch in self.SCRATCH:
            (Path(final) / scratch).unlink(missing_ok=True)
        return Run(final)


class RunError(Exception):
    """A run is missing, incomplete, or its name is not allowed; the message says which."""


# The repository's root: saved_models/ is in it, ../shared beside it.
REPOSITORY = Path(__file__).resolve().parents[2]


# === Paths in records: portable where written, local where read ===

# An absolute path inside a string: not part of a URL ("http://x/y") or of a
# relative path ("a/b"), up to white space, a quote or a separator of a list.
ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/-])/[^\s\"',;]+")


def portable_path(path: StrPath) -> str:
    """``path`` as a record stores it: relative to the repository where it lies in
    it or beside it (``saved_models/photos-unet``, ``../shared/datasets/photos``,
    as the README names them), under ``~`` in the home folder, else as given.
    Run records and reports that travel with the repository hold no machine's
    absolute path this way; ``local_path`` finds the file again."""
    path = Path(path)
    if not path.is_absolute():
        return str(path)
    places = ((REPOSITORY, ""), (REPOSITORY.parent, "../"), (Path.home(), "~/"))
    for base, prefix in places:
        if base != Path(base.anchor) and (path == base or base in path.parents):
            relative = path.relative_to(base).as_posix()
            return (prefix + relative).rstrip("/") if relative != "." else (prefix.rstrip("/") or ".")
    return str(path)


def portable(value: Any) -> Any:
    """``value`` (a record: dicts, lists, strings, numbers) with every absolute path
    in its strings written by ``portable_path``; commands and phrases keep their words."""
    if isinstance(value, dict):
        return {key: portable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(item) for item in value]
    if isinstance(value, str) and "/" in value:
        return ABSOLUTE_PATH.sub(lambda match: portable_path(match.group(0)), value)
    return value


@overload
def local_path(text: str) -> str: ...
@overload
def local_path(text: None) -> None: ...
def local_path(text: str | None) -> str | None:
    """A path a record stores (``portable_path``), as this machine finds it: ``~``
    expanded, and a relative path that is not there from the working folder taken
    from the repository's root. Anything else (a run's name) is returned as given."""
    if not isinstance(text, str) or not text:
        return text
    path = Path(text).expanduser()
    if path.is_absolute() or path.exists() or not (REPOSITORY / path).exists():
        return str(path) if text.startswith("~") else text
    return str(REPOSITORY / path)


def models_dir() -> Path:
    """``$COLORKERAS_MODELS``, or the repository's ``saved_models/``."""
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV]).expanduser()
    return REPOSITORY / "saved_models"


def validate_run_name(name: object) -> str:
    """Returns ``name`` if it is a plain folder name; raises ``RunError`` otherwise.

    Names may hold letters, digits, '.', '_' and '-', start with a letter or digit,
    and never contain a path separator or '..', so no name escapes the store.
    """
    if not isinstance(name, str) or not _RUN_NAME.match(name) or ".." in name:
        raise RunError(
            f"invalid run name {name!r}: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit), at most 100 characters, no '..' or '/'"
        )
    return name


def run_path(name: str, root: StrPath | None = None) -> Path:
    """The folder of run ``name`` inside the store; refuses names and symlinks that escape it."""
    root = Path(root) if root else models_dir()
    path = root / validate_run_name(name)
    if path.is_symlink() or (path.exists() and root.resolve() not in path.resolve().parents):
        raise RunError(f"run {name!r} points outside {root} (a symlink?); refusing to use it")
    return path


def partial_path(final: StrPath) -> Path:
    final = Path(final)
    return final.parent / f".{final.name}.partial"


def is_complete(path: StrPath) -> bool:
    return Run(path).is_complete()


def run_fingerprint(path: StrPath) -> str:
    """A digest of the run at ``path``'s content (its config and the index of its
    weights): the same on every clone of the same run, unlike ``run_stamp``."""
    digest = hashlib.sha256()
    for name in ("config.json", "saved_model/variables/variables.index", "saved_model/saved_model.pb"):
        file = Path(path) / name
        if file.is_file():
            digest.update(file.read_bytes())
    return digest.hexdigest()


def run_stamp(path: StrPath) -> tuple[tuple[int, int, int] | None, ...]:
    """A value that changes whenever the run at ``path`` is written anew (for caches).

    Publishing renames a whole new folder into place, so the files' change times
    and inode numbers differ from the replaced run's, even within one second.
    """
    path = Path(path)
    parts: list[tuple[int, int, int] | None] = []
    for name in ("config.json", "saved_model/saved_model.pb"):
        try:
            status = (path / name).stat()
        except OSError:
            parts.append(None)
            continue
        parts.append((status.st_ino, status.st_mtime_ns, status.st_size))
    return tuple(parts)


CHECKPOINT_FILE = Run.CHECKPOINT
STATE_FILE = Run.STATE


def is_interrupted_run(path: StrPath) -> bool:
    """Whether ``path`` holds a training of ours that stopped before it was published."""
    return Run(path).is_interrupted()


def check_replaceable(final: StrPath) -> None:
    """Refuses to let ``--overwrite`` replace a folder that is not a run of ours.

    An absent or empty folder, a complete run or an interrupted one may be replaced;
    any other folder (``--run-dir ~/Documents``) holds the user's files, so it is
    named and left untouched. Raises ``RunError``.
    """
    final = Path(final)
    if not final.exists():
        return
    if not final.is_dir() or final.is_symlink():
        raise RunError(f"{final} is not a folder; refusing to replace it")
    if is_complete(final) or is_interrupted_run(final) or not any(final.iterdir()):
        return
    raise RunError(
        f"{final} holds files that are not a colorkeras run; refusing to replace it "
        "even with --overwrite: choose an empty or new folder"
    )


def list_runs(root: StrPath | None = None) -> list[str]:
    """Names of the complete runs in the store, sorted."""
    root = Path(root) if root else models_dir()
    if not root.is_dir():
        return []
    return sorted(
        path.name
        for path in root.iterdir()
        if not path.name.startswith(".") and path.is_dir() and not path.is_symlink() and is_complete(path)
    )


def _marked_run(root: Path, marker: str) -> str | None:
    """The complete run named in the file ``marker`` of the store, else None."""
    path = root / marker
    if path.is_file():
        name = path.read_text().strip()
        if name in list_runs(root):
            return name
    return None


def default_run_name(root: StrPath | None = None) -> str | None:
    """The run that colorizes when none is given: ``saved_models/DEFAULT``, else the first run, else None."""
    root = Path(root) if root else models_dir()
    runs = list_runs(root)
    return _marked_run(root, DEFAULT_FILE) or (runs[0] if runs else None)


def takes_hints(path: StrPath) -> bool:
    """Whether the run in folder ``path`` was trained to take colour hints."""
    settings = (read_json(Run(path).config, {}) or {}).get("settings") or {}
    return bool(settings.get("hints"))


def reference_run_name(root: StrPath | None = None) -> str | None:
    """The reference run for training and metrics: ``saved_models/REFERENCE``, else the default run."""
    root = Path(root) if root else models_dir()
    return _marked_run(root, REFERENCE_FILE) or default_run_name(root)


def resolve_run(model: StrPath | None = None, root: StrPath | None = None) -> Path:
    """A run given by folder path or by name (default: the default run) -> its folder."""
    if model is None:
        name = default_run_name(root)
        if name is None:
            raise RunError(f"no trained run in {Path(root) if root else models_dir()}; train one first")
        return run_path(name, root)
    candidate = Path(model).expanduser()
    if ("/" in str(model) or os.sep in str(model)) or (candidate.is_dir() and is_complete(candidate)):
        if not is_complete(candidate):
            raise RunError(f"{candidate} is not a complete run (it needs config.json and saved_model/)")
        return candidate
    # A PathLike ``model`` that is not a complete run folder ends here too, and is refused
    # as an invalid run name (``validate_run_name`` takes only str), even where the str of
    # the same path would name a run in the store.
    path = run_path(model, root)  # type: ignore[arg-type]
    if not is_complete(path):
        known = ", ".join(list_runs(root)) or "none"
        raise RunError(f"no complete run named {model!r} in {path.parent} (runs: {known})")
    return path


def read_json(path: StrPath, default: Any = None) -> Any:
    """The JSON in ``path``, or ``default`` when there is no such file.

    A file that is there but not JSON (damaged by hand or by a foreign tool) is
    an error that names it, never silently read as the defaults.
    """
    path = Path(path)
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text())
    except UnicodeDecodeError as error:
        raise RunError(f"{path} is not a JSON text file ({error.reason}); restore or delete it") from None
    except ValueError as error:
        raise RunError(f"{path} is damaged: not valid JSON ({error}); restore or delete it") from None


def check_writable(path: StrPath, folder: bool = False, overwrite: bool = True, create: bool = True) -> None:
    """Raises ``RunError`` naming ``path`` unless a file can be written there, or
    with ``folder``, into the folder ``path`` (folders are made as needed); without
    ``overwrite``, also where a file ``path`` already exists (the user's
    ``--overwrite`` not given). For the start of long work whose results go there,
    so a wrong path fails at once, not after the work. ``folder`` without
    ``create`` makes nothing: for a check before other refusals still to come."""
    path = Path(path).expanduser()
    if folder and not create:
        # Nothing is made: the nearest folder that exists must be one we may write in.
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise RunError(f"cannot write into {path}: {existing} is not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise RunError(f"cannot write into {path}: permission denied on {existing}")
        return
    if path.is_dir() and not folder:
        raise RunError(f"cannot write {path}: it is a folder; name a file")
    if not folder and not overwrite and path.exists():
        raise RunError(f"{path} already exists; choose another file or pass --overwrite")
    where, name = (path, "check") if folder else (path.parent, path.name)
    try:
        where.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=f".{name}.", suffix=".tmp")
        os.close(handle)
        os.unlink(temporary)
    except OSError as error:
        raise RunError(f"cannot write {'into ' if folder else ''}{path}: {error.strerror or error}") from None


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back at once)."""
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


def atomic_write_bytes(path: StrPath, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename.

    A crash (or a full disk) leaves either the old file or the new one, never half.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600; the result is the user's like any file they
        # create, so it gets the mode open() would give it (0644 under umask 022).
        os.fchmod(handle, 0o666 & ~current_umask())
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: StrPath, text: str) -> None:
    """``atomic_write_bytes`` for text (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def strict_json_value(value: Any) -> Any:
    """``value`` with every infinite or NaN float replaced by ``None``.

    Python writes those as ``Infinity`` and ``NaN``, which are not JSON: strict
    parsers (browsers, jq, most languages) refuse the whole file. A PSNR of a
    perfect copy is infinite; it is written as null.
    """
    import math

    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json_value(item) for item in value]
    return value


def atomic_write_json(path: StrPath, value: Any) -> None:
    """Writes strict JSON (non-finite numbers as null) through ``atomic_write_text``."""
    text = json.dumps(strict_json_value(value), indent=2, sort_keys=True, allow_nan=False)
    atomic_write_text(path, text + "\n")


def publish(partial: StrPath, final: StrPath, overwrite: bool = False) -> None:
    """Moves a finished ``partial`` folder to ``final`` with one rename.

    With ``overwrite``, an existing ``final`` is moved aside first and deleted only
    after the new run is in place.
    """
    partial, final = Path(partial), Path(final)
    old = None
    if final.exists():
        if not overwrite:
            raise RunError(f"{final} already exists; choose another name or pass --overwrite")
        check_replaceable(final)
        old = final.parent / f".{final.name}.old"
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(partial, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
