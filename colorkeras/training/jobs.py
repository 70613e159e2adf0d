"""Background training jobs, one at a time per server, for the dashboard (or any front end).

A job is ``python -m colorkeras.train ...`` started in its own session, recorded in
``saved_models/.training-job.json`` with its process id *and* the process's start
time, so a process id the system has since reused for another program is never
taken for the job (nor signalled). The process that started it reaps it when it
ends (no zombies). Its live state comes from the run's partial folder
(``progress.json``, ``history.csv``), so it survives a page reload or a dashboard
restart. Cancelling sends SIGINT: the run keeps its checkpoint, and
``resume_job`` continues it.

Training data may come only from the configured roots (``data_roots``): the
shared data sets beside the repository and the folders the operator lists in
``$COLORKERAS_DATA_ROOTS``; anyone who can reach the dashboard could otherwise
have it read (and show) images from anywhere on the server's disk.
"""

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from colorkeras.core import store

JOB_FILE = ".training-job.json"
LOCK_FILE = ".training-job.lock"
DATA_ROOTS_ENV = "COLORKERAS_DATA_ROOTS"


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


def process_start_time(pid):
    """The start time of process ``pid`` (clock ticks since boot), or None if there is none.

    With the pid it identifies a process for good: a pid reused later belongs to
    a process with another start time. A zombie counts as gone.
    """
    try:
        with open(f"/proc/{pid}/stat") as stream:
            fields = stream.read().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _alive(job):
    """Whether the process that ``job`` started still runs (the same process, not a reused pid)."""
    started = process_start_time(job["pid"])
    return started is not None and started == job.get("pid_start")


def _reap_when_done(process):
    """Waits for the child in a daemon thread, so it never lingers as a zombie."""
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()


def data_roots():
    """Folders training data may come from: the shared data sets, then ``$COLORKERAS_DATA_ROOTS``."""
    roots = []
    shared = store.REPOSITORY.parent / "shared" / "datasets"
    if shared.is_dir():
        roots.append(shared.resolve())
    for entry in os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep):
        if entry.strip():
            roots.append(Path(entry.strip()).expanduser().resolve())
    return roots


def check_data(data):
    """Returns ``data`` if it is 'cifar10' or lies inside a configured root; raises JobError naming it."""
    data = str(data).strip()
    if data == "cifar10":
        return data
    if not data:
        raise JobError("no training data given: enter 'cifar10' or a folder inside the allowed roots")
    path = Path(data).expanduser().resolve()
    roots = data_roots()
    if not any(path == root or root in path.parents for root in roots):
        allowed = ", ".join(str(root) for root in roots) or "none configured"
        raise JobError(
            f"{data} is outside the folders this server trains from ({allowed}); the operator adds "
            f"folders with {DATA_ROOTS_ENV}=/path/one{os.pathsep}/path/two"
        )
    if not path.exists():
        raise JobError(f"{data}: no such folder")
    return str(path)


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
    if _alive(job):
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
    if settings.get("resume"):
        return command + ["--resume"]
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


def _launch(command, name, final, root, epochs, log_mode="w"):
    """Starts ``command`` in its own session and records it as the job (lock held by the caller)."""
    log_path = root / f".training-{name}.log"
    environment = dict(os.environ, COLORKERAS_MODELS=str(root), PYTHONUNBUFFERED="1")
    with open(log_path, log_mode) as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=environment
        )
    _reap_when_done(process)
    job = {
        "pid": process.pid,
        "pid_start": process_start_time(process.pid),
        "name": name,
        "run_dir": str(final),
        "command": command,
        "log": str(log_path),
        "started": time.time(),
        "epochs": epochs,
    }
    store.atomic_write_json(root / JOB_FILE, job)


def _refuse_if_running(root):
    current = read_job(root)
    if current and current["status"] == "running":
        raise JobError(
            f"a training is already running ({current['name']}); this server trains one at a time: "
            "wait for it or cancel it"
        )
    return current


