"""Metrics: every run beside the baselines, sortable, best values highlighted."""

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
styled = (
    frame.style.highlight_max(subset=higher, color="#c8e6c9")
    .highlight_min(subset=["mse"], color="#c8e6c9")
    .format(precision=4, subset=["ssim", "auc"])
    .format(precision=2, subset=["psnr", "mse", "colorfulness", "colorfulness_gap"])
)
st.dataframe(styled, width="stretch", hide_index=True, key="metrics_table")
