"""Training history: loss per epoch for one run and across runs, with its samples."""

import common
import streamlit as st

from colorkeras.app import reports
from colorkeras.core import store

st.title("Training history")
name = common.run_selector("Run", "history_run", default=common.reference_run())
runs = common.runs()
frame = reports.history_frame(name)
if frame.empty:
    st.warning(f"{name} has no history.csv.")
else:
    loss, rate, seconds = st.columns(3)
    loss.caption(f"Loss and validation loss per epoch ({reports.loss_kind(name)})")
    loss.altair_chart(
        reports.history_chart(frame, [c for c in ("loss", "val_loss") if c in frame], "loss"), width="stretch"
    )
    rate.caption("Learning rate")
    rate.altair_chart(reports.history_chart(frame, ["learning_rate"], "learning rate"), width="stretch")
    seconds.caption("Seconds per epoch")
    seconds.bar_chart(frame[["seconds"]])
    st.dataframe(frame, width="stretch")

samples = store.Run(store.run_path(name)).samples
if samples.is_file():
    st.image(str(samples), caption="Test images: gray input / colorized / truth")

st.subheader("Across runs")
# Losses of different kinds (cross-entropy, MSE) are on different scales: one kind per chart.
kinds = {run: reports.loss_kind(run) for run in runs}
kind = st.radio(
    "Loss",
    sorted(set(kinds.values())),
    horizontal=True,
    key="history_kind",
    index=sorted(set(kinds.values())).index(kinds[name]),
)
same_kind = [run for run in runs if kinds[run] == kind]
chosen = st.multiselect(f"Runs trained with {kind}", same_kind, default=same_kind, key=f"history_compare_{kind}")
column = st.radio("Curve", ["val_loss", "loss"], horizontal=True, key="history_column")
if chosen:
    curves = reports.histories(chosen, column)
    curves.index.name = "epoch"
    st.altair_chart(reports.history_chart(curves, chosen, column), width="stretch")
