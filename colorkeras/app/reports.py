"""The dashboard's tables and charts: runs and their settings, evaluation reports
grouped by the data they scored (hint sweeps, films, archive inputs apart), training
histories.

The dashboard's logic is here and in ``app.uploads`` and ``app.hints``: plain Python
on the run store and the colorize path, tested without a browser; its pages
(``dashboard/app_pages``) hold UI only.
"""

import functools
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from colorkeras.core import store
from colorkeras.data.pipeline import describe

EVALUATION_REPORT = "evaluation.json"  # Written by `python -m colorkeras.evaluate --output`.


# === Film ===


# === Hints ===


# === Runs, history and metrics ===

SETTING_COLUMNS = (
    "architecture",
    "head",
    "base_filters",
    "depth",
    "loss",
    "epochs",
    "batch_size",
    "learning_rate",
    "image_size",
    "render_size",
    "saturation",
    "temperature",
)
METRIC_COLUMNS = ("psnr", "ssim", "colorfulness", "colorfulness_gap", "auc", "mse", "n")


def data_key(entry):
    """The data a run's config.json or an evaluation report names, as a grouping key.

    ``name:fingerprint`` from the dataset descriptor (``data.describe``), so one
    data set matches across machines and paths. Files written before descriptors
    existed name a path in words ("image folder /x/photos"); the folder is
    described now if it is here, else its words are the key.
    """
    dataset = entry.get("dataset")
    if not isinstance(dataset, dict) or not dataset.get("fingerprint"):
        dataset = _describe_legacy(str(entry.get("data_source") or entry.get("data") or ""))
    if dataset is None:  # A folder not on this machine: its path, as either file names it.
        text = str(entry.get("data_source") or entry.get("data") or "")
        return next((text[len(prefix) :] for prefix in _LEGACY_PREFIXES if text.startswith(prefix)), text)
    return f"{dataset['name']}:{dataset['fingerprint']}"


_LEGACY_PREFIXES = ("image folder ", "cifar10 batches at ")


@functools.lru_cache(maxsize=64)
def _describe_legacy(text):
    if text.startswith("cifar10"):
        return {"name": "cifar10", "fingerprint": "cifar10"}
    if text.startswith("scikit-image"):
        return {"name": "scikit-image", "fingerprint": "skimage"}
    path = next((text[len(prefix) :] for prefix in _LEGACY_PREFIXES if text.startswith(prefix)), text)
    path = store.local_path(path)
    if not path or not Path(path).is_dir():
        return None
    return describe(path)


def run_summaries(root=None):
    """One dict per complete run: name, settings, data source, wall time and test metrics."""
    rows = []
    for name in store.list_runs(root):
        folder = store.run_path(name, root)
        record = store.Run(folder).read_config({}) or {}
        metrics = store.Run(folder).read_metrics({}) or {}
        settings = record.get("settings", {})
        row = {"run": name, "data": data_key(record), "train_seconds": record.get("train_seconds")}
        row.update({key: metrics.get(key) for key in METRIC_COLUMNS})
        row.update({key: settings.get(key) for key in SETTING_COLUMNS})
        row["parameters"] = record.get("parameters")
        rows.append(row)
    return rows


SHOWN_SETTINGS = (
    "architecture",
    "base_filters",
    "epochs",
    "image_size",
    "render_size",
    "saturation",
    "temperature",
    "train_seconds",
    "parameters",
)


def display_tables(frame):
    """What the Metrics page shows of one ``metrics_table``: (figures, truth colourfulness, settings).

    Figures: the runs and the gray copy, every cell a number, so the table sorts
    and has no empty cells (the ground truth, whose PSNR is infinite, gives its
    colourfulness as the second value instead). Settings: the runs only, as text
    ("" where a setting does not apply), a second table so neither is wider than
    the page.
    """
    truth = frame[frame["run"] == "ground truth"]
    truth_colorfulness = (
        float(truth["colorfulness"].iloc[0]) if len(truth) and pd.notna(truth["colorfulness"].iloc[0]) else None
    )
    rows = frame[frame["run"] != "ground truth"]
    figures = rows[["run", *METRIC_COLUMNS]].dropna(axis=1, how="all").reset_index(drop=True)
    runs = rows[rows["architecture"].notna()]
    settings = runs[["run", *SHOWN_SETTINGS]].astype(object).where(runs[["run", *SHOWN_SETTINGS]].notna(), "")
    settings = settings.map(lambda value: f"{value:g}" if isinstance(value, float) else str(value)).reset_index(
        drop=True
    )
    return figures, truth_colorfulness, settings


def same_data(report, key):
    """Whether an evaluation ``report`` scored the data of grouping ``key``."""
    return bool(key) and data_key(report) == key


SWEEP_PREFIXES = ("evaluation-hints-", "evaluation-film-")  # Tables of their own (hint sweeps, films).


