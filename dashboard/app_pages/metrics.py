"""Metrics: every run beside the baselines, sortable, best values highlighted."""

import pandas as pd
import streamlit as st

import common

st.title("Metrics")
frame = common.metrics_table()
if frame.empty:
    st.info("No runs yet.")
    st.stop()

st.caption(
    "Test-split metrics written by training (saved_models/<run>/metrics.json), with the baselines from "
    "`python -m colorkeras.evaluate --output saved_models/evaluation.json`. PSNR is pooled over the set "
    "(RGB 0-255); colourfulness is Hasler & Suesstrunk (2003); its gap is prediction minus truth."
)
higher = [c for c in ("psnr", "ssim", "colorfulness", "auc") if c in frame]
# The ground truth wins every column by definition: the best is sought among the rest.
contenders = pd.IndexSlice[frame.index[frame["run"] != "ground truth"], :]
styled = (
    frame.style.highlight_max(subset=(contenders[0], higher), color="#c8e6c9")
    .highlight_min(subset=(contenders[0], ["mse"]), color="#c8e6c9")
    .format(precision=4, subset=["ssim", "auc"])
    .format(precision=2, subset=["psnr", "mse", "colorfulness", "colorfulness_gap"])
    .format(precision=0, subset=[c for c in ("train_seconds",) if c in frame])
)
st.dataframe(styled, width="stretch", hide_index=True, key="metrics_table")
