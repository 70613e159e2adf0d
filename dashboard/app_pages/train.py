"""Train: start a training run in the background, watch it live, cancel it."""

import datetime
from pathlib import Path

import streamlit as st

from colorkeras import jobs
from colorkeras.store import RunError

st.title("Train")


@st.fragment(run_every=2)
def live_job():
    job = jobs.read_job()
    if not job:
        st.info("No training started from here yet.")
        return
    progress = jobs.job_progress(job)
    st.subheader(f"{job['name']}: {job['status']}")
    if job["status"] == "running":
        left = progress["seconds_left"]
        text = f"Epoch {progress['epoch']} of {progress['epochs']}, step {progress['step']} of {progress['steps']}"
        if progress["loss"] is not None:
            text += f", loss {progress['loss']:.4f}"
        if left is not None:
            text += f", about {datetime.timedelta(seconds=int(left))} left"
        st.progress(progress["overall"], text=text)
        if st.button("Cancel training", key="cancel"):
            jobs.cancel_job()
            st.warning("Cancelled: completed epochs are kept and can be resumed with --resume.")
    elif job["status"] == "finished":
        st.success(f"Finished: {job['name']} is on the Colorize, Training history and Metrics pages.")
    elif job["status"] == "failed":
        st.error("The training stopped with an error; the end of its log is below.")
    if progress["history"]:
        st.dataframe(progress["history"], width="stretch")
    with st.expander("Log"):
        st.code(jobs.log_tail(job) or "(empty)")


live_job()

shared_cifar = Path("../shared/datasets/cifar10")
with st.form("train_form"):
    st.write("Start a new training run (one at a time).")
    left, right = st.columns(2)
    data = left.text_input("Data: 'cifar10' or a folder of images", value=str(shared_cifar) if shared_cifar.is_dir() else "cifar10", key="train_data")
    architecture = right.selectbox("Architecture", ["unet", "plain-cnn"], key="train_architecture")
    epochs = left.number_input("Epochs", 1, 500, 5, key="train_epochs")
    batch_size = right.number_input("Batch size", 1, 1024, 64, key="train_batch_size")
    learning_rate = left.number_input("Learning rate", 1e-6, 1.0, 1e-3, format="%.5f", key="train_learning_rate")
    image_size = right.number_input("Image size (px)", 8, 512, 32, step=8, key="train_image_size")
    limit = left.number_input("Use at most this many training images (0 = all)", 0, 10_000_000, 0, key="train_limit")
    name = right.text_input("Run name", value=f"run-{datetime.datetime.now():%Y%m%d-%H%M}", key="train_name")
    submitted = st.form_submit_button("Start training")

if submitted:
    settings = dict(
        data=data, architecture=architecture, epochs=int(epochs), batch_size=int(batch_size),
        learning_rate=float(learning_rate), image_size=int(image_size), limit=int(limit) or None, name=name.strip(),
    )
    try:
        job = jobs.start_job(settings)
        st.success(f"Started {job['name']} (process {job['pid']}).")
    except (jobs.JobError, RunError) as error:
        st.error(str(error))
