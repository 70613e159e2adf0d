"""The logic behind the Streamlit dashboard (its pages hold UI only).

Everything here is plain Python on the run store and the colorize path, so it is
tested without a browser.
"""

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from colorkeras import store
from colorkeras.color import luma_gray
from colorkeras.inference import ImageError, open_image, to_uint8_rgb

UPLOAD_TYPES = ("png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp")
EVALUATION_REPORT = "evaluation.json"  # Written by `python -m colorkeras.evaluate --output`.


@dataclass
class ColorizedUpload:
    name: str
    gray: np.ndarray  # uint8 [h, w, 3], what the model saw.
    colour: np.ndarray  # uint8 [h, w, 3|4], the result.
    png: bytes  # The result, encoded for download.
    seconds: float


def png_bytes(array):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def colorize_upload(colorizer, name, data, render_size=None, saturation=None):
    """Colorizes one uploaded file's bytes; raises ``ImageError`` naming the file."""
    import time

    if not data:
        raise ImageError(f"{name}: empty file")
    image = open_image(io.BytesIO(data), colorizer.max_pixels, name=name)
    started = time.perf_counter()
    colour = colorizer.colorize(image, render_size=render_size, saturation=saturation)
    seconds = time.perf_counter() - started
    gray = luma_gray(to_uint8_rgb(image, colorizer.max_pixels)[0])
    return ColorizedUpload(name=name, gray=gray, colour=colour, png=png_bytes(colour), seconds=seconds)


def result_name(upload_name):
    return f"{Path(upload_name).stem}-colorized.png"


def zip_results(results):
    """One ZIP of every result's PNG, named after the uploads."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        used = set()
        for result in results:
            name = result_name(result.name)
            stem, count = name[:-4], 1
            while name in used:
                count += 1
                name = f"{stem}-{count}.png"
            used.add(name)
            archive.writestr(name, result.png)
    return buffer.getvalue()


# === Runs, history and metrics ===

SETTING_COLUMNS = ("architecture", "head", "base_filters", "depth", "loss", "epochs", "batch_size", "learning_rate", "image_size", "render_size", "saturation", "temperature")
METRIC_COLUMNS = ("psnr", "ssim", "colorfulness", "colorfulness_gap", "auc", "mse", "n")


def run_summaries(root=None):
    """One dict per complete run: name, settings, data source, wall time and test metrics."""
    rows = []
    for name in store.list_runs(root):
        folder = store.run_path(name, root)
        record = store.read_json(folder / "config.json", {}) or {}
        metrics = store.read_json(folder / "metrics.json", {}) or {}
        settings = record.get("settings", {})
        row = {"run": name, "data": record.get("data_source", ""), "train_seconds": record.get("train_seconds")}
        row.update({key: metrics.get(key) for key in METRIC_COLUMNS})
        row.update({key: settings.get(key) for key in SETTING_COLUMNS})
        row["parameters"] = record.get("parameters")
        rows.append(row)
    return rows


def metrics_table(root=None):
    """Every run's test metrics with the baselines of the evaluation report, one frame.

    The baselines (gray copy, ground truth) and any extra rows come from
    ``saved_models/evaluation.json`` when it exists.
    """
    root = Path(root) if root else store.models_dir()
    rows = run_summaries(root)
    report = store.read_json(root / EVALUATION_REPORT)
    if report:
        known = {row["run"] for row in rows}
        for row in report.get("rows", []):
            if row["name"] not in known:
                rows.append({"run": row["name"], "data": report.get("data", ""), **{k: row.get(k) for k in METRIC_COLUMNS}})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    for column in METRIC_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    return frame.replace([np.inf, -np.inf], np.nan)


def history_frame(name, root=None):
    """A run's history.csv as a frame indexed by epoch (empty if it has none)."""
    folder = store.run_path(name, root)
    path = folder / "history.csv"
    if not path.is_file():
        return pd.DataFrame()
    frame = pd.read_csv(path)
    return frame.set_index("epoch") if "epoch" in frame else frame


def histories(names, column="val_loss", root=None):
    """One column per run: ``column`` per epoch, to compare runs on one chart."""
    series = {}
    for name in names:
        frame = history_frame(name, root)
        if column in frame:
            series[name] = frame[column]
    return pd.DataFrame(series)
