"""Background training jobs, one at a time, for the dashboard (or any front end).

A job is ``python -m colorkeras.train ...`` started in its own session, recorded in
``saved_models/.training-job.json``; its live state comes from the run's partial
folder (``progress.json``, ``history.csv``), so it survives a page reload or a
dashboard restart. Cancelling sends SIGINT: the run keeps its checkpoint and can
be resumed.
"""

import fcntl
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from colorkeras import store

JOB_FILE = ".training-job.json"
LOCK_FILE = ".training-job.lock"


class JobError(Exception):
    """A job cannot be started or changed; the message says why."""


@contextmanager
def _locked(root):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A finished child that nobody waited for is a zombie: not alive for us.
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def read_job(root=None):
    """The last job started (running or not) with its ``status``, or None.

    Status: ``running``, ``finished`` (the run is complete), ``cancelled`` or
    ``failed`` (the log's last lines say why).
    """
    root = Path(root) if root else store.models_dir()
    job = store.read_json(root / JOB_FILE)
    if job is None:
        return None
    final = Path(job["run_dir"])
    if _alive(job["pid"]):
        job["status"] = "running"
    elif store.is_complete(final):
        job["status"] = "finished"
    elif job.get("cancelled"):
        job["status"] = "cancelled"
    else:
        job["status"] = "failed"
    return job


def build_command(settings):
    """The training command for dashboard ``settings`` (data, architecture, epochs, ...)."""
    name = store.validate_run_name(settings["name"])
    command = [sys.executable, "-m", "colorkeras.train", "--name", name, "--verbose", "2"]
    flags = {
        "data": "--data",
        "architecture": "--architecture",
        "epochs": "--epochs",
        "batch_size": "--batch-size",
        "learning_rate": "--learning-rate",
        "image_size": "--image-size",
        "limit": "--limit",
    }
    for key, flag in flags.items():
        if settings.get(key) not in (None, ""):
            command += [flag, str(settings[key])]
    return command


def start_job(settings, root=None):
    """Starts a training in the background; refuses while another one runs."""
    root = Path(root) if root else store.models_dir()
    command = build_command(settings)
    final = store.run_path(settings["name"], root)
    with _locked(root):
        current = read_job(root)
        if current and current["status"] == "running":
            raise JobError(f"a training is already running ({current['name']}); wait for it or cancel it")
        if final.exists() or store.partial_path(final).exists():
            raise JobError(f"a run named {settings['name']!r} already exists (or waits to be resumed); choose another name")
        log_path = root / f".training-{settings['name']}.log"
        environment = dict(os.environ, COLORKERAS_MODELS=str(root), PYTHONUNBUFFERED="1")
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=environment
            )
        job = {
            "pid": process.pid,
            "name": settings["name"],
            "run_dir": str(final),
            "command": command,
            "log": str(log_path),
            "started": time.time(),
            "epochs": int(settings.get("epochs") or 10),
        }
        store.atomic_write_json(root / JOB_FILE, job)
    return read_job(root)


def cancel_job(root=None):
    """Interrupts the running job (SIGINT); its completed epochs stay resumable."""
    root = Path(root) if root else store.models_dir()
    with _locked(root):
        job = read_job(root)
        if not job or job["status"] != "running":
            raise JobError("no training is running")
        os.killpg(job["pid"], signal.SIGINT)
        job["cancelled"] = True
        store.atomic_write_json(root / JOB_FILE, {k: v for k, v in job.items() if k != "status"})
    return job


def job_progress(job):
    """Live figures of ``job``: epoch, epochs, step, steps, loss, history rows, seconds left."""
    from colorkeras.train import PROGRESS, read_history

    final = Path(job["run_dir"])
    folder = final if store.is_complete(final) else store.partial_path(final)
    progress = store.read_json(folder / PROGRESS, {}) or {}
    history = read_history(folder)
    epochs = progress.get("epochs") or job.get("epochs") or 1
    done_epochs = len(history)
    epoch_seconds = [float(row["seconds"]) for row in history]
    per_epoch = sum(epoch_seconds) / len(epoch_seconds) if epoch_seconds else None
    fraction = 0.0
    if progress.get("steps"):
        fraction = progress["step"] / progress["steps"]
        if per_epoch is None and fraction > 0:
            per_epoch = progress["epoch_seconds"] / fraction
    left = None
    if per_epoch is not None:
        left = max(0.0, (epochs - done_epochs - (fraction if progress.get("epoch", 0) > done_epochs else 0)) * per_epoch)
    return {
        "epoch": progress.get("epoch", done_epochs),
        "epochs": epochs,
        "step": progress.get("step", 0),
        "steps": progress.get("steps", 0),
        "loss": progress.get("loss"),
        "history": history,
        "seconds_left": left,
        "overall": min(1.0, (done_epochs + (fraction if progress.get("epoch", 0) > done_epochs else 0)) / epochs),
    }


def log_tail(job, lines=15):
    try:
        text = Path(job["log"]).read_text(errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if not line.startswith(("WARNING: All log", "I0000", "E0000", "W0000"))]
    return "\n".join(kept[-lines:])
