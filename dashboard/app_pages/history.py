"""Training history: loss per epoch for one run and across runs, with its samples."""

import streamlit as st

import common
from colorkeras import dashboard, store

st.title("Training history")
name = common.run_selector("Run", "history_run", default=common.reference_run())
runs = common.runs()
frame = dashboard.history_frame(name)
if frame.empty:
    st.warning(f"{name} has no history.csv.")
else:
    loss, rate, seconds = st.columns(3)
    loss.caption("Loss and validation loss per epoch")
    loss.line_chart(frame[[c for c in ("loss", "val_loss") if c in frame]])
    rate.caption("Learning rate")
    rate.line_chart(frame[["learning_rate"]])
    seconds.caption("Seconds per epoch")
    seconds.bar_chart(frame[["seconds"]])
    st.dataframe(frame, width="stretch")

samples = store.run_path(name) / "samples.png"
if samples.is_file():
    st.image(str(samples), caption="Test images: gray input / colorized / truth")

st.subheader("Across runs")
chosen = st.multiselect("Runs to compare", runs, default=runs, key="history_compare")
column = st.radio("Curve", ["val_loss", "loss"], horizontal=True, key="history_column")
st.caption("Losses are comparable only between runs with the same loss (see each run's settings on the Metrics page).")
if chosen:
    st.line_chart(dashboard.histories(chosen, column))
