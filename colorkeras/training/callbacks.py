"""Per-epoch bookkeeping of a training: checkpoint, history, live progress, schedule.

The Keras callbacks that make a run resumable (the model with its optimizer state
after every epoch, then history.csv, then state.json naming the epoch), the
progress.json the dashboard follows, and the cosine learning-rate schedule.
No TensorFlow at import: Keras loads when the callbacks are built.
"""

import csv
import io
import math
import os
import time
from pathlib import Path

import keras

from colorkeras.core import store

CHECKPOINT = store.Run.CHECKPOINT
STATE = store.Run.STATE
HISTORY = store.Run.HISTORY
PROGRESS = store.Run.PROGRESS
HISTORY_FIELDS = ("epoch", "loss", "val_loss", "learning_rate", "seconds")


def write_phase(folder, phase, config):
    """progress.json before the first step: what the run is doing (reading data, building the model)."""
    store.atomic_write_json(
        Path(folder) / PROGRESS,
        {
            "phase": phase,
            "epoch": 0,
            "epochs": config.epochs,
            "step": 0,
            "steps": 0,
            "updated": time.time(),
            "pid": os.getpid(),
        },
    )


def write_history(folder, rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    store.atomic_write_text(Path(folder) / HISTORY, buffer.getvalue())


def make_callbacks(folder, config, is_chief, history_rows):
    """Checkpoint, history and live progress, written by the chief only."""

    class EpochCheckpoint(keras.callbacks.Callback):
        """After each epoch: the model (with optimizer state), then history, then state.

        The order matters for resume: state.json names an epoch only once both the
        checkpoint and the history row of that epoch are on disk.
        """

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.time()
            self.epoch = epoch

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            row = {
                "epoch": epoch + 1,
                "loss": f"{logs.get('loss', float('nan')):.6f}",
                "val_loss": f"{logs.get('val_loss', float('nan')):.6f}",
                "learning_rate": f"{float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)):.6g}",
                "seconds": f"{time.time() - self.started:.1f}",
            }
            history_rows[:] = [r for r in history_rows if int(r["epoch"]) <= epoch] + [row]
            if not is_chief:
                return
            temporary = Path(folder) / f".{CHECKPOINT}.tmp.keras"
            self.model.save(temporary)
            os.replace(temporary, Path(folder) / CHECKPOINT)
            write_history(folder, history_rows)
            store.atomic_write_json(Path(folder) / STATE, {"completed_epochs": epoch + 1})

    class ProgressFile(keras.callbacks.Callback):
        """progress.json, rewritten at most every 2 s, for the dashboard's live view."""

        def __init__(self):
            super().__init__()
            self.last = 0.0
            self.started = time.time()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.epoch_started = time.time()

        def on_train_batch_end(self, batch, logs=None):
            now = time.time()
            if now - self.last < 2.0:
                return
            self.last = now
            steps = self.params.get("steps") or 0
            store.atomic_write_json(
                Path(folder) / PROGRESS,
                {
                    "phase": "training",
                    "epoch": self.epoch + 1,
                    "epochs": config.epochs,
                    "step": batch + 1,
                    "steps": steps,
                    "loss": float((logs or {}).get("loss", float("nan"))),
                    "epoch_seconds": now - self.epoch_started,
                    "updated": now,
                    "pid": os.getpid(),
                },
            )

    callbacks = [EpochCheckpoint()]
    if is_chief:
        callbacks.append(ProgressFile())
    if config.schedule == "cosine":

        def cosine(epoch, _rate):
            progress = epoch / max(config.epochs - 1, 1)
            return config.learning_rate * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress)))

        callbacks.append(keras.callbacks.LearningRateScheduler(cosine))
    if config.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(patience=config.early_stopping, restore_best_weights=True))
    return callbacks