def reports(root=None, prefix=None, degraded=False):
    """The evaluation reports in the store, ``{file name: report}``, ``evaluation.json``
    first: the ones of runs on image sets, or with ``prefix`` those whose names start so.
    Reports of archive-like inputs (``evaluate --degrade``) are kept apart: only they
    come with ``degraded``."""
    root = Path(root) if root else store.models_dir()
    found = {}
    for path in sorted(root.glob("evaluation*.json"), key=lambda path: (path.name != EVALUATION_REPORT, path.name)):
        if (prefix is None and path.name.startswith(SWEEP_PREFIXES)) or (prefix and not path.name.startswith(prefix)):
            continue
        report = store.read_json(path)
        # Partial reports (evaluate --limit) are not ranked beside full ones.
        if (
            isinstance(report, dict)
            and isinstance(report.get("rows"), list)
            and bool(report.get("degrade")) == degraded
            and not report.get("limit")
        ):
            found[path.name] = report
    return found


# Every metrics table shows these columns, in this order: the figures first, then
# the settings that explain them. The data's path is in the table's title, not in
# a column (it is one machine's path, and it made tables wider than the page).
TABLE_COLUMNS = ("run", *METRIC_COLUMNS, *SHOWN_SETTINGS)


def _frame(rows):
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    for column in TABLE_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    frame = frame[list(TABLE_COLUMNS)]
    return frame.replace([np.inf, -np.inf], np.nan)


def metrics_table(root=None, data_source=None):
    """The test metrics of the runs trained on one dataset, with its baselines, one frame.

    ``data_source`` defaults to the reference run's data (CIFAR-10 for the shipped
    store). The baselines (gray copy, ground truth) and rows of runs trained
    elsewhere come from the evaluation reports of the same data
    (``python -m colorkeras.evaluate --output saved_models/evaluation.json``).
    """
    root = Path(root) if root else store.models_dir()
    summaries = run_summaries(root)
    if data_source is None:
        reference = store.reference_run_name(root)
        data_source = next((row["data"] for row in summaries if row["run"] == reference), None)
    by_name = {row["run"]: row for row in summaries}
    rows = [row for row in summaries if data_source is None or row["data"] == data_source]
    known = {row["run"]: row for row in rows}
    for report in reports(root).values():
        if data_source is not None and not same_data(report, data_source):
            continue
        for row in report["rows"]:
            metrics = {k: row.get(k) for k in METRIC_COLUMNS}
            if row["name"] in known:  # The report scored the run at full resolution: its figures win.
                known[row["name"]].update(metrics)
            else:  # A baseline, or a run trained on other data (its settings beside it).
                other = by_name.get(row["name"], {})
                known[row["name"]] = {"data": data_key(report), **other, "run": row["name"], **metrics}
                known[row["name"]].update(
                    {k: row[k] for k in ("render_size", "saturation", "temperature") if row.get(k) is not None}
                )
                rows.append(known[row["name"]])
    return _frame(rows)


def data_sources(root=None):
    """The data the runs were trained on, the reference run's first."""
    summaries = run_summaries(root)
    reference = store.reference_run_name(root)
    ordered = sorted(summaries, key=lambda row: row["run"] != reference)
    return list(dict.fromkeys(row["data"] for row in ordered if row["data"]))


def data_label(key):
    """A short name for a grouping key: the data set's name ("photos", "cifar10")."""
    if "/" not in key and ":" in key:
        return key.rsplit(":", 1)[0]
    return Path(key).name or key


def report_title(report):
    data = str(report.get("data", ""))
    if data.startswith("scikit-image"):
        return "scikit-image's colour photographs at full size"
    count = next((row.get("n") for row in report["rows"] if row.get("n")), 0)
    return f"{Path(data).name or data}: {report.get('split', 'test')} split, {count:,} images at full resolution"


def hint_sweeps(root=None):
    """``[(title, frame)]``: each ``evaluate --hints 0 1 2 5 10 20 --output
    evaluation-hints-*.json`` report as a table of PSNR, SSIM and colourfulness per
    number of revealed points."""
    tables = []
    for report in reports(root, "evaluation-hints-").values():
        rows = [row for row in report["rows"] if "hints" in row]
        frame = pd.DataFrame(
            [
                {
                    "run": row["name"].split(" (")[0],
                    "hints": row["hints"],
                    "psnr": row["psnr"],
                    "ssim": row["ssim"],
                    "colorfulness": row["colorfulness"],
                    "n": row["n"],
                }
                for row in rows
            ]
        )
        if not frame.empty:
            tables.append((f"Hints: {report_title(report)}", frame))
    return tables


def archive_reports(root=None):
    """``[(title, frame)]``: each ``evaluate --degrade`` report (gray copies with
    archive-scan defects), its rows as they were scored."""
    return [
        (f"Archive-like inputs: {report_title(report)}", _frame(report["rows"]).dropna(axis=1, how="all"))
        for report in reports(root, degraded=True).values()
    ]


