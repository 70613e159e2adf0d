"""Background jobs (colorkeras.training.jobs): identity beyond the pid, reaping, races, data roots."""

import os
import signal
import subprocess
import sys
import time

import pytest

from colorkeras.core import store
from colorkeras.training import jobs


def write_job(root, pid, pid_start, name="phantom"):
    store.atomic_write_json(
        root / jobs.JOB_FILE,
        {
            "pid": pid,
            "pid_start": pid_start,
            "name": name,
            "run_dir": str(root / name),
            "command": [],
            "log": str(root / f".training-{name}.log"),
            "started": time.time(),
            "epochs": 2,
        },
    )


def test_a_reused_pid_is_not_taken_for_the_job_and_is_never_signalled(models_store, monkeypatch):
    # The job's pid now belongs to another live process (this one), started at another time.
    write_job(models_store, os.getpid(), jobs.process_start_time(os.getpid()) + 1)
    assert jobs.read_job(models_store)["status"] == "failed"
    signalled = []
    monkeypatch.setattr(jobs.os, "killpg", lambda *args: signalled.append(args))
    with pytest.raises(jobs.JobError, match="no training is running"):
        jobs.cancel_job(models_store)
    assert signalled == []


def test_the_same_process_is_recognised_as_running(models_store):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        write_job(models_store, sleeper.pid, jobs.process_start_time(sleeper.pid))
        assert jobs.read_job(models_store)["status"] == "running"
        with pytest.raises(jobs.JobError, match="one at a time"):
            jobs._refuse_if_running(models_store)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert jobs.read_job(models_store)["status"] == "failed"


def test_a_job_that_ends_during_cancel_is_reported_not_raised(models_store, monkeypatch):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        write_job(models_store, sleeper.pid, jobs.process_start_time(sleeper.pid))

        def ended_meanwhile(pid, signal_number):
            raise ProcessLookupError(pid)

        monkeypatch.setattr(jobs.os, "killpg", ended_meanwhile)
        job = jobs.cancel_job(models_store)
        assert job["name"] == "phantom"
    finally:
        sleeper.send_signal(signal.SIGKILL)
        sleeper.wait()


@pytest.mark.slow  # starts a real training process (TensorFlow's import alone takes seconds)
def test_a_finished_job_is_reaped_not_left_a_zombie(models_store, tmp_path, monkeypatch):
    empty = tmp_path / "data" / "empty"
    empty.mkdir(parents=True)
    monkeypatch.setenv(jobs.DATA_ROOTS_ENV, str(tmp_path / "data"))
    job = jobs.start_job(dict(data=str(empty), name="fails-fast", epochs=1), models_store)
    deadline = time.time() + 60
    while jobs.read_job(models_store)["status"] == "running" and time.time() < deadline:
        time.sleep(0.2)
    assert jobs.read_job(models_store)["status"] == "failed"
    while os.path.exists(f"/proc/{job['pid']}") and time.time() < deadline:
        time.sleep(0.1)  # The reaper thread collects the exit status.
    assert not os.path.exists(f"/proc/{job['pid']}"), "the finished child is still a zombie"
    assert "holds 0 image(s)" in jobs.log_tail(jobs.read_job(models_store))


def test_training_data_must_lie_inside_the_configured_roots(models_store, tmp_path, monkeypatch):
    allowed = tmp_path / "allowed"
    (allowed / "photos").mkdir(parents=True)
    secret = tmp_path / "home" / "private"
    secret.mkdir(parents=True)
    monkeypatch.setenv(jobs.DATA_ROOTS_ENV, str(allowed))
    assert jobs.check_data(str(allowed / "photos")) == str((allowed / "photos").resolve())
    assert jobs.check_data("cifar10") == "cifar10"
    for outside in (secret, allowed / ".." / "home" / "private", "/etc"):
        with pytest.raises(jobs.JobError, match="outside the folders this server trains from"):
            jobs.check_data(str(outside))
    with pytest.raises(jobs.JobError, match="outside"):
        jobs.start_job(dict(data=str(secret), name="nosy"), models_store)
    assert not (models_store / jobs.JOB_FILE).exists()


def test_time_left_follows_the_average_speed_and_settles(models_store):
    """Two epochs of 100 s done, the third half done in 50 s: 7.5 epochs left at 100 s each."""
    write_job(models_store, os.getpid(), None, name="steady")
    partial = store.Run(models_store / "steady").partial
    partial.path.mkdir()
    partial.history.write_text("epoch,loss,val_loss,learning_rate,seconds\n1,3,3,0.001,100\n2,2.9,2.9,0.001,100\n")
    progress = {
        "phase": "training",
        "epoch": 3,
        "epochs": 10,
        "step": 50,
        "steps": 100,
        "loss": 2.8,
        "epoch_seconds": 50.0,
    }
    store.atomic_write_json(partial.progress, progress)
    figures = jobs.job_progress(jobs.read_job(models_store))
    assert figures["seconds_left"] == pytest.approx(750.0) and figures["overall"] == pytest.approx(0.25)
    # A slow burst of steps moves the estimate a little, not by half.
    store.atomic_write_json(partial.progress, dict(progress, step=55, epoch_seconds=80.0))
    later = jobs.job_progress(jobs.read_job(models_store))["seconds_left"]
    assert 750.0 < later < 900.0


def test_before_the_first_step_the_phase_is_said(models_store):
    write_job(models_store, os.getpid(), None, name="loading")
    partial = store.Run(models_store / "loading").partial
    partial.path.mkdir()
    store.atomic_write_json(partial.progress, {"phase": "reading data", "epoch": 0, "epochs": 2, "step": 0, "steps": 0})
    figures = jobs.job_progress(jobs.read_job(models_store))
    assert figures["phase"] == "reading data" and figures["seconds_left"] is None