def start_job(settings, root=None):
    """Starts a training in the background; refuses while another one runs, or data outside the roots."""
    root = Path(root) if root else store.models_dir()
    settings = dict(settings, data=check_data(settings.get("data", "")))
    command = build_command(settings)
    final = store.run_path(settings["name"], root)
    with _locked(root):
        _refuse_if_running(root)
        if final.exists() or store.partial_path(final).exists():
            raise JobError(
                f"a run named {settings['name']!r} already exists (or waits to be resumed); choose another name"
            )
        _launch(command, settings["name"], final, root, int(settings.get("epochs") or 10))
    return read_job(root)


def resumable(job):
    """Whether ``job`` stopped (cancelled or failed) with a checkpoint to continue from."""
    if not job or job["status"] not in ("cancelled", "failed"):
        return False
    partial = store.partial_path(Path(job["run_dir"]))
    return store.is_interrupted_run(partial)


def resume_job(root=None):
    """Continues the last job from its last completed epoch (``train --resume``)."""
    root = Path(root) if root else store.models_dir()
    with _locked(root):
        job = _refuse_if_running(root)
        if not resumable(job):
            raise JobError("there is no cancelled or failed training with a checkpoint to resume")
        command = build_command({"name": job["name"], "resume": True})
        with open(job["log"], "a") as log:
            log.write("\n--- resumed ---\n")
        _launch(command, job["name"], Path(job["run_dir"]), root, job.get("epochs", 10), log_mode="a")
    return read_job(root)


def cancel_job(root=None):
    """Interrupts the running job (SIGINT); its completed epochs stay resumable.

    Returns the job; its ``status`` is ``cancelled``, or what it became if it
    ended by itself just before the signal.
    """
    root = Path(root) if root else store.models_dir()
    with _locked(root):
        job = read_job(root)
        if not job or job["status"] != "running":
            raise JobError("no training is running")
        try:
            # The job runs in a session of its own: its group id is its pid, checked
            # just above to still be the same process.
            os.killpg(job["pid"], signal.SIGINT)
        except ProcessLookupError:
            return read_job(root)  # It ended between the check and the signal.
        job["cancelled"] = True
        store.atomic_write_json(root / JOB_FILE, {k: v for k, v in job.items() if k != "status"})
    job["status"] = "cancelled"
    return job


def job_progress(job):
    """Live figures of ``job``: phase, epoch, epochs, step, steps, loss, history rows, seconds left.

    The time left comes from the average speed over all the training done so
    far (completed epochs and the current one), so it settles instead of jumping
    with each step's noise.
    """
    final = store.Run(job["run_dir"])
    run = final if final.is_complete() else final.partial
    progress = store.read_json(run.progress, {}) or {}
    history = run.read_history()
    epochs = progress.get("epochs") or job.get("epochs") or 1
    done_epochs = len(history)
    in_epoch = progress.get("epoch", 0) > done_epochs and progress.get("steps")
    fraction = progress["step"] / progress["steps"] if in_epoch else 0.0
    seconds = sum(float(row["seconds"]) for row in history) + (progress.get("epoch_seconds", 0.0) if in_epoch else 0.0)
    epochs_done = done_epochs + fraction
    left = None
    if epochs_done > 0 and seconds > 0 and (done_epochs or progress.get("step", 0) >= 5):
        left = max(0.0, (epochs - epochs_done) * seconds / epochs_done)
    return {
        "phase": progress.get("phase") or ("training" if progress.get("steps") else "starting"),
        "epoch": progress.get("epoch", done_epochs),
        "epochs": epochs,
        "step": progress.get("step", 0),
        "steps": progress.get("steps", 0),
        "loss": progress.get("loss"),
        "history": history,
        "seconds_left": left,
        "overall": min(1.0, epochs_done / epochs),
    }


def failure_reason(job):
    """The ``error: ...`` line a failed training printed, whole, or None."""
    try:
        text = Path(job["log"]).read_text(errors="replace")
    except OSError:
        return None
    errors = [line[len("error: ") :] for line in text.splitlines() if line.startswith("error: ")]
    return errors[-1] if errors else None


def log_tail(job, lines=15):
    try:
        text = Path(job["log"]).read_text(errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if not line.startswith(("WARNING: All log", "I0000", "E0000", "W0000"))]
    return "\n".join(kept[-lines:])