def film_reports(root=None):
    """``[(title, frame)]``: each ``evaluate --data FILM --output evaluation-film-*.json``
    report, per-frame and stabilised rows with the warping error."""
    tables = []
    for report in reports(root, "evaluation-film-").values():
        frame = pd.DataFrame(
            [
                {key: row.get(key) for key in ("name", "psnr", "ssim", "colorfulness", "warping_error", "n")}
                for row in report["rows"]
            ]
        )
        frame = (
            frame.rename(columns={"name": "run", "n": "frames"})
            .replace([np.inf, -np.inf], np.nan)
            .dropna(subset=["psnr"])
        )
        tables.append((f"Film: {Path(str(report.get('data', ''))).name}", frame))
    return tables


def other_reports(root=None):
    """``[(title, frame)]`` for the reports on data that no run was trained on."""
    root = Path(root) if root else store.models_dir()
    trained_on = {row["data"] for row in run_summaries(root)}
    return [
        (report_title(report), metrics_table(root, data_source=data_key(report)))
        for report in reports(root).values()
        if data_key(report) and data_key(report) not in trained_on
    ]


def history_frame(name, root=None):
    """A run's history.csv as a frame indexed by epoch (empty if it has none)."""
    folder = store.run_path(name, root)
    path = store.Run(folder).history
    if not path.is_file():
        return pd.DataFrame()
    frame = pd.read_csv(path)
    return frame.set_index("epoch") if "epoch" in frame else frame


def loss_kind(name, root=None):
    """What a run's losses measure ("crossentropy", "mse", ...): only same kinds share a chart."""
    record = store.Run(store.run_path(name, root)).read_config({}) or {}
    settings = record.get("settings", {})
    return settings.get("loss") or "unknown"


def history_chart(frame, columns, title):
    """An Altair line chart of ``columns`` per epoch whose axis fits the values (not from 0)."""

    long = frame.reset_index().melt(
        id_vars=frame.index.name or "index", value_vars=list(columns), var_name="series", value_name="value"
    )
    epoch = frame.index.name or "index"
    return (
        alt.Chart(long, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{epoch}:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=title, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None),
        )
    )


def histories(names, column="val_loss", root=None):
    """One column per run: ``column`` per epoch, to compare runs on one chart."""
    series = {}
    for name in names:
        frame = history_frame(name, root)
        if column in frame:
            series[name] = frame[column]
    return pd.DataFrame(series)


# === Charts: what the Metrics page leads with ===


def quality_chart(frame, title):
    """PSNR against colourfulness, a point per run (and the gray copy), with the
    truth's colourfulness as a rule: right colour is up, vivid colour is right.
    ``frame``: a ``metrics_table``. None where it has no run with both figures."""
    truth = frame[frame["run"] == "ground truth"]
    points = frame[(frame["run"] != "ground truth") & frame["psnr"].notna() & frame["colorfulness"].notna()]
    if points.empty:
        return None
    points = points.assign(kind=np.where(points["run"] == "gray copy", "baseline", "run"))
    base = alt.Chart(points, title=title)
    chart = base.mark_point(filled=True, size=90).encode(
        x=alt.X("colorfulness:Q", title="colourfulness (more is more vivid)", scale=alt.Scale(zero=True)),
        y=alt.Y("psnr:Q", title="PSNR (dB, higher is closer to the truth)", scale=alt.Scale(zero=False)),
        color=alt.Color("kind:N", title=None),
        tooltip=["run", alt.Tooltip("psnr:Q", format=".2f"), alt.Tooltip("colorfulness:Q", format=".1f"), "n"],
    ) + base.mark_text(align="left", dx=7).encode(x="colorfulness:Q", y="psnr:Q", text="run:N")
    if len(truth) and pd.notna(truth["colorfulness"].iloc[0]):
        rule = pd.DataFrame(
            {"colorfulness": [float(truth["colorfulness"].iloc[0])], "label": ["the truth's colourfulness"]}
        )
        chart = chart + alt.Chart(rule).mark_rule(strokeDash=[4, 4]).encode(x="colorfulness:Q", tooltip="label:N")
    return chart


def hint_chart(frame, title):
    """PSNR against the number of hint points, a line per run (``hint_sweeps``'s frames)."""
    return (
        alt.Chart(frame, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("hints:Q", title="hint points per image"),
            y=alt.Y("psnr:Q", title="PSNR (dB)", scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title=None),
            tooltip=["run", "hints", alt.Tooltip("psnr:Q", format=".2f"), alt.Tooltip("colorfulness:Q", format=".1f")],
        )
    )


def film_chart(frame, title):
    """The warping error (x 1000, lower is steadier) of each row of a film report."""
    shown = frame.dropna(subset=["warping_error"]).assign(steadiness=lambda rows: 1000 * rows["warping_error"])
    return (
        alt.Chart(shown, title=title)
        .mark_bar()
        .encode(
            x=alt.X("steadiness:Q", title="warping error x 1000 (lower is steadier)"),
            y=alt.Y("run:N", title=None, sort=None),
            tooltip=["run", alt.Tooltip("steadiness:Q", format=".2f"), alt.Tooltip("psnr:Q", format=".2f")],
        )
    )


def ranked_together(figures):
    """Whether the rows of a displayed table may be ranked against each other: only
    when every row was scored on the same number of images."""
    return "n" not in figures or figures["n"].nunique(dropna=True) <= 1
