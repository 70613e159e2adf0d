"""Metrics: every run beside the baselines, sortable, best values highlighted."""

import pandas as pd
import streamlit as st

import common
from colorkeras import dashboard

st.title("Metrics")


def show(frame, key):
    higher = [c for c in ("psnr", "ssim", "colorfulness", "auc") if c in frame]
    # The ground truth wins every column by definition: the best is sought among the rest.
    contenders = pd.IndexSlice[frame.index[frame["run"] != "ground truth"], :]
    styled = (
        frame.style.highlight_max(subset=(contenders[0], higher), color="#c8e6c9")
        .highlight_min(subset=(contenders[0], ["mse"]), color="#c8e6c9")
        .format(na_rep="")
        .format(precision=4, subset=["ssim", "auc"], na_rep="")
        .format(precision=2, subset=["psnr", "mse", "colorfulness", "colorfulness_gap"], na_rep="")
        .format(precision=0, subset=["train_seconds", "n", "parameters", "base_filters", "epochs", "image_size", "render_size"], na_rep="")
    )
    labels = {
        "psnr": "PSNR (dB)", "ssim": "SSIM", "colorfulness": "colourful.", "colorfulness_gap": "gap to truth",
        "auc": "AuC", "mse": "MSE", "n": "images", "base_filters": "width", "image_size": "train px",
        "render_size": "render px", "saturation": "sat.", "temperature": "temp.", "train_seconds": "train s",
        "parameters": "params",
    }
    config = {column: st.column_config.Column(label, width="small") for column, label in labels.items()}
    st.dataframe(styled, width="stretch", hide_index=True, key=key, column_config=config)


sources = common.data_sources()
if not sources:
    st.info("No runs yet.")
    st.stop()

st.caption(
    "Test-split metrics of the runs, grouped by the data they were trained on, with the baselines and full-resolution "
    "figures from `python -m colorkeras.evaluate --output saved_models/evaluation*.json` where present (otherwise the "
    "figures training wrote to saved_models/<run>/metrics.json). PSNR is pooled over the set (RGB 0-255); "
    "colourfulness is Hasler & Suesstrunk (2003); its gap is prediction minus truth."
)
for index, source in enumerate(sources):
    name = dashboard.data_label(source)
    st.subheader(f"Reference: {name}" if index == 0 else f"Trained on {name}")
    if index == 0:
        st.caption(f"The reference run **{common.reference_run()}** and every run trained on its data.")
    show(common.metrics_table(source), key=f"metrics_table_{index}")
for index, (title, frame) in enumerate(common.other_reports()):
    st.subheader(title)
    show(frame, key=f"report_table_{index}")
